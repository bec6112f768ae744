"""Read markers (draft/read-marker) in the hub, driven synchronously: per account, or per member.

Helpers are tests/test_hub.py's: each test plays the writers by draining the mailboxes.
"""

from __future__ import annotations

from tests.names import nick, room
from tests.test_hub import KEYS, join, new_member, received, registered, turn
from trio_chat.core.accounts import Account
from trio_chat.core.events import MarkRead, ReadMarker, RoomEntered, ShowReadMarker
from trio_chat.core.hub import Hub
from trio_chat.core.members import Member
from trio_chat.core.read_markers import ReadMark
from trio_chat.core.requests import Act, LogIn, Login, Register

T = 1_796_000_000_000  # a time, in milliseconds since the epoch


def with_account(hub: Hub) -> tuple[Member, Member, Member]:
    """Two members logged in to the account alice (a laptop and a phone), and bob."""
    hub.load_accounts([Account(nick("alice"), KEYS, 0.0)])
    laptop, phone, bob = new_member(), new_member(), new_member()
    turn(
        hub,
        Register(laptop, nick("alice"), login=Login(nick("alice"), KEYS)),
        Register(phone, nick("alice_phone")),
        Register(bob, nick("bob")),
        LogIn(phone, Login(nick("alice"), KEYS)),
    )
    for member in (laptop, phone, bob):
        received(member)
    return laptop, phone, bob


def test_an_accounts_marker_moves_forward_and_every_connection_of_it_is_told() -> None:
    hub = Hub()
    laptop, phone, bob = with_account(hub)
    turn(hub, Act(laptop, MarkRead(room("#Rust"), T)))
    assert received(laptop) == [ReadMarker("#Rust", T, asked=True)]
    assert received(phone) == [ReadMarker("#Rust", T)]  # news, not an answer
    assert received(bob) == []  # never told to anyone else
    # Older, or the same: nothing moves; the one who said it is told the newer one.
    turn(hub, Act(phone, MarkRead(room("#rust"), T - 1)), Act(phone, MarkRead(room("#rust"), T)))
    assert received(phone) == [ReadMarker("#rust", T, asked=True)] * 2
    assert received(laptop) == []
    turn(hub, Act(phone, ShowReadMarker(room("#rust"))), Act(bob, ShowReadMarker(room("#rust"))))
    assert received(phone) == [ReadMarker("#rust", T, asked=True)]
    assert received(bob) == [ReadMarker("#rust", None, asked=True)]  # bob's own: none
    # A private conversation is a target too, by its nickname's key.
    turn(hub, Act(laptop, MarkRead(nick("Bob"), T + 5)), Act(phone, ShowReadMarker(nick("bob"))))
    assert received(phone) == [ReadMarker("Bob", T + 5), ReadMarker("bob", T + 5, asked=True)]


def test_a_marker_comes_with_the_join_and_is_noted_for_the_store() -> None:
    hub = Hub()
    laptop, phone, _ = with_account(hub)
    turn(hub, Act(laptop, MarkRead(room("#rust"), T)))
    assert hub.take_unsaved_read_markers() == [ReadMark("alice", "#rust", T)]
    assert hub.take_unsaved_read_markers() == []  # taken once
    turn(hub, Act(laptop, MarkRead(room("#rust"), T - 1)))
    assert hub.take_unsaved_read_markers() == []  # nothing moved: nothing to save
    received(laptop), received(phone)
    turn(hub, join(phone, "#rust"), join(phone, "#go"))
    entered = [event for event in received(phone) if isinstance(event, RoomEntered)]
    assert [(e.room, e.read_marker) for e in entered] == [("#rust", T), ("#go", None)]


def test_saved_markers_are_an_accounts_again_after_a_restart() -> None:
    hub = Hub()
    hub.load_read_markers([ReadMark("alice", "#rust", T), ReadMark("alice", "bob", T + 1)])
    laptop, _, _ = with_account(hub)
    turn(hub, Act(laptop, ShowReadMarker(room("#rust"))), Act(laptop, ShowReadMarker(nick("bob"))))
    assert received(laptop) == [
        ReadMarker("#rust", T, asked=True),
        ReadMarker("bob", T + 1, asked=True),
    ]
    assert hub.take_unsaved_read_markers() == []  # loaded: saved already


def test_logged_in_to_no_account_a_member_keeps_its_markers_for_itself() -> None:
    hub = Hub()
    alice, bob = registered(hub, "alice", "bob")
    turn(hub, Act(alice, MarkRead(room("#rust"), T)), Act(alice, MarkRead(room("#rust"), T - 9)))
    assert received(alice) == [ReadMarker("#rust", T, asked=True)] * 2
    turn(hub, Act(bob, ShowReadMarker(room("#rust"))), join(alice, "#rust"))
    assert received(bob) == [ReadMarker("#rust", None, asked=True)]
    entered = [event for event in received(alice) if isinstance(event, RoomEntered)]
    assert [e.read_marker for e in entered] == [T]
    assert hub.take_unsaved_read_markers() == []  # nothing for the database
