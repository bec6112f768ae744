"""Valid names for tests: parse, and fail loudly if the test's own name is refused."""

from __future__ import annotations

from trio_chat.core.events import Membership, RosterEntry
from trio_chat.core.refusals import Refusal
from trio_chat.core.roles import Role, Roles, ranked
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
    """A roster, each name with IRC's marks of its roles before it (``@alice``, ``+bob``)."""
    return tuple(RosterEntry(*_marked(nick)) for nick in nicks)


def memberships(*rooms: str) -> tuple[Membership, ...]:
    """A member's rooms, each with the marks of its roles there (``@#rust``)."""
    return tuple(Membership(*_marked(room)) for room in rooms)


def _marked(name: str) -> tuple[str, Roles]:
    marks = {role.mark: role for role in Role}
    roles = []
    while name[:1] in marks:
        roles.append(marks[name[0]])
        name = name[1:]
    return name, ranked(roles)
