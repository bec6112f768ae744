"""A room's bookkeeping, alone: its roster stays sorted and carries roles, whoever comes and goes.

A room is generic in its members, so these tests use the smallest member there is.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.names import nick, room
from trio_chat.core.events import RosterEntry
from trio_chat.core.roles import Role
from trio_chat.core.rooms import Room


@dataclass(eq=False)
class Someone:
    local: bool = True


def test_the_roster_is_sorted_by_normalized_nickname_whatever_the_join_order() -> None:
    rust = Room[Someone](room("#rust"))
    for name in ("zed", "Bob", "alice", "Carol"):
        rust.add(Someone(), nick(name))
    assert rust.roster() == tuple(map(RosterEntry, ("alice", "Bob", "Carol", "zed")))


def test_members_keep_their_join_order_and_their_roles() -> None:
    rust = Room[Someone](room("#rust"))
    first, second = Someone(), Someone()
    rust.add(second, nick("zed"), (Role.OPERATOR,))
    rust.add(first, nick("amy"))
    assert list(rust.members.items()) == [(second, (Role.OPERATOR,)), (first, ())]
    assert rust.roster() == (RosterEntry("amy"), RosterEntry("zed", (Role.OPERATOR,)))


def test_roles_set_later_show_in_the_roster_and_survive_a_rename() -> None:
    rust = Room[Someone](room("#rust"))
    alice, bob = Someone(), Someone()
    rust.add(alice, nick("alice"))
    rust.add(bob, nick("bob"))
    rust.set_roles(bob, nick("bob"), (Role.OPERATOR, Role.VOICE))
    rust.rename(bob, nick("bob"), nick("Aaron"))  # sorts before alice now
    assert rust.roster() == (
        RosterEntry("Aaron", (Role.OPERATOR, Role.VOICE)),
        RosterEntry("alice"),
    )
    rust.set_roles(bob, nick("Aaron"), ())
    assert rust.roster()[0] == RosterEntry("Aaron")


def test_only_local_members_are_listeners() -> None:
    rust = Room[Someone](room("#rust"))
    here, elsewhere = Someone(), Someone(local=False)
    rust.add(here, nick("here"))
    rust.add(elsewhere, nick("there"))
    assert list(rust.listeners) == [here]
    rust.remove(here, nick("here"))
    assert not rust.listeners
    assert rust.roster() == (RosterEntry("there"),)
