"""Reading history from disk, for the queries memory cannot answer alone, off the hub's task.

The hub answers a history query (IRC's CHATHISTORY) from its rings when they hold all of the
answer: the recent past, which is what reconnecting clients ask for. When older entries may
belong in it, the hub hands a :class:`~trio_chat.core.history.Lookup` to ``run_hub``, which
offers it here without waiting. One task, :meth:`HistoryReader.run`, reads each from the
database in a worker thread (behind the database's limiter, like every other use of it),
once the history's writer has saved what was queued when the lookup was made (what memory
let go of may not be on disk yet), and sends the answer back to the hub's inbox, which
tells the member in order with the rest.

Each read has a deadline (``HistoryConfig.lookup_timeout``): a slow or stuck disk fails that
query with a clear refusal (``FAIL CHATHISTORY MESSAGE_ERROR``), never the hub, and never
anyone else's chat.
"""

from __future__ import annotations

import logging
import sqlite3
import time

import trio

from trio_chat.core.events import Event
from trio_chat.core.history import Lookup
from trio_chat.core.hub import Request
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.requests import Inform
from trio_chat.shell.archive import Archive

logger = logging.getLogger(__name__)

MAX_WAITING = 100  # lookups queued at most; more are refused at once (the disk is behind)


class HistoryReader:
    """Reads what the hub's memory lacks (see the module docstring)."""

    def __init__(
        self,
        archive: Archive,
        hub_inbox: trio.MemorySendChannel[Request],
    ) -> None:
        self.archive = archive
        # How long a lookup may take, waiting for the database included.
        self.timeout = archive.config.lookup_timeout
        self._hub_inbox = hub_inbox  # the hub's own inbox: an answer is this process's news
        self._send, self._receive = trio.open_memory_channel[Lookup](MAX_WAITING)
        self.failed = 0  # lookups refused: too many waiting, too slow, or the read failed
        self._failing = False  # reads are failing (said once, until one succeeds)

    def offer(self, lookups: list[Lookup]) -> list[Inform]:
        """Queue ``lookups`` without waiting (the hub's task calls this).

        Returns the refusals of those that did not fit, for the hub to tell at once.
        """
        refused = []
        for lookup in lookups:
            try:
                self._send.send_nowait(lookup)
            except trio.WouldBlock:
                refused.append(Inform(lookup.member, self._refusal(lookup)))
        return refused

    def close(self) -> None:
        """No more lookups: the reader answers those queued, then ends."""
        self._send.close()

    async def run(self) -> None:
        """Answer what is offered, one lookup at a time, until closed and drained.

        Cancellation: with the server. A read in its thread is waited for, at most until its
        deadline, when SQLite stops it (see :meth:`Database.read`).
        """
        async for lookup in self._receive:
            answer = await self._read(lookup)
            try:
                await self._hub_inbox.send(Inform(lookup.member, answer))
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                return  # the hub is done: nobody is left to tell

    async def _read(self, lookup: Lookup) -> Event:
        database, key, query = self.archive.database, lookup.key, lookup.query
        deadline = time.monotonic() + self.timeout  # the thread's clock: SQLite's deadline
        # A lookup waits for the database (behind the history's writer) only this long; once
        # its thread runs, cancelling waits for it, and SQLite ends it by the same deadline.
        with trio.move_on_after(self.timeout):
            await self.archive.settle()  # entries memory let go of may still be queued
            try:
                saved = await trio.to_thread.run_sync(
                    database.read, key, query, deadline, limiter=database.limiter
                )
            except sqlite3.Error as error:  # interrupted at the deadline, or a broken file
                if not self._failing:
                    logger.warning("history: reading failed (%s); queries get an error", error)
                    self._failing = True
            else:
                if self._failing:
                    logger.warning("history: reading again (%d queries failed)", self.failed)
                    self._failing = False
                return lookup.answer(saved)
        return self._refusal(lookup)

    def _refusal(self, lookup: Lookup) -> Refusal:
        self.failed += 1
        asked = lookup.query.direction.value
        return Refusal(Reason.HISTORY_UNAVAILABLE, lookup.target, asked)
