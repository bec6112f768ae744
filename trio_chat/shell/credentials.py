"""Checking and making passwords' hashes, off the hub's task: the CPU-bound side of accounts.

An argon2id check or hash takes tens of milliseconds of one core and 19 MiB of memory
(:mod:`trio_chat.core.accounts`). Done on the event loop, one login would freeze every
conversation for that long; ten at once, half a second. So every check runs in a worker
thread, ``trio.to_thread.run_sync``, behind a ``CapacityLimiter`` of :data:`HASHING_THREADS`:
a burst of logins queues for those few threads, each login waits its turn, and chat goes on.

The hub never waits for any of this. A session asks the :class:`Authenticator`, waits for its
answer in its own task, and only then sends the hub a request that carries the result (a
:class:`~trio_chat.core.requests.Login`, or new credentials): the hub applies it at once, like
any other request, in its one order.

Throttling comes first, so that an allowed attempt is the only kind that costs a thread: wrong
passwords are counted per account and per address, each answered only after
``failed_login_delay``, and past ``login_attempts`` in ``login_window`` seconds the next
try is refused until the window has passed; registrations are counted per address and hour.
"""

from __future__ import annotations

import collections
import functools
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import trio

from trio_chat.core.accounts import (
    TICKET_DAYS,
    Account,
    AccountBook,
    Check,
    Credentials,
    PasswordRules,
    Ticket,
    check,
    hash_password,
    make_credentials,
    matches_hash,
    ticket_digest,
)
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.requests import Login
from trio_chat.core.sasl import Exchange, Mechanism
from trio_chat.core.throttle import Throttle

logger = logging.getLogger(__name__)

HASHING_THREADS = 2  # passwords hashed or checked at once (each: ~45 ms of a core, 19 MiB)


@dataclass(frozen=True)
class AccountRules:
    """How accounts may be made and logged in to (``trio-chat server``'s options)."""

    passwords: PasswordRules = field(default_factory=PasswordRules)
    login_attempts: int = 3  # wrong passwords per account and per address...
    login_window: float = 60.0  # ...in this many seconds; then refused until it has passed
    registrations_per_hour: int = 5  # per address
    failed_login_delay: float = 1.0  # seconds before a wrong password is answered
    # Server operators' OPER logins: (name, argon2id hash of the password), never a password.
    oper_logins: tuple[tuple[str, str], ...] = ()


@functools.cache
def _no_oper_hash() -> str:
    """Return what an OPER with an unknown name is checked against: a hash of random bytes."""
    return hash_password(secrets.token_hex(16))


def _check_oper(password_hash: str | None, password: str) -> bool:
    """Check an OPER password; CPU-bound, so in a worker thread (a name unknown: a wasted check)."""
    if password_hash is None:
        matches_hash(_no_oper_hash(), password)
        return False
    return matches_hash(password_hash, password)


class Authenticator:
    """Checks passwords and makes credentials for the sessions of one server."""

    def __init__(
        self,
        book: AccountBook,
        rules: AccountRules | None = None,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        self.book = book
        self.rules = rules = rules or AccountRules()
        self._clock = clock
        self._limiter = trio.CapacityLimiter(HASHING_THREADS)
        self._logins = Throttle(rules.login_attempts, rules.login_window)
        self._registrations = Throttle(rules.registrations_per_hour, 3600.0)
        # For the metrics: (mechanism, outcome) -> count; attempts refused before any check.
        self.logins: collections.Counter[tuple[str, str]] = collections.Counter()
        self.throttled = 0

    def exchange(self, mechanism: Mechanism, certificate: str | None) -> Exchange:
        """Begin a SASL exchange (see :mod:`trio_chat.core.sasl`)."""
        return Exchange(mechanism, self.book, certificate)

    async def log_in(self, name: str, password: str, address: str | None) -> Login | Refusal:
        """Check ``password`` for the account ``name``: a login for the hub, or why not.

        ``address`` is the peer's, as limits count it (None: exempt from the per-address
        throttle).

        Cancellation: while it waits for a thread, or after a wrong password. A check that has
        begun is not abandoned: the task waits for its thread (tens of milliseconds), and sees
        ``Cancelled`` at its next checkpoint, so the result is never used.
        """
        account = self.book.account(name)
        if account is None:
            await trio.lowlevel.checkpoint()
            return Refusal(Reason.NO_SUCH_ACCOUNT, name)
        return await self.log_in_to(account, password, address)

    async def log_in_to(
        self, account: Account, password: str, address: str | None, mechanism: str = "password"
    ) -> Login | Refusal:
        """Check ``password`` for ``account`` (see :meth:`log_in`); count it under ``mechanism``."""
        keys = [("account", account.name.key)]
        if address is not None:
            keys.append(("address", address))
        now = self._clock()
        wait = max(self._logins.wait(key, now) for key in keys)
        if wait:
            self.throttled += 1
            self.logins[mechanism, "throttled"] += 1
            await trio.lowlevel.checkpoint()
            return Refusal(Reason.LOGINS_THROTTLED, account.name.display, str(int(wait) + 1))
        credentials = account.credentials
        # The CPU-bound check, in a worker thread: a few at once, whoever asks. Cancelled (the
        # client left), the task waits the tens of milliseconds the check takes.
        verdict = await trio.to_thread.run_sync(check, credentials, password, limiter=self._limiter)
        if verdict is Check.WRONG:
            self.logins[mechanism, "wrong"] += 1
            for key in keys:
                self._logins.count(key, self._clock())
            # Slowed: a guesser waits for each answer (and its connection with it).
            await trio.sleep(self.rules.failed_login_delay)
            return Refusal(Reason.WRONG_PASSWORD, account.name.display)
        self.logins[mechanism, "right"] += 1
        for key in keys:
            self._logins.forget(key)
        rehashed = None
        if verdict is Check.RIGHT_BUT_OLD:
            rehashed = await self._hash(password)
        return Login(account.name, credentials, rehashed)

    async def oper(self, name: str, password: str, address: str | None) -> bool | Refusal:
        """Check an ``OPER`` login: True if ``password`` is ``name``'s, False if not.

        Throttled as account logins are (per name and per address), and slowed the same way
        after a wrong password; a name that is no login costs a check all the same, so that
        an answer's delay never tells which names exist.

        Cancellation: as :meth:`log_in`.
        """
        keys = [("oper", name)] + ([("address", address)] if address is not None else [])
        now = self._clock()
        wait = max(self._logins.wait(key, now) for key in keys)
        if wait:
            self.throttled += 1
            await trio.lowlevel.checkpoint()
            return Refusal(Reason.LOGINS_THROTTLED, name, str(int(wait) + 1))
        known = dict(self.rules.oper_logins).get(name)
        # The CPU-bound check, in a worker thread (as an account's, cancelled alike).
        right = await trio.to_thread.run_sync(_check_oper, known, password, limiter=self._limiter)
        if right:
            for key in keys:
                self._logins.forget(key)
            return True
        for key in keys:
            self._logins.count(key, self._clock())
        await trio.sleep(self.rules.failed_login_delay)
        return False

    async def new_credentials(self, password: str, address: str | None) -> Credentials | Refusal:
        """Make the credentials of a new account, or say why not (rules, throttle).

        Cancellation: as :meth:`log_in` (a hash that has begun is waited for).
        """
        if refusal := self.rules.passwords.refusal(password):
            await trio.lowlevel.checkpoint()
            return refusal
        if address is not None:
            now = self._clock()
            if wait := self._registrations.wait(address, now):
                self.throttled += 1
                await trio.lowlevel.checkpoint()
                return Refusal(Reason.REGISTRATIONS_THROTTLED, detail=str(int(wait) + 1))
            self._registrations.count(address, now)
        return await self._hash(password)

    async def changed_credentials(self, password: str) -> Credentials | Refusal:
        """Make an account's new credentials (a password change: no registration counted)."""
        if refusal := self.rules.passwords.refusal(password):
            await trio.lowlevel.checkpoint()
            return refusal
        return await self._hash(password)

    def ticket_login(self, token: str) -> Login | None:
        """Return the login a browser's ticket is worth (None: no such ticket, or expired)."""
        ticket = self.book.ticket(ticket_digest(token)) if token else None
        account = self.book.account(ticket.account) if ticket is not None else None
        if account is None:
            return None
        self.logins["ticket", "right"] += 1
        return Login(account.name, account.credentials)

    def new_ticket(self, login: Login) -> tuple[str, Ticket]:
        """Make a ticket for ``login``'s account: the token for the browser, and what is kept."""
        token = secrets.token_urlsafe(32)
        expires = time.time() + TICKET_DAYS * 86400
        return token, Ticket(ticket_digest(token), login.account.key, expires)

    async def _hash(self, password: str) -> Credentials:
        # Hashing is CPU-bound: in a worker thread, behind the same limiter as the checks, and
        # waited for when cancelled (the tens of milliseconds one hash takes).
        return await trio.to_thread.run_sync(make_credentials, password, limiter=self._limiter)
