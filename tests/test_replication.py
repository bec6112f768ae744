"""The shared log's records, pure: each written and read back, the unknown refused, replicas.

No Redis here (tests/test_backplane.py has it): the codec of trio_chat/core/replication.py,
and the guarantee the backplane builds on, that a replica started from the state of the hub
goes on exactly as the hub it was taken from.
"""

from __future__ import annotations

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
from trio_chat.core.hub import Hub
from trio_chat.core.members import Member
from trio_chat.core.replication import (
    Acting,
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
from trio_chat.core.requests import Act, Disconnect, Login, Register
from trio_chat.core.roles import Role
from trio_chat.core.snapshots import RoomRecord, RoomSettings
from trio_chat.shell.backplane import ELSEWHERE

# --- the log's entries, written and read back -------------------------------------------------


COMMANDS: list[events.Command] = [
    events.Say("hi", room("#rust"), notice=True),
    events.Say("hi"),
    events.Emote("waves", room("#rust")),
    events.Rename(nick("Zoë")),
    events.PrivateMessage(nick("bob"), "psst", action=True),
    events.JoinRoom(room("#rust")),
    events.PartRoom(None, "bye"),
    events.SwitchRoom(room("#rust")),
    events.ListRooms((room("#a"), room("#b"))),
    events.Who(),
    events.SetTopic("the topic", room("#rust")),
    events.ShowTopic(),
    events.SetAway("lunch"),
    events.LookUp((nick("alice"), nick("bob")), "label", None, "a*"),
    events.ShowCounts(),
    events.ShowHistory(20, room("#rust")),
    events.Quit("done"),
]


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
    ):
        assert decode(encode([record])) == [record]
    # What crosses Redis holds hashes and digests: no password, no ticket's token.
    assert "password" not in encode([LoggingIn("p/1", Login(nick("bob"), keys))])["r"].replace(
        "password_hash", ""
    )


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
    record = State("p", "1-0", state, ("p/1", "p/2"), rings, hub.history.last_id)
    assert decode(encode([record])) == [record]  # what crosses Redis is the state itself

    replica = Hub(history=History(10, 10))
    copies = [Member(ELSEWHERE, m.peer) for m in members]
    replica.restore(state, copies)
    replica.history.restore(record.rings, record.last_id)  # type: ignore[union-attr]
    assert replica.state()[0] == state
    operator = events.RosterEntry("bob", (Role.OPERATOR, Role.VOICE))
    assert copies[0].rooms["#rust"].roster() == (operator,)
    assert replica.history.recent("#rust", 10) == hub.history.recent("#rust", 10)  # type: ignore[union-attr]
    # And both go on the same way: the same request does the same thing in each.
    assert [m.nick.display for m in copies if m.nick] == ["bob", "Alice2"]  # a rename: moved
    for one_hub, bob_there in ((hub, members[0]), (replica, copies[0])):
        one_hub.handle(Act(bob_there, events.Say("same", room("#rust"))))
        one_hub.flush()
    assert replica.state()[0] == hub.state()[0]
    entry = replica.history.recent("#rust", 1)[0]  # type: ignore[union-attr]
    assert isinstance(entry, Entry)
    assert entry.event == Said("#rust", "bob", "same")
    assert entry.id == hub.history.last_id  # ids agree too: processes can share one database


# A replica may start anywhere in the log: from the state there, it must then go on exactly as
# the process it got the state from (the hub is deterministic, and the state is complete).
NAMES = ["ann", "Ann", "bob", "cy"]


ROOMS = ["#a", "#b", "#lobby"]


MEMBERS = 5


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
)


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
    }
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
    replica.history.restore(original.history.rings(), original.history.last_id)
    for one in script[cut:]:
        if members[one[1]].left is None:
            step(original, members[one[1]], one)
            step(replica, copies[members[one[1]].id], one)
    assert replica.state()[0] == original.state()[0]
    assert replica.history.rings() == original.history.rings()
    assert replica.history.last_id == original.history.last_id
