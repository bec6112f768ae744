"""What members say of themselves, driven synchronously: real names (SETNAME).

Helpers are tests/test_hub.py's: each test plays the writers by draining the mailboxes.
"""

from __future__ import annotations

from tests.names import nick
from tests.test_hub import join, received, registered, turn
from trio_chat.core.events import (
    Found,
    LookUp,
    PrivateFrom,
    PrivateMessage,
    PrivateTo,
    RealnameChanged,
    Said,
    Say,
    SetBot,
    SetRealname,
)
from trio_chat.core.hub import BOT_TAG, Hub
from trio_chat.core.limits import Limits
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.requests import Act


def test_a_new_real_name_is_told_to_those_who_share_a_room_and_to_its_owner() -> None:
    hub = Hub()
    alice, bob, carol = registered(hub, "alice", "bob", "carol")
    turn(hub, Act(carol, SetRealname("nobody")), join(alice, "#rust"))  # carol: in #lobby only
    received(alice), received(bob), received(carol)
    turn(hub, Act(alice, SetRealname("Alice Liddell")))
    changed = RealnameChanged("alice", "Alice Liddell")
    assert received(alice) == [changed]  # once, though it shares two rooms with itself
    assert received(bob) == [changed]
    assert received(carol) == [changed]
    turn(hub, Act(bob, LookUp((nick("alice"),))))
    (found,) = received(bob)
    assert isinstance(found, Found)
    assert found.members[0].realname == "Alice Liddell"


def test_a_real_name_empty_or_too_long_is_refused_and_changes_nothing() -> None:
    hub = Hub(limits=Limits(realname_bytes=8))
    alice, bob = registered(hub, "alice", "bob")
    turn(hub, Act(alice, SetRealname("é" * 5)), Act(alice, SetRealname("")))  # 10 bytes, none
    refusal = Refusal(Reason.REALNAME_INVALID, detail="8")
    assert received(alice) == [refusal, refusal]
    turn(hub, Act(alice, SetRealname("é" * 4)))  # 8 bytes: fine
    assert received(bob) == [RealnameChanged("alice", "é" * 4)]


def test_a_bot_says_so_to_whoever_looks_it_up_until_it_stops() -> None:
    hub = Hub()
    alice, bob = registered(hub, "alice", "bob")
    turn(hub, Act(bob, SetBot(on=True)), Act(alice, LookUp((nick("bob"), nick("alice")))))
    assert received(bob) == []  # (its front end echoes the mode: nobody else is told)
    (found,) = received(alice)
    assert isinstance(found, Found)
    assert [(info.nick, info.bot) for info in found.members] == [("bob", True), ("alice", False)]
    turn(hub, Act(bob, SetBot(on=False)), Act(alice, LookUp((nick("bob"),))))
    (found,) = received(alice)
    assert isinstance(found, Found)
    assert not found.members[0].bot


def test_a_bots_messages_carry_the_bot_tag_and_nobody_elses_do() -> None:
    hub = Hub()
    alice, bob = registered(hub, "alice", "bob")
    typing = (("+typing", "active"),)
    turn(
        hub,
        Act(bob, SetBot(on=True)),
        Act(bob, Say("beep", tags=typing)),
        Act(bob, PrivateMessage(nick("alice"), "boop")),
        Act(alice, Say("hi")),
    )
    said = [event for event in received(alice) if isinstance(event, Said | PrivateFrom)]
    assert [(type(e).__name__, e.tags) for e in said] == [
        ("Said", (("+typing", "active"), BOT_TAG)),  # after what the bot sent
        ("PrivateFrom", (BOT_TAG,)),
        ("Said", ()),  # alice is no bot
    ]
    copies = [event for event in received(bob) if isinstance(event, PrivateTo)]
    assert [copy.tags for copy in copies] == [(BOT_TAG,)]  # its echo too
