"""A room's modes, pure: the letters, how IRC writes a change, and what a new room starts with."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trio_chat.core.modes import (
    FLAGS,
    LISTS,
    NEW_ROOM_FLAGS,
    ROLE_MODES,
    Mode,
    ModeChange,
    RoomModes,
    mode_of,
    parse_changes,
    words,
)
from trio_chat.core.roles import Role


def test_letters_are_irc_and_case_sensitive() -> None:
    assert mode_of("i") is Mode.INVITE_ONLY
    assert mode_of("I") is Mode.INVITATION  # not the same mode
    assert mode_of("M") is Mode.REGISTERED_SPEAK
    assert mode_of("m") is Mode.MODERATED
    assert mode_of("x") is None
    assert mode_of("") is None
    assert mode_of("+") is None


def test_what_each_kind_of_mode_takes() -> None:
    assert ROLE_MODES == {Role.OPERATOR: Mode.OPERATOR, Role.VOICE: Mode.VOICE}
    assert Mode.OPERATOR.role is Role.OPERATOR
    assert Mode.VOICE.role is Role.VOICE
    assert Mode.BAN.role is None
    assert [mode for mode in Mode if mode.is_list] == [Mode.BAN, Mode.EXCEPTION, Mode.INVITATION]
    for flag in FLAGS:  # a flag takes nothing either way
        assert not flag.takes_argument_when_set
        assert not flag.takes_argument_when_unset
    for mode in (Mode.OPERATOR, Mode.VOICE, *LISTS):  # a nickname or a mask, both ways
        assert mode.takes_argument_when_set
        assert mode.takes_argument_when_unset
    for mode in (Mode.KEY, Mode.LIMIT):  # a value when set, nothing to unset
        assert mode.takes_argument_when_set
        assert not mode.takes_argument_when_unset


def test_a_new_room_is_topic_locked_and_closed_to_outsiders() -> None:
    modes = RoomModes()
    assert modes.flags == set(NEW_ROOM_FLAGS) == {Mode.TOPIC_LOCK, Mode.NO_EXTERNAL}
    assert modes.letters() == "tn"
    assert (modes.key, modes.limit) == ("", 0)
    assert modes.lists == {Mode.BAN: [], Mode.EXCEPTION: [], Mode.INVITATION: []}
    assert RoomModes().lists[Mode.BAN] is not modes.lists[Mode.BAN]  # each room its own


def test_the_letters_shown_are_in_one_order_whatever_the_order_set() -> None:
    modes = RoomModes(flags={Mode.SECRET, Mode.MODERATED, Mode.REGISTERED_ONLY}, key="k", limit=5)
    assert modes.letters() == "msRkl"
    modes.flags = {Mode.REGISTERED_SPEAK, Mode.INVITE_ONLY, Mode.TOPIC_LOCK, Mode.NO_EXTERNAL}
    modes.key = ""
    assert modes.letters() == "tniMl"


def test_changes_are_written_as_irc_writes_them() -> None:
    changes = (
        ModeChange(Mode.MODERATED, on=True),
        ModeChange(Mode.OPERATOR, on=True, argument="alice"),
        ModeChange(Mode.VOICE, on=False, argument="bob"),
        ModeChange(Mode.LIMIT, on=False),
        ModeChange(Mode.BAN, on=True, argument="*!*@x.ip"),
    )
    assert words(changes) == ("+mo-vl+b", "alice", "bob", "*!*@x.ip")
    assert words(()) == ("",)


@pytest.mark.parametrize(
    ("typed", "changes"),
    [
        ((), ()),
        (("+m",), (ModeChange(Mode.MODERATED, True),)),
        (("-m+s",), (ModeChange(Mode.MODERATED, False), ModeChange(Mode.SECRET, True))),
        (("m",), (ModeChange(Mode.MODERATED, True),)),  # no sign: setting
        (
            ("+ov-k", "alice", "bob", "key"),
            (
                ModeChange(Mode.OPERATOR, True, "alice"),
                ModeChange(Mode.VOICE, True, "bob"),
                ModeChange(Mode.KEY, False, "key"),
            ),
        ),
        (("-k",), (ModeChange(Mode.KEY, False),)),  # no key needed to remove it
        (("+k",), ()),  # a key short of its value is dropped, as IRC servers do
        (("+o",), ()),
        (("+l",), ()),
        (("-l", "5"), (ModeChange(Mode.LIMIT, False),)),  # "-l" takes no argument...
        (("-l+o", "bob"), (ModeChange(Mode.LIMIT, False), ModeChange(Mode.OPERATOR, True, "bob"))),
        (("+l", "05"), (ModeChange(Mode.LIMIT, True, "05"),)),  # the hub judges the value
        (("+b",), (ModeChange(Mode.BAN, True),)),  # a list alone: a query of it
        (("+eI",), (ModeChange(Mode.EXCEPTION, True), ModeChange(Mode.INVITATION, True))),
        (("-b",), (ModeChange(Mode.BAN, False),)),
        (
            ("+bb", "a!*@*", "b!*@*"),
            (ModeChange(Mode.BAN, True, "a!*@*"), ModeChange(Mode.BAN, True, "b!*@*")),
        ),
        (("+i", "extra"), (ModeChange(Mode.INVITE_ONLY, True),)),  # spare arguments: ignored
    ],
)
def test_reading_changes(typed: tuple[str, ...], changes: tuple[ModeChange, ...]) -> None:
    assert parse_changes(typed) == changes


def test_an_unknown_letter_is_returned_to_be_refused() -> None:
    assert parse_changes(("+mx", "ignored")) == "x"
    assert parse_changes(("+o-Z", "alice")) == "Z"


# Changes as the hub applies them: each with its argument if it takes one (-k shows "*").
arguments = st.text("abcdefghijklmnopqrstuvwxyz0123456789!*@.:", min_size=1, max_size=8)
applied = st.one_of(
    st.builds(ModeChange, st.sampled_from(sorted(FLAGS, key=str)), st.booleans()),
    st.builds(
        ModeChange, st.sampled_from([Mode.OPERATOR, Mode.VOICE, *LISTS]), st.booleans(), arguments
    ),
    st.builds(ModeChange, st.just(Mode.KEY), st.just(True), arguments),
    st.just(ModeChange(Mode.KEY, False, "*")),
    st.builds(ModeChange, st.just(Mode.LIMIT), st.just(True), st.integers(1, 999).map(str)),
    st.just(ModeChange(Mode.LIMIT, False)),
)


@given(st.lists(applied, max_size=10).map(tuple))
def test_applied_changes_read_back_as_they_were_written(changes: tuple[ModeChange, ...]) -> None:
    # What one front end writes (IRC's MODE line), another reads back the same.
    assert parse_changes(words(changes)) == changes
