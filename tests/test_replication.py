"""The shared log's records, pure: each written and read back, the unknown refused, replicas.

No Redis here (tests/test_backplane.py has it): the codec of trio_chat/core/replication.py,
and the guarantee the backplane builds on, that a replica started from the state of the hub
goes on exactly as the hub it was taken from.
"""

from __future__ import annotations

import json
import typing
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.names import nick, room
from trio_chat.core import events
from trio_chat.core.accounts import Credentials, Ticket
from trio_chat.core.events import Entry, LeaveReason, Said
from trio_chat.core.history import History
from trio_chat.core.hub import BOT_TAG, Hub
from trio_chat.core.members import Member
from trio_chat.core.modes import ListEntry, Mode, ModeChange, parse_changes
from trio_chat.core.read_markers import ReadMark
from trio_chat.core.replication import (
    Acting,
    BecomingOperator,
    ChangingPassword,
    CreatingAccount,
    Gone,
    GrantingTicket,
    Hello,
    Leaving,
    LoggingIn,
    Registering,
    RevokingTicket,
    State,
    decode,
    encode,
    shared,
)
from trio_chat.core.requests import (
    Act,
    BecomeOperator,
    CreateAccount,
    Disconnect,
    Login,
    Register,
)
from trio_chat.core.roles import Role
from trio_chat.core.snapshots import RoomRecord, RoomSettings
from trio_chat.shell.backplane import ELSEWHERE

# --- the log's entries, written and read back -------------------------------------------------


COMMANDS: list[events.Command] = [
    events.Say("hi", room("#rust"), notice=True),
    events.Say("hi"),
    events.Say("hi", room("#rust"), tags=(("+draft/reply", "12"), ("+x", ""))),
    events.Signal((("+typing", "active"),), room("#rust")),
    events.Labeled("a1", (events.Say("hi"), events.JoinRoom(room("#go")))),
    events.Emote("waves", room("#rust")),
    events.Rename(nick("Zoë")),
    events.PrivateMessage(nick("bob"), "psst", action=True),
    events.PrivateMessage(nick("bob"), "", tags=(("+typing", "paused"),), signal=True),
    events.JoinRoom(room("#rust")),
    events.PartRoom(None, "bye"),
    events.SwitchRoom(room("#rust")),
    events.ListRooms((room("#a"), room("#b"))),
    events.Who(),
    events.SetTopic("the topic", room("#rust")),
    events.ShowTopic(),
    events.SetAway("lunch"),
    events.SetInvisible(on=True),
    events.LookUp((nick("alice"), nick("bob")), "label", None, "a*"),
    events.ShowCounts(),
    events.ShowHistory(20, room("#rust")),
    events.ReadHistory(
        room("#rust"), events.HistoryQuery(events.Direction.LATEST, 10, None, None, events=True)
    ),
    events.ReadHistory(
        nick("Zoë"),
        events.HistoryQuery(
            events.Direction.BETWEEN, 5, events.AtId(1_796_000_000_123_456), events.AtTime(17)
        ),
    ),
    events.ShowConversations(1, 1_796_000_000_123, 50),
    events.Redact(room("#rust"), 1_796_000_000_123_456, "spam"),
    events.Redact(nick("Zoë"), 7),
    events.Quit("done"),
    events.LogOut(),
    events.JoinRoom(room("#rust"), "sesame"),
    events.ChangeModes(
        room("#rust"),
        (
            ModeChange(Mode.MODERATED, True),
            ModeChange(Mode.OPERATOR, False, "Zoë"),
            ModeChange(Mode.BAN, True, "m:a:bob"),
            ModeChange(Mode.BAN, True),  # a query of the list
            ModeChange(Mode.LIMIT, True, "10"),
        ),
    ),
    events.ChangeModes(None),
    events.Kick(room("#rust"), nick("bob"), "spam"),
    events.Kick(None, nick("bob")),
    events.BanMember(room("#rust"), "bob", mute=True, on=False, reason="spam"),
    events.BanMember(None, "*!*@k5x.ip"),
    events.Invite(nick("carol"), room("#rust")),
    events.Invite(nick("carol"), None),
    events.Kill(nick("eve"), "flood"),
    events.SendWallops("netsplit"),
    events.BanFromServer("203.0.113.0/24", 3600, "spam"),
    events.LiftServerBan("a:eve"),
    events.ShowServerBans(),
    events.RegisterRoom(room("#rust")),
    events.RegisterRoom(room("#rust"), drop=True),
    events.Watch((nick("Carol"), nick("dave"))),
    events.Unwatch((nick("dave"),)),
    events.Unwatch(),
    events.ShowWatched(presence=True),
    events.SetRealname("Bruce Wayne"),
    events.SetBot(on=True),
    events.SetPrivateHistory(on=False),
    events.MarkRead(room("#Rust"), 1_796_000_000_123),
    events.MarkRead(nick("Zoë"), 1),
    events.ShowReadMarker(nick("bob")),
]


def test_every_kind_of_command_a_member_shares_is_tried() -> None:
    kinds = {cls for cls in typing.get_args(events.Command) if cls is not events.Tell}
    assert {type(command) for command in COMMANDS} == kinds


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: type(c).__name__)
def test_every_shared_command_is_written_and_read_back_as_it_was(
    command: events.Command,
) -> None:
    assert shared(command)
    record = Acting("p/1", command)
    assert decode(encode([record])) == [record]


def test_a_front_ends_own_reply_is_not_shared() -> None:
    assert not shared(events.Tell(events.Goodbye()))


def test_process_records_are_written_and_read_back() -> None:
    registering = Registering("p/1", nick("Ünï"), True, "127.0.0.1:5", "Real Name", "user")
    keys = Credentials("$argon2id$x", b"\x00salt", b"stored\xff", b"server", 4096)
    login = Login(nick("Ünï"), keys, replace(keys, password_hash="$argon2id$y"))
    ticket = Ticket("ab" * 32, "ünï", 1_800_000_000.5)
    for record in (
        Hello("p"),
        Gone("p", LeaveReason.CONNECTION_LOST),
        Leaving("p/1", LeaveReason.TOO_SLOW),
        registering,
        replace(registering, login=login),
        LoggingIn("p/1", Login(nick("bob"), keys)),
        CreatingAccount("p/1", None, keys),
        CreatingAccount("p/2", nick("early"), keys),
        ChangingPassword("p/1", keys, replace(keys, scram_iterations=8192)),
        GrantingTicket("p/3", login, ticket),
        RevokingTicket("p/3", ticket.digest),
        replace(registering, host="k5x2q9m4tbhe.ip", address="2001:db8::1", group="2001:db8::/64"),
        BecomingOperator("p/1", "opername"),
    ):
        assert decode(encode([record])) == [record]
    # What crosses Redis holds hashes and digests: no password, no ticket's token.
    assert "password" not in encode([LoggingIn("p/1", Login(nick("bob"), keys))])["r"].replace(
        "password_hash", ""
    )


def acting(command: str, fields: dict[str, Any]) -> dict[str, str]:
    """A stream entry of one member's command, written by hand."""
    return {"r": json.dumps([["act", {"member": "p/1", "command": [command, fields]}]])}


@pytest.mark.parametrize(
    "fields",
    [
        {"r": '[["nonsense", {}]]'},
        {"r": "not json"},
        {"r": '{"not": "a list"}'},
        {"r": '[["act", {"member": "p/1", "command": ["Tell", {}]}]]'},
        {"r": '[["act", {"member": "p/1", "command": ["Say", {"text": ["x"]}]}]]'},
        {"r": '[["leave", {"member": "p/1", "reason": "bored"}]]'},
        {"r": '[["hello"]]'},
        {"d": "{}"},
        # Moderation's: a mode that does not exist, a change missing a part or not a change.
        acting(
            "ChangeModes", {"room": None, "changes": [{"mode": "x", "on": True, "argument": ""}]}
        ),
        acting("ChangeModes", {"room": None, "changes": [{"mode": "m", "on": True}]}),
        acting("ChangeModes", {"room": None, "changes": ["+m"]}),
        acting("BanFromServer", {"mask": "*", "seconds": [1], "reason": ""}),
        {"r": '[["oper", {"member": "p/1"}]]'},
    ],
)
def test_an_entry_this_version_does_not_write_is_refused(fields: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="entry"):
        decode(fields)


# --- replicas: from the state, the same hub ----------------------------------------------------


def test_a_replica_started_from_the_state_holds_the_same_state() -> None:
    hub = Hub(history=History(10, 10))
    alice, bob = Member(ELSEWHERE, "a"), Member(ELSEWHERE, "b")
    hub.handle(Register(alice, nick("alice")))
    hub.handle(Register(bob, nick("bob")))
    hub.handle(Act(bob, events.JoinRoom(room("#rust"))))
    hub.handle(Act(bob, events.SetTopic("crabs")))
    hub.handle(Act(alice, events.SetAway("lunch")))
    hub.handle(Act(alice, events.Rename(nick("Alice2"))))
    hub.handle(Act(bob, events.Watch((nick("Carol"), nick("alice2")))))
    hub.handle(Act(bob, events.SetBot(on=True)))
    hub.handle(Act(alice, events.MarkRead(room("#rust"), 5)))  # alice's own: no account
    hub.load_read_markers([ReadMark("carol", "#rust", 7)])  # an account's
    hub.flush()
    # Roles and kept rooms are state too (nothing sets them yet but the hub's own methods).
    assert bob.nick is not None
    bob.rooms["#rust"].set_roles(bob, bob.nick, (Role.OPERATOR, Role.VOICE))
    hub.load_rooms([RoomRecord(room("#kept"), "", RoomSettings(founder="alice"))])
    state, members = hub.state()
    assert {saved.name.key: saved.kept for saved in state.rooms} == {
        "#lobby": False,
        "#rust": False,
        "#kept": True,
    }
    assert hub.history is not None
    rings = tuple(hub.history.rings())
    record = State("p", "1-0", state, ("p/1", "p/2"), rings, hub.last_id)
    assert decode(encode([record])) == [record]  # what crosses Redis is the state itself

    replica = Hub(history=History(10, 10))
    copies = [Member(ELSEWHERE, m.peer) for m in members]
    replica.restore(state, copies)
    replica.last_id = record.last_id
    replica.history.restore(record.rings, record.last_id)  # type: ignore[union-attr]
    assert replica.state()[0] == state
    operator = events.RosterEntry("bob", (Role.OPERATOR, Role.VOICE))
    assert copies[0].rooms["#rust"].roster() == (operator,)
    assert replica.history.recent("#rust", 10) == hub.history.recent("#rust", 10)  # type: ignore[union-attr]
    # And both go on the same way: the same request does the same thing in each.
    assert [m.nick.display for m in copies if m.nick] == ["bob", "Alice2"]  # a rename: moved
    assert list(copies[0].watching) == ["carol", "alice2"]  # as bob typed them, in order
    assert [m.bot for m in copies] == [True, False]
    assert [m.read_marks for m in copies] == [{}, {"#rust": 5}]
    assert replica.take_unsaved_read_markers() == [ReadMark("carol", "#rust", 7)]  # to save
    for one_hub, bob_there in ((hub, members[0]), (replica, copies[0])):
        one_hub.handle(Act(bob_there, events.Say("same", room("#rust"))))
        one_hub.flush()
    assert replica.state()[0] == hub.state()[0]
    entry = replica.history.recent("#rust", 1)[0]  # type: ignore[union-attr]
    assert isinstance(entry, Entry)
    assert entry.event == Said("#rust", "bob", "same", tags=(BOT_TAG,))  # bob is a bot
    assert entry.id == hub.last_id == replica.last_id  # ids agree too: one sequence for all
    assert entry.event.id == entry.id  # (the event carries its id: IRC's msgid)


def test_a_replica_forgets_the_read_markers_of_its_own_file_that_the_state_has_not() -> None:
    hub = Hub()
    hub.load_read_markers([ReadMark("alice", "#rust", 9)])
    state, _ = hub.state()
    replica = Hub()
    replica.load_read_markers([ReadMark("alice", "#rust", 3), ReadMark("bob", "#go", 4)])
    replica.restore(state, [])
    assert replica.take_unsaved_read_markers() == [
        ReadMark("alice", "#rust", 9),  # the state's, which is newer
        ReadMark("bob", "#go", None),  # gone from the database too
    ]
    assert replica.state()[0] == state


def moderated_state() -> State:
    """The state of a hub where everything moderation keeps is set."""
    hub = Hub(clock=lambda: 1_800_000_000.0, history=History(10, 10))
    alice = Member(ELSEWHERE, "a", host="k5x2q9m4tbhe.ip", address="192.0.2.7", group="192.0.2.7")
    bob, carol = Member(ELSEWHERE, "b"), Member(ELSEWHERE, "c")
    keys = Credentials("$argon2id$x", b"salt", b"stored", b"server", 4096)
    hub.handle(Register(alice, nick("alice")))
    hub.handle(Register(bob, nick("bob")))
    hub.handle(Register(carol, nick("carol")))
    hub.handle(CreateAccount(bob, None, keys))
    hub.handle(Act(bob, events.SetPrivateHistory(on=False)))  # kept by the account, in the state
    hub.handle(BecomeOperator(carol, "oper"))
    hub.handle(Act(alice, events.JoinRoom(room("#rust"))))
    hub.handle(Act(bob, events.JoinRoom(room("#reg"))))
    hub.handle(Act(bob, events.RegisterRoom(room("#reg"))))
    hub.handle(Act(alice, events.Invite(nick("bob"), room("#rust"))))
    changes = parse_changes(("+iskl-t+beI", "sesame", "5", "m:eve", "a:bob", "*!*@*.ip"))
    assert isinstance(changes, tuple)
    hub.handle(Act(alice, events.ChangeModes(room("#rust"), changes)))
    hub.handle(Act(carol, events.BanFromServer("198.51.100.0/24", 60, "spam")))
    hub.flush()
    state, _ = hub.state()
    rust = next(saved for saved in state.rooms if saved.name.key == "#rust")
    assert rust.settings.letters == "nis"
    assert dict(rust.settings.lists)["e"] == (ListEntry("a:bob", "alice", 1_800_000_000.0),)
    assert rust.creator == 0
    assert rust.creator_group == "192.0.2.7"
    assert next(s for s in state.rooms if s.name.key == "#reg").settings.founder == "bob"
    assert [m.operator for m in state.members] == [False, False, True]
    assert state.members[1].invited == ("#rust",)
    assert len(state.server_bans) == 1
    assert [account.private_history for account in state.accounts] == [False]
    return State("p", "1-0", state, ("p/1", "p/2", "p/3"), (), hub.last_id)


def test_the_state_crosses_the_log_with_modes_lists_founders_and_server_bans() -> None:
    record = moderated_state()
    assert decode(encode([record])) == [record]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("rooms", 0, "settings", "lists"), [["b", [{"mask": "x"}]]]),  # an entry missing parts
        (("rooms", 0, "settings", "limit"), "many"),
        (("rooms", 0, "settings"), None),
        (("server_bans",), [{"mask": "*"}]),
        (("members", 0, "invited"), None),
    ],
)
def test_a_state_missing_what_moderation_keeps_is_refused(
    path: tuple[str | int, ...], value: Any
) -> None:
    fields = encode([moderated_state()])
    batch = json.loads(fields["r"])
    where = batch[0][1]["hub"]
    for step in path[:-1]:
        where = where[step]
    where[path[-1]] = value
    with pytest.raises(ValueError, match="state entry"):
        decode({"r": json.dumps(batch)})


# A replica may start anywhere in the log: from the state there, it must then go on exactly as
# the process it got the state from (the hub is deterministic, and the state is complete).
NAMES = ["ann", "Ann", "bob", "cy"]


ROOMS = ["#a", "#b", "#lobby"]


MEMBERS = 5
MODE_CHANGES = ["+m", "-t", "+o ann", "-o Ann", "+v bob", "+b bob", "-b bob", "+i", "+k k", "+l 1"]


steps = st.one_of(
    st.tuples(st.just("register"), st.integers(0, MEMBERS - 1), st.sampled_from(NAMES)),
    st.tuples(st.just("rename"), st.integers(0, MEMBERS - 1), st.sampled_from(NAMES)),
    st.tuples(st.just("join"), st.integers(0, MEMBERS - 1), st.sampled_from(ROOMS)),
    st.tuples(st.just("part"), st.integers(0, MEMBERS - 1), st.sampled_from(ROOMS)),
    st.tuples(st.just("switch"), st.integers(0, MEMBERS - 1), st.sampled_from(ROOMS)),
    st.tuples(st.just("say"), st.integers(0, MEMBERS - 1), st.sampled_from(["hi", "yo"])),
    st.tuples(st.just("topic"), st.integers(0, MEMBERS - 1), st.sampled_from(["", "t"])),
    st.tuples(st.just("away"), st.integers(0, MEMBERS - 1), st.sampled_from(["", "out"])),
    st.tuples(st.just("leave"), st.integers(0, MEMBERS - 1), st.just("")),
    # Moderation: modes and kicks in one's current room, invitations, keys, server operators.
    st.tuples(st.just("mode"), st.integers(0, MEMBERS - 1), st.sampled_from(MODE_CHANGES)),
    st.tuples(st.just("kick"), st.integers(0, MEMBERS - 1), st.sampled_from(NAMES)),
    st.tuples(st.just("invite"), st.integers(0, MEMBERS - 1), st.sampled_from(NAMES)),
    st.tuples(st.just("key"), st.integers(0, MEMBERS - 1), st.sampled_from(ROOMS)),
    st.tuples(st.just("oper"), st.integers(0, MEMBERS - 1), st.just("")),
    st.tuples(st.just("kline"), st.integers(0, MEMBERS - 1), st.sampled_from(NAMES)),
)


def changes(typed: str) -> tuple[ModeChange, ...]:
    parsed = parse_changes(tuple(typed.split()))
    assert isinstance(parsed, tuple), parsed
    return parsed


def request_for(step: tuple[str, int, str], member: Member) -> Any:
    kind, _, value = step
    commands: dict[str, Any] = {
        "rename": lambda: events.Rename(nick(value)),
        "join": lambda: events.JoinRoom(room(value)),
        "part": lambda: events.PartRoom(room(value)),
        "switch": lambda: events.SwitchRoom(room(value)),
        "say": lambda: events.Say(value),
        "topic": lambda: events.SetTopic(value),
        "away": lambda: events.SetAway(value),
        "mode": lambda: events.ChangeModes(None, changes(value)),
        "kick": lambda: events.Kick(None, nick(value)),
        "invite": lambda: events.Invite(nick(value), room("#a")),
        "key": lambda: events.JoinRoom(room(value), "k"),
        "kline": lambda: events.BanFromServer(value, 0, "spam"),
    }
    if kind == "oper":
        # Only a registered member's: the state carries registered members only, so an OPER
        # before registering (which IRC refuses anyway) would be lost on a replica.
        return BecomeOperator(member, "oper") if member.nick else Act(member, events.ShowCounts())
    if kind == "register":
        return Register(member, nick(value))
    if kind == "leave":
        return Disconnect(member, LeaveReason.CONNECTION_LOST)
    return Act(member, commands[kind]())


@settings(deadline=None)
@given(st.lists(steps, max_size=40), st.integers(0, 40))
def test_a_replica_started_anywhere_goes_on_exactly_as_the_original(
    script: list[tuple[str, int, str]], cut: int
) -> None:
    def new_hub() -> Hub:
        return Hub(clock=lambda: 0.0, history=History(10, 10))

    original = new_hub()
    members = [Member(ELSEWHERE, f"peer{n}", id=f"p/{n}") for n in range(MEMBERS)]

    def step(hub: Hub, member: Member, one: tuple[str, int, str]) -> None:
        hub.handle(request_for(one, member))
        hub.flush()

    for one in script[:cut]:
        if members[one[1]].left is None:  # a connection that ended never speaks again
            step(original, members[one[1]], one)
    state, named = original.state()
    replica = new_hub()
    copies = {m.id: Member(ELSEWHERE, m.peer, id=m.id) for m in members}
    replica.restore(state, [copies[m.id] for m in named])
    assert original.history is not None
    assert replica.history is not None
    replica.last_id = original.last_id  # as the backplane restores it
    replica.history.restore(original.history.rings(), original.history.last_id)
    for one in script[cut:]:
        if members[one[1]].left is None:
            step(original, members[one[1]], one)
            step(replica, copies[members[one[1]].id], one)
    assert replica.state()[0] == original.state()[0]
    assert replica.history.rings() == original.history.rings()
    assert replica.history.last_id == original.history.last_id
    assert replica.last_id == original.last_id
