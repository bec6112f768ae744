"""One room's state: its members in join order with their roles, its sorted roster, its topic. Pure.

Only the hub (:mod:`trio_chat.core.hub`) creates and changes rooms; this module keeps the
bookkeeping that a room needs to answer fast, whatever its size: every join carries the roster,
so the roster is kept sorted as members come and go rather than sorted once per newcomer.

A room knows nothing of what a member is beyond whether this process delivers to it
(:class:`Occupant`): it is generic in its members, so the hub's rooms hold the hub's
:class:`~trio_chat.core.members.Member` and a test's rooms hold whatever it likes.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable
from typing import Generic, Protocol, TypeVar

from trio_chat.core.events import Event, RosterEntry
from trio_chat.core.modes import RoomModes
from trio_chat.core.roles import NO_ROLES, Roles
from trio_chat.core.text import Nickname, RoomName


class Occupant(Hashable, Protocol):
    """What a room needs to know of a member."""

    @property
    def local(self) -> bool:
        """Whether this process delivers to it (False: another process sharing the rooms)."""
        ...


M = TypeVar("M", bound=Occupant)


class Room(Generic[M]):
    """A room and who is in it. It exists while it has members, or while it is ``kept``."""

    __slots__ = (
        "_entries",
        "_keys",
        "created",
        "creator",
        "events",
        "founder",
        "kept",
        "listeners",
        "members",
        "modes",
        "name",
        "operators",
        "topic",
        "topic_by",
        "topic_time",
    )

    def __init__(self, name: RoomName, *, kept: bool = False, created: float = 0.0) -> None:
        self.name = name
        self.topic = ""
        self.topic_by, self.topic_time = "", 0.0  # who set the topic, and when (Unix time)
        self.modes = RoomModes()
        self.created = created  # Unix time
        # Who made it, and from which address group, while it counts against their limits
        # (None, "": nobody's, as a registered room or #lobby).
        self.creator: tuple[M | None, str] = (None, "")
        # Registered: the founder's account key ("": not registered), and the accounts that
        # are made operators as they join.
        self.founder = ""
        self.operators: set[str] = set()
        # Kept rooms outlive their last member (the hub frees any other room as it empties).
        self.kept = kept
        self.members: dict[M, Roles] = {}  # in join order: each member's roles here
        # The members this process delivers to (all of them, unless processes share rooms).
        self.listeners: dict[M, None] = {}
        # The roster, sorted by normalized nickname: the keys, and the entries as shown.
        self._keys: list[str] = []
        self._entries: list[RosterEntry] = []
        # What the room said in the hub's current turn, numbered by the hub's global sequence
        # (a member in several rooms gets them merged in that order); emptied by every flush.
        self.events: list[tuple[int, Event]] = []

    def __len__(self) -> int:
        return len(self.members)

    def add(self, member: M, nick: Nickname, roles: Roles = NO_ROLES) -> None:
        """Add ``member``, known as ``nick``, with ``roles`` (highest first)."""
        self.members[member] = roles
        if member.local:
            self.listeners[member] = None
        self._insert(nick, roles)

    def remove(self, member: M, nick: Nickname) -> None:
        """Remove ``member``, known as ``nick``."""
        del self.members[member]
        self.listeners.pop(member, None)
        self._delete(nick)

    def rename(self, member: M, old: Nickname, new: Nickname) -> None:
        """Re-sort a member of this room who changed its nickname."""
        self._delete(old)
        self._insert(new, self.members[member])

    def set_roles(self, member: M, nick: Nickname, roles: Roles) -> None:
        """Give ``member`` (known as ``nick``) exactly ``roles`` here, highest first."""
        self.members[member] = roles
        self._entries[bisect.bisect_left(self._keys, nick.key)] = RosterEntry(nick.display, roles)

    def roster(self) -> tuple[RosterEntry, ...]:
        """Who is here, sorted by normalized nickname, with their roles."""
        return tuple(self._entries)

    def _insert(self, nick: Nickname, roles: Roles) -> None:
        position = bisect.bisect(self._keys, nick.key)
        self._keys.insert(position, nick.key)
        self._entries.insert(position, RosterEntry(nick.display, roles))

    def _delete(self, nick: Nickname) -> None:
        position = bisect.bisect_left(self._keys, nick.key)
        del self._keys[position]
        del self._entries[position]
