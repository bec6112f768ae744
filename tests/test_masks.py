"""Masks, pure: what a typed mask means, and whom it names (folded as nicknames are)."""

from __future__ import annotations

import pytest

from trio_chat.core.masks import MAX_MASK_CHARS, Identity, matches, muted, normalized, same

ALICE = Identity("Alice", "~alice", "k5x2q9m4tbhe.ip", account="alice")
GUEST = Identity("guest", "", "b7vb6yq3mw2e.ip")  # no user name given, not logged in


def test_a_members_mask_uses_its_nickname_when_it_gave_no_user_name() -> None:
    assert ALICE.mask == "Alice!~alice@k5x2q9m4tbhe.ip"
    assert GUEST.mask == "guest!guest@b7vb6yq3mw2e.ip"


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("bob", "bob!*@*"),  # a nickname
        ("  bob ", "bob!*@*"),
        ("bob!~b", "bob!~b@*"),
        ("~b@host.ip", "*!~b@host.ip"),  # user@host
        ("*!*@host.ip", "*!*@host.ip"),  # whole: as typed
        ("Bob!*@*", "Bob!*@*"),  # the spelling is kept; matching folds it
        ("a:alice", "a:alice"),  # an account
        ("m:bob", "m:bob!*@*"),  # a mute of a mask, normalized in turn
        ("m:*!*@host.ip", "m:*!*@host.ip"),
        ("m:a:alice", "m:a:alice"),  # a mute of an account
    ],
)
def test_what_a_typed_mask_means(typed: str, kept: str) -> None:
    assert normalized(typed) == kept


@pytest.mark.parametrize(
    "typed",
    ["", "   ", "a b", "a,b", "a\x00", "a\rb", "a\nb", "a:", "m:", "m:m:bob", "x" * 201],
)
def test_what_is_no_mask(typed: str) -> None:
    assert normalized(typed) is None


def test_the_longest_mask() -> None:
    assert normalized("x" * (MAX_MASK_CHARS - 4)) == "x" * (MAX_MASK_CHARS - 4) + "!*@*"
    assert normalized("*!*@" + "x" * (MAX_MASK_CHARS - 4)) is not None


@pytest.mark.parametrize(
    ("mask", "named"),
    [
        ("alice!*@*", True),  # folded as nicknames are
        ("ALICE!*@*", True),
        ("ａｌｉｃｅ!*@*", True),  # noqa: RUF001 (fullwidth on purpose)
        ("al*!*@*", True),
        ("al?ce!*@*", True),
        ("alic!*@*", False),  # a whole nickname, not a prefix
        ("*!~alice@*", True),
        ("*!*@k5x2q9m4tbhe.ip", True),  # by cloak: whatever it calls itself
        ("*!*@*.ip", True),
        ("*!*@other.ip", False),
        ("bob!*@*", False),
        ("*", True),
        ("a:alice", True),  # by account
        ("a:ALICE", True),
        ("a:al*", True),
        ("a:bob", False),
        ("m:alice!*@*", False),  # a mute bans nobody from the room
    ],
)
def test_whom_a_mask_names(mask: str, named: bool) -> None:
    assert matches(mask, ALICE) is named


def test_a_nickname_folds_as_nicknames_do() -> None:
    strasse = Identity("Straße", "", "h.ip")
    assert matches("STRASSE!*@*", strasse)
    assert matches(normalized("strasse") or "", strasse)
    assert same("Straße!*@*", "STRASSE!*@*")


def test_an_account_mask_never_names_a_member_who_is_not_logged_in() -> None:
    assert not matches("a:*", GUEST)
    assert matches("a:*", ALICE)
    assert matches("*", GUEST)  # a mask that names everyone does


def test_a_mute_names_who_its_mask_names() -> None:
    assert muted("m:alice!*@*", ALICE)
    assert muted("m:*!*@k5x2q9m4tbhe.ip", ALICE)
    assert muted("m:a:alice", ALICE)
    assert not muted("m:a:alice", GUEST)
    assert not muted("m:bob!*@*", ALICE)
    assert not muted("alice!*@*", ALICE)  # a ban is no mute


def test_two_spellings_of_a_mask_are_one_entry() -> None:
    assert same("Bob!*@*", "bob!*@*")
    assert same("a:Alice", "a:alice")
    assert not same("bob!*@*", "bob!~b@*")
