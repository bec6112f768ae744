"""What the shell asks of the hub: one request per change, on the hub's inbox. Pure.

A session sends its member's requests (:class:`Register`, :class:`Act`, :class:`Disconnect`,
and the account requests, which carry what the session checked or hashed off the hub's task);
the server sends :class:`Shutdown`; the account store sends :class:`Saved` once an account
change is on disk; processes sharing rooms (:mod:`trio_chat.shell.backplane`) send the rest.

Only the shell makes a :class:`Login`, after it checked a password (or a SASL exchange, or a
web session's credential): no front end can claim an account, since a front end's inputs are
commands, and a command cannot carry a login. The hub applies requests one at a time, in the
order it takes them (:meth:`trio_chat.core.hub.Hub.handle`). One more request, ``Export``,
hands the hub itself to a function, and lives beside the hub in :mod:`trio_chat.core.hub`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from trio_chat.core.accounts import Credentials, Ticket
from trio_chat.core.events import Command, Event, LeaveReason
from trio_chat.core.limits import Limits
from trio_chat.core.members import Member
from trio_chat.core.text import Nickname, NicknamePolicy


@dataclass(frozen=True, slots=True)
class Login:
    """The shell's word that a member knows ``account``'s password (it checked ``credentials``).

    The hub accepts it only if ``credentials`` are still the account's: a password changed
    between the check and the request refuses it. ``rehashed`` replaces them (the same
    password, hashed again because the parameters changed).
    """

    account: Nickname
    credentials: Credentials
    rehashed: Credentials | None = None


@dataclass(frozen=True, slots=True)
class Register:
    """``member`` asks to be known as ``nick``; the reply (welcome or refusal) goes to it.

    With ``lobby``, the newcomer is placed in #lobby; with ``login``, it logs in first (a
    registered nickname is refused to anyone not logged in to it).
    """

    member: Member
    nick: Nickname
    lobby: bool = True
    login: Login | None = None


@dataclass(frozen=True, slots=True)
class LogIn:
    """Registered ``member`` logs in to an account (it keeps its nickname)."""

    member: Member
    login: Login


@dataclass(frozen=True, slots=True)
class CreateAccount:
    """``member`` (registered or not) registers the account ``name``, and logs in to it.

    ``name`` None: the member's nickname.
    """

    member: Member
    name: Nickname | None
    credentials: Credentials


@dataclass(frozen=True, slots=True)
class ChangePassword:
    """``member``'s account has new credentials; ``old`` are those the shell checked."""

    member: Member
    old: Credentials
    new: Credentials


@dataclass(frozen=True, slots=True)
class GrantTicket:
    """Keep ``ticket`` for ``member``'s browser, which proved ``login`` (its password)."""

    member: Member
    login: Login
    ticket: Ticket


@dataclass(frozen=True, slots=True)
class RevokeTicket:
    """Forget the ticket whose token has ``digest`` (the browser logs out)."""

    member: Member
    digest: str


class Change(enum.Enum):
    """What an account store saved."""

    CREATED = "created"
    PASSWORD = "password"
    # Private history kept, or not (one value each: two changes saved at once are told apart).
    PRIVATE_HISTORY_ON = "private history on"
    PRIVATE_HISTORY_OFF = "private history off"


@dataclass(frozen=True, slots=True)
class Saved:
    """The store wrote ``change`` of ``account`` (a name's key) to disk, or failed to (``ok``).

    Local to one process (each saves to its own database): never sent through a shared log.
    """

    account: str
    change: Change
    member: Member  # who made the change, and is told now
    ok: bool = True


@dataclass(frozen=True, slots=True)
class BecomeOperator:
    """The shell checked registered ``member``'s ``OPER`` login ``name``: it runs the server.

    Like :class:`Login`, only the shell makes one, after checking the password off the hub's
    task: a front end's command cannot make anyone a server operator.
    """

    member: Member
    name: str


@dataclass(frozen=True, slots=True)
class Disconnect:
    """``member``'s connection ended (it did not quit); ignored if the hub already removed it."""

    member: Member
    reason: LeaveReason


@dataclass(frozen=True, slots=True)
class Act:
    """``member`` sent ``command``; ignored unless it is registered."""

    member: Member
    command: Command


@dataclass(frozen=True, slots=True)
class Shutdown:
    """Tell everyone the server is stopping, close every outbox, refuse new registrations."""


@dataclass(frozen=True, slots=True)
class Reconfigure:
    """From now on, take nicknames by ``policy``, apply ``limits``, know ``operators`` (a reload).

    ``operators`` are the keys of the accounts whose members become server operators as they
    log in. Local to one process: never sent through a shared log (processes sharing one must
    agree on all three, so they change only with a restart of them all).
    """

    policy: NicknamePolicy
    limits: Limits
    operators: frozenset[str]


@dataclass(frozen=True, slots=True)
class Inform:
    """Tell ``member`` ``event``, registered or not, unless it left.

    (The backplane's "unavailable"; a history query's answer from the database.)
    """

    member: Member
    event: Event


@dataclass(frozen=True, slots=True)
class Announce:
    """Tell every member connected to this process ``event``."""

    event: Event


@dataclass(frozen=True, slots=True)
class DisconnectAll:
    """``members`` (another process's, which is gone) leave, in the hub's order of members."""

    members: frozenset[Member]
    reason: LeaveReason
