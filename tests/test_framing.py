"""LineFramer: every case fed whole, one byte at a time, and followed by more data."""

from __future__ import annotations

import pytest

from trio_chat.core.framing import LineFramer, LineTooLong

LIMIT = 8

Line = bytes | LineTooLong
TOO_LONG = LineTooLong(LIMIT)

# (bytes received, lines expected before EOF)
CASES: list[tuple[bytes, list[Line]]] = [
    (b"", []),
    (b"hello\n", [b"hello"]),
    (b"hello\r\n", [b"hello"]),
    (b"a\nb\r\nc\n", [b"a", b"b", b"c"]),
    (b"\n\r\n", [b"", b""]),
    (b"in\rside\n", [b"in\rside"]),  # a lone CR is content (sanitizing removes it later)
    (b"12345678\n", [b"12345678"]),  # exactly the limit
    (b"12345678\r\n", [b"12345678"]),  # the CR of CRLF does not count
    (b"123456789\n", [TOO_LONG]),
    (b"123456789\r\n", [TOO_LONG]),
    (b"x" * 100 + b"\nok\n", [TOO_LONG, b"ok"]),
    (b"x" * 100 + b"\r\n" + b"y" * 100 + b"\nok\n", [TOO_LONG, TOO_LONG, b"ok"]),
]


def feed_whole(data: bytes) -> tuple[LineFramer, list[Line]]:
    framer = LineFramer(LIMIT)
    framer.feed(data)
    return framer, list(iter(framer.next_line, None))


def feed_bytewise(data: bytes) -> tuple[LineFramer, list[Line]]:
    framer = LineFramer(LIMIT)
    lines: list[Line] = []
    for byte in data:
        framer.feed(bytes([byte]))
        lines.extend(iter(framer.next_line, None))
    return framer, lines


@pytest.mark.parametrize(("data", "expected"), CASES)
@pytest.mark.parametrize("feed", [feed_whole, feed_bytewise])
def test_lines(feed: object, data: bytes, expected: list[Line]) -> None:
    assert callable(feed)
    framer, lines = feed(data)
    assert lines == expected
    framer.feed_eof()
    assert framer.next_line() is None


@pytest.mark.parametrize(("data", "expected"), CASES)
def test_lines_followed_by_more_data(data: bytes, expected: list[Line]) -> None:
    framer, lines = feed_whole(data + b"more\npart")
    assert lines == [*expected, b"more"]
    framer.feed_eof()
    assert framer.next_line() == b"part"
    assert framer.next_line() is None


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        (b"partial", b"partial"),
        (b"partial\r", b"partial"),
        (b"12345678", b"12345678"),
        (b"123456789", TOO_LONG),  # one byte of slack for a CR, so only EOF can tell
    ],
)
def test_final_line_without_newline_is_returned_at_eof(tail: bytes, expected: Line) -> None:
    framer, lines = feed_whole(b"first\n" + tail)
    assert lines == [b"first"]
    framer.feed_eof()
    assert framer.next_line() == expected
    assert framer.next_line() is None


def test_an_endless_line_is_not_buffered() -> None:
    # A peer streaming a megabyte with no newline: reported once, and memory stays bounded.
    framer = LineFramer(LIMIT)
    reports: list[Line] = []
    for _ in range(1000):
        framer.feed(b"x" * 1000)
        reports.extend(iter(framer.next_line, None))
        assert len(framer._buffer) <= LIMIT + 1000
    assert reports == [TOO_LONG]
    framer.feed(b"tail of the long line\nnext\n")
    assert list(iter(framer.next_line, None)) == [b"next"]
