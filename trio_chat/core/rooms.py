"""One room's state: its members in join order, its sorted roster, its topic. Pure.

Only the hub (:mod:`trio_chat.core.hub`) creates and changes rooms; this module keeps the
bookkeeping that a room needs to answer fast, whatever its size: every join carries the roster,
so the roster is kept sorted as members come and go rather than sorted once per newcomer.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING

from trio_chat.core.events import Event
from trio_chat.core.text import Nickname, RoomName

if TYPE_CHECKING:
    from trio_chat.core.hub import Member


class Room:
    """A room and who is in it. It exists while it has members."""

    __slots__ = ("_displays", "_keys", "events", "listeners", "members", "name", "topic")

    def __init__(self, name: RoomName) -> None:
        self.name = name
        self.topic = ""
        self.members: dict[Member, None] = {}  # an ordered set: join order
        # The members this process delivers to (all of them, unless processes share rooms).
        self.listeners: dict[Member, None] = {}
        # The roster, sorted by normalized nickname, and in the same order as displayed:
        self._keys: list[str] = []
        self._displays: list[str] = []
        # What the room said in the hub's current turn, numbered by the hub's global sequence
        # (a member in several rooms gets them merged in that order); emptied by every flush.
        self.events: list[tuple[int, Event]] = []

    def __len__(self) -> int:
        return len(self.members)

    def add(self, member: Member, nick: Nickname) -> None:
        """Add ``member``, known as ``nick``."""
        self.members[member] = None
        if member.local:
            self.listeners[member] = None
        self._insert(nick)

    def remove(self, member: Member, nick: Nickname) -> None:
        """Remove ``member``, known as ``nick``."""
        del self.members[member]
        self.listeners.pop(member, None)
        self._delete(nick)

    def rename(self, old: Nickname, new: Nickname) -> None:
        """Re-sort a member of this room who changed its nickname."""
        self._delete(old)
        self._insert(new)

    def roster(self) -> tuple[str, ...]:
        """Who is here, sorted by normalized nickname."""
        return tuple(self._displays)

    def _insert(self, nick: Nickname) -> None:
        position = bisect.bisect(self._keys, nick.key)
        self._keys.insert(position, nick.key)
        self._displays.insert(position, nick.display)

    def _delete(self, nick: Nickname) -> None:
        position = bisect.bisect_left(self._keys, nick.key)
        del self._keys[position]
        del self._displays[position]
