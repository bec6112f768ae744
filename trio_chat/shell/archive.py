"""Rooms' history on disk: SQLite, written off the hub's task, read back at start-up.

The hub records history in memory (:mod:`trio_chat.core.history`) and never waits for the
disk: after each turn, ``run_hub`` hands what was recorded to :meth:`Archive.offer`, which
queues it without waiting. One task, :meth:`Archive.run`, encodes the queue a slice at a time
between checkpoints and saves it in a worker thread (``trio.to_thread.run_sync`` behind the
database's ``CapacityLimiter(1)``: SQLite connections are not for concurrent use), at most once
per ``flush_interval``, so a busy server
costs the disk one commit a second, and a ``kill -9`` loses at most the last second or so.

When the disk falls behind, the queue is bounded (``MAX_QUEUED`` entries): what does not fit is
dropped and counted, and the log says so once per episode. Live chat never waits for history;
a full or failing disk loses history, never messages. Errors while saving are handled the same
way: counted, logged once per episode, and the next batch is tried.
"""

from __future__ import annotations

import itertools
import logging
import math
import sqlite3
import time
from dataclasses import dataclass

import trio

from trio_chat.core.history import Change, History
from trio_chat.shell.channels import take_waiting
from trio_chat.shell.database import Commit, Database

logger = logging.getLogger(__name__)

MAX_QUEUED = 100_000  # entries waiting to be saved, at most; more are dropped (and counted)
PRUNE_EVERY = 3600.0  # seconds between deletions past --history-max-days and -max-rooms
ENCODE_SLICE = 32  # entries encoded between two checkpoints: about 0.3 ms


@dataclass(frozen=True)
class HistoryConfig:
    """How much history is kept, in memory and on disk, and how often it is saved.

    (Where: the server's database, :mod:`trio_chat.shell.database`. How much a newcomer is
    shown is the hub's rule: ``Limits.history_lines``.)
    """

    ring: int = 100  # entries per room kept in memory (the most /history can show)
    max_per_room: int = 10_000  # entries per room kept on disk
    max_days: float = 0.0  # 0: kept until max_per_room pushes them out
    # Rooms kept on disk: past it, the least recently active are deleted (rooms churn, and
    # start-up reads back no more than the hub's room limit, 1,000 by default, anyway).
    max_rooms: int = 1_000
    flush_interval: float = 1.0  # seconds between commits, at most one per interval
    shutdown_timeout: float = 5.0  # seconds the last commits may take at shutdown
    lookup_timeout: float = 5.0  # seconds a history query may wait for and read the disk


class Archive:
    """The history in memory, and the writer that saves it (see the module docstring)."""

    def __init__(self, database: Database, config: HistoryConfig, history: History) -> None:
        self.database = database
        self.config = config
        self.history = history
        # Unbounded as a channel, bounded by offer(): the bound is in entries, not batches.
        self._send, self._receive = trio.open_memory_channel[list[Change]](math.inf)
        self.queued = 0  # entries offered and not yet taken by the writer
        self.dropped = 0  # entries lost: the queue was full, or saving failed
        self._dropping = False  # in an episode of drops (said once per episode)
        self._pruned_at = -math.inf  # when entries past max_days were last deleted
        # Cancelled only by its deadline, which close() sets: see run().
        self._stop = trio.CancelScope()
        self._closed = False
        self._wake = trio.Event()  # ends the wait between commits: closing, or a reader waiting
        self.batches_offered = 0  # offered (and queued) so far
        self.batches_settled = 0  # of those, saved or given up on
        self._committing = 0  # entries in the commit under way (taken, not yet saved)
        self._progress = trio.Event()  # set at each commit (and then made anew)
        self.gave_up = False  # stopped at the shutdown timeout, a commit maybe still running

    @classmethod
    async def open(
        cls, database: Database, config: HistoryConfig, *, rooms: int, shown: int
    ) -> Archive:
        """Load the last entries of up to ``rooms`` rooms from ``database``.

        ``shown`` is how many entries a newcomer is shown: the ring keeps at least as many.
        """
        history = History(max(config.ring, shown), rooms)
        since = time.time() - config.max_days * 86400 if config.max_days else 0.0
        # Read in a worker thread, at start-up: cancelled (the server stopped while starting),
        # the task waits for the read to finish, which holds nothing but the database.
        loaded = await trio.to_thread.run_sync(
            lambda: database.load(history, since=since), limiter=database.limiter
        )
        logger.info("history: %s, %d entries loaded", database.path, loaded)
        return cls(database, config, history)

    def offer(self, records: list[Change]) -> None:
        """Queue ``records`` to be saved, without waiting (the hub's task calls this)."""
        if not records:
            return
        if self.queued + len(records) > MAX_QUEUED:
            self._drop(len(records), "the disk is not keeping up")
            return
        self.queued += len(records)
        self.batches_offered += 1
        self._send.send_nowait(records)

    def close(self) -> None:
        """No more records: the writer saves what is queued, within the shutdown timeout."""
        self._send.close()
        self._closed = True
        self._wake.set()
        # What is still queued gets this long to be saved; then it is dropped (and counted).
        self._stop.deadline = trio.current_time() + self.config.shutdown_timeout

    async def run(self) -> None:
        """Save what is offered, a batch per flush interval, until closed and drained.

        Cancellation: by the shutdown timeout (see :meth:`close`), or with the server. A commit
        in a worker thread is then abandoned, not waited for: SQLite commits atomically, so
        the entries of an abandoned commit are either all saved or all absent after a
        restart, and waiting could let a stuck disk hold the process hostage. The server then
        leaves the database for the process's exit to close (see ``gave_up``).
        """
        with self._stop:
            last_commit = -math.inf
            async for batch in self._receive:
                # At most one commit per interval, so a busy server fsyncs once a second;
                # close() ends the wait at once: shutdown saves without waiting for it (and
                # so does a reader that needs what is queued: see settle()).
                with trio.move_on_at(last_commit + self.config.flush_interval):
                    await self._wake.wait()
                if not self._closed:
                    self._wake = trio.Event()
                batches = [batch, *take_waiting(self._receive)]
                records = list(itertools.chain.from_iterable(batches))
                commit = await self._encode(records)
                self.queued -= len(records)  # (still queued if cancelled while encoding)
                self._committing = len(records)
                await self._save(commit, len(records))
                self._committing = 0
                self.batches_settled += len(batches)
                self._progress.set()
                self._progress = trio.Event()
                last_commit = trio.current_time()
                if self._prune_due():
                    await self._prune()
            return
        self.gave_up = True
        if self.queued:  # offered, never taken by a commit
            self._drop(self.queued, "shutdown could not wait for the disk")
        logger.warning(
            "history: saving stopped at the shutdown timeout; entries in the commit left"
            " running: %d (saved whole or not at all)",
            self._committing,
        )

    async def settle(self) -> None:
        """Return once what was offered before this call is saved (or given up on).

        A read of the database then misses nothing that memory no longer holds. The writer
        commits at once rather than at the end of its interval.
        """
        offered = self.batches_offered
        await trio.lowlevel.checkpoint()  # a checkpoint, even when nothing is queued
        while self.batches_settled < offered:
            self._wake.set()
            await self._progress.wait()

    @staticmethod
    async def _encode(records: list[Change]) -> Commit:
        """Encode ``records`` here, on the event loop's thread, a slice between checkpoints.

        Not in the worker thread that saves them: there, encoding held the GIL, and the event
        loop waited for it (see :class:`~trio_chat.shell.database.Commit`). Here a slice takes
        a fraction of a millisecond, and members' turns run between slices.
        """
        commit = Commit()
        for start in range(0, len(records), ENCODE_SLICE):
            # Members' turns run here. At the shutdown deadline, cancelled here: what is not
            # saved is still counted as queued, and run() counts it dropped.
            await trio.lowlevel.checkpoint()
            commit.add(records[start : start + ENCODE_SLICE])
        return commit  # noqa: ASYNC910 (records are never empty: offer() queues none)

    async def _save(self, commit: Commit, entries: int) -> None:  # noqa: ASYNC910 (see below)
        # to_thread.run_sync is a checkpoint, even when the call it made raises.
        try:
            await trio.to_thread.run_sync(
                self.database.save,
                commit,
                self.config.max_per_room,
                limiter=self.database.limiter,
                abandon_on_cancel=True,  # see run(): never wait on a stuck disk
            )
        except sqlite3.Error as error:  # a full disk, a file removed or made read-only
            self._drop(entries, f"saving failed: {error}")
        else:
            if self._dropping:
                logger.warning("history: saving again (%d entries lost so far)", self.dropped)
                self._dropping = False

    def _prune_due(self) -> bool:
        return time.time() - self._pruned_at >= PRUNE_EVERY

    async def _prune(self) -> None:  # noqa: ASYNC910 (as _save)
        self._pruned_at = now = time.time()
        before = now - self.config.max_days * 86400 if self.config.max_days else 0.0
        try:
            # Abandoned when cancelled, as a save is (see _save): never wait on a stuck disk;
            # a prune cut short deletes nothing or all it meant to (one transaction).
            await trio.to_thread.run_sync(
                self.database.prune,
                before,
                self.config.max_rooms,
                limiter=self.database.limiter,
                abandon_on_cancel=True,
            )
        except sqlite3.Error as error:
            logger.warning("history: pruning failed: %s", error)

    def _drop(self, count: int, why: str) -> None:
        self.dropped += count
        if not self._dropping:
            logger.warning("history: %s; dropping entries (live chat goes on)", why)
            self._dropping = True
