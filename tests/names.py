"""Valid names for tests: parse, and fail loudly if the test's own name is refused."""

from __future__ import annotations

from trio_chat.core.events import Membership, RosterEntry
from trio_chat.core.refusals import Refusal
from trio_chat.core.text import Nickname, RoomName


def nick(typed: str) -> Nickname:
    parsed = Nickname.parse(typed)
    assert not isinstance(parsed, Refusal), parsed
    return parsed


def room(typed: str) -> RoomName:
    parsed = RoomName.parse(typed)
    assert not isinstance(parsed, Refusal), parsed
    return parsed


def roster(*nicks: str) -> tuple[RosterEntry, ...]:
    """A roster of members who have no roles."""
    return tuple(RosterEntry(nick) for nick in nicks)


def memberships(*rooms: str) -> tuple[Membership, ...]:
    """A member's rooms, with no roles in any."""
    return tuple(Membership(room) for room in rooms)
