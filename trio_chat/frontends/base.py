"""What every front end is: a sans-I/O object per connection, and the inputs it hands the shell.

A front end is pure (no Trio, no sockets), in the style of h11 and wsproto. The shell feeds it
the bytes a peer sent and asks it, one unit of input at a time, what the peer wants; it hands
it the hub's deliveries and writes out the bytes it returns. A front end owns its wire format:
framing and its limits, the registration dialogue, the wording of every line. The shell owns
time, tasks and sockets: it knows nothing of any wire format, only these types.

A session has two phases:

- **Registering.** The front end may answer the peer directly (:class:`Send`: a prompt, a
  refusal, IRC's capability negotiation) and eventually introduces the peer
  (:class:`Introduce`: the nickname it asks for). The shell passes that to the hub as a
  :class:`~trio_chat.core.requests.Register` and renders the hub's reply, which says whether
  the nickname was accepted.
- **Registered.** Every unit of input is a :data:`~trio_chat.core.events.Command` for the hub,
  or :data:`IGNORED`. A front end no longer answers anything itself: its own replies
  (help, usage errors) go to the hub as :class:`~trio_chat.core.events.Tell`, so they reach
  the peer in order with everything else, through the one writer.

Inputs that carry a password (:data:`AccountInput`, and an :class:`Introduce` with an account)
are the shell's to handle: it checks or hashes the password off the hub's task, then asks the
hub with what it found. A front end can thus never log anyone in: only the shell can.

Every unit of input, ignored ones included, counts against flood control.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from trio_chat.core.delivery import Delivery
from trio_chat.core.events import Command, Reply
from trio_chat.core.sasl import Mechanism
from trio_chat.core.text import Nickname


@dataclass(frozen=True, slots=True)
class Introduce:
    """The peer introduces itself: it asks to be known as ``nick`` (registering phase only).

    ``realname`` is what the peer says of itself, and ``user`` its user name: shown to
    whoever looks it up, and in IRC masks (IRC's USER command gives both). ``lobby``: place
    the newcomer in #lobby, as the plain protocol's users expect (IRC users choose their
    channels themselves). With ``account``, log in to it with ``password`` first (the plain
    protocol's password prompt, IRC's ``PASS account:password``); with ``ticket``, with a
    browser's ticket (the token its cookie holds).
    """

    nick: Nickname
    realname: str = ""
    user: str = ""
    lobby: bool = True
    account: Nickname | None = None
    password: str = field(default="", repr=False)
    ticket: str = field(default="", repr=False)


# --- accounts: inputs the shell handles itself, since they carry secrets to check or hash -----


@dataclass(frozen=True, slots=True)
class Authenticate:
    """Log in to ``account`` with ``password`` (registered already: the nickname stays)."""

    account: Nickname
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class RegisterAccount:
    """Register ``name`` (None: my nickname) as an account with ``password``; log in to it."""

    password: str = field(repr=False)
    name: Nickname | None = None


@dataclass(frozen=True, slots=True)
class ChangeOwnPassword:
    """Change my account's password from ``old`` to ``new``."""

    old: str = field(repr=False)
    new: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class SaslStart:
    """Begin a SASL exchange with ``mechanism``."""

    mechanism: Mechanism


@dataclass(frozen=True, slots=True)
class SaslResponse:
    """The client's next SASL message, whole and decoded (``b""``: IRC's ``+``)."""

    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class SaslAbort:
    """The SASL exchange ends: the client gave up.

    ``told``: the front end refused a message (too long, not base64) and told the client so.
    """

    told: bool = False


@dataclass(frozen=True, slots=True)
class IssueTicket:
    """A browser logs in to ``account`` with ``password`` and asks for a ticket.

    With ``create``, it registers the account first. A ticket lets it come back without the
    password (registering phase only).
    """

    account: Nickname
    password: str = field(repr=False)
    create: bool = False


@dataclass(frozen=True, slots=True)
class CheckTicket:
    """A browser asks which account its ticket logs in to (registering phase only)."""

    token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class DropTicket:
    """A browser logs out: its ticket is to be forgotten (registering phase only)."""

    token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class OperLogin:
    """Log in as the server operator ``name`` with ``password`` (IRC's OPER)."""

    name: str
    password: str = field(repr=False)


AccountInput = (
    Authenticate
    | OperLogin
    | RegisterAccount
    | ChangeOwnPassword
    | SaslStart
    | SaslResponse
    | SaslAbort
    | IssueTicket
    | CheckTicket
    | DropTicket
)


@dataclass(frozen=True, slots=True)
class Send:
    """Bytes for the peer, now (registering phase only)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Hangup:
    """Send ``data`` (last words), then close the connection (registering phase only)."""

    data: bytes = b""


@dataclass(frozen=True, slots=True)
class Ignored:
    """A unit of input that asks for nothing (an empty line): it still counts as input."""


IGNORED = Ignored()

Input = Introduce | Send | Hangup | Ignored | Command | AccountInput


class Farewell(enum.Enum):
    """Why the shell closes a connection on its own, for the front end to word."""

    SERVER_FULL = "server full"
    TOO_MANY_FROM_ADDRESS = "too many connections from your address"
    TIMED_OUT = "timed out"  # no nickname in time
    EXCESS_FLOOD = "excess flood"  # while registering
    SHUTTING_DOWN = "server shutting down"  # while registering
    UNAVAILABLE = "chat unavailable, try again later"  # the processes' Redis, while registering


class FrontEnd(Protocol):
    """One connection's wire protocol (see the module docstring)."""

    def greeting(self) -> bytes:
        """Bytes to send as soon as the peer connects (maybe none)."""
        ...

    def receive_data(self, data: bytes) -> None:
        """Feed bytes the peer sent; ``b""`` means it will send nothing more."""
        ...

    def next_input(self) -> Input | None:
        """Return the next unit of input, or None when more bytes are needed (or none will come)."""
        ...

    def render(self, delivery: Delivery) -> bytes:
        """Return the bytes that show ``delivery`` to this connection's peer.

        Called once per delivery, in order. Render a shared delivery through
        :meth:`Delivery.render`, so that it is rendered once per kind of viewer.
        """
        ...

    def farewell(self, why: Farewell) -> bytes:
        """Return the last words for a connection the shell is closing on its own."""
        ...

    def keepalive(self) -> Reply | None:
        """Return an event that asks a quiet peer to answer (IRC's PING), or None if none.

        The shell sends it (through the hub, in order) to a peer that has been quiet for a
        while, and removes the peer if it still sends nothing; a protocol without such an
        event relies on TCP keepalive alone.
        """
        ...


FrontEndFactory = Callable[[], FrontEnd]
