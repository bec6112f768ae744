"""A ban by nickname (BanMember), as the plain protocol and the page ask for one: synchronous.

Those front ends know no hosts, so the hub turns the nickname of someone online into the mask
of its cloaked host, ``*!*@host``: the ban then holds when the banned member comes back under
another nickname from the same address.
"""

from __future__ import annotations

from tests.names import nick, room
from tests.test_hub import received, turn
from trio_chat.core import replication
from trio_chat.core.events import (
    BanMember,
    CurrentRoom,
    Event,
    JoinRoom,
    Kicked,
    ModesChanged,
    Rename,
    Said,
    Say,
)
from trio_chat.core.hub import Hub
from trio_chat.core.members import Member
from trio_chat.core.modes import Mode, ModeChange
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.requests import Act, Register
from trio_chat.shell.mailbox import Mailbox


def member(host: str) -> Member:
    return Member(Mailbox(64, 1 << 20), host=host)


def setup(hub: Hub) -> tuple[Member, Member, Member]:
    """alice runs #rust (she made it); bob (host b.ip) and carol (host c.ip) are in it."""
    alice, bob, carol = member("a.ip"), member("b.ip"), member("c.ip")
    for who, name in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
        turn(hub, Register(who, nick(name)), Act(who, JoinRoom(room("#rust"))))
    for who in (alice, bob, carol):
        received(who)
    return alice, bob, carol


def ban(who: Member, target: str, **fields: object) -> Act:
    return Act(who, BanMember(room("#rust"), target, **fields))  # type: ignore[arg-type]


def test_a_ban_by_nickname_bans_the_host_and_puts_the_member_out() -> None:
    hub = Hub()
    alice, bob, carol = setup(hub)
    turn(hub, ban(alice, "bob", reason="spam"))
    banned = ModesChanged("#rust", "alice", (ModeChange(Mode.BAN, True, "*!*@b.ip"),), host="a.ip")
    kicked = Kicked("#rust", "alice", "bob", "spam", host="a.ip")
    assert received(carol) == [banned, kicked]
    assert received(bob) == [banned, kicked, CurrentRoom("#lobby")]
    # Back under another name, from the same host: still banned.
    turn(hub, Act(bob, Rename(nick("robert"))), Act(bob, JoinRoom(room("#rust"))))
    assert Refusal(Reason.BANNED_FROM_ROOM, "#rust") in received(bob)


def test_a_mask_is_banned_as_given_and_nobody_is_put_out() -> None:
    hub = Hub()
    alice, _, carol = setup(hub)
    turn(hub, ban(alice, "spam*"))
    assert received(carol) == [
        ModesChanged("#rust", "alice", (ModeChange(Mode.BAN, True, "spam*!*@*"),), host="a.ip")
    ]
    # Someone not online: the mask its nickname names (bob!*@* style), as IRC would.
    turn(hub, ban(alice, "dave"))
    assert received(carol) == [
        ModesChanged("#rust", "alice", (ModeChange(Mode.BAN, True, "dave!*@*"),), host="a.ip")
    ]


def test_a_mute_by_nickname_silences_the_host_and_lifting_it_lets_it_speak() -> None:
    hub = Hub()
    alice, bob, carol = setup(hub)
    turn(hub, ban(alice, "bob", mute=True))
    muted = ModesChanged("#rust", "alice", (ModeChange(Mode.BAN, True, "m:*!*@b.ip"),), host="a.ip")
    assert received(carol) == [muted]  # muted, not put out
    turn(hub, Act(bob, Say("can I speak?", room("#rust"))))
    assert received(bob) == [muted, Refusal(Reason.MUTED, "#rust")]
    turn(hub, ban(alice, "bob", mute=True, on=False))
    turn(hub, Act(bob, Say("now?", room("#rust"))))
    events: list[Event] = received(carol)
    assert events[-1] == Said("#rust", "bob", "now?", host="b.ip")


def test_only_a_room_operator_bans() -> None:
    hub = Hub()
    _, bob, carol = setup(hub)
    turn(hub, ban(bob, "carol"))
    assert received(bob) == [Refusal(Reason.NOT_ROOM_OPERATOR, "#rust")]
    assert received(carol) == []
    turn(hub, Act(bob, BanMember(room("#nowhere"), "carol")))
    assert received(bob) == [Refusal(Reason.NO_SUCH_ROOM, "#nowhere")]


def test_an_operator_banning_itself_by_name_is_not_put_out() -> None:
    hub = Hub()
    alice, _, carol = setup(hub)
    turn(hub, ban(alice, "alice"))
    assert received(carol) == [
        ModesChanged("#rust", "alice", (ModeChange(Mode.BAN, True, "*!*@a.ip"),), host="a.ip")
    ]
    assert received(alice)[-1].__class__ is ModesChanged  # and no Kicked: she stays


def test_a_ban_by_nickname_travels_through_the_shared_log() -> None:
    for command in (BanMember(room("#rust"), "bob", mute=True, reason="x"), BanMember(None, "b*")):
        records = replication.decode(replication.encode([replication.Acting("p/1", command)]))
        assert records == [replication.Acting("p/1", command)]
