"""The room: the one owner of membership and nicknames, and the one source of event order.

Theory of operation
-------------------
Every change to the room (join, leave, rename, a message) arrives as a request on one bounded
memory channel, the room's inbox, and one task, :func:`run_room`, applies them one at a time. So
every member sees one total order: the order in which the room task took requests out of its inbox.

The logic lives in :class:`Room`, whose methods are synchronous. Trio switches tasks only at
``await``, and a synchronous function contains none, so each request is applied atomically: no other
task can see the nickname map half-updated, and no cancellation can land in the middle of an update.
Being synchronous also means a test (or hypothesis) can drive a ``Room`` without an event loop.

The room never waits for a member. It hands each member's events to that member's mailbox
(:class:`~trio_chat.shell.mailbox.Mailbox`) with ``send_nowait``; a member whose mailbox is full is
too slow, and is removed and cancelled. If the room waited instead, one client that stops reading
would stall everyone, and a client waiting on the room while the room waits on that client's mailbox
would deadlock (the circular-flow problem in Trio's channel docs).

Batching keeps a busy room fast and fair to clients that read normally: :func:`run_room` takes every
request already waiting in the inbox in one turn, then :meth:`Room.flush` puts at most one
:class:`~trio_chat.shell.mailbox.Delivery` per member into the mailboxes. Members who saw the same
events that turn share one delivery, rendered once per wire format.
"""

from __future__ import annotations

import bisect
import logging
from dataclasses import dataclass, field

import trio

from trio_chat.core.events import (
    Command,
    Emote,
    Emoted,
    Error,
    Event,
    Goodbye,
    Joined,
    LeaveReason,
    Left,
    NicknameTaken,
    NoSuchNick,
    PrivateFrom,
    PrivateMessage,
    PrivateTo,
    Quit,
    Rename,
    Renamed,
    Roster,
    Said,
    Say,
    ShuttingDown,
    Tell,
    Welcome,
    Who,
)
from trio_chat.core.lookalikes import skeleton
from trio_chat.core.text import Nickname, NicknamePolicy
from trio_chat.shell.mailbox import Delivery, Mailbox

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class Member:
    """One connection's identity in the room. Its nickname is an attribute that changes.

    The connection creates it; the room sets ``nick`` when it accepts the join and ``left`` when
    it removes the member, for whatever reason.
    """

    mailbox: Mailbox
    peer: str = "?"  # where the member connects from, for the operator's log
    #: Wraps the connection's reader and writer; the room cancels it to evict a slow member.
    cancel_scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    nick: Nickname | None = None
    left: LeaveReason | None = None


@dataclass(frozen=True, slots=True)
class Join:
    """``member`` asks to join as ``nick``; the reply (welcome or refusal) goes to its mailbox."""

    member: Member
    nick: Nickname


@dataclass(frozen=True, slots=True)
class Leave:
    """``member``'s connection ended (it did not quit); ignored if the room already removed it."""

    member: Member
    reason: LeaveReason


@dataclass(frozen=True, slots=True)
class Act:
    """``member`` sent ``command``; ignored unless it is a member."""

    member: Member
    command: Command


@dataclass(frozen=True, slots=True)
class Shutdown:
    """Tell everyone the server is stopping, close every mailbox, refuse new joins."""


Request = Join | Leave | Act | Shutdown


class Room:
    """The room's state and logic, synchronous and free of I/O (see the module docstring).

    Feed requests to :meth:`handle`, then call :meth:`flush` to deliver what they produced.
    """

    def __init__(self, policy: NicknamePolicy | None = None) -> None:
        self.policy = policy or NicknamePolicy()  # reserved names, ASCII only or not
        self._members: dict[str, Member] = {}  # normalized nickname -> member
        # The roster, kept sorted as members come and go (every welcome carries it, so a join
        # storm must not sort the room once per newcomer): normalized nicknames, and in the
        # same order the nicknames as displayed.
        self._roster_keys: list[str] = []
        self._roster_displays: list[str] = []
        # Confusable skeleton -> member, so nobody takes a name that looks like one online.
        self._skeletons: dict[str, Member] = {}
        self.shutting_down = False
        # What the current turn produced, delivered and reset by flush():
        self._broadcast: list[Event] = []  # for everyone who was a member all turn long
        self._personal: dict[Member, list[Event]] = {}  # for anyone whose view differs
        self._departed: list[Member] = []  # removed this turn: mailbox closes after delivery

    def __contains__(self, member: Member) -> bool:
        return member.nick is not None and self._members.get(member.nick.key) is member

    def __len__(self) -> int:
        return len(self._members)

    def handle(self, request: Request) -> None:
        """Apply one request."""
        match request:
            case Act(member, command) if member in self:
                self._act(member, command)
            case Join(member, nick) if member.left is None:
                self._join(member, nick)
            case Leave(member, reason) if member in self:
                self._remove(member, reason)
            case Shutdown():
                self._shut_down()
            case _:
                pass  # from someone no longer here (a reader finishing as it was evicted)

    def _act(self, member: Member, command: Command) -> None:
        nick = _nick(member).display
        match command:
            case Say(text):
                self._broadcast_event(Said(nick, text))
            case Emote(text):
                self._broadcast_event(Emoted(nick, text))
            case Rename(new):
                self._rename(member, new)
            case PrivateMessage(recipient, text):
                target = self._members.get(recipient.key)
                if target is None:
                    self._tell(member, NoSuchNick(recipient.display))
                else:
                    self._tell(target, PrivateFrom(nick, text))
                    self._tell(member, PrivateTo(_nick(target).display, text))
            case Who():
                self._tell(member, Roster(self._roster()))
            case Tell(event):
                self._tell(member, event)
            case Quit():
                self._tell(member, Goodbye())
                self._remove(member, LeaveReason.QUIT)

    def _join(self, member: Member, nick: Nickname) -> None:
        if self.shutting_down:
            self._tell(member, ShuttingDown())
        elif member in self:
            self._tell(member, Error("you have already joined"))
        elif refusal := self.policy.refusal(nick):
            self._tell(member, Error(refusal))
        elif nick.key in self._members:
            self._tell(member, NicknameTaken(nick.display))
        elif lookalike := self._lookalike(nick, member):
            self._tell(member, Error(lookalike))
        else:
            member.nick = nick
            self._members[nick.key] = member
            self._enlist(nick, member)
            # A newcomer's view starts now: nothing broadcast earlier this turn is theirs (but a
            # refusal of an earlier attempt this turn is, so append rather than replace).
            self._personal.setdefault(member, []).append(Welcome(nick.display, self._roster()))
            self._broadcast_event(Joined(nick.display), exclude=member)
            # Nicknames are logged with repr(): whatever a peer chose, it cannot forge a log line.
            logger.info(
                "%s joined as %r (%d online)", member.peer, nick.display, len(self._members)
            )

    def _rename(self, member: Member, new: Nickname) -> None:
        old = _nick(member)
        holder = self._members.get(new.key)
        if holder is not None and holder is not member:
            self._tell(member, NicknameTaken(new.display))
        elif refusal := self.policy.refusal(new) or self._lookalike(new, member):
            self._tell(member, Error(refusal))
        elif new == old:
            self._tell(member, Error(f"you are already {old}"))
        else:
            # Same key (a change of case only) or a free one: either way the map stays a bijection.
            del self._members[old.key]
            self._delist(old)
            self._members[new.key] = member
            self._enlist(new, member)
            member.nick = new
            self._broadcast_event(Renamed(old.display, new.display))
            logger.info("%s renamed %r to %r", member.peer, old.display, new.display)

    def _remove(self, member: Member, reason: LeaveReason) -> None:
        nick = _nick(member)
        # Freeze the leaver's view of this turn: nothing that happens after it left is its business.
        self._personal.setdefault(member, list(self._broadcast))
        del self._members[nick.key]
        self._delist(nick)
        member.left = reason
        self._departed.append(member)
        self._broadcast_event(Left(nick.display, reason))
        logger.info("%s (%r) left: %s", member.peer, nick.display, reason.value)

    def _shut_down(self) -> None:
        self.shutting_down = True
        self._broadcast_event(ShuttingDown())
        for member in self._members.values():
            self._personal.setdefault(member, list(self._broadcast))
            member.left = LeaveReason.SERVER_SHUTDOWN
            self._departed.append(member)
        logger.info("shutting down: %d members notified", len(self._members))
        self._members.clear()
        self._roster_keys.clear()
        self._roster_displays.clear()
        self._skeletons.clear()

    def _roster(self) -> tuple[str, ...]:
        return tuple(self._roster_displays)

    def _lookalike(self, nick: Nickname, member: Member) -> str | None:
        holder = self._skeletons.get(skeleton(nick.display))
        if holder is None or holder is member:
            return None
        return f"the nickname {nick.display} looks too much like {_nick(holder)}, who is online"

    def _enlist(self, nick: Nickname, member: Member) -> None:
        position = bisect.bisect(self._roster_keys, nick.key)
        self._roster_keys.insert(position, nick.key)
        self._roster_displays.insert(position, nick.display)
        self._skeletons[skeleton(nick.display)] = member

    def _delist(self, nick: Nickname) -> None:
        position = bisect.bisect_left(self._roster_keys, nick.key)
        del self._roster_keys[position]
        del self._roster_displays[position]
        del self._skeletons[skeleton(nick.display)]

    def _tell(self, member: Member, event: Event) -> None:
        events = self._personal.get(member)
        if events is None:
            # Diverging from the shared view: start from what everyone got so far this turn.
            events = self._personal[member] = list(self._broadcast) if member in self else []
        events.append(event)

    def _broadcast_event(self, event: Event, *, exclude: Member | None = None) -> None:
        # `exclude` (a newcomer, who is welcomed rather than told it joined) has a personal view.
        self._broadcast.append(event)
        for member, events in self._personal.items():
            if member is not exclude and member in self:
                events.append(event)

    def flush(self) -> None:
        """Deliver what this turn produced: at most one delivery per member, never waiting.

        Members whose mailbox refuses are evicted as too slow, after the loop (not while iterating
        the membership); their departure is news for the others, so deliver again until stable.
        """
        while self._broadcast or self._personal:
            shared = Delivery(self._broadcast)
            personal, departed = self._personal, self._departed
            self._broadcast, self._personal, self._departed = [], {}, []
            too_slow = []
            for member in self._members.values():
                events = personal.pop(member, None)
                delivery = shared if events is None else Delivery(events)
                if delivery.events and not member.mailbox.offer(delivery):
                    too_slow.append(member)
            # Whoever is left in `personal` is no member: a departure or a refused newcomer.
            for member, events in personal.items():
                if events:
                    member.mailbox.offer(Delivery(events))  # best effort: a leaver may be slow too
            for member in departed:
                member.mailbox.close()
            for member in too_slow:
                self._remove(member, LeaveReason.TOO_SLOW)
                # Cancel the member's connection now, even if its writer is blocked in a send.
                member.cancel_scope.cancel(reason="too slow")


def _nick(member: Member) -> Nickname:
    assert member.nick is not None, "only members have nicknames"
    return member.nick


async def run_room(room: Room, inbox: trio.MemoryReceiveChannel[Request]) -> None:
    """Apply requests from ``inbox`` until it is closed and drained.

    Cancellation: the only checkpoint is waiting for the inbox, between turns, so cancelling this
    task never leaves the room half-updated. The server closes the inbox rather than cancelling
    the room, so that the room can still answer the connections' goodbyes during shutdown.
    """
    async for request in inbox:
        room.handle(request)
        # Take everything else already waiting, so one turn (and one delivery) covers it all.
        while True:
            try:
                request = inbox.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                break
            room.handle(request)
        room.flush()
