"""Accounts: a name that one person owns, and what is kept of its password. Pure.

An account's name is a nickname (the same rules, the same look-alike protection), and nobody
but a member logged in to the account may use it as a nickname: the hub
(:mod:`trio_chat.core.hub`) enforces that, in its one order, on every front end.

Passwords are never kept. What is kept are two things derived from one:

- an **argon2id** hash (through argon2-cffi), to check a password typed in plain (the plain
  protocol's prompt, IRC's SASL PLAIN and ``PASS``, the page's login). Its parameters are
  OWASP's lighter recommendation (19 MiB, two passes, one lane): about 45 ms of one core
  and 19 MiB of memory per check, so that a burst of logins, run a few at a time in worker
  threads, never starves the chat. They are stored in the hash itself, so that a change of
  parameters is noticed at the next login and the hash made again (:func:`needs_rehash`).
- **SCRAM-SHA-256** keys (RFC 5802, RFC 7677, through scramp): a salt, the stored key and the
  server key, with which a client proves it knows the password without ever sending it.

Making both (:func:`make_credentials`) and checking a password (:func:`check`) take tens of
milliseconds of CPU, which must never happen on the hub's task: the shell runs them in worker
threads. Everything else here is instant.
"""

from __future__ import annotations

import enum
import functools
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.text import Nickname

if TYPE_CHECKING:
    from argon2 import PasswordHasher
    from scramp import ScramMechanism

MIN_PASSWORD_BYTES = 8  # the default shortest password (--min-password-bytes)
MAX_PASSWORD_BYTES = 256  # longer is not a password anyone types, and costs to hash
SCRAM_ITERATIONS = 20_000  # PBKDF2 rounds a SCRAM client computes per login (RFC 7677: >= 4096)


@functools.cache
def hasher() -> PasswordHasher:
    """Return the argon2id hasher, importing argon2-cffi the first time.

    OWASP's lighter argon2id recommendation (m=19 MiB, t=2, p=1): ~45 ms a hash here.
    argon2-cffi and its cffi bindings are 0.4 MB of memory that a server spends only once
    somebody registers an account, logs in with a password or OPERs.
    """
    import argon2

    return argon2.PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@functools.cache
def scram() -> ScramMechanism:
    """Return SCRAM-SHA-256's mechanism, importing scramp the first time.

    scramp brings asn1crypto with it: 2.6 MB of memory that a server spends only once somebody
    registers an account or logs in with SCRAM.
    """
    from scramp import ScramMechanism

    return ScramMechanism("SCRAM-SHA-256")


@dataclass(frozen=True, slots=True)
class Credentials:
    """What is kept of an account's password (never the password itself)."""

    password_hash: str  # argon2id, in PHC form: its parameters and salt included
    scram_salt: bytes
    scram_stored_key: bytes
    scram_server_key: bytes
    scram_iterations: int

    def __repr__(self) -> str:
        # Hashes are secrets too (an offline attack starts from them): never in a log line.
        return "Credentials(...)"


@dataclass(frozen=True, slots=True)
class Account:
    """A registered name and its credentials.

    ``certificates`` are the SHA-256 fingerprints (lowercase hex) of TLS client certificates
    that log in to it with SASL EXTERNAL. ``private_history`` off: no copy of its private
    messages is kept, at either end (neither its own nor its correspondents').
    """

    name: Nickname
    credentials: Credentials
    created: float  # Unix time
    certificates: tuple[str, ...] = ()
    private_history: bool = True


@dataclass(frozen=True, slots=True)
class Ticket:
    """A browser's way back in without its password: a login that lasts until ``expires``.

    A ticket is a random token, given to the browser in an ``HttpOnly`` cookie; only its
    SHA-256 ``digest`` is kept (as a password's hash is), so a stolen database holds no
    ticket anyone can use.
    """

    digest: str
    account: str  # the account's key (its normalized name)
    expires: float  # Unix time


TICKET_DAYS = 30  # how long a browser stays logged in without being used
TICKETS_PER_ACCOUNT = 20  # browsers logged in to one account at once (the oldest go first)


def ticket_digest(token: str) -> str:
    """Return what is kept of a ticket's token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


class AccountBook(Protocol):
    """Where accounts are looked up (the hub's: read between its turns, changed by it alone)."""

    def account(self, name: str) -> Account | None:
        """Find the account called ``name`` (in any case or width), if there is one."""
        ...

    def account_with_certificate(self, fingerprint: str) -> Account | None:
        """Find the account a TLS client certificate (its SHA-256, hex) belongs to, if any."""
        ...

    def ticket(self, digest: str) -> Ticket | None:
        """Find the ticket whose token has this digest, if it is still valid."""
        ...


@dataclass(frozen=True, slots=True)
class PasswordRules:
    """How long a password must be, in UTF-8 bytes."""

    min_bytes: int = MIN_PASSWORD_BYTES
    max_bytes: int = MAX_PASSWORD_BYTES

    def refusal(self, password: str) -> Refusal | None:
        """Say why ``password`` cannot be an account's password, or return None."""
        size = len(password.encode())
        if size < self.min_bytes:
            return Refusal(Reason.PASSWORD_TOO_SHORT, detail=str(self.min_bytes))
        if size > self.max_bytes:
            return Refusal(Reason.PASSWORD_TOO_LONG, detail=str(self.max_bytes))
        return None


class Check(enum.Enum):
    """What checking a password said."""

    WRONG = "wrong"
    RIGHT = "right"
    RIGHT_BUT_OLD = "right, hashed with parameters that have changed since"


def make_credentials(password: str, scram_iterations: int = SCRAM_ITERATIONS) -> Credentials:
    """Derive what is kept of ``password``. CPU-bound (tens of ms): call it in a worker thread."""
    salt, stored_key, server_key, iterations = scram().make_auth_info(
        password, iteration_count=scram_iterations
    )
    return Credentials(hasher().hash(password), salt, stored_key, server_key, iterations)


def check(credentials: Credentials, password: str) -> Check:
    """Check ``password`` against ``credentials``. CPU-bound: call it in a worker thread."""
    from argon2.exceptions import InvalidHashError, VerificationError  # as hasher() imports

    try:
        hasher().verify(credentials.password_hash, password)
    except VerificationError:
        return Check.WRONG
    except InvalidHashError:
        return Check.WRONG  # a hash this version cannot read: nobody can log in with it
    return Check.RIGHT_BUT_OLD if needs_rehash(credentials) else Check.RIGHT


def hash_password(password: str) -> str:
    """Return ``password``'s argon2id hash alone (a server operator's, for ``--oper-login``)."""
    return hasher().hash(password)


def matches_hash(password_hash: str, password: str) -> bool:
    """Say whether ``password`` is the one ``password_hash`` was made of. CPU-bound, as check."""
    from argon2.exceptions import InvalidHashError, VerificationError  # as hasher() imports

    try:
        return hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(credentials: Credentials) -> bool:
    """Say whether the hash was made with other parameters than today's."""
    return hasher().check_needs_rehash(credentials.password_hash)
