"""The room's logic, driven synchronously: no sockets, no event loop (run_room aside)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest
import trio

from trio_chat.core.events import (
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
from trio_chat.core.room import Act, Join, Leave, Member, Request, Room, Shutdown, run_room
from trio_chat.core.text import Nickname
from trio_chat.shell.mailbox import Delivery, Mailbox


def new_member(capacity: int = 16, byte_budget: int = 1 << 20) -> Member:
    return Member(Mailbox(capacity, byte_budget))


def deliveries(member: Member) -> list[Delivery]:
    """Take everything out of the member's mailbox, as its writer would."""
    taken: list[Delivery] = []
    while True:
        try:
            delivery = member.mailbox.receive.receive_nowait()
        except (trio.WouldBlock, trio.EndOfChannel):
            return taken
        member.mailbox.sent(delivery)
        taken.append(delivery)


def received(member: Member) -> list[Event]:
    return [event for delivery in deliveries(member) for event in delivery.events]


def is_closed(member: Member) -> bool:
    try:
        member.mailbox.receive.receive_nowait()
    except trio.EndOfChannel:
        return True
    except trio.WouldBlock:
        return False
    raise AssertionError("mailbox was not drained")


def turn(room: Room, *requests: Request) -> None:
    for request in requests:
        room.handle(request)
    room.flush()


def joined(room: Room, *names: str) -> list[Member]:
    members = []
    for name in names:
        member = new_member()
        turn(room, Join(member, Nickname.parse(name)))
        members.append(member)
    for member in members:
        received(member)  # start the test with empty mailboxes
    return members


def say(member: Member, text: str) -> Act:
    return Act(member, Say(text))


def test_join_welcomes_the_newcomer_and_tells_the_others() -> None:
    room = Room()
    (bob,) = joined(room, "bob")
    alice = new_member()
    turn(room, Join(alice, Nickname.parse("alice")))
    assert received(alice) == [Welcome("alice", ("alice", "bob"))]
    assert received(bob) == [Joined("alice")]
    assert alice in room
    assert len(room) == 2


def test_roster_is_sorted_by_normalized_nickname() -> None:
    room = Room()
    (alice, *_) = joined(room, "alice", "Zed", "Bob", "carol")
    turn(room, Act(alice, Who()))
    assert received(alice) == [Roster(("alice", "Bob", "carol", "Zed"))]


def test_a_taken_nickname_is_refused_in_any_case_or_width() -> None:
    room = Room()
    (alice,) = joined(room, "alice")
    for variant in ("alice", "ALICE", "ａｌｉｃｅ"):  # noqa: RUF001 (fullwidth on purpose)
        newcomer = new_member()
        turn(room, Join(newcomer, Nickname.parse(variant)))
        assert received(newcomer) == [NicknameTaken(Nickname.parse(variant).display)]
        assert newcomer not in room
        assert not is_closed(newcomer)  # it may try another name
    assert received(alice) == []
    assert len(room) == 1


def test_a_refused_newcomer_can_retry() -> None:
    room = Room()
    joined(room, "alice")
    newcomer = new_member()
    turn(room, Join(newcomer, Nickname.parse("Alice")))
    turn(room, Join(newcomer, Nickname.parse("alicia")))
    assert received(newcomer) == [NicknameTaken("Alice"), Welcome("alicia", ("alice", "alicia"))]


def test_joining_twice_is_an_error() -> None:
    room = Room()
    (alice,) = joined(room, "alice")
    turn(room, Join(alice, Nickname.parse("other")))
    assert received(alice) == [Error("you have already joined")]
    assert alice.nick == Nickname.parse("alice")


def test_messages_reach_everyone_including_the_sender() -> None:
    room = Room()
    alice, bob = joined(room, "alice", "bob")
    turn(room, say(alice, "hello"), Act(bob, Emote("waves")))
    assert received(alice) == received(bob) == [Said("alice", "hello"), Emoted("bob", "waves")]


def test_one_turn_is_one_shared_delivery() -> None:
    # A burst handled in one turn costs each member one mailbox slot, and the members who saw
    # the same events share one Delivery, so it is rendered once.
    room = Room()
    alice, bob, carol = joined(room, "alice", "bob", "carol")
    turn(room, *(say(alice, str(n)) for n in range(100)))
    batches = [deliveries(member) for member in (alice, bob, carol)]
    assert all(len(batch) == 1 for batch in batches)
    assert batches[0][0] is batches[1][0] is batches[2][0]
    assert [event.text for event in batches[0][0].events] == [str(n) for n in range(100)]  # type: ignore[union-attr]


def test_private_events_keep_their_place_in_the_order() -> None:
    room = Room()
    alice, bob, carol = joined(room, "alice", "bob", "carol")
    turn(
        room,
        say(alice, "one"),
        Act(bob, PrivateMessage(Nickname.parse("CAROL"), "psst")),
        say(alice, "two"),
    )
    assert received(alice) == [Said("alice", "one"), Said("alice", "two")]
    assert received(bob) == [Said("alice", "one"), PrivateTo("carol", "psst"), Said("alice", "two")]
    assert received(carol) == [
        Said("alice", "one"),
        PrivateFrom("bob", "psst"),
        Said("alice", "two"),
    ]


def test_private_message_to_nobody() -> None:
    room = Room()
    alice, bob = joined(room, "alice", "bob")
    turn(room, Act(alice, PrivateMessage(Nickname.parse("carol"), "hi")))
    assert received(alice) == [NoSuchNick("carol")]
    assert received(bob) == []


def test_tell_answers_only_the_asker() -> None:
    room = Room()
    alice, bob = joined(room, "alice", "bob")
    turn(room, Act(alice, Tell(Error("usage: /me <action>"))))
    assert received(alice) == [Error("usage: /me <action>")]
    assert received(bob) == []


def test_rename() -> None:
    room = Room()
    alice, bob = joined(room, "alice", "bob")
    turn(room, Act(alice, Rename(Nickname.parse("al"))))
    assert received(alice) == received(bob) == [Renamed("alice", "al")]
    # The old name is free again, the new one is taken.
    turn(room, Act(bob, Rename(Nickname.parse("Al"))))
    assert received(bob) == [NicknameTaken("Al")]
    turn(room, Act(bob, Rename(Nickname.parse("alice"))))
    assert received(alice) == [Renamed("bob", "alice")]


def test_rename_to_a_different_case_of_ones_own_name() -> None:
    room = Room()
    (alice,) = joined(room, "alice")
    turn(room, Act(alice, Rename(Nickname.parse("Alice"))))
    assert received(alice) == [Renamed("alice", "Alice")]
    turn(room, Act(alice, Rename(Nickname.parse("Alice"))))
    assert received(alice) == [Error("you are already Alice")]
    turn(room, Act(alice, Who()))
    assert received(alice) == [Roster(("Alice",))]


def test_quit_says_goodbye_then_closes_the_mailbox() -> None:
    room = Room()
    alice, bob = joined(room, "alice", "bob")
    turn(room, say(alice, "before"), Act(alice, Quit()), say(bob, "after"))
    assert received(alice) == [Said("alice", "before"), Goodbye()]
    assert is_closed(alice)
    assert alice.left is LeaveReason.QUIT
    assert received(bob) == [
        Said("alice", "before"),
        Left("alice", LeaveReason.QUIT),
        Said("bob", "after"),
    ]


def test_leave_from_a_lost_connection() -> None:
    room = Room()
    alice, bob = joined(room, "alice", "bob")
    turn(room, Leave(alice, LeaveReason.CONNECTION_LOST))
    assert received(bob) == [Left("alice", LeaveReason.CONNECTION_LOST)]
    assert received(alice) == []
    assert is_closed(alice)


def test_requests_from_non_members_are_ignored() -> None:
    room = Room()
    alice, bob = joined(room, "alice", "bob")
    turn(room, Leave(alice, LeaveReason.CONNECTION_LOST))
    received(bob)
    stranger = new_member()
    turn(
        room,
        Leave(alice, LeaveReason.TIMED_OUT),  # a second goodbye from a closing connection
        say(alice, "from beyond"),
        say(stranger, "never joined"),
        Leave(stranger, LeaveReason.TIMED_OUT),
    )
    assert received(bob) == []
    assert alice.left is LeaveReason.CONNECTION_LOST


def test_a_newcomer_sees_nothing_from_before_its_welcome() -> None:
    room = Room()
    (alice,) = joined(room, "alice")
    bob = new_member()
    turn(room, say(alice, "before"), Join(bob, Nickname.parse("bob")), say(alice, "after"))
    assert received(bob) == [Welcome("bob", ("alice", "bob")), Said("alice", "after")]
    assert received(alice) == [Said("alice", "before"), Joined("bob"), Said("alice", "after")]


def test_a_full_mailbox_evicts_its_member_and_only_it() -> None:
    room = Room()
    (alice,) = joined(room, "alice")
    slow = new_member(capacity=2)
    turn(room, Join(slow, Nickname.parse("slow")))
    received(alice)
    for n in range(2):  # the second turn finds the mailbox full (the welcome is still unread)
        turn(room, say(alice, str(n)))
    assert slow.left is LeaveReason.TOO_SLOW
    assert slow.cancel_scope.cancel_called
    assert slow not in room
    assert received(alice)[-1] == Left("slow", LeaveReason.TOO_SLOW)
    # The slow member got what fitted, then its mailbox closed.
    assert received(slow) == [Welcome("slow", ("alice", "slow")), Said("alice", "0")]
    assert is_closed(slow)


def test_the_byte_budget_evicts_a_member_that_does_not_keep_up() -> None:
    room = Room()
    (alice,) = joined(room, "alice")
    slow = new_member(byte_budget=1000)
    turn(room, Join(slow, Nickname.parse("slow")))
    received(slow)
    turn(room, say(alice, "x" * 5000))  # accepted: a mailbox with nothing pending takes anything
    assert slow in room
    turn(room, say(alice, "y"))  # 5000 bytes still pending: over budget
    assert slow.left is LeaveReason.TOO_SLOW


def test_a_member_that_keeps_up_is_never_evicted() -> None:
    room = Room()
    alice, reader = new_member(capacity=1, byte_budget=100), new_member(capacity=1, byte_budget=100)
    turn(room, Join(alice, Nickname.parse("alice")), Join(reader, Nickname.parse("reader")))
    for n in range(1000):
        received(alice)
        received(reader)
        turn(room, say(alice, f"message {n} " + "x" * 200))
    assert alice in room
    assert reader in room


def test_shutdown_tells_everyone_closes_everything_and_refuses_newcomers() -> None:
    room = Room()
    alice, bob = joined(room, "alice", "bob")
    turn(room, say(alice, "last words"), Shutdown())
    for member in (alice, bob):
        assert received(member) == [Said("alice", "last words"), ShuttingDown()]
        assert is_closed(member)
        assert member.left is LeaveReason.SERVER_SHUTDOWN
    assert len(room) == 0
    late = new_member()
    turn(room, Join(late, Nickname.parse("late")))
    assert received(late) == [ShuttingDown()]


def test_a_delivery_is_rendered_once_per_encoder() -> None:
    calls = []

    def encoder(events: Sequence[Event]) -> bytes:
        calls.append(events)
        return b"rendered"

    delivery = Delivery([Said("alice", "hi")])
    assert delivery.encode(encoder) == delivery.encode(encoder) == b"rendered"
    assert len(calls) == 1


async def test_run_room_handles_a_burst_in_one_turn_and_ends_with_its_inbox() -> None:
    room = Room()
    alice, bob = joined(room, "alice", "bob")
    inbox_send, inbox_receive = trio.open_memory_channel[Request](100)
    for n in range(50):
        inbox_send.send_nowait(say(alice, str(n)))
    inbox_send.close()
    await run_room(room, inbox_receive)  # returns because the inbox is closed and drained
    (delivery,) = deliveries(bob)
    assert len(delivery.events) == 50


def test_a_refusal_and_a_welcome_in_the_same_turn_both_arrive() -> None:
    # Found by the state machine: the welcome used to replace the refusal before it.
    room = Room()
    joined(room, "alice")
    newcomer = new_member()
    turn(room, Join(newcomer, Nickname.parse("alice")), Join(newcomer, Nickname.parse("bob")))
    assert received(newcomer) == [NicknameTaken("alice"), Welcome("bob", ("alice", "bob"))]


def test_the_log_has_one_line_per_removal_with_its_reason_and_quoted_nicknames(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="trio_chat")
    room = Room()
    alice, bob = joined(room, "alice", "Zoë")
    turn(room, Act(alice, Rename(Nickname.parse("al"))), Leave(bob, LeaveReason.TIMED_OUT))
    assert caplog.messages == [
        "? joined as 'alice' (1 online)",
        "? joined as 'Zoë' (2 online)",
        "? renamed 'alice' to 'al'",
        "? ('Zoë') left: timed out",
    ]
