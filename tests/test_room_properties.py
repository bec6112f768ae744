"""Hypothesis drives the real Room against a naive model of what every member must receive.

The model keeps, per member, the list of events it must have received: a broadcast is appended
to the list of everyone who is a member at that instant, a private event to its recipient's only.
That list *is* "the global event log filtered to the span of the member's membership", so
comparing it with what the member's mailbox actually yielded checks one total order (any two
members agree on the order of what they both saw), per-sender FIFO, and that nothing reaches
anyone outside their membership. The real room batches a turn into shared deliveries; the model
does not batch, so the sharing logic is checked against the obvious semantics.

Eviction is modelled too: some members stop reading, and a member whose mailbox already holds
``CAPACITY`` deliveries when the room has something for it must be removed as too slow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from tests.test_room import is_closed, received
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
    Welcome,
    Who,
)
from trio_chat.core.room import Act, Join, Leave, Member, Request, Room, Shutdown
from trio_chat.core.text import Nickname
from trio_chat.shell.mailbox import Mailbox

CONNECTIONS = 5
CAPACITY = 3  # deliveries a mailbox holds
# Few names, many spellings: claims collide often. "dave" and "erin" are online from the start.
NAMES = ["alice", "Alice", "ａｌｉｃｅ", "Dave", "erin", "Straße", "STRASSE"]  # noqa: RUF001

nicknames = st.sampled_from(NAMES).map(Nickname.parse)
connections = st.integers(0, CONNECTIONS - 1)
reasons = st.sampled_from([LeaveReason.CONNECTION_LOST, LeaveReason.TIMED_OUT])


@dataclass
class Model:
    """The obvious, unbatched semantics of the room."""

    members: dict[str, Member] = field(default_factory=dict)  # same insertion order as the room
    nick_of: dict[Member, Nickname] = field(
        default_factory=dict
    )  # the model's own, not Member.nick
    expected: dict[Member, list[Event]] = field(default_factory=dict)
    queued: dict[Member, int] = field(default_factory=dict)  # deliveries in the mailbox
    this_turn: dict[Member, list[Event]] = field(default_factory=dict)
    shutting_down: bool = False
    gone: set[Member] = field(default_factory=set)  # removed: never to return

    def tell(self, member: Member, event: Event) -> None:
        self.this_turn.setdefault(member, []).append(event)

    def broadcast(self, event: Event, *, exclude: Member | None = None) -> None:
        for member in self.members.values():
            if member is not exclude:
                self.tell(member, event)

    def roster(self) -> tuple[str, ...]:
        return tuple(self.nick_of[self.members[key]].display for key in sorted(self.members))

    def remove(self, member: Member, reason: LeaveReason) -> None:
        nick = self.nick_of[member]
        del self.members[nick.key]
        self.gone.add(member)
        self.broadcast(Left(nick.display, reason))

    def is_member(self, member: Member) -> bool:
        return member in self.members.values()

    def handle(self, request: Request) -> None:
        match request:
            case Join(member, nick) if member not in self.gone:
                if self.shutting_down:
                    self.tell(member, ShuttingDown())
                elif self.is_member(member):
                    self.tell(member, Error("you have already joined"))
                elif nick.key in self.members:
                    self.tell(member, NicknameTaken(nick.display))
                else:
                    self.members[nick.key] = member
                    self.nick_of[member] = nick
                    self.tell(member, Welcome(nick.display, self.roster()))
                    self.broadcast(Joined(nick.display), exclude=member)
            case Leave(member, reason) if self.is_member(member):
                self.remove(member, reason)
            case Act(member, command) if self.is_member(member):
                self.act(member, command)
            case Shutdown():
                self.shutting_down = True
                self.broadcast(ShuttingDown())
                self.gone.update(self.members.values())
                self.members.clear()
            case _:
                pass

    def act(self, member: Member, command: Command) -> None:
        nick = self.nick_of[member]
        match command:
            case Say(text):
                self.broadcast(Said(nick.display, text))
            case Emote(text):
                self.broadcast(Emoted(nick.display, text))
            case Rename(new):
                holder = self.members.get(new.key)
                if holder is not None and holder is not member:
                    self.tell(member, NicknameTaken(new.display))
                elif new == nick:
                    self.tell(member, Error(f"you are already {nick.display}"))
                else:
                    del self.members[nick.key]
                    self.members[new.key] = member
                    self.nick_of[member] = new
                    self.broadcast(Renamed(nick.display, new.display))
            case PrivateMessage(recipient, text):
                target = self.members.get(recipient.key)
                if target is None:
                    self.tell(member, NoSuchNick(recipient.display))
                else:
                    self.tell(target, PrivateFrom(nick.display, text))
                    self.tell(member, PrivateTo(self.nick_of[target].display, text))
            case Who():
                self.tell(member, Roster(self.roster()))
            case Quit():
                self.tell(member, Goodbye())
                self.remove(member, LeaveReason.QUIT)
            case _:
                raise AssertionError(f"not generated: {command}")

    def flush(self) -> None:
        """One delivery per member with something this turn; full mailboxes mean eviction."""
        while self.this_turn:
            this_turn, self.this_turn = self.this_turn, {}
            too_slow = []
            for member, events in this_turn.items():
                if self.queued[member] >= CAPACITY:
                    if self.is_member(member):
                        too_slow.append(member)
                    continue  # a departing member that is full just misses its last words
                self.queued[member] += 1
                self.expected[member].extend(events)
            # The room evicts in membership order; Left notices follow in that order.
            for member in [m for m in self.members.values() if m in too_slow]:
                self.remove(member, LeaveReason.TOO_SLOW)


class RoomMachine(RuleBasedStateMachine):
    """Random requests in random batches against Room; the model says what must come out."""

    def __init__(self) -> None:
        super().__init__()
        self.room = Room()
        self.model = Model()
        self.connections = [
            Member(Mailbox(CAPACITY, byte_budget=1 << 40), peer=f"c{n}") for n in range(CONNECTIONS)
        ]
        for member in self.connections:
            self.model.expected[member] = []
            self.model.queued[member] = 0
        self.received: dict[Member, list[Event]] = {m: [] for m in self.connections}
        self.reading = set(self.connections)  # the others have stopped reading
        self.pending: list[Request] = []  # requests waiting for the next turn
        self.serial = 0

    @initialize()
    def two_members(self) -> None:
        self.pending += [
            Join(self.connections[-1], Nickname.parse("dave")),
            Join(self.connections[-2], Nickname.parse("erin")),
        ]
        self.turn()

    def _request(self, request: Request) -> None:
        self.pending.append(request)

    def _act(self, connection: int, command: Command) -> None:
        self._request(Act(self.connections[connection], command))

    @rule(connection=connections, nick=nicknames)
    def join(self, connection: int, nick: Nickname) -> None:
        self._request(Join(self.connections[connection], nick))

    @rule(connection=connections, reason=reasons)
    def leave(self, connection: int, reason: LeaveReason) -> None:
        self._request(Leave(self.connections[connection], reason))

    @rule(connection=connections)
    def quit(self, connection: int) -> None:
        self._act(connection, Quit())

    @rule(connection=connections, nick=nicknames)
    def rename(self, connection: int, nick: Nickname) -> None:
        self._act(connection, Rename(nick))

    @rule(connection=connections, action=st.booleans())
    def say(self, connection: int, action: bool) -> None:
        self.serial += 1  # unique texts make every message identifiable in a transcript
        text = f"message {self.serial}"
        self._act(connection, Emote(text) if action else Say(text))

    @rule(connection=connections, nick=nicknames)
    def private_message(self, connection: int, nick: Nickname) -> None:
        self.serial += 1
        self._act(connection, PrivateMessage(nick, f"secret {self.serial}"))

    @rule(connection=connections)
    def who(self, connection: int) -> None:
        self._act(connection, Who())

    @rule(connection=connections)
    def stop_reading(self, connection: int) -> None:
        self.reading.discard(self.connections[connection])

    @rule(connection=connections, turns=st.integers(1, CAPACITY + 1))
    def chatter(self, connection: int, turns: int) -> None:
        """A message per turn for a few turns: what fills the mailbox of a member not reading."""
        for _ in range(turns):
            self.say(connection, action=False)
            self.turn()

    @precondition(lambda self: not self.model.shutting_down and self.serial > 20)
    @rule()
    def shutdown(self) -> None:
        self._request(Shutdown())

    @rule()
    def turn(self) -> None:
        """The room task's turn: every waiting request, then one flush."""
        for request in self.pending:
            self.room.handle(request)
            self.model.handle(request)
        self.pending.clear()
        self.room.flush()
        self.model.flush()
        self.read()
        for member in self.connections:
            if member.left is not None:
                event(f"someone left: {member.left.value}")

    def read(self) -> None:
        """Members that still read (and any that were removed) drain their mailboxes."""
        for member in self.connections:
            if member in self.reading or member.left is not None:
                self.received[member].extend(received(member))
                self.model.queued[member] = 0

    @invariant()
    def nicknames_are_a_bijection(self) -> None:
        members = [m for m in self.connections if m in self.room]
        keys = [m.nick.key for m in members]  # type: ignore[union-attr]
        assert len(set(keys)) == len(keys)
        assert len(self.room) == len(members)
        assert {m.nick.key: m for m in members} == self.model.members  # type: ignore[union-attr]

    @invariant()
    def every_member_received_exactly_its_share_of_the_log(self) -> None:
        for member in self.connections:
            if member in self.reading or member.left is not None:
                assert self.received[member] == self.model.expected[member], member.peer

    @invariant()
    def removed_members_are_closed_and_cancelled(self) -> None:
        for member in self.connections:
            if member.left is not None:
                assert member not in self.room
                # Closed: nothing can ever be delivered to it again.
                assert is_closed(member), f"{member.peer}'s mailbox is still open"
            if member.left is LeaveReason.TOO_SLOW:
                # (Only a cancelled scope can be asked outside trio.run, so that is all we ask.)
                assert member.cancel_scope.cancel_called


TestRoom = RoomMachine.TestCase
