"""Watching nicknames (IRC's MONITOR): the index, and the hub telling watchers, synchronously.

Helpers are tests/test_hub.py's: each test plays the writers by draining the mailboxes.
"""

from __future__ import annotations

from tests.names import nick
from tests.test_hub import new_member, received, registered, turn
from trio_chat.core.events import (
    LeaveReason,
    PresenceIs,
    Quit,
    Registered,
    Rename,
    Seen,
    ShowWatched,
    Unwatch,
    Watch,
    WatchList,
)
from trio_chat.core.hub import Hub
from trio_chat.core.limits import Limits
from trio_chat.core.members import Member
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.requests import Act, Disconnect, Register
from trio_chat.core.watching import Watchers


def watch(member: Member, *names: str) -> Act:
    return Act(member, Watch(tuple(map(nick, names))))


def presence(member: Member) -> list[PresenceIs]:
    """What ``member`` was told of the nicknames it watches (not of the rooms it shares)."""
    return [event for event in received(member) if isinstance(event, PresenceIs)]


def test_the_index_adds_each_nickname_once_up_to_the_limit_and_forgets_a_member() -> None:
    watchers = Watchers()
    alice, bob = new_member(), new_member()
    assert watchers.add(alice, [nick("Bob"), nick("bob"), nick("carol")], limit=2) == []
    assert list(alice.watching.values()) == [nick("Bob"), nick("carol")]  # as first typed
    assert watchers.add(alice, [nick("dave"), nick("carol")], limit=2) == [nick("dave")]
    watchers.add(bob, [nick("carol")], limit=2)
    assert watchers.of("carol") == [alice, bob]
    watchers.remove(alice, ["carol", "nobody"])
    assert watchers.of("carol") == [bob]
    watchers.forget(bob)
    assert watchers.of("carol") == []
    assert len(watchers) == 1  # only alice's "bob" is left
    assert bob.watching == {}


def test_a_watcher_is_told_as_a_nickname_comes_and_goes() -> None:
    hub = Hub()
    (alice,) = registered(hub, "alice")
    turn(hub, watch(alice, "Bob"))
    assert received(alice) == [PresenceIs(offline=("Bob",))]  # as typed: nobody has it
    bob = Member(new_member().outbox, user="~bob", host="cloak.ip")
    turn(hub, Register(bob, nick("bob")))
    assert PresenceIs(online=(Seen("bob", "~bob", "cloak.ip"),)) in received(alice)
    turn(hub, Act(bob, Quit("bye")))
    assert PresenceIs(offline=("bob",)) in received(alice)  # as its holder spelt it


def test_watching_someone_online_says_so_at_once_and_lists_and_statuses_follow() -> None:
    hub = Hub()
    alice, _ = registered(hub, "alice", "bob")
    turn(hub, watch(alice, "bob", "carol", "BOB"))
    assert received(alice) == [PresenceIs(online=(Seen("bob"),), offline=("carol",))]
    turn(hub, Act(alice, ShowWatched()))
    assert received(alice) == [WatchList(("bob", "carol"))]
    turn(hub, Act(alice, ShowWatched(presence=True)))
    assert received(alice) == [PresenceIs(online=(Seen("bob"),), offline=("carol",))]
    turn(hub, Act(alice, Unwatch((nick("Carol"),))), Act(alice, ShowWatched()))
    assert received(alice) == [WatchList(("bob",))]  # nothing answers the Unwatch itself
    turn(hub, Act(alice, Unwatch()), Act(alice, ShowWatched()))
    assert received(alice) == [WatchList(())]


def test_a_rename_is_one_nickname_going_and_another_coming_but_not_a_change_of_case() -> None:
    hub = Hub()
    alice, baz = registered(hub, "alice", "baz")
    turn(hub, watch(alice, "qux"))
    received(alice)
    turn(hub, Act(baz, Rename(nick("qux"))))
    assert presence(alice) == [PresenceIs(online=(Seen("qux"),))]
    turn(hub, Act(baz, Rename(nick("QUX"))))
    assert presence(alice) == []
    turn(hub, Act(baz, Rename(nick("bazbat"))))
    assert presence(alice) == [PresenceIs(offline=("QUX",))]


def test_a_full_list_refuses_the_rest_and_names_them() -> None:
    hub = Hub(limits=Limits(watched=2))
    (alice,) = registered(hub, "alice")
    turn(hub, watch(alice, "a1", "a2"))
    received(alice)
    turn(hub, watch(alice, "a2", "a3", "a4"))
    assert received(alice) == [
        PresenceIs(offline=("a2",)),  # watched already: said again, not added again
        Refusal(Reason.WATCH_LIST_FULL, "a3,a4", "2"),
    ]


def test_a_watcher_that_leaves_watches_no_more_and_others_processes_members_are_not_told() -> None:
    hub = Hub()
    alice, carol = registered(hub, "alice", "carol")
    elsewhere = Member(new_member().outbox, local=False)  # its own process tells it
    turn(hub, Register(elsewhere, nick("dave")))
    turn(hub, watch(alice, "bob"), watch(carol, "bob"), watch(elsewhere, "bob"))
    received(alice), received(carol), received(elsewhere)
    turn(hub, Disconnect(alice, LeaveReason.CONNECTION_LOST))
    bob = new_member()
    turn(hub, Register(bob, nick("bob")))
    assert received(bob)[0] == Registered("bob", 3, 1)
    assert presence(carol) == [PresenceIs(online=(Seen("bob"),))]
    assert received(elsewhere) == []
    assert received(alice) == []
