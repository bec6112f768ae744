"""A member: one connection's identity in the hub, and the outbox its deliveries go to. Pure.

Members are not nicknames: a member has an identity (this object), and its nickname is an
attribute that changes. The shell creates a member for each connection, with the outbox that
writes to it (:class:`trio_chat.shell.mailbox.Mailbox`); from then on only the hub changes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from trio_chat.core.delivery import Delivery
from trio_chat.core.events import LeaveReason
from trio_chat.core.rooms import Room
from trio_chat.core.text import Nickname


class Outbox(Protocol):
    """Where the hub leaves one member's deliveries (the shell's mailbox implements it)."""

    def offer(self, delivery: Delivery) -> bool:
        """Accept ``delivery`` without waiting, or return False: the member is too slow."""
        ...

    def close(self) -> None:
        """No more deliveries: what was accepted is still sent, then the member's output ends."""
        ...

    def evict(self, reason: LeaveReason) -> None:
        """Stop the member's connection now, without waiting for anything."""
        ...


@dataclass(eq=False, slots=True)
class Member:
    """One connection's identity in the hub. Its nickname is an attribute that changes.

    The shell creates it; the hub sets ``nick`` when it accepts the registration, keeps
    ``rooms`` and ``current``, and sets ``left`` when it removes the member, for any reason.
    """

    outbox: Outbox
    peer: str = "?"  # where the member connects from, for the operator's log
    realname: str = ""  # as the member gave it (IRC's USER), for whoever looks it up
    user: str = ""  # its user name, for IRC masks (nick!user@host); "": none given
    nick: Nickname | None = None
    rooms: dict[str, Room[Member]] = field(default_factory=dict)  # by room key, in join order
    current: Room[Member] | None = None  # where the plain protocol's lines go
    away: str = ""  # why it is away ("": it is not)
    left: LeaveReason | None = None
    # Processes sharing rooms (the backplane) name it in their log by this ("": not yet).
    id: str = ""
    local: bool = True  # False: connected to another process (its outbox discards everything)
