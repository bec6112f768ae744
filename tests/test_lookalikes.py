"""Look-alike nicknames: skeletons, mixed scripts, and the hub refusing impersonators."""

from __future__ import annotations

import pytest
from confusable_homoglyphs import categories

from tests.names import nick
from tests.test_hub import new_member, received, registered, turn
from trio_chat.core.events import LeaveReason, Registered, Rename, Renamed
from trio_chat.core.hub import Hub
from trio_chat.core.lookalikes import mixed_scripts, script, skeleton
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.requests import Act, Disconnect, Register
from trio_chat.core.text import Nickname, NicknamePolicy


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("paypal", "раураl"),  # Cyrillic р, а, у
        ("ape", "аре"),  # all Cyrillic: not mixed, but a look-alike
        ("alice", "aIice"),  # capital I for l
        ("Alice", "alice"),  # case never matters
        ("paypal", "paypal\u034f"),  # a combining grapheme joiner draws nothing
        ("victim", "vic\ufe00tim\U000e01ef"),  # nor do variation selectors
        ("admin", "ᴀᴅᴍɪɴ"),  # small capitals
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
    refusal = NicknamePolicy().refusal(nick("раураl"))
    assert refusal == Refusal(Reason.NICK_MIXED_SCRIPTS, "раураl", "CYRILLIC, LATIN")


def test_the_hub_refuses_a_look_alike_of_someone_online_until_they_leave() -> None:
    hub = Hub()
    (alice,) = registered(hub, "alice")
    impostor = new_member()
    turn(hub, Register(impostor, nick("aIice")))
    assert received(impostor) == [Refusal(Reason.NICK_LOOKALIKE, "aIice", "alice")]
    turn(hub, Disconnect(alice, LeaveReason.QUIT))
    turn(hub, Register(impostor, nick("aIice")))
    assert received(impostor)[0] == Registered("aIice", 1, 1)


def test_a_rename_to_a_look_alike_is_refused_but_not_to_ones_own() -> None:
    hub = Hub()
    ape, bob = registered(hub, "ape", "bob")
    turn(hub, Act(bob, Rename(nick("аре"))))
    assert received(bob) == [Refusal(Reason.NICK_LOOKALIKE, "аре", "ape")]
    turn(hub, Act(ape, Rename(nick("APE"))))  # one's own look-alike is fine
    assert received(ape)[-1] == Renamed("ape", "APE")


def test_a_name_saved_with_an_invisible_character_still_looks_like_its_visible_twin() -> None:
    # Names are refused with invisible characters now, but a Nickname made without parse (an
    # account saved by an older version) must still collide with the name it looks like.
    hub = Hub()
    registered(hub, "victim")
    impostor = new_member()
    turn(hub, Register(impostor, Nickname("victim\u034f", "victim\u034f")))
    assert received(impostor) == [Refusal(Reason.NICK_LOOKALIKE, "victim\u034f", "victim")]


def test_scripts_are_read_as_confusable_homoglyphs_reads_them() -> None:
    # Every range's first and last code point, their neighbours, and one in 97 of the rest.
    table = categories.categories_data["code_points_ranges"]
    codes = {code for first, last, *_ in table for code in (first - 1, first, last, last + 1)}
    codes |= set(range(0, 0x110000, 97))
    chars = [chr(code) for code in sorted(codes) if 0 <= code < 0x110000]
    assert [script(char) for char in chars] == [categories.alias(char) for char in chars]
    assert (script("p"), script("р"), script("\U000e01f0")) == ("LATIN", "CYRILLIC", "Unknown")
