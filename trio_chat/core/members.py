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


class Held:
    """An outbox that keeps every delivery offered to it, in order, until :meth:`release`.

    While a member's account change is being saved, the hub puts this in front of its outbox,
    so that nothing reaches the member before the answer to that change (IRC clients, and
    test suites, expect every command answered in order: ``REGISTER`` before the ``PONG`` of a
    ``PING`` sent after it). It holds at most ``limit`` deliveries: past that, the member is
    as slow as a full mailbox makes it.
    """

    __slots__ = ("held", "limit", "outbox")

    def __init__(self, outbox: Outbox, limit: int) -> None:
        self.outbox = outbox
        self.limit = limit
        self.held: list[Delivery] = []

    def offer(self, delivery: Delivery) -> bool:
        """Keep ``delivery`` for later; False once ``limit`` are kept."""
        if len(self.held) >= self.limit:
            return False
        self.held.append(delivery)
        return True

    def close(self) -> None:
        """Close after what is held (the member was removed before its change was saved)."""
        self.release()
        self.outbox.close()

    def evict(self, reason: LeaveReason) -> None:
        """Stop the member's connection now (what is held is lost with it)."""
        self.outbox.evict(reason)

    def release(self, first: Delivery | None = None) -> bool:
        """Hand ``first`` and then what is held to the real outbox; False if it refused one."""
        deliveries, self.held = ([first] if first else []) + self.held, []
        return all([self.outbox.offer(delivery) for delivery in deliveries])


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
    host: str = ""  # its cloaked host, shown in masks (trio_chat.core.cloaks); "": the server's
    address: str = ""  # its IP address: shown to server operators only, matched by server bans
    group: str = ""  # its address's group, counted by per-address limits ("": exempt)
    nick: Nickname | None = None
    rooms: dict[str, Room[Member]] = field(default_factory=dict)  # by room key, in join order
    current: Room[Member] | None = None  # where the plain protocol's lines go
    away: str = ""  # why it is away ("": it is not)
    account: Nickname | None = None  # the account it is logged in to (None: none)
    operator: bool = False  # a server operator
    invisible: bool = False  # found by a look-up by mask only by those it shares a room with
    bot: bool = False  # it says it is a bot (IRC's +B): look-ups say so
    # Keys of rooms it may join once, uninvited. Rarely any: one empty frozenset for all
    # members, where an empty set would be 216 bytes each (see docs/benchmarks.md, memory).
    invited: frozenset[str] = frozenset()
    # The nicknames it watches (IRC's MONITOR), by key, as typed, in the order added.
    watching: dict[str, Nickname] = field(default_factory=dict)
    # How far it has read each target, by key (ms since the epoch), logged in to no account:
    # an account's markers are the hub's (trio_chat.core.read_markers).
    read_marks: dict[str, int] = field(default_factory=dict)
    left: LeaveReason | None = None
    # Processes sharing rooms (the backplane) name it in their log by this ("": not yet).
    id: str = ""
    local: bool = True  # False: connected to another process (its outbox discards everything)
