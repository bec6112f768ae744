"""Roles in a room: ranked highest first, each once, and shown with IRC's marks."""

from __future__ import annotations

from trio_chat.core.roles import Role, marks, ranked


def test_roles_are_ranked_highest_first_and_marked_as_irc_does() -> None:
    both = ranked([Role.VOICE, Role.OPERATOR, Role.VOICE])
    assert both == (Role.OPERATOR, Role.VOICE)
    assert marks(both) == "@"
    assert marks(both, every=True) == "@+"
    assert marks(ranked([Role.VOICE])) == "+"
    assert marks(()) == ""
