"""The hub's moderation, driven synchronously: room operators, modes, kicks, invitations,
registered rooms, server operators and server bans, and the limits on making rooms.

Helpers are tests/test_hub.py's: each test plays the writers by draining the mailboxes.
"""

from __future__ import annotations

from tests.names import memberships, nick, room, roster
from tests.test_hub import (
    KEYS,
    is_closed,
    join,
    new_member,
    received,
    registered,
    saved,
    say,
    turn,
    with_account,
)
from trio_chat.core.addresses import address_group
from trio_chat.core.cloaks import cloak
from trio_chat.core.events import (
    BanFromServer,
    ChangeModes,
    CurrentRoom,
    Departed,
    Found,
    Invite,
    Invited,
    Joined,
    JoinRoom,
    Kick,
    Kicked,
    Kill,
    LeaveReason,
    LiftServerBan,
    ListIs,
    ListRooms,
    LookUp,
    ModesAre,
    ModesChanged,
    OperatorNow,
    PartRoom,
    PutOut,
    Quit,
    RegisterRoom,
    Rename,
    RoomEntered,
    RoomList,
    RoomRegistered,
    RoomSummary,
    RosterEntry,
    Said,
    Say,
    SendWallops,
    ServerBanChanged,
    ServerBanEntry,
    ServerBans,
    SetTopic,
    ShowServerBans,
    TopicChanged,
    Wallops,
)
from trio_chat.core.hub import Hub
from trio_chat.core.limits import Limits
from trio_chat.core.members import Member
from trio_chat.core.modes import ListEntry, Mode, ModeChange
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.requests import Act, BecomeOperator, CreateAccount, LogIn, Login, Register
from trio_chat.core.roles import Role
from trio_chat.shell.mailbox import Mailbox

LOBBY = "#lobby"
RUST = "#rust"
CLOAK_KEY = b"test key" * 4
T0 = 1_796_000_000.0


def op(name: str) -> RosterEntry:
    return RosterEntry(name, (Role.OPERATOR,))


def plus(*changes: tuple[Mode, str] | Mode) -> tuple[ModeChange, ...]:
    """``+`` changes: a mode, or a mode and its argument."""
    return tuple(
        ModeChange(c[0], True, c[1]) if isinstance(c, tuple) else ModeChange(c, True)
        for c in changes
    )


def minus(*changes: tuple[Mode, str] | Mode) -> tuple[ModeChange, ...]:
    return tuple(ModeChange(c.mode, False, c.argument) for c in plus(*changes))


def modes(member: Member, changes: tuple[ModeChange, ...], where: str = RUST) -> Act:
    return Act(member, ChangeModes(room(where), changes))


def kick(member: Member, target: str, reason: str = "", where: str = RUST) -> Act:
    return Act(member, Kick(room(where), nick(target), reason))


def drain(*members: Member) -> None:
    for member in members:
        received(member)


def in_rust(hub: Hub, *names: str) -> list[Member]:
    """Members of #lobby and #rust: the first made #rust, so it runs it."""
    members = registered(hub, *names)
    turn(hub, *(join(member, RUST) for member in members))
    for member in members:
        received(member)
    return members


# --- room operators and modes --------------------------------------------------------------


def test_the_first_member_of_a_new_room_runs_it_but_nobody_runs_the_lobby() -> None:
    hub = Hub()
    alice, bob = registered(hub, "alice", "bob")
    turn(hub, join(alice, RUST))
    assert received(alice) == [RoomEntered(RUST, (op("alice"),), "")]
    turn(hub, join(bob, RUST))
    assert received(bob) == [RoomEntered(RUST, (op("alice"), RosterEntry("bob")), "")]
    assert alice.rooms[LOBBY].roster() == roster("alice", "bob")  # the lobby: nobody's


def test_only_an_operator_changes_a_rooms_modes_and_everyone_in_it_sees_the_change() -> None:
    hub = Hub()
    alice, bob, carol = in_rust(hub, "alice", "bob", "carol")
    turn(hub, Act(carol, PartRoom(room(RUST))))
    drain(alice, bob, carol)
    turn(hub, modes(bob, plus(Mode.MODERATED)))
    assert received(bob) == [Refusal(Reason.NOT_ROOM_OPERATOR, RUST)]
    assert received(alice) == []
    assert Mode.MODERATED not in alice.rooms[RUST].modes.flags
    turn(hub, modes(alice, plus(Mode.MODERATED, (Mode.VOICE, "BOB"))))
    changed = ModesChanged(RUST, "alice", plus(Mode.MODERATED, (Mode.VOICE, "bob")))  # as known
    assert received(alice) == received(bob) == [changed]
    assert received(carol) == []  # not in the room
    assert alice.rooms[RUST].roster() == (op("alice"), RosterEntry("bob", (Role.VOICE,)))


def test_a_change_that_changes_nothing_is_not_news() -> None:
    hub = Hub()
    alice, bob = in_rust(hub, "alice", "bob")
    turn(hub, modes(alice, plus(Mode.TOPIC_LOCK, (Mode.OPERATOR, "alice")) + minus(Mode.KEY)))
    assert received(alice) == received(bob) == []


def test_what_is_refused_is_told_to_the_setter_and_the_rest_applied_as_one_change() -> None:
    hub = Hub()
    alice, bob = in_rust(hub, "alice", "bob")
    (carol,) = registered(hub, "carol")  # not in #rust
    drain(alice, bob)
    changes = plus(
        (Mode.LIMIT, "many"),
        Mode.SECRET,
        (Mode.OPERATOR, "nobody"),
        (Mode.OPERATOR, "carol"),
        (Mode.KEY, "sesame"),
    )
    turn(hub, modes(alice, changes))
    assert received(alice) == [
        Refusal(Reason.BAD_MODE_ARGUMENT, RUST, "l"),
        Refusal(Reason.NO_SUCH_NICK, "nobody"),
        Refusal(Reason.NOT_IN_THAT_ROOM, "carol", RUST),
        ModesChanged(RUST, "alice", plus(Mode.SECRET, (Mode.KEY, "sesame"))),
    ]
    assert received(bob) == [ModesChanged(RUST, "alice", plus(Mode.SECRET, (Mode.KEY, "sesame")))]
    assert received(carol) == []


def test_the_modes_are_shown_to_anyone_and_the_key_to_members_only() -> None:
    hub = Hub(clock=lambda: T0)
    alice, bob = in_rust(hub, "alice", "bob")
    (carol,) = registered(hub, "carol")
    turn(hub, modes(alice, plus((Mode.KEY, "sesame"), (Mode.LIMIT, "9"), Mode.INVITE_ONLY)))
    received(alice)
    received(bob)
    turn(hub, modes(bob, ()), modes(carol, ()))
    assert received(bob) == [ModesAre(RUST, "tnikl", "sesame", 9, T0)]
    assert received(carol) == [ModesAre(RUST, "tnikl", "", 9, T0)]


def test_a_list_is_shown_to_whoever_asks_and_changed_by_operators() -> None:
    hub = Hub(clock=lambda: T0)
    alice, bob = in_rust(hub, "alice", "bob")
    turn(hub, modes(alice, plus((Mode.BAN, "eve"), (Mode.EXCEPTION, "a:eve"))))
    received(alice)
    received(bob)
    turn(hub, modes(bob, plus(Mode.BAN, Mode.EXCEPTION, Mode.INVITATION)))
    assert received(bob) == [
        ListIs(RUST, Mode.BAN, (ListEntry("eve!*@*", "alice", T0),)),
        ListIs(RUST, Mode.EXCEPTION, (ListEntry("a:eve", "alice", T0),)),
        ListIs(RUST, Mode.INVITATION, ()),
    ]
    turn(hub, modes(bob, minus((Mode.BAN, "eve"))))  # a query is anyone's; a change is not
    assert received(bob) == [Refusal(Reason.NOT_ROOM_OPERATOR, RUST)]


def test_an_operator_gives_and_takes_roles() -> None:
    hub = Hub()
    alice, bob = in_rust(hub, "alice", "bob")
    turn(hub, modes(alice, plus((Mode.OPERATOR, "bob"), (Mode.VOICE, "bob"))))
    assert bob.rooms[RUST].members[bob] == (Role.OPERATOR, Role.VOICE)
    turn(hub, modes(bob, minus((Mode.OPERATOR, "alice"))))  # an operator now: it may
    expected = [
        ModesChanged(RUST, "alice", plus((Mode.OPERATOR, "bob"), (Mode.VOICE, "bob"))),
        ModesChanged(RUST, "bob", minus((Mode.OPERATOR, "alice"))),
    ]
    assert received(alice) == received(bob) == expected
    assert bob.rooms[RUST].roster() == (
        RosterEntry("alice"),
        RosterEntry("bob", (Role.OPERATOR, Role.VOICE)),
    )
    turn(hub, modes(alice, plus(Mode.MODERATED)))
    assert received(alice) == [Refusal(Reason.NOT_ROOM_OPERATOR, RUST)]


def test_the_topic_of_a_locked_room_is_its_operators_to_set() -> None:
    hub = Hub()
    alice, bob = in_rust(hub, "alice", "bob")
    turn(hub, Act(bob, SetTopic("mine", room(RUST))))
    assert received(bob) == [Refusal(Reason.NOT_ROOM_OPERATOR, RUST)]
    turn(hub, modes(alice, minus(Mode.TOPIC_LOCK)), Act(bob, SetTopic("mine", room(RUST))))
    assert received(alice) == [
        ModesChanged(RUST, "alice", minus(Mode.TOPIC_LOCK)),
        TopicChanged(RUST, "bob", "mine"),
    ]


# --- kicks ---------------------------------------------------------------------------------


def test_an_operator_kicks_and_everyone_in_the_room_sees_it_the_kicked_member_too() -> None:
    hub = Hub()
    alice, bob, carol = in_rust(hub, "alice", "bob", "carol")
    turn(hub, kick(bob, "carol"))
    assert received(bob) == [Refusal(Reason.NOT_ROOM_OPERATOR, RUST)]
    turn(hub, kick(alice, "Carol", "spam"), say(bob, "after", RUST))
    kicked = Kicked(RUST, "alice", "carol", "spam")
    assert received(alice) == received(bob) == [kicked, Said(RUST, "bob", "after")]
    # Its current room was #rust: it is told where its lines go now.
    assert received(carol) == [kicked, CurrentRoom(LOBBY)]
    assert RUST not in carol.rooms
    turn(hub, join(carol, RUST))  # a kick is no ban
    assert RUST in carol.rooms


def test_a_kick_without_a_reason_gives_the_kickers_name() -> None:
    hub = Hub()
    alice, _bob = in_rust(hub, "alice", "bob")
    turn(hub, kick(alice, "bob"))
    assert received(alice) == [Kicked(RUST, "alice", "bob", "alice")]


def test_what_cannot_be_kicked() -> None:
    hub = Hub()
    (alice,) = in_rust(hub, "alice")
    (carol,) = registered(hub, "carol")
    drain(alice)
    turn(hub, kick(alice, "nobody"), kick(alice, "carol"), kick(carol, "alice"))
    assert received(alice) == [
        Refusal(Reason.NO_SUCH_NICK, "nobody"),
        Refusal(Reason.NOT_IN_THAT_ROOM, "carol", RUST),
    ]
    assert received(carol) == [Refusal(Reason.NOT_IN_ROOM, RUST)]


def test_two_operators_kicking_each_other_in_one_turn_are_seen_in_one_order() -> None:
    hub = Hub()
    alice, bob, carol = in_rust(hub, "alice", "bob", "carol")
    turn(hub, modes(alice, plus((Mode.OPERATOR, "bob"))))
    for member in (alice, bob, carol):
        received(member)
    turn(hub, kick(bob, "alice"), kick(alice, "bob"))  # bob's first: alice is out, and refused
    kicked = Kicked(RUST, "bob", "alice", "bob")
    assert received(carol) == [kicked]
    assert received(bob) == [kicked]
    assert received(alice) == [kicked, CurrentRoom(LOBBY), Refusal(Reason.NOT_IN_ROOM, RUST)]
    assert list(bob.rooms[RUST].members) == [bob, carol]


def test_two_operators_deopping_each_other_in_one_turn_the_first_wins() -> None:
    hub = Hub()
    alice, bob = in_rust(hub, "alice", "bob")
    turn(hub, modes(alice, plus((Mode.OPERATOR, "bob"))))
    received(alice)
    received(bob)
    turn(
        hub,
        modes(alice, minus((Mode.OPERATOR, "bob"))),
        modes(bob, minus((Mode.OPERATOR, "alice"))),
    )
    deopped = ModesChanged(RUST, "alice", minus((Mode.OPERATOR, "bob")))
    assert received(alice) == [deopped]
    assert received(bob) == [deopped, Refusal(Reason.NOT_ROOM_OPERATOR, RUST)]
    assert alice.rooms[RUST].roster() == (op("alice"), RosterEntry("bob"))


# --- who may speak -------------------------------------------------------------------------


def test_in_a_moderated_room_an_unvoiced_line_reaches_nobody_and_its_sender_is_told_why() -> None:
    hub = Hub()
    alice, bob, carol = in_rust(hub, "alice", "bob", "carol")
    turn(hub, modes(alice, plus(Mode.MODERATED, (Mode.VOICE, "carol"))))
    drain(alice, bob, carol)
    turn(hub, say(bob, "spam", RUST), say(carol, "voiced", RUST), say(alice, "op", RUST))
    lines = [Said(RUST, "carol", "voiced"), Said(RUST, "alice", "op")]
    assert received(alice) == received(carol) == lines
    assert received(bob) == [Refusal(Reason.MODERATED, RUST), *lines]
    turn(hub, Act(bob, Say("quiet", room(RUST), notice=True)))  # a notice is never answered
    assert received(bob) == received(alice) == []
    turn(hub, say(bob, "elsewhere", LOBBY))  # only #rust is moderated
    assert received(alice) == [Said(LOBBY, "bob", "elsewhere")]


def test_a_mute_silences_whom_it_names_wherever_it_connects_from() -> None:
    hub = Hub()
    alice, bob = in_rust(hub, "alice", "bob")
    turn(hub, modes(alice, plus((Mode.BAN, "m:bob"))))
    drain(alice, bob)
    turn(hub, say(bob, "muted", RUST))
    assert received(bob) == [Refusal(Reason.MUTED, RUST)]
    assert received(alice) == []
    turn(hub, modes(alice, plus((Mode.VOICE, "bob"))), say(bob, "voiced now", RUST))
    assert received(alice)[-1] == Said(RUST, "bob", "voiced now")


def test_a_room_for_logged_in_speakers_silences_guests() -> None:
    hub = Hub()
    alice = with_account(hub, "alice")
    (bob,) = registered(hub, "bob")
    turn(hub, join(alice, RUST), join(bob, RUST))
    turn(hub, modes(alice, plus(Mode.REGISTERED_SPEAK)))
    drain(alice, bob)
    turn(hub, say(bob, "guest", RUST))
    assert received(bob) == [Refusal(Reason.ACCOUNT_NEEDED_TO_SPEAK, RUST)]
    assert received(alice) == []


# --- who may join --------------------------------------------------------------------------


def test_an_invite_only_room_takes_whom_an_operator_invites_once() -> None:
    hub = Hub()
    alice, bob = in_rust(hub, "alice", "bob")
    (carol,) = registered(hub, "carol")
    turn(hub, modes(alice, plus(Mode.INVITE_ONLY)))
    drain(alice, bob)
    turn(hub, join(carol, RUST))
    assert received(carol) == [Refusal(Reason.INVITE_ONLY, RUST)]
    turn(hub, Act(bob, Invite(nick("carol"), room(RUST))))  # +i: operators only
    assert received(bob) == [Refusal(Reason.NOT_ROOM_OPERATOR, RUST)]
    turn(hub, Act(alice, Invite(nick("Carol"), room(RUST))))
    invited = Invited(RUST, "alice", "carol")
    assert received(alice) == received(carol) == [invited]
    assert received(bob) == []  # not an operator: not told
    turn(hub, join(carol, RUST))
    assert received(carol)[0] == RoomEntered(RUST, (op("alice"), *roster("bob", "carol")), "")
    turn(hub, Act(carol, PartRoom(room(RUST))), join(carol, RUST))  # the invitation is spent
    assert received(carol)[-1] == Refusal(Reason.INVITE_ONLY, RUST)


def test_anyone_in_an_open_room_invites_but_not_who_is_in_it_already() -> None:
    hub = Hub()
    alice, bob = in_rust(hub, "alice", "bob")
    (carol,) = registered(hub, "carol")
    drain(alice, bob)
    turn(hub, Act(bob, Invite(nick("carol"), room(RUST))))
    assert received(carol) == [Invited(RUST, "bob", "carol")]
    assert received(alice) == [Invited(RUST, "bob", "carol")]  # operators hear of it
    turn(
        hub, Act(bob, Invite(nick("alice"), room(RUST))), Act(bob, Invite(nick("zed"), room(RUST)))
    )
    assert received(bob)[-2:] == [
        Refusal(Reason.ALREADY_IN_ROOM, "alice", RUST),
        Refusal(Reason.NO_SUCH_NICK, "zed"),
    ]


def test_a_room_with_a_key_takes_whoever_gives_it() -> None:
    hub = Hub()
    (alice,) = in_rust(hub, "alice")
    (bob,) = registered(hub, "bob")
    turn(hub, modes(alice, plus((Mode.KEY, "sesame"))))
    turn(hub, join(bob, RUST), Act(bob, JoinRoom(room(RUST), "wrong")))
    assert received(bob) == [Refusal(Reason.WRONG_KEY, RUST), Refusal(Reason.WRONG_KEY, RUST)]
    turn(hub, Act(bob, JoinRoom(room(RUST), "sesame")))
    assert RUST in bob.rooms


def test_a_full_room_takes_nobody_until_someone_leaves() -> None:
    hub = Hub()
    alice, bob = in_rust(hub, "alice", "bob")
    (carol,) = registered(hub, "carol")
    turn(hub, modes(alice, plus((Mode.LIMIT, "2"))), join(carol, RUST))
    assert received(carol) == [Refusal(Reason.ROOM_FULL, RUST, "2")]
    turn(hub, Act(bob, PartRoom(room(RUST))), join(carol, RUST))
    assert RUST in carol.rooms


def test_a_registered_only_room_takes_members_logged_in() -> None:
    hub = Hub()
    (alice,) = in_rust(hub, "alice")
    bob = with_account(hub, "bob")
    (carol,) = registered(hub, "carol")
    turn(hub, modes(alice, plus(Mode.REGISTERED_ONLY)), join(carol, RUST), join(bob, RUST))
    assert received(carol) == [Refusal(Reason.ACCOUNT_NEEDED, RUST)]
    assert RUST in bob.rooms


def test_a_secret_room_is_hidden_from_the_list_and_look_ups_of_non_members() -> None:
    hub = Hub()
    alice, bob = in_rust(hub, "alice", "bob")
    (carol,) = registered(hub, "carol")
    turn(hub, modes(alice, plus(Mode.SECRET)))
    drain(alice, bob, carol)
    whois = LookUp((nick("bob"),), "whois")
    turn(
        hub, Act(carol, ListRooms()), Act(carol, whois), Act(alice, ListRooms()), Act(alice, whois)
    )
    (listed, found) = received(carol)
    assert listed == RoomList((RoomSummary(LOBBY, 3, ""),))
    assert isinstance(found, Found)
    assert found.members[0].rooms == memberships(LOBBY)
    (listed, found) = received(alice)
    assert listed == RoomList((RoomSummary(LOBBY, 3, ""), RoomSummary(RUST, 2, "")))
    assert isinstance(found, Found)
    assert [m.room for m in found.members[0].rooms] == [LOBBY, RUST]


# --- bans ------------------------------------------------------------------------------------


def connected(hub: Hub, name: str, address: str) -> Member:
    """A registered member connected from ``address``: shown by its cloak, as the shell does."""
    member = Member(
        Mailbox(16, 1 << 20),
        host=cloak(address, CLOAK_KEY),
        address=address,
        group=address_group(address),
    )
    turn(hub, Register(member, nick(name)))
    received(member)
    return member


def test_a_ban_by_cloak_holds_across_nickname_changes_and_another_connection() -> None:
    hub = Hub()
    (alice,) = in_rust(hub, "alice")
    eve = connected(hub, "eve", "203.0.113.9")
    turn(hub, modes(alice, plus((Mode.BAN, f"*!*@{eve.host}"))))
    turn(hub, join(eve, RUST))
    assert received(eve) == [Refusal(Reason.BANNED_FROM_ROOM, RUST)]
    turn(hub, Act(eve, Rename(nick("notEve"))), join(eve, RUST))
    assert received(eve)[-1] == Refusal(Reason.BANNED_FROM_ROOM, RUST)
    again = connected(hub, "eve2", "203.0.113.9")  # the same address: the same cloak
    turn(hub, join(again, RUST))
    assert received(again) == [Refusal(Reason.BANNED_FROM_ROOM, RUST)]
    neighbour = connected(hub, "neighbour", "203.0.113.10")
    turn(hub, join(neighbour, RUST))
    assert RUST in neighbour.rooms


def test_a_ban_by_account_holds_whatever_its_member_is_called() -> None:
    hub = Hub()
    (alice,) = in_rust(hub, "alice")
    bob = with_account(hub, "bob")
    turn(hub, modes(alice, plus((Mode.BAN, "a:bob"))), Act(bob, Rename(nick("robert"))))
    drain(bob)
    turn(hub, join(bob, RUST))
    assert received(bob) == [Refusal(Reason.BANNED_FROM_ROOM, RUST)]
    (guest,) = registered(hub, "bobby")  # not logged in: not named
    turn(hub, join(guest, RUST))
    assert RUST in guest.rooms


def test_an_exception_lets_in_whom_a_ban_would_keep_out() -> None:
    hub = Hub()
    (alice,) = in_rust(hub, "alice")
    bob = with_account(hub, "bob")
    (eve,) = registered(hub, "eve")
    turn(hub, modes(alice, plus((Mode.BAN, "*"), (Mode.EXCEPTION, "a:bob"))))
    turn(hub, join(bob, RUST), join(eve, RUST))
    assert RUST in bob.rooms
    assert received(eve) == [Refusal(Reason.BANNED_FROM_ROOM, RUST)]


def test_a_member_banned_while_in_the_room_stays_but_cannot_speak() -> None:
    hub = Hub()
    alice, bob = in_rust(hub, "alice", "bob")
    turn(hub, modes(alice, plus((Mode.BAN, "bob"))), say(bob, "still here?", RUST))
    assert received(bob)[-1] == Refusal(Reason.BANNED_CANNOT_SPEAK, RUST)
    assert received(alice) == [ModesChanged(RUST, "alice", plus((Mode.BAN, "bob!*@*")))]
    assert RUST in bob.rooms


# --- registered rooms and their founders -----------------------------------------------------


def test_a_registered_room_outlives_being_empty_and_its_founder_always_gets_it_back() -> None:
    hub = Hub()
    alice = with_account(hub, "alice")
    (bob,) = registered(hub, "bob")
    turn(hub, join(alice, RUST), join(bob, RUST))
    turn(hub, Act(alice, RegisterRoom(room(RUST))))
    assert received(alice)[-1] == RoomRegistered(RUST, "alice")
    turn(hub, Act(alice, PartRoom(room(RUST))), Act(bob, PartRoom(room(RUST))))
    assert hub.room_count == 2  # kept, with nobody in it
    # bob comes back first: an operator no longer, it cannot take the room.
    turn(hub, join(bob, RUST), modes(bob, plus(Mode.INVITE_ONLY)))
    assert received(bob)[-1] == Refusal(Reason.NOT_ROOM_OPERATOR, RUST)
    # Banned, invite-only, keyed and full, the room still takes its founder, who runs it.
    hub._rooms[RUST].modes.flags.add(Mode.INVITE_ONLY)
    hub._rooms[RUST].modes.key, hub._rooms[RUST].modes.limit = "sesame", 1
    hub._rooms[RUST].modes.lists[Mode.BAN].append(ListEntry("*", "bob", 0.0))
    drain(alice, bob)
    turn(hub, join(alice, RUST))
    assert received(bob) == [Joined(RUST, "alice", account="alice")]
    assert alice.rooms[RUST].members[alice] == (Role.OPERATOR,)


def test_a_founder_is_never_deopped_nor_kicked() -> None:
    hub = Hub()
    alice = with_account(hub, "alice")
    (bob,) = registered(hub, "bob")
    turn(hub, join(alice, RUST), join(bob, RUST), Act(alice, RegisterRoom(room(RUST))))
    turn(hub, modes(alice, plus((Mode.OPERATOR, "bob"))))
    drain(alice, bob)
    turn(hub, modes(bob, minus((Mode.OPERATOR, "alice"))), kick(bob, "alice"))
    assert received(bob) == [Refusal(Reason.NOT_FOUNDER, RUST, "alice")]  # the deop: no news
    assert received(alice) == []
    assert alice.rooms[RUST].members[alice] == (Role.OPERATOR,)


def test_a_registered_room_remembers_its_operators_by_account() -> None:
    hub = Hub()
    alice, carol = with_account(hub, "alice"), with_account(hub, "carol")
    (bob,) = registered(hub, "bob")
    turn(hub, join(alice, RUST), join(carol, RUST), join(bob, RUST))
    turn(hub, Act(alice, RegisterRoom(room(RUST))))
    turn(hub, modes(alice, plus((Mode.OPERATOR, "carol"), (Mode.OPERATOR, "bob"))))
    for member in (carol, bob):
        turn(hub, Act(member, PartRoom(room(RUST))), join(member, RUST))
    assert carol.rooms[RUST].members[carol] == (Role.OPERATOR,)  # its account is remembered
    assert bob.rooms[RUST].members[bob] == ()  # no account: nothing to remember it by
    turn(hub, modes(alice, minus((Mode.OPERATOR, "carol"))))
    turn(hub, Act(carol, PartRoom(room(RUST))), join(carol, RUST))
    assert carol.rooms[RUST].members[carol] == ()


def test_who_may_register_and_drop_a_room() -> None:
    hub = Hub()
    alice, carol = with_account(hub, "alice"), with_account(hub, "carol")
    (bob,) = registered(hub, "bob")
    turn(hub, join(alice, RUST), join(carol, RUST), join(bob, RUST))
    drain(alice, bob, carol)
    turn(hub, Act(bob, RegisterRoom(room(RUST))), Act(carol, RegisterRoom(room(RUST))))
    assert received(bob) == [Refusal(Reason.NOT_LOGGED_IN)]
    assert received(carol) == [Refusal(Reason.NOT_ROOM_OPERATOR, RUST)]
    turn(hub, Act(alice, RegisterRoom(room(RUST))), Act(carol, RegisterRoom(room(RUST))))
    assert received(carol) == [Refusal(Reason.ROOM_ALREADY_REGISTERED, RUST, "alice")]
    turn(hub, Act(carol, RegisterRoom(room(RUST), drop=True)))
    assert received(carol) == [Refusal(Reason.NOT_FOUNDER, RUST, "alice")]
    turn(hub, Act(alice, RegisterRoom(room(RUST), drop=True)))
    assert received(alice)[-1] == RoomRegistered(RUST, "alice", dropped=True)
    turn(hub, *(Act(m, PartRoom(room(RUST))) for m in (alice, bob, carol)))
    assert hub.room_count == 1  # no longer registered: freed when empty


# --- server operators ------------------------------------------------------------------------


def test_an_oper_login_or_an_account_named_as_operator_makes_a_server_operator() -> None:
    hub = Hub(operators=frozenset({"alice"}))
    (bob,) = registered(hub, "bob")
    turn(hub, BecomeOperator(bob, "opername"))
    assert received(bob) == [OperatorNow("opername")]
    assert bob.operator
    turn(hub, BecomeOperator(bob, "opername"))
    assert received(bob) == []  # once is enough
    alice = new_member()
    turn(hub, CreateAccount(alice, nick("alice"), KEYS), Register(alice, nick("alice")))
    saved(hub)
    assert alice.operator  # --oper alice
    turn(hub, Act(alice, Quit()))
    again = new_member()
    turn(hub, Register(again, nick("alice"), login=Login(nick("alice"), KEYS)))
    assert OperatorNow("alice") in received(again)
    assert again.operator


def test_a_server_operator_runs_every_room_and_the_lobby() -> None:
    hub = Hub()
    alice, bob = in_rust(hub, "alice", "bob")
    (oper,) = registered(hub, "oper")
    turn(hub, BecomeOperator(oper, "oper"), join(oper, RUST))
    drain(alice, bob, oper)
    turn(hub, modes(oper, plus(Mode.MODERATED)), kick(oper, "alice"))
    assert received(bob) == [
        ModesChanged(RUST, "oper", plus(Mode.MODERATED)),
        Kicked(RUST, "oper", "alice", "oper"),
    ]
    late = new_member()  # the lobby, made by nobody, is run by server operators
    turn(hub, Act(oper, PartRoom(room(LOBBY))), Act(bob, PartRoom(room(LOBBY))))
    turn(hub, Act(alice, PartRoom(room(LOBBY))), Register(late, nick("late")), join(oper, LOBBY))
    assert hub._rooms[LOBBY].members == {late: (), oper: (Role.OPERATOR,)}


def test_kill_puts_a_member_off_the_server() -> None:
    hub = Hub()
    alice, bob = registered(hub, "alice", "bob")
    turn(hub, Act(bob, Kill(nick("alice"), "spam")))
    assert received(bob) == [Refusal(Reason.NOT_SERVER_OPERATOR)]
    turn(hub, BecomeOperator(bob, "bob"))
    drain(bob)
    turn(hub, Act(bob, Kill(nick("alice"), "spam")), Act(bob, Kill(nick("nobody"))))
    assert received(alice) == [PutOut(LeaveReason.KILLED, "bob", "spam")]
    assert alice.left is LeaveReason.KILLED
    assert is_closed(alice)
    assert received(bob) == [
        Departed("alice", LeaveReason.KILLED, "Killed (bob (spam))"),
        Refusal(Reason.NO_SUCH_NICK, "nobody"),
    ]


def test_wallops_reach_server_operators_only() -> None:
    hub = Hub()
    alice, bob, carol = registered(hub, "alice", "bob", "carol")
    turn(hub, Act(carol, SendWallops("hello?")))
    assert received(carol) == [Refusal(Reason.NOT_SERVER_OPERATOR)]
    turn(hub, BecomeOperator(alice, "a"), BecomeOperator(bob, "b"))
    drain(alice, bob)
    turn(hub, Act(alice, SendWallops("netsplit soon")))
    assert received(alice) == received(bob) == [Wallops("alice", "netsplit soon")]
    assert received(carol) == []


# --- server bans ---------------------------------------------------------------------------


def test_a_server_ban_puts_out_the_members_it_names_and_refuses_them_later() -> None:
    now = [T0]
    hub = Hub(clock=lambda: now[0])
    (oper,) = registered(hub, "oper")
    turn(hub, BecomeOperator(oper, "oper"))
    eve = connected(hub, "eve", "203.0.113.9")
    neighbour = connected(hub, "neighbour", "203.0.113.10")
    drain(oper, eve)
    turn(hub, Act(eve, BanFromServer("203.0.113.0/24")))
    assert received(eve) == [Refusal(Reason.NOT_SERVER_OPERATOR)]
    turn(hub, Act(oper, BanFromServer("203.0.113.9", 60, "flood")))
    entry = ServerBanEntry("203.0.113.9/32", "flood", "oper", T0, T0 + 60)
    assert received(eve) == [PutOut(LeaveReason.BANNED, "oper", "flood")]
    assert eve.left is LeaveReason.BANNED
    assert received(oper) == [
        Departed("eve", LeaveReason.BANNED, "flood", host=eve.host),
        ServerBanChanged(entry, removed=1),
    ]
    assert neighbour in hub
    # From the same address, under another name: refused, and its connection ends.
    again = Member(Mailbox(16, 1 << 20), address="203.0.113.9", host="x.ip")
    turn(hub, Register(again, nick("innocent")))
    assert received(again) == [Refusal(Reason.SERVER_BANNED, detail="flood")]
    assert again.left is LeaveReason.BANNED
    assert is_closed(again)
    turn(hub, Act(oper, ShowServerBans()))
    assert received(oper) == [ServerBans((entry,))]
    now[0] = T0 + 60  # it expires
    later = Member(Mailbox(16, 1 << 20), address="203.0.113.9", host="x.ip")
    turn(hub, Register(later, nick("later")), Act(oper, ShowServerBans()))
    assert later in hub
    assert received(oper)[-1] == ServerBans(())
    assert hub.take_unsaved_server_bans() == [entry, entry.mask]  # set, then gone


def test_a_server_ban_by_account_holds_at_login() -> None:
    hub = Hub(clock=lambda: T0)
    bob = with_account(hub, "bob")
    turn(hub, Act(bob, Quit()))
    (oper, guest) = registered(hub, "oper", "guest")
    turn(hub, BecomeOperator(oper, "oper"), Act(oper, BanFromServer("a:bob", reason="spam")))
    drain(oper)
    turn(hub, LogIn(guest, Login(nick("bob"), KEYS)))
    assert received(guest)[-1] == PutOut(LeaveReason.BANNED, "oper", "spam")
    assert guest.left is LeaveReason.BANNED
    late = new_member()
    turn(hub, Register(late, nick("bob"), login=Login(nick("bob"), KEYS)))
    assert received(late) == [Refusal(Reason.SERVER_BANNED, detail="spam")]
    assert late.account is None


def test_a_lifted_server_ban_lets_in_again_and_operators_are_never_banned() -> None:
    hub = Hub(clock=lambda: T0)
    (oper,) = registered(hub, "oper")
    turn(hub, BecomeOperator(oper, "oper"), Act(oper, BanFromServer("*", reason="closed")))
    assert oper in hub  # the setter, and server operators, are never put out
    drain(oper)
    turn(hub, Act(oper, LiftServerBan("nothing")), Act(oper, LiftServerBan("*!*@*")))
    assert received(oper) == [
        Refusal(Reason.NO_SUCH_SERVER_BAN, "nothing"),
        ServerBanChanged(lifted="*!*@*"),
    ]
    (newcomer,) = registered(hub, "newcomer")
    assert newcomer in hub


def test_what_is_no_server_ban_is_refused() -> None:
    hub = Hub()
    (oper,) = registered(hub, "oper")
    turn(hub, BecomeOperator(oper, "oper"))
    drain(oper)
    turn(hub, Act(oper, BanFromServer("m:bob")))
    assert received(oper) == [Refusal(Reason.NOT_A_MASK, "m:bob")]
    assert not hub.take_unsaved_server_bans()


# --- how many rooms one member and one address may make ------------------------------------


def throttled(name: str, limit: int) -> Refusal:
    return Refusal(Reason.ROOMS_CREATED_THROTTLED, name, str(limit))


def test_rooms_made_are_bounded_per_member_and_per_address_while_they_exist() -> None:
    hub = Hub(limits=Limits(rooms_created_per_member=2, rooms_created_per_address=3))
    one = connected(hub, "one", "203.0.113.1")
    two = connected(hub, "two", "203.0.113.1")  # the same address
    other = connected(hub, "other", "198.51.100.1")
    turn(hub, join(one, "#a"), join(one, "#b"), join(one, "#c"))
    assert received(one)[-1] == throttled("#c", 2)
    turn(hub, join(two, "#c"), join(two, "#d"))  # the address's third room, then none
    assert received(two)[-1] == throttled("#d", 3)
    turn(hub, join(two, "#a"))  # joining a room that exists is no making
    assert "#a" in two.rooms
    turn(hub, join(other, "#d"))  # another address: its own count
    assert "#d" in other.rooms
    # A room freed no longer counts: #b goes with its last member, and one may make another.
    turn(hub, Act(one, PartRoom(room("#b"))), join(one, "#e"))
    assert "#e" in one.rooms
    # #a outlives its maker's leaving (two is in it): it still counts for one's address.
    turn(hub, join(two, "#f"))
    assert received(two)[-1] == throttled("#f", 3)


def test_an_exempt_address_a_server_operator_and_the_lobby_are_not_bounded() -> None:
    hub = Hub(limits=Limits(rooms_created_per_member=1, rooms_created_per_address=1))
    (local,) = registered(hub, "local")  # no address group: an exempt network (loopback)
    oper = connected(hub, "oper", "203.0.113.1")
    turn(hub, BecomeOperator(oper, "oper"))
    turn(hub, *(join(local, f"#l{n}") for n in range(3)))
    turn(hub, *(join(oper, f"#o{n}") for n in range(3)))
    assert len(local.rooms) == len(oper.rooms) == 4  # and #lobby
    guest = Member(Mailbox(16, 1 << 20), address="198.51.100.1", group="198.51.100.1")
    turn(hub, Register(guest, nick("guest"), lobby=False), join(guest, "#mine"))
    turn(hub, Act(local, PartRoom(room(LOBBY))), Act(oper, PartRoom(room(LOBBY))))
    turn(hub, join(guest, LOBBY))  # the lobby was freed: making it again is anyone's
    assert list(guest.rooms) == ["#mine", LOBBY]


def test_a_registered_room_no_longer_counts_against_its_maker() -> None:
    hub = Hub(limits=Limits(rooms_created_per_member=1, rooms_created_per_address=1))
    alice = Member(Mailbox(16, 1 << 20), address="203.0.113.1", group="203.0.113.1")
    turn(hub, Register(alice, nick("alice")), CreateAccount(alice, None, KEYS))
    saved(hub)
    turn(hub, join(alice, RUST), Act(alice, RegisterRoom(room(RUST))), join(alice, "#next"))
    assert "#next" in alice.rooms


# --- the state a replica starts from ------------------------------------------------------


def test_a_restored_hub_keeps_modes_lists_founders_creators_and_server_bans() -> None:
    limits = Limits(rooms_created_per_member=1, rooms_created_per_address=5)
    hub = Hub(limits=limits, clock=lambda: T0)
    alice = with_account(hub, "alice")
    maker = connected(hub, "maker", "203.0.113.1")
    (oper,) = registered(hub, "oper")
    turn(hub, BecomeOperator(oper, "oper"), join(alice, "#reg"), join(maker, RUST))
    turn(hub, Act(alice, RegisterRoom(room("#reg"))), Act(maker, Invite(nick("oper"), room(RUST))))
    changes = plus(Mode.SECRET, (Mode.KEY, "sesame"), (Mode.LIMIT, "7"), (Mode.BAN, "eve"))
    turn(hub, modes(maker, changes), modes(alice, plus((Mode.EXCEPTION, "a:alice"))))
    turn(hub, Act(oper, BanFromServer("198.51.100.0/24", reason="spam")))
    state, members = hub.state()

    replica = Hub(limits=limits, clock=lambda: T0)
    copies = [Member(Mailbox(16, 1 << 20), peer=m.peer) for m in members]
    replica.restore(state, copies)
    assert replica.state()[0] == state
    copy = {m.nick.display: m for m in copies if m.nick is not None}
    rust, reg = copy["maker"].rooms[RUST], copy["alice"].rooms["#reg"]
    assert rust.modes.letters() == "tnskl"
    assert (rust.modes.key, rust.modes.limit) == ("sesame", 7)
    assert rust.modes.lists[Mode.BAN] == [ListEntry("eve!*@*", "maker", T0)]
    assert rust.created == T0
    assert reg.founder == "alice"
    assert reg.kept
    assert copy["oper"].operator
    assert copy["oper"].invited == {RUST}
    assert copy["maker"].host == maker.host
    # And they go on the same: the maker has made its one room, the server ban holds.
    for one_hub, one in ((hub, maker), (replica, copy["maker"])):
        turn(one_hub, join(one, "#another"))
        assert received(one)[-1] == throttled("#another", 1)
        banned = Member(Mailbox(16, 1 << 20), address="198.51.100.7")
        turn(one_hub, Register(banned, nick("banned")))
        assert received(banned) == [Refusal(Reason.SERVER_BANNED, detail="spam")]
    assert replica.state()[0] == hub.state()[0]


def test_minus_n_lets_anyone_send_to_the_room_and_plus_n_stops_it_again() -> None:
    hub = Hub()
    alice, bob = registered(hub, "alice", "bob")
    turn(hub, join(alice, RUST))
    drain(alice)
    outside = Act(bob, Say("hi from outside", room(RUST)))
    turn(hub, outside)
    assert received(bob) == [Refusal(Reason.CANNOT_SEND, RUST)]
    assert received(alice) == []
    turn(hub, modes(alice, minus(Mode.NO_EXTERNAL)), outside)
    assert received(alice) == [
        ModesChanged(RUST, "alice", minus(Mode.NO_EXTERNAL)),
        Said(RUST, "bob", "hi from outside"),
    ]
    assert received(bob) == []  # not in the room: it sees no copy
    turn(hub, modes(alice, plus(Mode.NO_EXTERNAL)), outside)
    assert received(bob) == [Refusal(Reason.CANNOT_SEND, RUST)]
