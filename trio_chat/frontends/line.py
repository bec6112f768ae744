"""The plain-text line protocol (what ``nc`` and ``telnet`` speak): parsing and rendering.

Pure: no I/O, no Trio. Lines from a peer become :mod:`trio_chat.core.events` commands; events from
the room become lines. Every line the server sends starts with a marker, so people and scripts can
tell them apart: ``<nick>`` a chat message, ``*`` a notice, ``!`` an error for you alone, ``[pm`` a
private message.
"""

from __future__ import annotations

from collections.abc import Iterable

from trio_chat.core.events import (
    Command,
    Emote,
    Emoted,
    Error,
    Event,
    Goodbye,
    Help,
    Joined,
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
from trio_chat.core.text import InvalidNickname, Nickname, decode

PROMPT = b"* what is your name?\n"
MAX_LINE_BYTES = 2048  # no line the server sends is longer (without its newline)
CONTINUATION = b"*   "  # starts the lines that continue a long list
SERVER_FULL = b"! server full\n"
TOO_MANY_FROM_ADDRESS = b"! too many connections from your address\n"
TIMED_OUT = b"! timed out\n"
SERVER_SHUTTING_DOWN = b"* server shutting down\n"

HELP_LINES = (
    "* commands:",
    "*   /me <action>        describe what you do",
    "*   /nick <name>        change your nickname",
    "*   /msg <name> <text>  send a private message",
    "*   /who                list who is online",
    "*   /help               show this help",
    "*   /exit or /quit      leave",
    "*   //text              send a line that starts with /",
)


def parse_name(line: bytes | LineTooLong) -> Nickname | Error:
    """Turn the answer to :data:`PROMPT` into a nickname, or an error saying why it is refused."""
    if isinstance(line, LineTooLong):
        return _too_long(line)
    try:
        return Nickname.parse(decode(line))
    except InvalidNickname as refusal:
        return Error(str(refusal))


def parse_line(line: bytes | LineTooLong) -> Command | None:
    """Turn one line from a registered member into a command; ``None`` means ignore it.

    Mistakes become ``Tell(Error(...))`` so the member hears about them in order.
    """
    if isinstance(line, LineTooLong):
        return Tell(_too_long(line))
    text = decode(line)
    if not text.strip():
        return None
    if not text.startswith("/"):
        return Say(text)
    if text.startswith("//"):
        return Say(text[1:])
    name, _, argument = text[1:].partition(" ")
    argument = argument.strip()
    match name.lower():
        case "me":
            return Emote(argument) if argument else _usage("/me <action>")
        case "nick":
            return _rename(argument) if argument else _usage("/nick <name>")
        case "msg":
            recipient, _, message = argument.partition(" ")
            if not message.strip():
                return _usage("/msg <name> <text>")
            return _private_message(recipient, message.strip())
        case "who":
            return Who()
        case "help":
            return Tell(Help())
        case "exit" | "quit":
            return Quit()
        case _:
            return Tell(Error(f"unknown command /{name} (try /help)"))


def _too_long(line: LineTooLong) -> Error:
    return Error(f"line too long (max {line.limit} bytes)")


def _usage(synopsis: str) -> Tell:
    return Tell(Error(f"usage: {synopsis}"))


def _rename(typed: str) -> Command:
    try:
        return Rename(Nickname.parse(typed))
    except InvalidNickname as refusal:
        return Tell(Error(str(refusal)))


def _private_message(typed: str, text: str) -> Command:
    try:
        return PrivateMessage(Nickname.parse(typed), text)
    except InvalidNickname:
        # Nobody can be online under an invalid name.
        return Tell(NoSuchNick(typed))


def render(event: Event) -> str:
    """Render one event as one or more lines, each ending in a newline."""
    match event:
        case Said(nick, text):
            return f"<{nick}> {text}\n"
        case Emoted(nick, text):
            return f"* {nick} {text}\n"
        case Joined(nick):
            return f"* {nick} joined\n"
        case Left(nick, reason):
            return f"* {nick} left ({reason.value})\n"
        case Renamed(old, new):
            return f"* {old} is now {new}\n"
        case PrivateFrom(sender, text):
            return f"[pm from {sender}] {text}\n"
        case PrivateTo(recipient, text):
            return f"[pm to {recipient}] {text}\n"
        case Welcome(nick, roster):
            return _online(f"* welcome, {nick}! ", roster)
        case Roster(nicks):
            return _online("* ", nicks)
        case Goodbye():
            return "* bye\n"
        case ShuttingDown():
            return SERVER_SHUTTING_DOWN.decode()
        case NicknameTaken(nick):
            return f"! nickname {nick} is taken\n"
        case NoSuchNick(nick):
            return f"! nobody called {nick} is online\n"
        case Help():
            return "".join(f"{line}\n" for line in HELP_LINES)
        case Error(message):
            return f"! {message}\n"


def encode(events: Iterable[Event]) -> bytes:
    """Render events to the bytes a plain-text client receives."""
    return "".join(map(render, events)).encode()


def _online(head: str, nicks: tuple[str, ...]) -> str:
    """``head`` + "online (N): a, b, ...", in lines of at most MAX_LINE_BYTES.

    A room of 10,000 lists them all; clients (and IRC servers' own rules) choke on a line of
    100 kB, so a long list continues on lines starting "*   ". The split is done on the encoded
    bytes with ``rfind``, so a big room costs a few C-level calls, not a Python loop per name.
    """
    names = ", ".join(nicks)
    line = f"{head}online ({len(nicks)}): {names}"
    data = line.encode()
    if len(data) <= MAX_LINE_BYTES:
        return line + "\n"
    lines = []
    start, prefix = 0, b""
    while len(data) - start > MAX_LINE_BYTES - len(prefix):
        # Cut after the last ", " that fits (names are short, so there always is one).
        end = data.rfind(b", ", start, start + MAX_LINE_BYTES - len(prefix) + 2)
        lines.append(prefix + data[start:end])
        start, prefix = end + 2, CONTINUATION
    lines.append(prefix + data[start:])
    return b"\n".join(lines).decode() + "\n"
