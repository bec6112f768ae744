"""IRC message syntax against the ircdocs parser test data, and a hypothesis round trip."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from parser_tests import data  # the irc-parser-tests package: ircdocs' test vectors

from trio_chat.frontends.ircmessage import (
    MAX_IRC_LINE_BYTES,
    Malformed,
    Message,
    parse,
    serialize,
    split_tags,
    split_text,
)


def expected(atoms: dict[str, Any]) -> Message:
    return Message(
        atoms["verb"],
        tuple(atoms.get("params", [])),
        atoms.get("source"),
        {key: value or "" for key, value in (atoms.get("tags") or {}).items()},
    )


@pytest.mark.parametrize("case", data.msg_split["tests"], ids=lambda case: case["input"][:40])
def test_msg_split(case: dict[str, Any]) -> None:
    assert parse(case["input"]) == expected(case["atoms"])


@pytest.mark.parametrize("case", data.msg_join["tests"], ids=lambda case: case.get("desc", "")[:40])
def test_msg_join(case: dict[str, Any]) -> None:
    assert serialize(expected(case["atoms"])) in case["matches"]


@pytest.mark.parametrize("case", data.userhost_split["tests"], ids=lambda case: case["source"])
def test_userhost_split_sources_survive_a_round_trip(case: dict[str, Any]) -> None:
    # Masks are opaque to the parser: whatever a source holds, it comes back unchanged.
    message = parse(f":{case['source']} PRIVMSG #chan :hi")
    assert isinstance(message, Message)
    assert message.source == case["source"]
    assert parse(serialize(message)) == message


@pytest.mark.parametrize(
    ("line", "malformed"),
    [
        ("", Malformed.EMPTY),
        ("   ", Malformed.EMPTY),
        ("@a=b", Malformed.NO_COMMAND),
        ("@a=b ", Malformed.NO_COMMAND),
        (":source", Malformed.NO_COMMAND),
        ("@a=b :source  ", Malformed.NO_COMMAND),
    ],
)
def test_lines_without_a_command_are_malformed(line: str, malformed: Malformed) -> None:
    assert parse(line) is malformed


def test_nul_and_invalid_text_are_parsed_as_given() -> None:
    # What the characters mean is the front end's business: the syntax keeps them.
    assert parse("PRIVMSG #a :\x00bad\ufffd") == Message("PRIVMSG", ("#a", "\x00bad\ufffd"))


def test_split_tags() -> None:
    assert split_tags(b"@a=b :src CMD") == (b"@a=b ", b":src CMD")
    assert split_tags(b":src CMD") == (b"", b":src CMD")
    assert split_tags(b"@only-tags") == (b"@only-tags", b"")


@given(st.text(min_size=0, max_size=3000), st.integers(8, 500))
def test_split_text_never_drops_and_never_cuts_a_character(text: str, room: int) -> None:
    pieces = split_text(text, room)
    assert "".join(pieces) == text
    assert all(len(piece.encode()) <= room for piece in pieces)
    assert all(pieces) or pieces == [""]


def test_split_text_prefers_word_boundaries() -> None:
    text = "word " * 200
    pieces = split_text(text, MAX_IRC_LINE_BYTES - 100)
    assert len(pieces) > 1
    assert all(piece.endswith(" ") for piece in pieces[:-1])


# Parameters as a client or server may send them: no space, no ":" first, not empty; but the
# last one may be anything on one line.
middles = st.text(
    st.characters(exclude_characters=" \r\n\x00", exclude_categories=["Cs"]), min_size=1
).filter(lambda param: not param.startswith(":"))
trailings = st.text(st.characters(exclude_characters="\r\n\x00", exclude_categories=["Cs"]))
commands = st.from_regex(r"[A-Za-z]+|[0-9]{3}", fullmatch=True)
tag_keys = st.from_regex(r"\+?[a-z][a-z0-9-]{0,10}", fullmatch=True)
tag_values = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
sources = st.none() | middles


@given(
    commands,
    st.lists(middles, max_size=5),
    st.none() | trailings,
    sources,
    st.dictionaries(tag_keys, tag_values, max_size=4),
)
def test_serialize_then_parse_is_the_identity(
    command: str,
    params: list[str],
    trailing: str | None,
    source: str | None,
    tags: dict[str, str],
) -> None:
    message = Message(command, (*params, *(() if trailing is None else (trailing,))), source, tags)
    line = serialize(message)
    assert "\r" not in line
    assert "\n" not in line
    assert parse(line) == message


@pytest.mark.parametrize("echoed", ["a b :c d", ":c", ""])
def test_a_middle_parameter_that_cannot_be_one_becomes_a_star(echoed: str) -> None:
    # WHO :a b :c d was answered "315 zed a b :c d :End of WHO list": a parser saw the
    # client's words as parameters of their own, and "c d" as the text.
    line = serialize(Message("315", ("zed", echoed, "End of WHO list"), "trio-chat"))
    assert line == ":trio-chat 315 zed * :End of WHO list"
    assert parse(line) == Message("315", ("zed", "*", "End of WHO list"), "trio-chat")
