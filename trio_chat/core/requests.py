"""What the shell asks of the hub: one request per change, on the hub's inbox. Pure.

A session sends its member's requests (:class:`Register`, :class:`Act`, :class:`Disconnect`);
the server sends :class:`Shutdown`; processes sharing rooms (:mod:`trio_chat.shell.backplane`)
send the rest. The hub applies them one at a time, in the order it takes them
(:meth:`trio_chat.core.hub.Hub.handle`). One more request, ``Export``, hands the hub itself to
a function, and lives beside the hub in :mod:`trio_chat.core.hub`.
"""

from __future__ import annotations

from dataclasses import dataclass

from trio_chat.core.events import Command, Event, LeaveReason
from trio_chat.core.members import Member
from trio_chat.core.text import Nickname


@dataclass(frozen=True, slots=True)
class Register:
    """``member`` asks to be known as ``nick``; the reply (welcome or refusal) goes to it.

    With ``lobby``, the newcomer is placed in #lobby.
    """

    member: Member
    nick: Nickname
    lobby: bool = True


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
class Inform:
    """Tell ``member`` ``event``, registered or not (the backplane's "unavailable")."""

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
