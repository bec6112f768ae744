"""Hypothesis on the pure protocol: framing, decoding, sanitizing, parsing never go wrong."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from trio_chat.core.events import Emote, Said, Say
from trio_chat.core.framing import LineFramer, LineTooLong
from trio_chat.core.refusals import Refusal, explain
from trio_chat.core.text import (
    BIDI_CONTROLS,
    MAX_NICKNAME_CHARS,
    MAX_ROOM_NAME_CHARS,
    Nickname,
    RoomName,
    decode,
    sanitize,
)
from trio_chat.frontends.line import parse_line, render

limits = st.integers(1, 64)
# Text a person could type on one line: any character but line breaks (and the surrogates,
# which cannot be encoded at all).
line_texts = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"), max_size=40
)


def frame(chunks: list[bytes], limit: int) -> list[bytes | LineTooLong]:
    framer = LineFramer(limit)
    lines: list[bytes | LineTooLong] = []
    for chunk in chunks:
        framer.feed(chunk)
        lines.extend(iter(framer.next_line, None))
    framer.feed_eof()
    lines.extend(iter(framer.next_line, None))
    return lines


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    return [data[start:end] for start, end in zip([0, *points], [*points, len(data)], strict=True)]


def has_control_characters(text: str) -> bool:
    """Terminal controls (but tab), or bidi controls that could disguise the text."""
    return any(
        (unicodedata.category(char) == "Cc" and char != "\t") or ord(char) in BIDI_CONTROLS
        for char in text
    )


@given(st.binary(max_size=300), st.lists(st.integers(0, 300)), limits)
def test_framing_does_not_depend_on_how_bytes_are_chunked(
    data: bytes, cuts: list[int], limit: int
) -> None:
    whole = frame([data], limit)
    assert frame(split(data, cuts), limit) == whole
    assert frame([bytes([byte]) for byte in data], limit) == whole
    for line in whole:
        assert isinstance(line, LineTooLong) or (len(line) <= limit and b"\n" not in line)


@given(
    st.lists(st.tuples(line_texts, st.sampled_from(["\n", "\r\n"]))),
    st.lists(st.integers(0, 2000)),
    limits,
)
def test_text_lines_survive_any_chunking_including_inside_characters(
    lines: list[tuple[str, str]], cuts: list[int], limit: int
) -> None:
    # Cuts fall anywhere: inside a multi-byte UTF-8 sequence, between "\r" and "\n"...
    data = "".join(text + ending for text, ending in lines).encode()
    framed = frame(split(data, cuts), limit)
    expected = [
        sanitize(text) if len(text.encode()) <= limit else LineTooLong(limit) for text, _ in lines
    ]
    assert [decode(line) if isinstance(line, bytes) else line for line in framed] == expected


@given(st.binary())
def test_decoding_never_fails_and_never_lets_a_control_character_through(raw: bytes) -> None:
    assert not has_control_characters(decode(raw))


@given(st.binary(max_size=200))
def test_any_line_parses_and_what_others_see_is_one_clean_line(raw: bytes) -> None:
    command = parse_line(raw)
    if isinstance(command, Say | Emote):
        assert not has_control_characters(command.text)
        assert render(Said("#lobby", "alice", command.text)).count("\n") == 1
        assert render(Said("#lobby", "alice", command.text), prefixed=True).count("\n") == 1


@given(st.text(max_size=40))
def test_nicknames_are_valid_or_refused_and_normalization_is_stable(typed: str) -> None:
    nick = Nickname.parse(typed)
    if isinstance(nick, Refusal):
        assert explain(nick)  # a refusal always says why
        return
    assert 1 <= len(nick.display) <= MAX_NICKNAME_CHARS
    assert not has_control_characters(nick.display)
    assert not any(char.isspace() for char in nick.display)
    again = Nickname.parse(nick.display)
    assert again == nick  # parsing what is displayed gives the same name


@given(st.text(max_size=60).map(lambda text: "#" + text))
def test_room_names_are_valid_or_refused_and_normalization_is_stable(typed: str) -> None:
    name = RoomName.parse(typed)
    if isinstance(name, Refusal):
        assert explain(name)
        return
    assert 2 <= len(name.display) <= MAX_ROOM_NAME_CHARS + 1
    assert name.display.startswith("#")
    assert not has_control_characters(name.display)
    assert not any(char.isspace() for char in name.display)
    assert RoomName.parse(name.display) == name
