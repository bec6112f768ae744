"""Who may do what in a room, pure: admission, silence, and a change applied to the modes."""

from __future__ import annotations

import pytest

from tests.names import nick, room
from trio_chat.core.masks import Identity
from trio_chat.core.members import Member
from trio_chat.core.moderation import (
    admission,
    apply,
    banned,
    identity,
    is_founder,
    is_operator,
    silenced,
)
from trio_chat.core.modes import MAX_KEY_CHARS, MAX_LIST_ENTRIES, ListEntry, Mode, ModeChange
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.roles import Role, Roles
from trio_chat.core.rooms import Room
from trio_chat.shell.backplane import ELSEWHERE

ROOM = "#rust"


def member(name: str, account: str | None = None, host: str = "h.ip", user: str = "") -> Member:
    one = Member(ELSEWHERE, user=user, host=host)
    one.nick = nick(name)
    one.account = None if account is None else nick(account)
    return one


def a_room(*members: tuple[Member, Roles]) -> Room[Member]:
    made = Room[Member](room(ROOM))
    for one, roles in members:
        assert one.nick is not None
        made.add(one, one.nick, roles)
    return made


def listed(made: Room[Member], mode: Mode, *masks: str) -> None:
    made.modes.lists[mode].extend(ListEntry(mask, "op", 0.0) for mask in masks)


def test_a_member_is_matched_by_its_nickname_user_cloak_and_account() -> None:
    alice = member("Alice", account="alice", host="k5x2q9m4tbhe.ip", user="~a")
    assert identity(alice) == Identity("Alice", "~a", "k5x2q9m4tbhe.ip", "alice")
    assert identity(member("bob")) == Identity("bob", "", "h.ip", "")


def test_operators_and_founders() -> None:
    alice, bob, carol = member("alice", "alice"), member("bob"), member("carol", "carol")
    made = a_room((alice, (Role.OPERATOR, Role.VOICE)), (bob, (Role.VOICE,)))
    assert is_operator(made, alice)
    assert not is_operator(made, bob)
    assert not is_operator(made, carol)  # not even in it
    assert not is_founder(made, alice)  # not registered: nobody founded it
    made.founder = "alice"
    assert is_founder(made, alice)
    assert not is_founder(made, carol)
    assert not is_founder(made, member("alice"))  # the name, not logged in: not the founder


def test_an_exception_overrides_a_ban() -> None:
    made = a_room()
    bob = identity(member("bob", host="bad.ip"))
    assert not banned(made, bob)
    listed(made, Mode.BAN, "*!*@bad.ip")
    assert banned(made, bob)
    listed(made, Mode.EXCEPTION, "a:bob")  # not logged in: no exception
    assert banned(made, bob)
    listed(made, Mode.EXCEPTION, "BOB!*@*")
    assert not banned(made, bob)
    assert banned(made, identity(member("eve", host="bad.ip")))


def test_a_mute_is_no_ban() -> None:
    made = a_room()
    listed(made, Mode.BAN, "m:bob!*@*")
    assert not banned(made, identity(member("bob")))
    assert admission(made, member("bob"), "") is None


def refused(reason: Reason, detail: str = "") -> Refusal:
    return Refusal(reason, ROOM, detail)


def test_each_mode_that_keeps_members_out() -> None:
    made = a_room((member("someone"), ()))
    bob = member("bob")
    assert admission(made, bob, "") is None
    made.modes.flags.add(Mode.REGISTERED_ONLY)
    assert admission(made, bob, "") == refused(Reason.ACCOUNT_NEEDED)
    assert admission(made, member("bob", "bob"), "") is None
    made.modes.limit = 1
    assert admission(made, bob, "") == refused(Reason.ROOM_FULL, "1")
    made.modes.key = "sesame"
    assert admission(made, bob, "") == refused(Reason.WRONG_KEY)
    assert admission(made, bob, "SESAME") == refused(Reason.WRONG_KEY)  # keys are exact
    made.modes.flags.add(Mode.INVITE_ONLY)
    assert admission(made, bob, "sesame") == refused(Reason.INVITE_ONLY)
    listed(made, Mode.BAN, "bob!*@*")
    assert admission(made, bob, "sesame") == refused(Reason.BANNED_FROM_ROOM)


def test_the_right_key_and_room_to_spare_let_a_member_in() -> None:
    made = a_room((member("someone"), ()))
    made.modes.key, made.modes.limit = "sesame", 2
    assert admission(made, member("bob"), "sesame") is None
    assert admission(made, member("bob"), "") == refused(Reason.WRONG_KEY)


@pytest.mark.parametrize("how", ["invited", "invitation list"])
def test_an_invitation_passes_invite_only_a_key_and_a_limit_never_a_ban(how: str) -> None:
    made = a_room((member("someone"), ()))
    made.modes.flags.add(Mode.INVITE_ONLY)
    made.modes.key, made.modes.limit = "sesame", 1
    bob = member("bob", host="bob.ip")
    assert admission(made, bob, "") == refused(Reason.INVITE_ONLY)
    if how == "invited":
        bob.invited |= {made.name.key}
    else:
        listed(made, Mode.INVITATION, "*!*@bob.ip")
    assert admission(made, bob, "") is None
    listed(made, Mode.BAN, "bob!*@*")
    assert admission(made, bob, "") == refused(Reason.BANNED_FROM_ROOM)


def test_the_founder_is_always_admitted() -> None:
    made = a_room((member("someone"), ()))
    made.founder = "alice"
    made.modes.flags |= {Mode.INVITE_ONLY, Mode.REGISTERED_ONLY}
    made.modes.key, made.modes.limit = "sesame", 1
    listed(made, Mode.BAN, "*", "a:alice")
    assert admission(made, member("alice", "alice"), "") is None
    assert admission(made, member("alice"), "") == refused(Reason.BANNED_FROM_ROOM)  # by name


def test_who_may_speak() -> None:
    made = a_room()
    bob = member("bob", host="bob.ip")
    assert silenced(made, bob, ()) is None
    made.modes.flags.add(Mode.REGISTERED_SPEAK)
    assert silenced(made, bob, ()) == refused(Reason.ACCOUNT_NEEDED_TO_SPEAK)
    assert silenced(made, member("bob", "bob"), ()) is None
    listed(made, Mode.BAN, "m:*!*@bob.ip")
    assert silenced(made, bob, ()) == refused(Reason.MUTED)
    made.modes.flags.add(Mode.MODERATED)
    assert silenced(made, bob, ()) == refused(Reason.MODERATED)
    listed(made, Mode.BAN, "bob!*@*")  # banned while in the room
    assert silenced(made, bob, ()) == refused(Reason.BANNED_CANNOT_SPEAK)
    # Any role speaks through all of it.
    for roles in ((Role.VOICE,), (Role.OPERATOR,), (Role.OPERATOR, Role.VOICE)):
        assert silenced(made, bob, roles) is None


def test_a_mute_silences_only_whom_it_names() -> None:
    made = a_room()
    listed(made, Mode.BAN, "m:a:bob")
    assert silenced(made, member("bob", "bob"), ()) == refused(Reason.MUTED)
    assert silenced(made, member("bob"), ()) is None  # the name alone: not the account
    assert silenced(made, member("carol", "carol"), ()) is None


# --- applying a change ---------------------------------------------------------------------


def test_a_flag_is_applied_once() -> None:
    made = a_room()
    assert apply(made, ModeChange(Mode.MODERATED, True), "op", 1.0) == ModeChange(
        Mode.MODERATED, True
    )
    assert Mode.MODERATED in made.modes.flags
    assert apply(made, ModeChange(Mode.MODERATED, True), "op", 1.0) is None  # no news
    assert apply(made, ModeChange(Mode.TOPIC_LOCK, False), "op", 1.0) == ModeChange(
        Mode.TOPIC_LOCK, False
    )
    assert apply(made, ModeChange(Mode.TOPIC_LOCK, False), "op", 1.0) is None
    assert made.modes.flags == {Mode.MODERATED, Mode.NO_EXTERNAL}


@pytest.mark.parametrize("key", ["", "a b", "a,b", "a:b", "x" * (MAX_KEY_CHARS + 1)], ids=repr)
def test_a_key_that_could_not_be_typed_back_is_refused(key: str) -> None:
    made = a_room()
    refusal = apply(made, ModeChange(Mode.KEY, True, key), "op", 1.0)
    assert refusal == Refusal(Reason.BAD_MODE_ARGUMENT, made.name.display, "k")
    assert made.modes.key == ""


def test_a_key_is_set_replaced_and_removed_without_being_shown_on_removal() -> None:
    made = a_room()
    longest = "x" * MAX_KEY_CHARS
    assert apply(made, ModeChange(Mode.KEY, True, longest), "op", 1.0) == ModeChange(
        Mode.KEY, True, longest
    )
    assert apply(made, ModeChange(Mode.KEY, True, "other"), "op", 1.0) == ModeChange(
        Mode.KEY, True, "other"
    )
    assert made.modes.key == "other"
    assert apply(made, ModeChange(Mode.KEY, False, "wrong"), "op", 1.0) == ModeChange(
        Mode.KEY, False, "*"
    )
    assert made.modes.key == ""
    assert apply(made, ModeChange(Mode.KEY, False), "op", 1.0) is None


@pytest.mark.parametrize("limit", ["", "0", "-1", "x", "1.5", "1000000", " 5"])
def test_a_limit_that_is_no_count_of_members_is_refused(limit: str) -> None:
    made = a_room()
    refusal = apply(made, ModeChange(Mode.LIMIT, True, limit), "op", 1.0)
    assert refusal == Refusal(Reason.BAD_MODE_ARGUMENT, made.name.display, "l")
    assert made.modes.limit == 0


def test_a_limit_is_set_as_a_number_and_removed() -> None:
    made = a_room()
    assert apply(made, ModeChange(Mode.LIMIT, True, "007"), "op", 1.0) == ModeChange(
        Mode.LIMIT, True, "7"
    )
    assert apply(made, ModeChange(Mode.LIMIT, True, "999999"), "op", 1.0) == ModeChange(
        Mode.LIMIT, True, "999999"
    )
    assert made.modes.limit == 999_999
    assert apply(made, ModeChange(Mode.LIMIT, False), "op", 1.0) == ModeChange(Mode.LIMIT, False)
    assert made.modes.limit == 0
    assert apply(made, ModeChange(Mode.LIMIT, False), "op", 1.0) is None


def test_a_ban_is_kept_normalized_with_who_set_it_and_when() -> None:
    made = a_room()
    assert apply(made, ModeChange(Mode.BAN, True, "bob"), "alice", 5.0) == ModeChange(
        Mode.BAN, True, "bob!*@*"
    )
    assert made.modes.lists[Mode.BAN] == [ListEntry("bob!*@*", "alice", 5.0)]
    assert apply(made, ModeChange(Mode.BAN, True, "BOB!*@*"), "carol", 6.0) is None  # the same
    # Removed by any spelling: the news shows the mask as it was kept.
    assert apply(made, ModeChange(Mode.BAN, False, "Bob"), "carol", 7.0) == ModeChange(
        Mode.BAN, False, "bob!*@*"
    )
    assert made.modes.lists[Mode.BAN] == []
    assert apply(made, ModeChange(Mode.BAN, False, "bob"), "carol", 7.0) is None


def test_a_mute_goes_on_the_ban_list_only() -> None:
    made = a_room()
    assert apply(made, ModeChange(Mode.BAN, True, "m:bob"), "op", 1.0) == ModeChange(
        Mode.BAN, True, "m:bob!*@*"
    )
    for mode in (Mode.EXCEPTION, Mode.INVITATION):
        refusal = apply(made, ModeChange(mode, True, "m:bob"), "op", 1.0)
        assert refusal == Refusal(Reason.BAD_MODE_ARGUMENT, made.name.display, mode.value)
        assert made.modes.lists[mode] == []


@pytest.mark.parametrize("mask", ["a b", "a:", "m:m:x"])
def test_what_is_no_mask_is_refused(mask: str) -> None:
    made = a_room()
    refusal = apply(made, ModeChange(Mode.BAN, True, mask), "op", 1.0)
    assert refusal == Refusal(Reason.BAD_MODE_ARGUMENT, made.name.display, "b")


@pytest.mark.parametrize("mode", [Mode.BAN, Mode.EXCEPTION, Mode.INVITATION])
def test_a_list_is_full_at_its_limit_and_takes_again_once_one_is_removed(mode: Mode) -> None:
    made = a_room()
    for n in range(MAX_LIST_ENTRIES):
        assert apply(made, ModeChange(mode, True, f"n{n}"), "op", 1.0) is not None
    full = Refusal(Reason.LIST_FULL, ROOM, str(MAX_LIST_ENTRIES))
    assert apply(made, ModeChange(mode, True, "one-more"), "op", 1.0) == full
    assert apply(made, ModeChange(mode, True, "n0"), "op", 1.0) is None  # already there: no news
    assert len(made.modes.lists[mode]) == MAX_LIST_ENTRIES
    assert apply(made, ModeChange(mode, False, "n0"), "op", 1.0) is not None
    assert apply(made, ModeChange(mode, True, "one-more"), "op", 1.0) == ModeChange(
        mode, True, "one-more!*@*"
    )


def test_roles_are_not_applied_here() -> None:
    with pytest.raises(AssertionError, match="roles"):
        apply(a_room(), ModeChange(Mode.OPERATOR, True, "bob"), "op", 1.0)
