"""A room's recent past: what a newcomer is shown, kept in memory and handed out to be saved.

Pure, like the rest of ``core``: the hub records every event of a room that belongs to its
history (messages, actions, joins, parts, renames, departures, topic changes, modes, kicks)
as it broadcasts it, so a room's history is exactly its sequence of events, in the hub's
order. An entry's id is its event's id (see :mod:`trio_chat.core.hub`): one sequence for all
rooms, increasing across restarts and the same on every process, so a client that names the
last message it saw (IRC's ``CHATHISTORY AFTER #room msgid=...``) can be given exactly what
followed, wherever it reconnects. An event told to several rooms (a rename, a departure) is
one entry in each, with the same id. Private messages are kept too, for each end that is
logged in to an account, under its conversation's key (:func:`conversation_key`); a TAGMSG
only when one of its tags asks for it (:data:`PERSISTENT_TAGS`).

A client reads any part of a conversation with a :class:`~trio_chat.core.events.HistoryQuery`
(:func:`select`): from memory when the ring holds all of the answer, else from the database
too (:meth:`History.read` says which).

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from trio_chat.core.events import (
    HISTORIC,
    AtId,
    Departed,
    Direction,
    Emoted,
    Entry,
    Historic,
    HistoryQuery,
    HistoryRead,
    LeaveReason,
    Mark,
    ModesChanged,
    PrivateFrom,
    Said,
    Signalled,
)
from trio_chat.core.members import Member
from trio_chat.core.modes import Mode, ModeChange

_KINDS: dict[str, type[Historic]] = {kind.__name__: kind for kind in HISTORIC}


@dataclass(frozen=True, slots=True)
class RoomEntry:
    """An entry, with the room it belongs to: what the shell saves."""

    room_key: str  # the room's normalized name
    room: str  # the room's name as displayed
    entry: Entry


@dataclass(frozen=True, slots=True)
class Redaction:
    """An entry taken back (IRC's REDACT): the shell deletes it from the database too."""

    room_key: str
    id: int


Change = RoomEntry | Redaction  # what the database is handed, in order


@dataclass(frozen=True, slots=True)
class Lookup:
    """A history query that memory could not answer alone: the shell reads the database.

    It carries memory's entries (``ring``) as they were when it was asked: what is not saved
    yet is there. Entries saved after ``last_id`` came later, live, and are not in the answer.
    """

    member: Member
    key: str  # the conversation's history key
    target: str  # its name, as the answer shows it
    query: HistoryQuery
    ring: tuple[Entry, ...]
    last_id: int

    def answer(self, saved: Iterable[Entry]) -> HistoryRead:
        """Return the answer, given the entries ``saved`` on disk that the query may need."""
        by_id = {entry.id: entry for entry in saved if entry.id <= self.last_id}
        by_id.update((entry.id, entry) for entry in self.ring)
        entries = [by_id[id_] for id_ in sorted(by_id)]
        return HistoryRead(self.target, select(entries, self.query))


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
        self._unsaved: list[Change] = []

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

    def read(self, key: str, query: HistoryQuery) -> tuple[tuple[Entry, ...], bool]:
        """Answer ``query`` from the ring of ``key`` (a room's, or a conversation's).

        Returns the answer and whether it is whole: False when entries older than the ring,
        on disk, may belong in it (then read them, and :func:`select` from both).
        """
        ring = self._rings.get(key)
        if ring is None:
            return (), False
        entries = tuple(ring)
        answer = select(entries, query)
        full = len(ring) == ring.maxlen
        return answer, not full or not _reaches_back(entries[0], query, answer)

    def latest(self, keys: Iterable[str], prefix: str | None) -> dict[str, Entry]:
        """Return the latest message of each ring in ``keys`` or whose key starts with ``prefix``.

        Only rings in memory: the ``rooms`` most recently active conversations.
        """
        wanted = set(keys)
        found: dict[str, Entry] = {}
        for key, ring in self._rings.items():
            if key in wanted or (prefix is not None and key.startswith(prefix)):
                entry = next((e for e in reversed(ring) if is_message(e.event)), None)
                if entry is not None:
                    found[key] = entry
        return found

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

    def find(self, key: str, id_: int) -> Entry | None:
        """Return the entry ``id_`` of ``key``'s ring, if memory still holds it."""
        ring = self._rings.get(key)
        return next((entry for entry in ring if entry.id == id_), None) if ring else None

    def copies(self, id_: int) -> list[str]:
        """Return the keys of the conversations whose memory holds private message ``id_``.

        (Ids are unique across rooms and conversations: each such entry is a copy of it.)
        """
        return [
            key
            for key, ring in self._rings.items()
            if key.startswith(CONVERSATION_PREFIX) and any(entry.id == id_ for entry in ring)
        ]

    def redact(self, key: str, id_: int) -> None:
        """Take entry ``id_`` out of ``key``'s history: from memory now, from disk when saved."""
        ring = self._rings.get(key)
        if ring is not None:
            kept = [entry for entry in ring if entry.id != id_]
            ring.clear()
            ring.extend(kept)
        self._unsaved.append(Redaction(key, id_))

    def take_unsaved(self) -> list[Change]:
        """Return everything recorded (and taken back) since the last call, in order."""
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
    if isinstance(event, Signalled) or (isinstance(event, PrivateFrom) and event.signal):
        return any(key in PERSISTENT_TAGS for key, _ in event.tags)
    return True


def conversation_key(owner: str, correspondent: str) -> str:
    """Return the history key of account ``owner``'s private messages with a nickname (its key).

    Each end logged in to an account keeps its own copy, so what one reads back is only ever
    what its account sent or received. Starts with a character no room name has.
    """
    return f"{CONVERSATION_PREFIX}{owner} {correspondent}"


CONVERSATION_PREFIX = "@"


def conversations_of(owner: str) -> str:
    """Return what the keys of account ``owner``'s conversations start with."""
    return f"{CONVERSATION_PREFIX}{owner} "


def is_message(event: Historic) -> bool:
    """Say whether ``event`` is a message (PRIVMSG, NOTICE, an action) rather than an event."""
    match event:
        case Said() | Emoted():
            return True
        case PrivateFrom(signal=signal):
            return not signal
        case _:
            return False


def select(entries: Sequence[Entry], query: HistoryQuery) -> tuple[Entry, ...]:
    """Return what ``query`` asks of ``entries`` (one conversation's, by id), oldest first."""
    shown = [e for e in entries if query.events or is_message(e.event)]
    limit, mark = query.limit, query.mark
    match query.direction:
        case Direction.LATEST:
            newer = shown if mark is None else [e for e in shown if _after(e, mark)]
            return tuple(newer[-limit:]) if limit else ()
        case Direction.BEFORE if mark is not None:
            older = [e for e in shown if _before(e, mark)]
            return tuple(older[-limit:]) if limit else ()
        case Direction.AFTER if mark is not None:
            return tuple(e for e in shown if _after(e, mark))[:limit]
        case Direction.AROUND if mark is not None:
            half = limit // 2
            before = [e for e in shown if _before(e, mark)][-half:] if half else []
            rest = [e for e in shown if not _before(e, mark)][: limit - len(before)]
            return (*before, *rest)
        case Direction.BETWEEN if mark is not None and query.until is not None:
            until = query.until
            forward = [e for e in shown if _after(e, mark) and _before(e, until)]
            if forward:
                return tuple(forward[:limit])
            backward = [e for e in shown if _after(e, until) and _before(e, mark)]
            return tuple(backward[-limit:]) if limit else ()
    raise ValueError(f"a history query without the marks it needs: {query!r}")


def milliseconds(entry: Entry) -> int:
    """Return when ``entry`` was recorded, in milliseconds since the Unix epoch (as marks are)."""
    return round(entry.time * 1000)


def _place(entry: Entry, mark: Mark) -> int:
    """Return where ``entry`` is, measured as ``mark`` measures (an id, or milliseconds)."""
    return entry.id if isinstance(mark, AtId) else milliseconds(entry)


def _value(mark: Mark) -> int:
    return mark.id if isinstance(mark, AtId) else mark.ms


def _before(entry: Entry, mark: Mark) -> bool:
    return _place(entry, mark) < _value(mark)


def _after(entry: Entry, mark: Mark) -> bool:
    return _place(entry, mark) > _value(mark)


def _reaches_back(first: Entry, query: HistoryQuery, answer: tuple[Entry, ...]) -> bool:
    """Say whether entries older than ``first`` (the ring's oldest) may belong in ``answer``.

    Entries read backward from a mark fill the limit newest first, so they need older ones
    only if the limit is not filled; entries read forward need them if the mark is older
    than the ring. (BETWEEN is taken to need them whenever a mark is older than the ring.)
    """
    mark, until = query.mark, query.until
    match query.direction:
        case Direction.LATEST:
            return len(answer) < query.limit and (mark is None or _after(first, mark))
        case Direction.BEFORE:
            return len(answer) < query.limit
        case Direction.AFTER:
            return mark is not None and _after(first, mark)
        case Direction.AROUND:
            assert mark is not None, "AROUND has a mark"
            before = sum(1 for entry in answer if _before(entry, mark))
            return before < query.limit // 2 or _after(first, mark)
        case Direction.BETWEEN:
            return any(m is not None and _after(first, m) for m in (mark, until))


# --- saving an event: a kind and a JSON payload ----------------------------------------------


# One encoder for every entry: json.dumps with options builds a new one per call, which was
# half the cost of encoding an entry.
_to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_SCALARS = frozenset({str, int, float, bool, type(None)})  # saved as they are
_FIELD_NAMES = {kind: tuple(f.name for f in dataclasses.fields(kind)) for kind in HISTORIC}


def encode_event(event: Historic) -> tuple[str, str]:
    """Return ``event`` as (kind, JSON of its fields), for the database."""
    fields = {}
    for name in _FIELD_NAMES[type(event)]:
        value = getattr(event, name)
        fields[name] = value if type(value) in _SCALARS else _plain(value)
    return type(event).__name__, _to_json(fields)


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
