"""Accounts on disk: every change saved before its member is told, off the hub's task.

The hub changes accounts in memory at once (a registration reserves its name in the hub's one
order) and hands each change to :meth:`AccountStore.offer`, which never waits. One task,
:meth:`AccountStore.run`, commits what is queued in a worker thread, at once (registrations
are rare and a person is waiting), and then tells the hub, with a
:class:`~trio_chat.core.requests.Saved` request: only then is the member told that its account
exists. So a ``kill -9`` right after ``REGISTER SUCCESS`` loses nothing.

A commit that fails (a full or read-only disk) is said to the member (``not saved``) and
logged; the change holds in memory until the process stops, and the next commit writes it with
whatever comes next, since a commit always writes each account as it now is.
"""

from __future__ import annotations

import logging
import math
import sqlite3

import trio

from trio_chat.core.accounts import Account, Ticket
from trio_chat.core.hub import Request, Unsaved
from trio_chat.core.requests import Saved
from trio_chat.shell.channels import take_waiting
from trio_chat.shell.database import Database

logger = logging.getLogger(__name__)

Change = Unsaved | Ticket | str  # an account as it now is; a ticket kept, or dropped (digest)


class AccountStore:
    """Saves account changes to the database, then tells the hub (see the module docstring)."""

    def __init__(self, database: Database, hub_inbox: trio.MemorySendChannel[Request]) -> None:
        self.database = database
        self._hub_inbox = hub_inbox  # the hub's own inbox: a Saved is news for this process only
        # Unbounded as a channel: registrations (throttled per address) and password changes
        # are what fills it, at the pace of people typing passwords.
        self._send, self._receive = trio.open_memory_channel[list[Change]](math.inf)
        self._unwritten: dict[str, Account] = {}  # failed to commit: tried again next time
        self._tickets: dict[str, Ticket | None] = {}  # likewise: kept, or dropped (None)
        self.saved = 0  # accounts written
        self.failed = 0  # commits that failed

    def offer(self, unsaved: list[Change]) -> None:
        """Queue ``unsaved`` changes, without waiting (the hub's task calls this).

        A change is an account as it now is, or a browser's ticket kept (a Ticket) or dropped
        (its digest); nobody waits for tickets, which a crash can lose: the browser then
        logs in again.
        """
        if unsaved:
            self._send.send_nowait(unsaved)

    def close(self) -> None:
        """No more changes: the writer saves what is queued, then ends."""
        self._send.close()

    async def run(self) -> None:
        """Save what is offered, a commit per batch, until closed and drained.

        Cancellation: with the server. A commit in its thread is then waited for (it is short,
        and abandoning it would leave the database in use while the server closes it); the
        members of a batch cancelled that way are not told, and will not be.
        """
        async for batch in self._receive:
            changes = [*batch, *(u for more in take_waiting(self._receive) for u in more)]
            accounts = [change for change in changes if isinstance(change, Unsaved)]
            for change in changes:
                if isinstance(change, Unsaved):
                    self._unwritten[change.account.name.key] = change.account
                elif isinstance(change, Ticket):
                    self._tickets[change.digest] = change
                else:
                    self._tickets[change] = None
            ok = await self._commit()
            for change in accounts:
                if change.change is None or change.member is None:
                    continue  # nobody waits for this one (a hash made again)
                saved = Saved(change.account.name.key, change.change, change.member, ok)
                try:
                    await self._hub_inbox.send(saved)
                except (trio.ClosedResourceError, trio.BrokenResourceError):
                    return  # the hub is done: nobody is left to tell

    async def _commit(self) -> bool:
        """Write every account and ticket not yet written; False (and all kept) if it failed."""
        accounts = list(self._unwritten.values())
        kept = [ticket for ticket in self._tickets.values() if ticket is not None]
        dropped = [digest for digest, ticket in self._tickets.items() if ticket is None]
        database = self.database

        def save() -> None:
            database.save_accounts(accounts)
            database.save_tickets(kept, dropped)

        try:
            # Waited for even when cancelled, as the moderation store's commit is (see there):
            # short, atomic, and the server closes the database next.
            await trio.to_thread.run_sync(save, limiter=database.limiter)
        except sqlite3.Error as error:  # a full disk, a file removed or made read-only
            self.failed += 1
            logger.warning("accounts: saving %d failed: %s", len(accounts), error)
            return False  # noqa: ASYNC910 (to_thread.run_sync checkpoints, even as it raises)
        self.saved += len(accounts)
        self._unwritten.clear()
        self._tickets.clear()
        return True
