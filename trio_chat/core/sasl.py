"""SASL: how a client proves which account it is, one exchange of messages at a time. Pure.

An :class:`Exchange` is one conversation (IRC's ``AUTHENTICATE``), in the sans-I/O style of
the rest of ``core``: the front end hands it each whole message from the client (already
reassembled and decoded: framing is the front end's), and it answers with the next
:data:`Step`:

- :class:`Challenge`: bytes to send to the client (empty: IRC's ``AUTHENTICATE +``);
- :class:`CheckPassword`: a password to check against an account's hash. That takes tens of
  milliseconds, so the exchange does not do it: the shell does, in a worker thread, and says
  what it found with :meth:`Exchange.checked`;
- :class:`Proven`: the client is this account; :class:`Failed`: it is not (IRC's 904).

Mechanisms: ``PLAIN`` (RFC 4616: the password itself, over TLS please), ``SCRAM-SHA-256``
(RFC 7677, through scramp: the password never crosses the wire, the server proves itself too)
and ``EXTERNAL`` (RFC 4422: the TLS client certificate the connection was made with).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from trio_chat.core.accounts import Account, AccountBook, scram
from trio_chat.core.text import Nickname


class Mechanism(enum.Enum):
    """The SASL mechanisms this server offers (the value is the name clients use)."""

    PLAIN = "PLAIN"
    SCRAM_SHA_256 = "SCRAM-SHA-256"
    EXTERNAL = "EXTERNAL"


MECHANISMS = {mechanism.value: mechanism for mechanism in Mechanism}


@dataclass(frozen=True, slots=True)
class Challenge:
    """Send ``data`` to the client, and wait for its next message."""

    data: bytes


@dataclass(frozen=True, slots=True)
class CheckPassword:
    """Check ``password`` against ``account``'s hash, then call :meth:`Exchange.checked`."""

    account: Account
    password: str = ""

    def __repr__(self) -> str:
        return f"CheckPassword({self.account.name.display!r}, ...)"  # never the password


@dataclass(frozen=True, slots=True)
class Proven:
    """The client is ``account``."""

    account: Account


@dataclass(frozen=True, slots=True)
class Failed:
    """The client proved nothing: ``why`` is for the operator's log, never for the client."""

    why: str


Step = Challenge | CheckPassword | Proven | Failed


class _Stage(enum.Enum):
    STARTED = "started"  # waiting for the client's first message
    CHECKING = "checking"  # waiting for the shell to check a password
    SCRAM_FINAL = "scram final"  # SCRAM: waiting for the client's final message
    SCRAM_DONE = "scram done"  # SCRAM: waiting for the client's empty acknowledgement
    OVER = "over"


class Exchange:
    """One SASL conversation with one client (see the module docstring).

    ``book`` finds accounts by the name a client gives, or by certificate; ``certificate`` is
    the SHA-256 fingerprint of the client's TLS certificate, if it presented one.
    """

    def __init__(
        self, mechanism: Mechanism, book: AccountBook, certificate: str | None = None
    ) -> None:
        self.mechanism = mechanism
        self._book = book
        self._certificate = certificate
        self._stage = _Stage.STARTED
        self._account: Account | None = None
        # Made for SCRAM only: scramp is imported when the first SCRAM exchange begins.
        scramming = mechanism is Mechanism.SCRAM_SHA_256
        self._scram = scram().make_server(self._scram_keys) if scramming else None

    def start(self) -> Step:
        """Begin: every mechanism here starts with an empty challenge (IRC's ``+``)."""
        return Challenge(b"")

    def respond(self, data: bytes) -> Step:
        """Take the client's next message (decoded from base64; ``b""`` for ``+``)."""
        stage, self._stage = self._stage, _Stage.OVER
        match self.mechanism, stage:
            case Mechanism.PLAIN, _Stage.STARTED:
                return self._plain(data)
            case Mechanism.EXTERNAL, _Stage.STARTED:
                return self._external(data)
            case Mechanism.SCRAM_SHA_256, _Stage.STARTED:
                return self._scram_first(data)
            case Mechanism.SCRAM_SHA_256, _Stage.SCRAM_FINAL:
                return self._scram_final(data)
            case Mechanism.SCRAM_SHA_256, _Stage.SCRAM_DONE if not data:
                assert self._account is not None
                return Proven(self._account)
        return Failed(f"unexpected message in {self.mechanism.value} ({stage.value})")

    def checked(self, right: bool) -> Step:
        """Hear from the shell whether the password of :class:`CheckPassword` was right."""
        assert self._stage is _Stage.CHECKING, "no password was being checked"
        assert self._account is not None
        self._stage = _Stage.OVER
        return Proven(self._account) if right else Failed("wrong password")

    def _plain(self, data: bytes) -> Step:
        # authzid NUL authcid NUL password (RFC 4616), authzid empty or the authcid itself.
        parts = data.split(b"\0")
        if len(parts) != 3:
            return Failed("a PLAIN message is authzid\\0authcid\\0password")
        try:
            authzid, authcid, password = (part.decode() for part in parts)
        except UnicodeDecodeError:
            return Failed("PLAIN credentials that are not UTF-8")
        account = self._book.account(authcid) if authcid and password else None
        if account is None:
            return Failed("no such account, or an empty password")
        if authzid and _key(authzid) != account.name.key:
            return Failed("authorization as another account")
        self._account, self._stage = account, _Stage.CHECKING
        return CheckPassword(account, password)

    def _external(self, data: bytes) -> Step:
        if self._certificate is None:
            return Failed("EXTERNAL without a TLS client certificate")
        # An empty authorization identity: whoever the certificate belongs to (RFC 4422).
        name = data.decode("utf-8", "replace")
        if name:
            account = self._book.account(name)
        else:
            account = self._book.account_with_certificate(self._certificate)
        if account is not None and self._certificate in account.certificates:
            return Proven(account)
        return Failed("no account has this certificate")

    def _scram_first(self, data: bytes) -> Step:
        from scramp import ScramException  # imported by scram() already

        assert self._scram is not None
        try:
            self._scram.set_client_first(data.decode())
            first = self._scram.get_server_first()
        except (ScramException, UnicodeDecodeError, _NoSuchAccount) as error:
            return Failed(f"SCRAM: {error}")
        self._stage = _Stage.SCRAM_FINAL
        return Challenge(first.encode())

    def _scram_final(self, data: bytes) -> Step:
        from scramp import ScramException  # imported by scram() already

        assert self._scram is not None
        try:
            self._scram.set_client_final(data.decode())
            final = self._scram.get_server_final()
        except (ScramException, UnicodeDecodeError) as error:
            return Failed(f"SCRAM: {error}")
        self._stage = _Stage.SCRAM_DONE
        return Challenge(final.encode())

    def _scram_keys(self, name: str) -> tuple[bytes, bytes, bytes, int]:
        account = self._book.account(name)
        if account is None:
            raise _NoSuchAccount(name)
        self._account = account
        keys = account.credentials
        return keys.scram_salt, keys.scram_stored_key, keys.scram_server_key, keys.scram_iterations


class _NoSuchAccount(Exception):
    """A SCRAM client named no account (never escapes this module)."""


def _key(name: str) -> str | None:
    parsed = Nickname.parse(name)
    return parsed.key if isinstance(parsed, Nickname) else None
