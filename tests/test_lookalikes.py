"""Look-alike nicknames: skeletons, mixed scripts, and the room refusing impersonators."""

from __future__ import annotations

import pytest

from tests.test_room import joined, new_member, received, turn
from trio_chat.core.events import Error, LeaveReason, Rename, Welcome
from trio_chat.core.lookalikes import mixed_scripts, skeleton
from trio_chat.core.room import Act, Join, Leave, Room
from trio_chat.core.text import Nickname, NicknamePolicy


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("paypal", "раураl"),  # Cyrillic р, а, у
        ("ape", "аре"),  # all Cyrillic: not mixed, but a look-alike
        ("alice", "aIice"),  # capital I for l
        ("Alice", "alice"),  # case never matters
    ],
)
def test_look_alikes_share_a_skeleton(first: str, second: str) -> None:
    assert skeleton(first) == skeleton(second)


@pytest.mark.parametrize(("first", "second"), [("alice", "alicia"), ("bob", "bobby")])
def test_different_names_have_different_skeletons(first: str, second: str) -> None:
    assert skeleton(first) != skeleton(second)


@pytest.mark.parametrize(
    ("name", "scripts"),
    [
        ("раураl", {"CYRILLIC", "LATIN"}),
        ("Δx", {"GREEK", "LATIN"}),
        ("paypal", set()),
        ("user_1-a", set()),
        ("さくらサクラ桜", set()),  # Japanese mixes three scripts, as it should
        ("한국어漢字", set()),  # Korean with Han
        ("Zoë", set()),
    ],
)
def test_mixed_scripts(name: str, scripts: set[str]) -> None:
    assert mixed_scripts(name) == scripts


def test_the_policy_refuses_mixed_scripts() -> None:
    refusal = NicknamePolicy().refusal(Nickname.parse("раураl"))
    assert refusal == "nicknames cannot mix writing systems (CYRILLIC, LATIN)"


def test_the_room_refuses_a_look_alike_of_someone_online_until_they_leave() -> None:
    room = Room()
    (alice,) = joined(room, "alice")
    impostor = new_member()
    turn(room, Join(impostor, Nickname.parse("aIice")))
    assert received(impostor) == [
        Error("the nickname aIice looks too much like alice, who is online")
    ]
    turn(room, Leave(alice, LeaveReason.QUIT))
    turn(room, Join(impostor, Nickname.parse("aIice")))
    assert received(impostor) == [Welcome("aIice", ("aIice",))]


def test_a_rename_to_a_look_alike_is_refused_but_not_to_ones_own() -> None:
    room = Room()
    ape, bob = joined(room, "ape", "bob")
    turn(room, Act(bob, Rename(Nickname.parse("аре"))))
    assert received(bob) == [Error("the nickname аре looks too much like ape, who is online")]
    turn(room, Act(ape, Rename(Nickname.parse("APE"))))  # one's own look-alike is fine
    assert received(ape)[-1].new == "APE"  # type: ignore[union-attr]
