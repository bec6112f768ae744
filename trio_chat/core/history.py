"""A room's recent past: what a newcomer is shown, kept in memory and handed out to be saved.

Pure, like the rest of ``core``: the hub records every event of a room that belongs to its
history (messages, actions, joins, parts, renames, departures, topic changes, modes, kicks)
as it broadcasts it, so a room's history is exactly its sequence of events, in the hub's
order. An entry's id is its event's id (see :mod:`trio_chat.core.hub`): one sequence for all
rooms, increasing across restarts and the same on every process, so a client that names the
last message it saw (IRC's ``CHATHISTORY AFTER #room msgid=...``) can be given exactly what
followed, wherever it reconnects. An event told to several rooms (a rename, a departure) is
one entry in each, with the same id. Private messages between two logged-in members are kept
too, under their conversation's key (:func:`trio_chat.core.hub.conversation_key`); a TAGMSG
only when one of its tags asks for it (:data:`PERSISTENT_TAGS`).

A newcomer is shown the last entries before its own arrival, right after its welcome to the
room and before anything live, so history and live events together are the room's sequence
without a gap or a duplicate. That read comes from memory: one bounded ring per room, filled
from the database at start-up. Saving is the shell's business: :meth:`History.take_unsaved`
hands it what was recorded since it last asked (:mod:`trio_chat.shell.archive` writes it to
SQLite, off the hub's task).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from trio_chat.core.events import (
    HISTORIC,
    Departed,
    Entry,
    Historic,
    LeaveReason,
    ModesChanged,
    Signalled,
)
from trio_chat.core.modes import Mode, ModeChange

_KINDS: dict[str, type[Historic]] = {kind.__name__: kind for kind in HISTORIC}


@dataclass(frozen=True, slots=True)
class RoomEntry:
    """An entry, with the room it belongs to: what the shell saves."""

    room_key: str  # the room's normalized name
    room: str  # the room's name as displayed
    entry: Entry


class History:
    """Every room's recent entries: a ring of ``ring`` per room, for at most ``rooms`` rooms.

    The rooms whose history is kept are the ``rooms`` most recently active: a room that has
    been silent longest loses its ring first (its entries stay in the database).
    """

    def __init__(self, ring: int, rooms: int) -> None:
        self.ring = ring
        self.rooms = rooms
        self._rings: OrderedDict[str, deque[Entry]] = OrderedDict()  # least recent first
        self.last_id = 0  # of the last entry recorded, in any room
        self._unsaved: list[RoomEntry] = []

    def load(self, room_key: str, entries: Iterable[Entry]) -> None:
        """Start ``room_key`` with saved ``entries``, oldest first (ids number on after them)."""
        ring = self._ring(room_key)
        ring.extend(entries)
        if ring:
            self.last_id = max(self.last_id, ring[-1].id)

    def record(self, room_key: str, room: str, event: Historic, time: float) -> None:
        """Add ``event`` (with its id) to the room's history, as of ``time``, if it is kept."""
        if not kept(event):
            return
        self.last_id = max(self.last_id, event.id)
        entry = Entry(event.id, time, event)
        self._ring(room_key).append(entry)
        self._rings.move_to_end(room_key)
        self._unsaved.append(RoomEntry(room_key, room, entry))

    def recent(self, room_key: str, count: int) -> tuple[Entry, ...]:
        """Return the room's last ``count`` entries (at most the ring), oldest first."""
        ring = self._rings.get(room_key)
        if ring is None or count <= 0:
            return ()
        return tuple(ring)[-count:]

    def rings(self) -> list[tuple[str, tuple[Entry, ...]]]:
        """Return every room's ring, the room silent the longest first (for a late replica)."""
        return [(key, tuple(ring)) for key, ring in self._rings.items()]

    def restore(self, rings: Iterable[tuple[str, Iterable[Entry]]], last_id: int) -> None:
        """Replace every ring with ``rings`` (as :meth:`rings` returns them), ids after ``last_id``.

        What was loaded from the database is replaced: the replica that sent ``rings`` has
        followed the log, so its rings are the rooms' true recent past.
        """
        self._rings.clear()
        for key, entries in rings:
            self._ring(key).extend(entries)
        self.last_id = last_id

    def take_unsaved(self) -> list[RoomEntry]:
        """Return everything recorded since the last call, in order, to be saved."""
        unsaved, self._unsaved = self._unsaved, []
        return unsaved

    def _ring(self, room_key: str) -> deque[Entry]:
        ring = self._rings.get(room_key)
        if ring is None:
            ring = self._rings[room_key] = deque(maxlen=self.ring)
            while len(self._rings) > self.rooms:
                self._rings.popitem(last=False)  # the room silent the longest
        return ring


# Client-only tags that ask for their TAGMSG to be kept (a reaction stays; typing does not).
PERSISTENT_TAGS = frozenset({"+draft/react", "+draft/persist"})


def kept(event: Historic) -> bool:
    """Say whether ``event`` belongs in history (a TAGMSG only if it asks to be kept)."""
    if isinstance(event, Signalled):
        return any(key in PERSISTENT_TAGS for key, _ in event.tags)
    return True


# --- saving an event: a kind and a JSON payload ----------------------------------------------


def encode_event(event: Historic) -> tuple[str, str]:
    """Return ``event`` as (kind, JSON of its fields), for the database."""
    fields = {field.name: _plain(getattr(event, field.name)) for field in dataclasses.fields(event)}
    return type(event).__name__, json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def decode_event(kind: str, payload: str, entry_id: int = 0) -> Historic:
    """Rebuild an event saved by :func:`encode_event`.

    ``entry_id`` is its entry's id: the event's own, if it was saved before events had one.

    Raises:
        ValueError: if the kind is unknown or the payload does not fit it.
    """
    cls = _KINDS.get(kind)
    if cls is None:
        raise ValueError(f"unknown kind of history entry {kind!r}")
    fields: dict[str, Any] = json.loads(payload)
    if cls is Departed:
        fields["reason"] = LeaveReason(fields["reason"])
    if "tags" in fields:
        fields["tags"] = tuple((str(key), str(value)) for key, value in fields["tags"])
    if cls is ModesChanged:
        fields["changes"] = tuple(
            ModeChange(Mode(c["mode"]), bool(c["on"]), str(c["argument"]))
            for c in fields["changes"]
        )
    fields.setdefault("id", entry_id)
    try:
        return cls(**fields)
    except TypeError as error:
        raise ValueError(f"a {kind} entry that does not fit: {error}") from None


def _plain(value: object) -> object:
    if isinstance(value, tuple):  # a mode change's changes
        return [_plain(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value.value if isinstance(value, enum.Enum) else value
