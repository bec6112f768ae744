"""What moderation keeps on disk: registered rooms and server bans, saved off the hub's task.

Accounts' read markers (:mod:`trio_chat.core.read_markers`) are kept the same way, by the same
store: they change as often, need the same merging, and nobody waits for them either.

The hub changes a registered room (its modes, lists, topic, operators) or the server bans in
memory at once, and notes the change; after each turn ``run_hub`` hands what was noted to
:meth:`ModerationStore.offer`, which never waits. One task, :meth:`ModerationStore.run`,
commits what is queued in a worker thread, one commit for everything that waits (a room
changed three times in a burst is written once, as it now is). Nobody waits for these commits:
a ``kill -9`` loses the changes of the last moment only, those not yet committed, and the file
opens cleanly afterwards (WAL, see :mod:`trio_chat.shell.database`).

With processes sharing rooms, each replica applies every change from the shared log, and so
each process saves every change to its own database; a process that starts from another's
state saves that state (the hub notes every registered room and ban it adopts, and drops
what its own file had that the state has not).

A commit that fails (a full or read-only disk) is logged and counted; the changes stay queued
and are written with the next batch, since a commit always writes each room as it now is.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from dataclasses import dataclass, field

import trio

from trio_chat.core.events import ServerBanEntry
from trio_chat.core.read_markers import ReadMark
from trio_chat.core.snapshots import RoomRecord
from trio_chat.core.text import fold
from trio_chat.shell.channels import take_waiting
from trio_chat.shell.database import Database

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Changes:
    """One turn's changes: rooms changed (a record) or dropped (a key); bans set or lifted."""

    rooms: list[RoomRecord | str]
    bans: list[ServerBanEntry | str]
    marks: list[ReadMark] = field(default_factory=list)  # read markers moved (or forgotten)


class ModerationStore:
    """Saves registered rooms and server bans to the database (see the module docstring)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        # Unbounded as a channel: operators' commands fill it (a few a second, flood control
        # applies to them too), and each batch is merged into the dicts below at once.
        self._send, self._receive = trio.open_memory_channel[Changes](math.inf)
        self._rooms: dict[str, RoomRecord | None] = {}  # by key: as it now is, or dropped
        self._bans: dict[str, ServerBanEntry | None] = {}  # by folded mask: set, or lifted
        self._marks: dict[tuple[str, str], ReadMark] = {}  # by account and target: as it now is
        self.saved = 0  # rooms and bans written (or deleted)
        self.failed = 0  # commits that failed

    def offer(
        self,
        rooms: list[RoomRecord | str],
        bans: list[ServerBanEntry | str],
        marks: list[ReadMark] | None = None,
    ) -> None:
        """Queue one turn's changes, without waiting (the hub's task calls this)."""
        if rooms or bans or marks:
            self._send.send_nowait(Changes(rooms, bans, marks or []))

    def close(self) -> None:
        """No more changes: the writer saves what is queued, then ends."""
        self._send.close()

    async def run(self) -> None:
        """Save what is offered, a commit per batch, until closed and drained.

        Cancellation: with the server. A commit in its thread is then waited for (it is short,
        and abandoning it would leave the database in use while the server closes it); what
        was queued after it is lost, as with a crash.
        """
        async for changes in self._receive:
            for batch in (changes, *take_waiting(self._receive)):
                for room in batch.rooms:
                    if isinstance(room, RoomRecord):
                        self._rooms[room.name.key] = room
                    else:
                        self._rooms[room] = None
                for ban in batch.bans:
                    if isinstance(ban, ServerBanEntry):
                        self._bans[fold(ban.mask)] = ban
                    else:
                        self._bans[fold(ban)] = None
                self._marks.update(((mark.account, mark.target), mark) for mark in batch.marks)
            await self._commit()

    async def _commit(self) -> None:
        """Write every change not yet written; keep them all if that fails."""
        rooms = [room for room in self._rooms.values() if room is not None]
        dropped = [key for key, room in self._rooms.items() if room is None]
        bans = [ban for ban in self._bans.values() if ban is not None]
        lifted = [mask for mask, ban in self._bans.items() if ban is None]
        marks = list(self._marks.values())
        database = self.database

        def save() -> None:
            database.save_rooms(rooms, dropped)
            database.save_server_bans(bans, lifted)
            database.save_read_markers(marks)

        try:
            # Waited for even when cancelled (no abandon_on_cancel): a commit is short, and the
            # server closes the database next; cancelled meanwhile, its changes are kept or
            # not, whole (one transaction), and the task sees Cancelled once it is done.
            await trio.to_thread.run_sync(save, limiter=database.limiter)
        except sqlite3.Error as error:  # a full disk, a file removed or made read-only
            self.failed += 1
            logger.warning(
                "moderation: saving %d rooms, %d server bans and %d read markers failed: %s",
                len(self._rooms),
                len(self._bans),
                len(self._marks),
                error,
            )
            return  # noqa: ASYNC910 (to_thread.run_sync checkpoints, even as it raises)
        self.saved += len(self._rooms) + len(self._bans) + len(self._marks)
        self._rooms.clear()
        self._bans.clear()
        self._marks.clear()
