"""Read markers (IRCv3 ``draft/read-marker``): how far each account has read each target. Pure.

A member tells the hub the time of the last message it read in a room or a private
conversation; the hub keeps the latest such time per account and target, and tells every
connection of the account when it moves. A marker only ever moves forward: an older time
changes nothing, and the one who sent it is told the newer one the hub keeps.

Markers belong to accounts, so they outlive connections: the hub notes each change, and the
shell saves it to the database off the hub's task (:mod:`trio_chat.shell.read_marker_store`);
every replica sharing a backplane applies the same commands, so each holds the same markers,
and a late replica starts from them in the state. A member logged in to no account keeps its
markers on itself (``Member.read_marks``), for as long as it is connected, as ergo does.

Times are milliseconds since the Unix epoch: IRC's ``server-time`` has that precision, and an
integer crosses the shared log and the database unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReadMark:
    """How far ``account`` has read ``target``: up to ``time`` (None: forgotten, for the store)."""

    account: str  # the account's key
    target: str  # the key of a room's name or of a nickname (a room's starts with "#")
    time: int | None  # milliseconds since the Unix epoch


def advance(marks: dict[str, int], target: str, time: int) -> tuple[int, bool]:
    """Move ``marks[target]`` forward to ``time``; return the time it now has, and if it moved."""
    stored = marks.get(target)
    if stored is not None and stored >= time:
        return stored, False
    marks[target] = time
    return time, True


class ReadMarkers:
    """Account key -> target key -> the time read up to, with the changes not yet saved."""

    __slots__ = ("_by_account", "_unsaved")

    def __init__(self) -> None:
        self._by_account: dict[str, dict[str, int]] = {}
        # Changed since the store last took them: the time now, or None (forgotten).
        self._unsaved: dict[tuple[str, str], int | None] = {}

    def get(self, account: str, target: str) -> int | None:
        """Return how far ``account`` has read ``target`` (None: it never said)."""
        marks = self._by_account.get(account)
        return marks.get(target) if marks is not None else None

    def advance(self, account: str, target: str, time: int) -> tuple[int, bool]:
        """Move the marker forward to ``time``; return the time it now has, and if it moved."""
        stored, moved = advance(self._by_account.setdefault(account, {}), target, time)
        if moved:
            self._unsaved[account, target] = time
        return stored, moved

    def marks(self) -> tuple[ReadMark, ...]:
        """Every marker kept, by account then target (for a replica's state)."""
        return tuple(
            ReadMark(account, target, time)
            for account, marks in sorted(self._by_account.items())
            for target, time in sorted(marks.items())
        )

    def load(self, marks: Iterable[ReadMark], *, unsaved: bool = False) -> None:
        """Keep ``marks`` (saved ones; ``unsaved``: from a state, for the store to save too)."""
        for mark in marks:
            if mark.time is None:
                continue  # (forgotten, as take_unsaved() says: nothing to keep)
            self._by_account.setdefault(mark.account, {})[mark.target] = mark.time
            if unsaved:
                self._unsaved[mark.account, mark.target] = mark.time

    def forget(self) -> None:
        """Forget every marker, and have the store forget them (a replica starting again)."""
        for account, marks in self._by_account.items():
            for target in marks:
                self._unsaved[account, target] = None
        self._by_account.clear()

    def take_unsaved(self) -> list[ReadMark]:
        """Return the markers changed since the last call, as they now are, for the store."""
        unsaved = [
            ReadMark(account, target, time) for (account, target), time in self._unsaved.items()
        ]
        self._unsaved = {}
        return unsaved
