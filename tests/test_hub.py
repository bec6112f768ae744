"""The hub's logic, driven synchronously: no sockets, no event loop.

The outboxes are the shell's real mailboxes (memory channels work without an event loop for
``send_nowait`` and ``receive_nowait``); each test plays the writers by draining them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import pytest
import trio

from tests.conftest import T0
from tests.names import memberships, nick, room, roster
from trio_chat.core.accounts import Credentials, Ticket
from trio_chat.core.delivery import Delivery
from trio_chat.core.events import (
    AccountChanged,
    AccountCreated,
    AwayChanged,
    ChangeModes,
    Counts,
    CurrentRoom,
    Departed,
    Emote,
    Emoted,
    Event,
    Found,
    Goodbye,
    IsAway,
    Joined,
    JoinRoom,
    LeaveReason,
    ListRooms,
    LoggedIn,
    LogOut,
    LookUp,
    MemberInfo,
    ModesChanged,
    Parted,
    PartRoom,
    PasswordChanged,
    PrivateFrom,
    PrivateMessage,
    PrivateTo,
    Quit,
    Registered,
    Rename,
    Renamed,
    RoomEntered,
    RoomExited,
    RoomList,
    RoomSummary,
    Roster,
    Said,
    Say,
    SetAway,
    SetInvisible,
    SetTopic,
    ShowCounts,
    ShowTopic,
    ShuttingDown,
    SwitchRoom,
    Tell,
    TicketGranted,
    TicketRevoked,
    TopicChanged,
    TopicIs,
    Who,
)
from trio_chat.core.hub import Hub, Request
from trio_chat.core.limits import Limits
from trio_chat.core.members import Held, Member
from trio_chat.core.modes import Mode, ModeChange
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.requests import (
    Act,
    Change,
    ChangePassword,
    CreateAccount,
    Disconnect,
    GrantTicket,
    LogIn,
    Login,
    Reconfigure,
    Register,
    RevokeTicket,
    Saved,
    Shutdown,
)
from trio_chat.core.roles import Role
from trio_chat.core.snapshots import RoomRecord, RoomSettings
from trio_chat.core.text import NicknamePolicy
from trio_chat.frontends.irc import IrcFrontEnd
from trio_chat.frontends.line import LineFrontEnd
from trio_chat.frontends.webjson import encode
from trio_chat.shell.mailbox import Mailbox

LOBBY = "#lobby"


def new_member(capacity: int = 16, byte_budget: int = 1 << 20) -> Member:
    return Member(Mailbox(capacity, byte_budget))


def mailbox(member: Member) -> Mailbox:
    outbox = member.outbox.outbox if isinstance(member.outbox, Held) else member.outbox
    assert isinstance(outbox, Mailbox)
    return outbox


def deliveries(member: Member) -> list[Delivery]:
    """Take everything out of the member's mailbox, as its writer would."""
    taken: list[Delivery] = []
    while True:
        try:
            delivery = mailbox(member).receive.receive_nowait()
        except (trio.WouldBlock, trio.EndOfChannel):
            return taken
        mailbox(member).sent(delivery)
        assert isinstance(delivery, Delivery)  # never bytes: no socket is connected here
        taken.append(delivery)


def received(member: Member) -> list[Event]:
    return [event for delivery in deliveries(member) for event in delivery.events]


def is_closed(member: Member) -> bool:
    try:
        mailbox(member).receive.receive_nowait()
    except trio.EndOfChannel:
        return True
    except trio.WouldBlock:
        return False
    raise AssertionError("mailbox was not drained")


def turn(hub: Hub, *requests: Request) -> None:
    for request in requests:
        hub.handle(request)
    hub.flush()


def registered(hub: Hub, *names: str) -> list[Member]:
    members = []
    for name in names:
        member = new_member()
        turn(hub, Register(member, nick(name)))
        members.append(member)
    for member in members:
        received(member)  # start the test with empty mailboxes
    return members


def say(member: Member, text: str, where: str | None = None) -> Act:
    return Act(member, Say(text, None if where is None else room(where)))


def join(member: Member, name: str) -> Act:
    return Act(member, JoinRoom(room(name)))


def test_registration_welcomes_the_newcomer_into_the_lobby_and_tells_the_others() -> None:
    hub = Hub()
    (bob,) = registered(hub, "bob")
    alice = new_member()
    turn(hub, Register(alice, nick("alice")))
    assert received(alice) == [
        Registered("alice", members=2, rooms=1),
        RoomEntered(LOBBY, roster("alice", "bob"), ""),
    ]
    assert received(bob) == [Joined(LOBBY, "alice")]
    assert alice in hub
    assert len(hub) == 2


def test_roster_is_sorted_by_normalized_nickname() -> None:
    hub = Hub()
    (alice, *_) = registered(hub, "alice", "Zed", "Bob", "carol")
    turn(hub, Act(alice, Who()))
    assert received(alice) == [Roster(LOBBY, roster("alice", "Bob", "carol", "Zed"))]


def test_a_taken_nickname_is_refused_in_any_case_or_width() -> None:
    hub = Hub()
    (alice,) = registered(hub, "alice")
    for variant in ("alice", "ALICE", "ａｌｉｃｅ"):  # noqa: RUF001 (fullwidth on purpose)
        newcomer = new_member()
        turn(hub, Register(newcomer, nick(variant)))
        assert received(newcomer) == [Refusal(Reason.NICK_TAKEN, nick(variant).display)]
        assert newcomer not in hub
        assert not is_closed(newcomer)  # it may try another name
    assert received(alice) == []
    assert len(hub) == 1


def test_a_refused_newcomer_can_retry() -> None:
    hub = Hub()
    registered(hub, "alice")
    newcomer = new_member()
    turn(hub, Register(newcomer, nick("Alice")))
    turn(hub, Register(newcomer, nick("alicia")))
    assert received(newcomer) == [
        Refusal(Reason.NICK_TAKEN, "Alice"),
        Registered("alicia", 2, 1),
        RoomEntered(LOBBY, roster("alice", "alicia"), ""),
    ]


def test_registering_twice_is_refused() -> None:
    hub = Hub()
    (alice,) = registered(hub, "alice")
    turn(hub, Register(alice, nick("other")))
    assert received(alice) == [Refusal(Reason.ALREADY_REGISTERED)]
    assert alice.nick == nick("alice")


def test_messages_reach_everyone_in_the_room_including_the_sender() -> None:
    hub = Hub()
    alice, bob = registered(hub, "alice", "bob")
    turn(hub, say(alice, "hello"), Act(bob, Emote("waves")))
    expected = [Said(LOBBY, "alice", "hello"), Emoted(LOBBY, "bob", "waves")]
    assert received(alice) == received(bob) == expected


def test_one_turn_is_one_shared_delivery() -> None:
    # A burst handled in one turn costs each member one mailbox slot, and the members who saw
    # the same events share one Delivery, so it is rendered once.
    hub = Hub()
    alice, bob, carol = registered(hub, "alice", "bob", "carol")
    turn(hub, *(say(alice, str(n)) for n in range(100)))
    batches = [deliveries(member) for member in (alice, bob, carol)]
    assert all(len(batch) == 1 for batch in batches)
    assert batches[0][0] is batches[1][0] is batches[2][0]
    assert not batches[0][0].personal
    assert [event.text for event in batches[0][0].events] == [str(n) for n in range(100)]  # type: ignore[union-attr]


def test_private_events_keep_their_place_in_the_order() -> None:
    hub = Hub()
    alice, bob, carol = registered(hub, "alice", "bob", "carol")
    turn(
        hub,
        say(alice, "one"),
        Act(bob, PrivateMessage(nick("CAROL"), "psst")),
        say(alice, "two"),
    )
    one, two = Said(LOBBY, "alice", "one"), Said(LOBBY, "alice", "two")
    assert received(alice) == [one, two]
    assert received(bob) == [one, PrivateTo("carol", "psst"), two]
    assert received(carol) == [one, PrivateFrom("bob", "psst"), two]


def test_private_message_to_nobody() -> None:
    hub = Hub()
    alice, bob = registered(hub, "alice", "bob")
    turn(hub, Act(alice, PrivateMessage(nick("carol"), "hi")))
    assert received(alice) == [Refusal(Reason.NO_SUCH_NICK, "carol")]
    assert received(bob) == []


def test_tell_answers_only_the_asker() -> None:
    hub = Hub()
    alice, bob = registered(hub, "alice", "bob")
    usage = Refusal(Reason.USAGE, detail="/me <action>")
    turn(hub, Act(alice, Tell(usage)))
    assert received(alice) == [usage]
    assert received(bob) == []


def test_rename() -> None:
    hub = Hub()
    alice, bob = registered(hub, "alice", "bob")
    turn(hub, Act(alice, Rename(nick("al"))))
    assert received(alice) == received(bob) == [Renamed("alice", "al")]
    # The old name is free again, the new one is taken.
    turn(hub, Act(bob, Rename(nick("Al"))))
    assert received(bob) == [Refusal(Reason.NICK_TAKEN, "Al")]
    turn(hub, Act(bob, Rename(nick("alice"))))
    assert received(alice) == [Renamed("bob", "alice")]


def test_rename_to_a_different_case_of_ones_own_name() -> None:
    hub = Hub()
    (alice,) = registered(hub, "alice")
    turn(hub, Act(alice, Rename(nick("Alice"))))
    assert received(alice) == [Renamed("alice", "Alice")]
    turn(hub, Act(alice, Rename(nick("Alice"))))
    assert received(alice) == [Refusal(Reason.NICK_UNCHANGED, "Alice")]
    turn(hub, Act(alice, Who()))
    assert received(alice) == [
        Roster(
            LOBBY,
            roster("Alice"),
        )
    ]


def test_quit_says_goodbye_then_closes_the_mailbox() -> None:
    hub = Hub()
    alice, bob = registered(hub, "alice", "bob")
    turn(hub, say(alice, "before"), Act(alice, Quit()), say(bob, "after"))
    assert received(alice) == [Said(LOBBY, "alice", "before"), Goodbye()]
    assert is_closed(alice)
    assert alice.left is LeaveReason.QUIT
    assert received(bob) == [
        Said(LOBBY, "alice", "before"),
        Departed("alice", LeaveReason.QUIT),
        Said(LOBBY, "bob", "after"),
    ]


def test_disconnect_from_a_lost_connection() -> None:
    hub = Hub()
    alice, bob = registered(hub, "alice", "bob")
    turn(hub, Disconnect(alice, LeaveReason.CONNECTION_LOST))
    assert received(bob) == [Departed("alice", LeaveReason.CONNECTION_LOST)]
    assert received(alice) == []
    assert is_closed(alice)


def test_requests_from_non_members_are_ignored() -> None:
    hub = Hub()
    alice, bob = registered(hub, "alice", "bob")
    turn(hub, Disconnect(alice, LeaveReason.CONNECTION_LOST))
    received(bob)
    stranger = new_member()
    turn(
        hub,
        Disconnect(alice, LeaveReason.TIMED_OUT),  # a second goodbye from a closing connection
        say(alice, "from beyond"),
        say(stranger, "never registered"),
        Disconnect(stranger, LeaveReason.TIMED_OUT),
    )
    assert received(bob) == []
    assert alice.left is LeaveReason.CONNECTION_LOST


def test_a_newcomer_sees_nothing_from_before_its_welcome() -> None:
    hub = Hub()
    (alice,) = registered(hub, "alice")
    bob = new_member()
    turn(hub, say(alice, "before"), Register(bob, nick("bob")), say(alice, "after"))
    assert received(bob) == [
        Registered("bob", 2, 1),
        RoomEntered(LOBBY, roster("alice", "bob"), ""),
        Said(LOBBY, "alice", "after"),
    ]
    assert received(alice) == [
        Said(LOBBY, "alice", "before"),
        Joined(LOBBY, "bob"),
        Said(LOBBY, "alice", "after"),
    ]


def test_a_full_mailbox_evicts_its_member_and_only_it() -> None:
    hub = Hub()
    (alice,) = registered(hub, "alice")
    slow = new_member(capacity=2)
    turn(hub, Register(slow, nick("slow")))
    received(alice)
    for n in range(2):  # the second turn finds the mailbox full (the welcome is still unread)
        turn(hub, say(alice, str(n)))
    assert slow.left is LeaveReason.TOO_SLOW
    assert mailbox(slow).evicted is LeaveReason.TOO_SLOW
    assert slow not in hub
    assert received(alice)[-1] == Departed("slow", LeaveReason.TOO_SLOW)
    # The slow member got what fitted, then its mailbox closed.
    assert received(slow) == [
        Registered("slow", 2, 1),
        RoomEntered(LOBBY, roster("alice", "slow"), ""),
        Said(LOBBY, "alice", "0"),
    ]
    assert is_closed(slow)


def test_the_byte_budget_evicts_a_member_that_does_not_keep_up() -> None:
    hub = Hub()
    (alice,) = registered(hub, "alice")
    slow = new_member(byte_budget=1000)
    turn(hub, Register(slow, nick("slow")))
    received(slow)
    turn(hub, say(alice, "x" * 5000))  # accepted: a mailbox with nothing pending takes anything
    assert slow in hub
    turn(hub, say(alice, "y"))  # 5000 bytes still pending: over budget
    assert slow.left is LeaveReason.TOO_SLOW


def test_a_member_that_keeps_up_is_never_evicted() -> None:
    hub = Hub()
    alice, reader = new_member(capacity=1, byte_budget=100), new_member(capacity=1, byte_budget=100)
    turn(hub, Register(alice, nick("alice")), Register(reader, nick("reader")))
    for n in range(1000):
        received(alice)
        received(reader)
        turn(hub, say(alice, f"message {n} " + "x" * 200))
    assert alice in hub
    assert reader in hub


def test_shutdown_tells_everyone_closes_everything_and_refuses_newcomers() -> None:
    hub = Hub()
    alice, bob, loner = registered(hub, "alice", "bob", "loner")
    turn(hub, Act(loner, PartRoom()))  # in no room: still told
    for member in (alice, bob, loner):
        received(member)
    turn(hub, say(alice, "last words"), Shutdown())
    for member in (alice, bob):
        assert received(member) == [Said(LOBBY, "alice", "last words"), ShuttingDown()]
    assert received(loner) == [ShuttingDown()]
    for member in (alice, bob, loner):
        assert is_closed(member)
        assert member.left is LeaveReason.SERVER_SHUTDOWN
    assert len(hub) == 0
    assert hub.room_count == 0
    late = new_member()
    turn(hub, Register(late, nick("late")))
    assert received(late) == [ShuttingDown()]


def test_a_delivery_is_rendered_once_per_kind_of_viewer() -> None:
    calls = []

    def renderer(events: Sequence[Event]) -> bytes:
        calls.append(events)
        return b"rendered"

    delivery = Delivery([Said(LOBBY, "alice", "hi")])
    assert delivery.render("plain", renderer) == delivery.render("plain", renderer) == b"rendered"
    assert len(calls) == 1
    delivery.render(("plain", "several rooms"), renderer)
    assert len(calls) == 2


def test_a_refusal_and_a_welcome_in_the_same_turn_both_arrive() -> None:
    # Found by the state machine: the welcome used to replace the refusal before it.
    hub = Hub()
    registered(hub, "alice")
    newcomer = new_member()
    turn(hub, Register(newcomer, nick("alice")), Register(newcomer, nick("bob")))
    assert received(newcomer) == [
        Refusal(Reason.NICK_TAKEN, "alice"),
        Registered("bob", 2, 1),
        RoomEntered(LOBBY, roster("alice", "bob"), ""),
    ]


def test_the_log_has_one_line_per_removal_with_its_reason_and_quoted_nicknames(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="trio_chat")
    hub = Hub()
    alice, bob = registered(hub, "alice", "Zoë")
    turn(hub, Act(alice, Rename(nick("al"))), Disconnect(bob, LeaveReason.TIMED_OUT))
    assert caplog.messages == [
        "? joined as 'alice' (1 online)",
        "? joined as 'Zoë' (2 online)",
        "? renamed 'alice' to 'al'",
        "? ('Zoë') left: timed out",
    ]


# --- rooms ------------------------------------------------------------------------------------


def test_joining_a_room_welcomes_with_roster_and_topic_and_makes_it_current() -> None:
    hub = Hub(clock=lambda: T0)
    alice, bob, carol = registered(hub, "alice", "bob", "carol")
    turn(hub, join(bob, "#rust"), Act(bob, SetTopic("2.0 is out")))
    received(bob)
    turn(hub, join(alice, "#Rust"))  # the room's own spelling is kept
    # bob made #rust, so bob runs it (as on every IRC server).
    entered = RoomEntered("#rust", roster("alice", "@bob"), "2.0 is out", "bob", T0)
    assert received(alice) == [entered]  # and who set the topic, when (IRC's 333)
    assert received(bob) == [Joined("#rust", "alice")]
    assert received(carol) == []  # not in #rust
    turn(hub, say(alice, "hi"))  # to the current room: the one joined last
    assert received(bob) == received(alice) == [Said("#rust", "alice", "hi")]
    assert received(carol) == []


def test_a_room_exists_while_it_has_members() -> None:
    hub = Hub()
    alice, bob = registered(hub, "alice", "bob")
    turn(hub, join(alice, "#rust"), Act(alice, SetTopic("old news")))
    assert hub.room_count == 2
    turn(hub, Act(alice, PartRoom(room("#rust"))))
    assert hub.room_count == 1
    turn(hub, Act(bob, Who(room("#rust"))))
    assert received(bob) == [Refusal(Reason.NO_SUCH_ROOM, "#rust")]
    turn(hub, join(bob, "#RUST"))  # a new room: a new spelling, and no topic
    assert received(bob) == [
        RoomEntered(
            "#RUST",
            roster("@bob"),
            "",
        )
    ]


def test_joining_a_room_one_is_in_makes_it_current() -> None:
    hub = Hub()
    (alice,) = registered(hub, "alice")
    turn(hub, join(alice, "#rust"), join(alice, "#lobby"))
    assert received(alice)[-1] == CurrentRoom(LOBBY)
    turn(hub, say(alice, "back in the lobby"))
    assert received(alice) == [Said(LOBBY, "alice", "back in the lobby")]


def test_parting_tells_the_room_and_moves_to_the_room_joined_last() -> None:
    hub = Hub()
    alice, bob = registered(hub, "alice", "bob")
    turn(hub, join(alice, "#rust"), join(alice, "#go"), join(bob, "#rust"))
    received(alice)
    received(bob)
    turn(hub, Act(alice, PartRoom(message="lunch")))  # the current room: #go
    assert received(alice) == [RoomExited("#go", "lunch"), CurrentRoom("#rust")]
    turn(hub, Act(alice, PartRoom(room("#rust"))))
    assert received(alice) == [RoomExited("#rust"), CurrentRoom(LOBBY)]
    assert received(bob) == [Parted("#rust", "alice")]
    turn(hub, Act(alice, PartRoom(room("#lobby"))))
    assert received(alice) == [RoomExited(LOBBY), CurrentRoom(None)]
    assert received(bob) == [Parted(LOBBY, "alice")]


def test_a_member_in_no_room_can_still_talk_privately() -> None:
    hub = Hub()
    alice, bob = registered(hub, "alice", "bob")
    turn(hub, Act(alice, PartRoom()))
    received(alice)
    received(bob)
    turn(hub, say(alice, "anyone?"), Act(alice, Who()), Act(alice, ShowTopic()))
    assert received(alice) == [Refusal(Reason.IN_NO_ROOM)] * 3
    turn(hub, Act(alice, PrivateMessage(nick("bob"), "psst")))
    assert received(bob) == [PrivateFrom("alice", "psst")]
    assert received(alice) == [PrivateTo("bob", "psst")]
    turn(hub, Act(alice, Rename(nick("al"))))  # one's own rename, with nobody to share it
    assert received(alice) == [Renamed("alice", "al")]
    assert received(bob) == []
    turn(hub, Act(bob, Who()))
    assert received(bob) == [
        Roster(
            LOBBY,
            roster("bob"),
        )
    ]


def test_commands_about_a_room_one_is_not_in() -> None:
    hub = Hub(clock=lambda: T0)
    alice, bob = registered(hub, "alice", "bob")
    turn(hub, join(bob, "#rust"), Act(bob, SetTopic("2.0")))
    received(bob)
    turn(
        hub,
        say(alice, "hi", "#rust"),
        Act(alice, PartRoom(room("#rust"))),
        Act(alice, SwitchRoom(room("#rust"))),
        Act(alice, SetTopic("mine now", room("#rust"))),
        Act(alice, Who(room("#rust"))),  # looking in is fine
        Act(alice, ShowTopic(room("#rust"))),
        Act(alice, Who(room("#nowhere"))),
        Act(alice, PartRoom(room("#nowhere"))),
        say(alice, "hi", "#nowhere"),
        Act(alice, Say("a notice is never answered", room("#rust"), notice=True)),
    )
    not_in = Refusal(Reason.NOT_IN_ROOM, "#rust")
    assert received(alice) == [
        Refusal(Reason.CANNOT_SEND, "#rust"),
        not_in,
        not_in,
        not_in,
        Roster(
            "#rust",
            roster("@bob"),
        ),
        TopicIs("#rust", "2.0", "bob", T0),
        Refusal(Reason.NO_SUCH_ROOM, "#nowhere"),
        Refusal(Reason.NO_SUCH_ROOM, "#nowhere"),
        Refusal(Reason.NO_SUCH_ROOM, "#nowhere"),
    ]
    assert received(bob) == []


def test_switching_rooms() -> None:
    hub = Hub()
    (alice,) = registered(hub, "alice")
    turn(hub, join(alice, "#rust"), Act(alice, SwitchRoom(room("#lobby"))))
    assert received(alice)[-1] == CurrentRoom(LOBBY)
    turn(hub, say(alice, "here"), say(alice, "there", "#rust"))
    assert received(alice) == [Said(LOBBY, "alice", "here"), Said("#rust", "alice", "there")]


def test_topics() -> None:
    hub = Hub(limits=Limits(topic_bytes=10))
    alice, bob = registered(hub, "alice", "bob")
    turn(hub, join(alice, "#tea"), join(bob, "#tea"))
    received(alice)
    received(bob)
    turn(hub, Act(alice, ShowTopic()), Act(alice, SetTopic("tea time")))
    assert received(alice) == [TopicIs("#tea", ""), TopicChanged("#tea", "alice", "tea time")]
    assert received(bob) == [TopicChanged("#tea", "alice", "tea time")]
    turn(hub, Act(alice, SetTopic("é" * 6)))  # 12 bytes in UTF-8
    assert received(alice) == [Refusal(Reason.TOPIC_TOO_LONG, "#tea", "10")]
    # A new room's topic is its operators' (+t): alice made #tea, bob did not.
    turn(hub, Act(bob, SetTopic("")))
    assert received(bob) == [Refusal(Reason.NOT_ROOM_OPERATOR, "#tea")]
    unlocked = (ModeChange(Mode.TOPIC_LOCK, on=False),)
    turn(hub, Act(alice, ChangeModes(room("#tea"), unlocked)), Act(bob, SetTopic("")))
    assert received(alice) == [
        ModesChanged("#tea", "alice", unlocked),
        TopicChanged("#tea", "bob", ""),
    ]


def test_the_room_list_is_largest_first_then_by_name() -> None:
    hub = Hub()
    alice, bob, carol = registered(hub, "alice", "bob", "carol")
    turn(hub, join(alice, "#b"), join(bob, "#b"), join(carol, "#a"), join(alice, "#c"))
    turn(hub, Act(alice, SetTopic("see")))
    received(alice)
    turn(hub, Act(alice, ListRooms()))
    assert received(alice) == [
        RoomList(
            (
                RoomSummary(LOBBY, 3, ""),
                RoomSummary("#b", 2, ""),
                RoomSummary("#a", 1, ""),
                RoomSummary("#c", 1, "see"),
            )
        )
    ]


def test_room_limits() -> None:
    hub = Hub(limits=Limits(rooms_per_member=2, rooms=2))
    alice, bob = registered(hub, "alice", "bob")
    turn(hub, join(alice, "#a"), join(alice, "#b"))
    assert received(alice)[-1] == Refusal(Reason.TOO_MANY_ROOMS_JOINED, "#b", "2")
    turn(hub, join(bob, "#b"))  # #lobby and #a exist: the server is full of rooms
    assert received(bob) == [Refusal(Reason.TOO_MANY_ROOMS, "#b", "2")]
    turn(hub, join(bob, "#a"))  # but existing rooms can still be joined
    assert received(bob)[0] == RoomEntered("#a", roster("@alice", "bob"), "")
    # #lobby is never refused: every newcomer must have somewhere to be.
    turn(hub, Act(alice, PartRoom(room("#lobby"))), Act(bob, PartRoom(room("#lobby"))))
    assert hub.room_count == 1
    turn(hub, join(alice, "#c"))
    turn(hub, join(bob, "#lobby"))
    assert received(bob)[-1] == RoomEntered(
        LOBBY,
        roster("bob"),
        "",
    )


def test_a_member_of_several_busy_rooms_gets_one_delivery_in_the_global_order() -> None:
    hub = Hub()
    alice, bob, carol = registered(hub, "alice", "bob", "carol")
    turn(hub, join(alice, "#a"), join(bob, "#a"), join(alice, "#b"), join(carol, "#b"))
    for member in (alice, bob, carol):
        received(member)
    turn(
        hub,
        say(bob, "a1", "#a"),
        say(carol, "b1", "#b"),
        say(bob, "lobby1", LOBBY),
        say(bob, "a2", "#a"),
        Act(bob, Rename(nick("robert"))),  # bob shares #a and the lobby with alice: once
        say(carol, "b2", "#b"),
    )
    (delivery,) = deliveries(alice)
    assert delivery.events == [
        Said("#a", "bob", "a1"),
        Said("#b", "carol", "b1"),
        Said(LOBBY, "bob", "lobby1"),
        Said("#a", "bob", "a2"),
        Renamed("bob", "robert"),
        Said("#b", "carol", "b2"),
    ]
    assert received(carol) == [
        Said("#b", "carol", "b1"),
        Said(LOBBY, "bob", "lobby1"),
        Renamed("bob", "robert"),
        Said("#b", "carol", "b2"),
    ]


def test_members_with_the_same_busy_rooms_share_their_delivery() -> None:
    hub = Hub()
    alice, bob, carol, dave = registered(hub, "alice", "bob", "carol", "dave")
    for member in (alice, bob, carol):
        turn(hub, join(member, "#a"))
    for member in (alice, bob, carol, dave):
        received(member)
    turn(hub, say(alice, "a", "#a"), say(dave, "lobby", LOBBY))
    (for_alice,), (for_bob,), (for_carol,), (for_dave,) = (
        deliveries(member) for member in (alice, bob, carol, dave)
    )
    assert for_alice is for_bob is for_carol  # in #a and the lobby: the same merged view
    assert for_alice.events == [Said("#a", "alice", "a"), Said(LOBBY, "dave", "lobby")]
    assert for_dave.events == [Said(LOBBY, "dave", "lobby")]


def test_a_departure_is_seen_once_by_everyone_who_shared_a_room() -> None:
    hub = Hub()
    alice, bob, carol = registered(hub, "alice", "bob", "carol")
    turn(hub, join(alice, "#a"), join(bob, "#a"), Act(carol, PartRoom()))
    for member in (alice, bob, carol):
        received(member)
    turn(hub, Disconnect(alice, LeaveReason.CONNECTION_LOST))
    assert received(bob) == [Departed("alice", LeaveReason.CONNECTION_LOST)]
    assert received(carol) == []  # shared no room with alice
    assert hub.room_count == 2  # #a still has bob


def test_joining_mid_turn_sees_the_room_from_its_welcome_on() -> None:
    hub = Hub()
    alice, bob = registered(hub, "alice", "bob")
    turn(hub, join(bob, "#a"))
    received(bob)
    received(alice)
    turn(
        hub,
        say(bob, "before", "#a"),
        say(bob, "lobby before", LOBBY),
        join(alice, "#a"),
        say(bob, "after", "#a"),
    )
    assert received(alice) == [
        Said(LOBBY, "bob", "lobby before"),  # its other room, earlier in the turn
        RoomEntered("#a", roster("alice", "@bob"), ""),
        Said("#a", "bob", "after"),
    ]


def test_events_about_oneself_come_in_a_personal_delivery() -> None:
    hub = Hub()
    alice, bob = registered(hub, "alice", "bob")
    for command in (Rename(nick("al")), JoinRoom(room("#a")), SwitchRoom(room("#lobby"))):
        turn(hub, Act(alice, command))
        (mine,) = deliveries(alice)
        assert mine.personal
        received(bob)
    turn(hub, Act(alice, PartRoom(room("#a"))))
    (mine,) = deliveries(alice)
    assert mine.personal
    turn(hub, say(bob, "hi"))
    (shared,) = deliveries(alice)
    assert not shared.personal


def test_away_is_shown_to_those_who_write_and_those_who_share_a_room() -> None:
    hub = Hub(limits=Limits(away_bytes=10))
    alice, bob, carol = registered(hub, "alice", "bob", "carol")
    turn(hub, Act(carol, PartRoom()))
    received(carol)
    received(alice)
    received(bob)
    turn(hub, Act(bob, SetAway("lunch")))
    assert received(bob) == [AwayChanged("bob", "lunch")]
    assert received(alice) == [AwayChanged("bob", "lunch")]
    assert received(carol) == []  # shares no room with bob
    turn(hub, Act(alice, PrivateMessage(nick("bob"), "hi")), Act(alice, Who()))
    assert received(alice) == [
        PrivateTo("bob", "hi"),
        IsAway("bob", "lunch"),
        Roster(LOBBY, roster("alice", "bob"), away=("bob",)),
    ]
    assert received(bob) == [PrivateFrom("alice", "hi")]
    turn(hub, Act(bob, SetAway("x" * 11)))
    assert received(bob) == [Refusal(Reason.AWAY_TOO_LONG, detail="10")]
    turn(hub, Act(bob, SetAway("")))
    assert received(alice)[-1] == AwayChanged("bob", "")


def test_look_up_and_counts() -> None:
    hub = Hub()
    alice, bob = registered(hub, "alice", "bob")
    turn(hub, join(bob, "#rust"), Act(bob, SetAway("busy")))
    received(bob)
    received(alice)
    ask = (nick("BOB"), nick("nobody"), nick("alice"))
    turn(hub, Act(alice, LookUp(ask, label="whois")), Act(alice, ShowCounts()))
    assert received(alice) == [
        Found(
            "whois",
            ("BOB", "nobody", "alice"),
            (
                MemberInfo("bob", "", "busy", memberships(LOBBY, "@#rust")),
                MemberInfo(
                    "alice",
                    "",
                    "",
                    memberships(LOBBY),
                ),
            ),
        ),
        Counts(members=2, rooms=2, peak=2),
    ]
    turn(hub, Act(alice, LookUp(label="in", room=room("#rust"))), Act(alice, LookUp(mask="A*")))
    assert received(alice) == [
        Found("in", ("#rust",), (MemberInfo("bob", "", "busy", memberships(LOBBY, "@#rust")),)),
        Found(
            "",
            ("A*",),
            (
                MemberInfo(
                    "alice",
                    "",
                    "",
                    memberships(LOBBY),
                ),
            ),
        ),
    ]
    turn(hub, Disconnect(bob, LeaveReason.QUIT), Act(alice, ShowCounts()))
    assert received(alice)[-1] == Counts(members=1, rooms=1, peak=2)


def test_a_quit_message_is_passed_on() -> None:
    hub = Hub()
    alice, bob = registered(hub, "alice", "bob")
    turn(hub, Act(alice, Quit("gone fishing")))
    assert received(bob) == [Departed("alice", LeaveReason.QUIT, "gone fishing")]


def test_deliveries_are_stamped_with_the_time_of_their_turn() -> None:
    hub = Hub(clock=lambda: 1_700_000_000.5)
    alice, bob = registered(hub, "alice", "bob")
    turn(hub, say(alice, "hi"))
    (delivery,) = deliveries(bob)
    assert delivery.time == 1_700_000_000.5
    assert delivery.speakers == {"alice"}


# --- roles and kept rooms: what the moderation issue builds on ----------------------------------


def test_a_role_given_by_hand_is_shown_by_every_front_end() -> None:
    # Nobody can give a role yet: the hub's rooms carry roles anyway, and every roster is
    # rendered from them, each front end in its own way.
    hub = Hub()
    alice, bob, carol = new_member(), new_member(), new_member()
    turn(hub, Register(alice, nick("alice")), Register(bob, nick("bob"), lobby=False))
    turn(hub, Register(carol, nick("carol")), join(alice, "#rust"))
    alice.rooms["#rust"].set_roles(alice, nick("alice"), (Role.OPERATOR,))
    turn(hub, join(bob, "#rust"), join(carol, "#rust"), Act(carol, Who(room("#rust"))))

    irc = b"".join(map(IrcFrontEnd().render, deliveries(bob))).decode()
    assert ":trio-chat 353 bob = #rust :@alice bob\r\n" in irc

    seen = deliveries(carol)
    plain = b"".join(map(LineFrontEnd().render, seen)).decode()
    assert "* welcome to #rust! online (3): @alice, bob, carol\n" in plain
    assert "#rust * online (3): @alice, bob, carol\n" in plain  # /who, among two rooms

    (who,) = [event for d in seen for event in d.events if isinstance(event, Roster)]
    page = json.loads(encode(who, 0.0) or "")
    assert page["roster"] == ["alice", "bob", "carol"]
    assert page["roles"] == {"alice": ["operator"]}


def test_an_empty_room_is_freed_at_once_unless_it_is_kept() -> None:
    hub = Hub()
    (alice,) = registered(hub, "alice")
    turn(hub, join(alice, "#chat"), Act(alice, PartRoom(room("#chat"))))
    assert hub.room_count == 1  # #lobby only: #chat went with its last member

    hub.load_rooms([kept("#kept", "still here")])
    assert hub.room_count == 2  # kept (registered) rooms exist with nobody in them
    turn(hub, join(alice, "#kept"), Act(alice, PartRoom(room("#kept"))))
    assert hub.room_count == 2
    received(alice)
    turn(hub, Act(alice, ListRooms()))
    assert received(alice) == [
        RoomList((RoomSummary("#lobby", 1, ""), RoomSummary("#kept", 0, "still here")))
    ]


def test_kept_rooms_count_against_the_room_table() -> None:
    # Keeping is for rooms that must remember something, not a way around the limit.
    hub = Hub(limits=Limits(rooms=2))
    (alice,) = registered(hub, "alice")
    hub.load_rooms([kept("#kept")])
    turn(hub, join(alice, "#new"))
    assert received(alice) == [Refusal(Reason.TOO_MANY_ROOMS, "#new", "2")]


def kept(name: str, topic: str = "") -> RoomRecord:
    """A registered room, as the database gives it back (its founder: the account alice)."""
    return RoomRecord(room(name), topic, RoomSettings(founder="alice"))


# --- accounts: a nickname only its owner uses ---------------------------------------------------

KEYS = Credentials("$argon2id$not-a-real-hash", b"salt", b"stored", b"server", 4096)
NEW_KEYS = Credentials("$argon2id$another-hash", b"salt2", b"stored2", b"server2", 4096)


def saved(hub: Hub) -> None:
    """Play the account store: every change saved, its member told (the next turn)."""
    for unsaved in hub.take_unsaved_accounts():
        if unsaved.change is not None and unsaved.member is not None:
            hub.handle(Saved(unsaved.account.name.key, unsaved.change, unsaved.member))
    hub.flush()


def with_account(hub: Hub, name: str) -> Member:
    (member,) = registered(hub, name)
    turn(hub, CreateAccount(member, None, KEYS))
    saved(hub)
    received(member)
    return member


def test_an_account_is_told_once_saved_and_its_name_is_then_refused_to_others() -> None:
    hub = Hub()
    alice, bob = registered(hub, "alice", "bob")
    turn(hub, CreateAccount(alice, None, KEYS), say(bob, "meanwhile"))
    assert received(alice) == []  # not saved yet: nothing, so that the answer comes first
    assert received(bob) == [AccountChanged("alice", "alice"), Said(LOBBY, "bob", "meanwhile")]
    (unsaved,) = hub.take_unsaved_accounts()
    assert unsaved.account.name == nick("alice")
    assert unsaved.change is Change.CREATED
    turn(hub, Saved("alice", Change.CREATED, alice))
    assert received(alice) == [
        AccountCreated("alice"),
        AccountChanged("alice", "alice"),
        Said(LOBBY, "bob", "meanwhile"),
    ]

    turn(hub, Act(alice, Quit()))
    received(bob)
    for typed, refusal in (
        ("alice", Refusal(Reason.NICK_REGISTERED, "alice")),
        ("ALICE", Refusal(Reason.NICK_REGISTERED, "ALICE")),
        ("aIice", Refusal(Reason.NICK_LOOKS_REGISTERED, "aIice", "alice")),
    ):
        stranger = new_member()
        turn(hub, Register(stranger, nick(typed)))
        assert received(stranger) == [refusal]
    turn(hub, Act(bob, Rename(nick("Alice"))))
    assert received(bob) == [Refusal(Reason.NICK_REGISTERED, "Alice")]


def test_a_login_comes_with_the_nickname_it_was_for() -> None:
    hub = Hub()
    with_account(hub, "alice")
    turn(hub, Act(hub_member(hub, "alice"), Quit()))
    again = new_member()
    turn(hub, Register(again, nick("alice"), login=Login(nick("alice"), KEYS)))
    events = received(again)
    assert events[:2] == [LoggedIn("alice"), Registered("alice", 1, 1)]
    assert again.account == nick("alice")


def test_a_login_checked_against_a_password_since_changed_is_refused() -> None:
    hub = Hub()
    alice = with_account(hub, "alice")
    turn(hub, ChangePassword(alice, KEYS, NEW_KEYS))
    saved(hub)
    assert received(alice) == [PasswordChanged("alice")]
    turn(hub, Act(alice, Quit()))
    late = new_member()
    turn(hub, Register(late, nick("alice"), login=Login(nick("alice"), KEYS)))
    assert received(late) == [Refusal(Reason.WRONG_PASSWORD, "alice")]
    assert late.account is None


def test_a_password_change_checked_against_old_credentials_is_refused() -> None:
    hub = Hub()
    alice = with_account(hub, "alice")
    turn(hub, ChangePassword(alice, NEW_KEYS, KEYS))  # "old" is not what the account has
    assert received(alice) == [Refusal(Reason.WRONG_PASSWORD, "alice")]
    assert not [u for u in hub.take_unsaved_accounts() if u.change is not None]


def test_what_cannot_be_registered() -> None:
    hub = Hub()
    with_account(hub, "alice")
    bob, _carol = registered(hub, "bob", "carol")
    cases = [
        (CreateAccount(bob, nick("alice"), KEYS), Refusal(Reason.ACCOUNT_EXISTS, "alice")),
        (CreateAccount(bob, nick("aIice"), KEYS), Refusal(Reason.ACCOUNT_EXISTS, "alice")),
        (CreateAccount(bob, nick("carol"), KEYS), Refusal(Reason.ACCOUNT_NAME_IN_USE, "carol")),
        (CreateAccount(bob, nick("admin"), KEYS), Refusal(Reason.NICK_RESERVED, "admin")),
    ]
    for request, refusal in cases:
        turn(hub, request)
        assert received(bob) == [refusal]
    turn(hub, CreateAccount(bob, None, KEYS))
    turn(hub, CreateAccount(bob, nick("bob2"), KEYS))
    saved(hub)
    assert received(bob) == [
        AccountCreated("bob"),
        AccountChanged("bob", "bob"),  # its rooms hear (it is in one)
        Refusal(Reason.ALREADY_LOGGED_IN, "bob"),
    ]


def test_an_account_registered_before_the_nickname_lets_its_member_have_it() -> None:
    # IRC's REGISTER before connection registration: the member is logged in, not yet a member.
    hub = Hub()
    early = new_member()
    turn(hub, CreateAccount(early, nick("early"), KEYS))
    saved(hub)
    assert received(early) == [AccountCreated("early")]
    turn(hub, Register(early, nick("early"), lobby=False))
    assert received(early) == [Registered("early", 1, 0)]


def test_logging_in_and_out_while_connected() -> None:
    hub = Hub()
    alice = with_account(hub, "alice")
    turn(hub, Act(alice, Rename(nick("alice_away"))))
    turn(hub, Act(alice, LogOut()))
    (bob,) = registered(hub, "bob")
    received(alice)
    turn(hub, Act(bob, LogOut()))
    assert received(bob) == [Refusal(Reason.NOT_LOGGED_IN)]
    turn(hub, LogIn(bob, Login(nick("alice"), KEYS)))
    assert received(bob) == [LoggedIn("alice"), AccountChanged("bob", "alice")]
    assert received(alice) == [AccountChanged("bob", "alice")]  # both in #lobby
    turn(hub, LogIn(bob, Login(nick("alice"), KEYS)))
    assert received(bob) == [Refusal(Reason.ALREADY_LOGGED_IN, "alice")]
    turn(hub, Act(bob, Rename(nick("alice"))))  # its own account's name: its to take
    assert received(bob) == [Renamed("bob", "alice")]
    turn(hub, Act(bob, LogOut()))
    assert received(bob) == [Refusal(Reason.LOGOUT_USING_NAME, "alice")]


def test_a_members_account_is_on_what_it_says_and_what_is_known_of_it() -> None:
    hub = Hub()
    alice = with_account(hub, "alice")
    (bob,) = registered(hub, "bob")
    received(alice)
    turn(hub, say(alice, "signed"), Act(bob, LookUp((nick("alice"),), "whois")))
    assert received(bob) == [
        Said(LOBBY, "alice", "signed", account="alice"),
        Found("whois", ("alice",), (MemberInfo("alice", "", "", memberships(LOBBY), "", "alice"),)),
    ]


def test_a_change_the_store_could_not_save_is_said_to_its_member() -> None:
    hub = Hub()
    (alice,) = registered(hub, "alice")
    turn(hub, CreateAccount(alice, None, KEYS))
    hub.take_unsaved_accounts()
    turn(hub, Saved("alice", Change.CREATED, alice, ok=False))
    assert received(alice) == [
        Refusal(Reason.NOT_SAVED, "alice"),
        AccountChanged("alice", "alice"),
    ]
    assert hub.account("ALICE") is not None  # it holds in memory


def hub_member(hub: Hub, name: str) -> Member:
    found = hub._members[nick(name).key]
    return found


def test_a_ticket_is_kept_for_a_browser_that_proved_its_password_and_goes_with_it() -> None:
    hub = Hub(clock=lambda: 1000.0)
    alice = with_account(hub, "alice")
    turn(hub, Act(alice, Quit()))
    browser = new_member()
    ticket = Ticket("d1" * 32, "alice", 2000.0)
    turn(hub, GrantTicket(browser, Login(nick("alice"), KEYS), ticket))
    assert received(browser) == [TicketGranted("alice")]
    assert hub.ticket(ticket.digest) == ticket
    assert hub.take_unsaved_tickets() == [ticket]
    assert Hub(clock=lambda: 2000.0).ticket(ticket.digest) is None  # (another hub: none)
    stale = new_member()
    turn(hub, GrantTicket(stale, Login(nick("alice"), NEW_KEYS), Ticket("d2" * 32, "alice", 9e9)))
    assert received(stale) == [Refusal(Reason.WRONG_PASSWORD, "alice")]
    turn(hub, RevokeTicket(browser, ticket.digest))
    assert received(browser) == [TicketRevoked()]
    assert hub.ticket(ticket.digest) is None
    assert hub.take_unsaved_tickets() == [ticket.digest]


def test_tickets_expire_and_a_new_password_drops_them_all() -> None:
    now = [1000.0]
    hub = Hub(clock=lambda: now[0])
    alice = with_account(hub, "alice")
    for n in range(3):
        turn(
            hub,
            GrantTicket(alice, Login(nick("alice"), KEYS), Ticket(f"{n}" * 64, "alice", 1500.0)),
        )
    assert hub.ticket("0" * 64) is not None
    now[0] = 1500.0
    assert hub.ticket("0" * 64) is None  # expired
    hub.take_unsaved_tickets()
    turn(hub, ChangePassword(alice, KEYS, NEW_KEYS))
    assert sorted(str(t) for t in hub.take_unsaved_tickets()) == ["0" * 64, "1" * 64, "2" * 64]


def test_a_reconfigure_applies_to_what_comes_after_it_in_the_same_turn() -> None:
    # A reload's request: before it, the old rules; after it, the new, with nothing between.
    hub = Hub()
    (bob,) = registered(hub, "bob")
    mallory, early, alice = new_member(), new_member(), new_member()
    policy = NicknamePolicy(("mal*",))
    turn(
        hub,
        Register(early, nick("malcolm")),  # before the reload: allowed
        Reconfigure(policy, Limits(topic_bytes=5), frozenset({"alice"})),
        Register(mallory, nick("mallory")),
        CreateAccount(alice, nick("alice"), KEYS),
        Register(alice, nick("alice")),
    )
    saved(hub)
    assert hub.limits.topic_bytes == 5
    assert [event.reason for event in received(mallory) if isinstance(event, Refusal)] == [
        Reason.NICK_RESERVED
    ]
    assert alice.operator  # logged in to an account the new list names
    assert not bob.operator  # those here before keep what they had
    assert early in hub


def test_an_invisible_member_is_found_by_mask_only_by_those_who_share_a_room() -> None:
    hub = Hub()
    evan, shivaram = new_member(), new_member()
    turn(
        hub,
        Register(evan, nick("evan"), lobby=False),
        Register(shivaram, nick("shivaram"), lobby=False),
    )
    turn(hub, Act(evan, SetInvisible(on=True)))
    received(evan)
    received(shivaram)
    by_mask, by_nick = LookUp(label="m", mask="eva*"), LookUp((nick("evan"),), "n")
    turn(hub, Act(shivaram, by_mask), Act(shivaram, by_nick), Act(evan, by_mask))
    assert found_nicks(shivaram) == [[], ["evan"]]  # a nickname asked for is found all the same
    assert found_nicks(evan) == [["evan"]]  # and one always finds oneself
    turn(hub, join(evan, "#test"), join(shivaram, "#test"), Act(shivaram, by_mask))
    assert found_nicks(shivaram) == [["evan"]]  # they share a room now


def found_nicks(member: Member) -> list[list[str]]:
    found = [event for event in received(member) if isinstance(event, Found)]
    return [[info.nick for info in event.members] for event in found]
