"""The plain-text protocol: every command parsed, every event rendered, every refusal worded."""

from __future__ import annotations

import pytest

from trio_chat.core.events import (
    Command,
    Emote,
    Emoted,
    Error,
    Event,
    Goodbye,
    Help,
    Joined,
    LeaveReason,
    Left,
    NicknameTaken,
    NoSuchNick,
    PrivateFrom,
    PrivateMessage,
    PrivateTo,
    Quit,
    Rename,
    Renamed,
    Roster,
    Said,
    Say,
    ShuttingDown,
    Tell,
    Welcome,
    Who,
)
from trio_chat.core.framing import LineTooLong
from trio_chat.core.text import Nickname
from trio_chat.frontends.line import (
    HELP_LINES,
    MAX_LINE_BYTES,
    encode,
    parse_line,
    parse_name,
    render,
)


def nick(name: str) -> Nickname:
    return Nickname.parse(name)


@pytest.mark.parametrize(
    ("line", "command"),
    [
        (b"hello", Say("hello")),
        (b"  indented", Say("  indented")),
        (b"/me waves", Emote("waves")),
        (b"/ME waves", Emote("waves")),
        (b"/nick al", Rename(nick("al"))),
        (b"/msg bob hi there", PrivateMessage(nick("bob"), "hi there")),
        (b"/who", Who()),
        (b"/help", Tell(Help())),
        (b"/exit", Quit()),
        (b"/quit", Quit()),
        (b"//etc/passwd is a path", Say("/etc/passwd is a path")),
        (b"/foo bar", Tell(Error("unknown command /foo (try /help)"))),
        (b"/me", Tell(Error("usage: /me <action>"))),
        (b"/me   ", Tell(Error("usage: /me <action>"))),
        (b"/nick", Tell(Error("usage: /nick <name>"))),
        (
            b"/nick bad name!",
            Tell(Error("nicknames use letters, digits, _ and - only (not spaces)")),
        ),
        (b"/msg bob", Tell(Error("usage: /msg <name> <text>"))),
        (b"/msg", Tell(Error("usage: /msg <name> <text>"))),
        (b"/msg b@d hi", Tell(NoSuchNick("b@d"))),
        (b"\x1b[2Jred\xff", Say("[2Jred\ufffd")),
        (b"x\x00y\x7f", Say("xy")),
    ],
)
def test_parse_line(line: bytes, command: Command) -> None:
    assert parse_line(line) == command


@pytest.mark.parametrize("line", [b"", b"   ", b"\t \t", b"\x07\x1b"])
def test_blank_lines_are_ignored(line: bytes) -> None:
    assert parse_line(line) is None


def test_too_long_line_is_an_error_for_the_sender() -> None:
    assert parse_line(LineTooLong(2048)) == Tell(Error("line too long (max 2048 bytes)"))


def test_parse_name() -> None:
    assert parse_name(b"alice") == nick("alice")
    assert parse_name(b"") == Error("a nickname needs at least one character")
    assert parse_name(b"al ice") == Error(
        "nicknames use letters, digits, _ and - only (not spaces)"
    )
    assert parse_name(LineTooLong(2048)) == Error("line too long (max 2048 bytes)")


# One row per line shape in the protocol table of the README.
@pytest.mark.parametrize(
    ("event", "line"),
    [
        (Welcome("alice", ("alice", "bob")), "* welcome, alice! online (2): alice, bob"),
        (Joined("alice"), "* alice joined"),
        (Said("alice", "hello"), "<alice> hello"),
        (Emoted("alice", "waves"), "* alice waves"),
        (Renamed("alice", "al"), "* alice is now al"),
        (PrivateFrom("alice", "hi"), "[pm from alice] hi"),
        (PrivateTo("bob", "hi"), "[pm to bob] hi"),
        (Roster(("al", "bob")), "* online (2): al, bob"),
        (Goodbye(), "* bye"),
        (Left("alice", LeaveReason.QUIT), "* alice left (quit)"),
        (Left("alice", LeaveReason.CONNECTION_LOST), "* alice left (connection lost)"),
        (Left("alice", LeaveReason.TOO_SLOW), "* alice left (too slow)"),
        (Left("alice", LeaveReason.TIMED_OUT), "* alice left (timed out)"),
        (Left("alice", LeaveReason.SERVER_SHUTDOWN), "* alice left (server shutdown)"),
        (ShuttingDown(), "* server shutting down"),
        (NicknameTaken("alice"), "! nickname alice is taken"),
        (NoSuchNick("carol"), "! nobody called carol is online"),
        (Error("unknown command /foo (try /help)"), "! unknown command /foo (try /help)"),
    ],
)
def test_render(event: Event, line: str) -> None:
    assert render(event) == line + "\n"


def test_help_lists_every_command_on_notice_lines() -> None:
    text = render(Help())
    assert text.splitlines() == list(HELP_LINES)
    for command in ("/me", "/nick", "/msg", "/who", "/help", "/exit", "/quit", "//"):
        assert command in text
    assert all(line.startswith("* ") for line in text.splitlines())


def test_encode_joins_lines_as_utf8() -> None:
    assert encode([Said("zoë", "héllo"), Joined("李")]) == "<zoë> héllo\n* 李 joined\n".encode()


def test_a_big_roster_is_split_into_lines_under_the_limit() -> None:
    nicks = tuple(f"member{n:05d}_{'x' * 18}" for n in range(10_000))
    text = render(Welcome("member00000_xxxxxxxxxxxxxxxxxx", nicks))
    lines = text.splitlines()
    assert len(lines) > 100
    assert lines[0].startswith(f"* welcome, {nicks[0]}! online (10000): {nicks[0]}, ")
    assert all(line.startswith("*   ") for line in lines[1:])
    assert all(len(line.encode()) <= MAX_LINE_BYTES for line in lines)
    # Every name exactly once, in order: the lines are the one list, cut at its commas.
    joined = lines[0].split(": ", 1)[1] + ", " + ", ".join(line[4:] for line in lines[1:])
    assert tuple(joined.split(", ")) == nicks
    assert render(Roster(nicks)).splitlines()[0].startswith("* online (10000): ")


def test_a_big_roster_of_multibyte_names_is_split_by_bytes() -> None:
    nicks = tuple("李" * 32 + str(n) for n in range(200))  # 96+ bytes each
    lines = render(Roster(nicks)).splitlines()
    assert all(len(line.encode()) <= MAX_LINE_BYTES for line in lines)
    assert sum(line.count("李" * 32) for line in lines) == 200
