"""What a member may do in a room beyond speaking: its roles there, and the marks that show them.

A role belongs to one membership (alice may run ``#rust`` and be an ordinary member of
``#lobby``), so a room keeps its members' roles (:mod:`trio_chat.core.rooms`) and every roster
carries them. The marks are IRC's (``@`` operator, ``+`` voice), which every IRC client already
shows and which the plain protocol and the page show too: one convention for every front end.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Role(enum.Enum):
    """A role in a room. Declared highest first; the value is the code a JSON client sees."""

    OPERATOR = "operator"  # runs the room: modes, kicks, bans, the topic
    VOICE = "voice"  # may speak when the room is moderated

    @property
    def mark(self) -> str:
        """The character shown before a nickname with this role (IRC's prefix)."""
        return _MARKS[self]


_MARKS = {Role.OPERATOR: "@", Role.VOICE: "+"}
_RANK = {role: rank for rank, role in enumerate(Role)}

Roles = tuple[Role, ...]  # a member's roles in one room, highest first, each once
NO_ROLES: Roles = ()


def ranked(roles: Iterable[Role]) -> Roles:
    """Return ``roles`` as a room keeps them: each once, highest first."""
    return tuple(sorted(set(roles), key=_RANK.__getitem__))


def marks(roles: Roles, *, every: bool = False) -> str:
    """Return the marks before a nickname: the highest role's (IRC's rule), or every one's.

    IRC clients that asked for ``multi-prefix`` see every mark (``@+alice``); others, and the
    plain protocol, see the highest only (``@alice``).
    """
    if not roles:
        return ""
    if every:
        return "".join(role.mark for role in roles)
    return roles[0].mark
