r"""IRC messages: parsing and serializing one line, sans-I/O, with errors as values.

The syntax of Modern IRC (modern.ircdocs.horse, and the IRCv3 message-tags specification)::

    [@tags SPACE] [:source SPACE] command [SPACE params] [SPACE :trailing]

- tags: ``key[=value]`` separated by ``;``; values are escaped (``\:`` ``;``, ``\s`` space,
  ``\\`` backslash, ``\r``, ``\n``; any other escaped character is itself, and a lone
  trailing backslash is dropped); a key given twice keeps its last value.
- the parts are separated by one or more spaces (as RFC 1459 says; RFC 2812's "exactly one"
  is not what real clients send);
- the last parameter may start with ``:``, and then runs to the end of the line, spaces and
  all. It is the only one that may be empty or contain spaces or start with ``:``.

This module knows nothing of what commands mean; :mod:`trio_chat.frontends.irc` does. It is
checked against the ircdocs parser test data (the ``irc-parser-tests`` package) and by a
hypothesis round trip.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

MAX_IRC_LINE_BYTES = 512  # a line without its tags, CR LF included (RFC 1459, Modern IRC)
MAX_TAGS_BYTES = 8191  # the tags part, "@" and the space after it included (message-tags)

_UNESCAPE = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
_ESCAPE = str.maketrans({";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"})


class Malformed(enum.Enum):
    """Why a line is not an IRC message."""

    EMPTY = "empty line"
    NO_COMMAND = "no command"


@dataclass(frozen=True, slots=True)
class Message:
    """One IRC message. ``source`` is None when absent; ``tags`` are unescaped."""

    command: str
    params: tuple[str, ...] = ()
    source: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


def parse(line: str) -> Message | Malformed:
    """Split one line (without its CR LF) into a :class:`Message`, or say why it is none."""
    rest = line.lstrip(" ")
    tags: dict[str, str] = {}
    if rest.startswith("@"):
        raw_tags, _, rest = rest[1:].partition(" ")
        tags = _parse_tags(raw_tags)
        rest = rest.lstrip(" ")
    source = None
    if rest.startswith(":"):
        source, _, rest = rest[1:].partition(" ")
        rest = rest.lstrip(" ")
    command, _, rest = rest.partition(" ")
    if not command:
        return Malformed.EMPTY if not line.strip(" ") else Malformed.NO_COMMAND
    params = []
    while rest := rest.lstrip(" "):
        if rest.startswith(":"):
            params.append(rest[1:])
            break
        param, _, rest = rest.partition(" ")
        params.append(param)
    return Message(command, tuple(params), source, tags)


def _parse_tags(raw: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in raw.split(";"):
        if not item:
            continue
        key, _, value = item.partition("=")
        tags[key] = _unescape(value)
    return tags


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    out = []
    chars = iter(value)
    for char in chars:
        if char == "\\":
            escaped = next(chars, "")  # a lone backslash at the end is dropped
            out.append(_UNESCAPE.get(escaped, escaped))
        else:
            out.append(char)
    return "".join(out)


def serialize(message: Message) -> str:
    """Join a message into one line (without CR LF).

    The last parameter is written as a trailing one (``:...``) whenever it has to be: empty,
    with a space, or starting with ``:``. No other parameter may be any of those, so one that
    is becomes ``*``: a client's text echoed into a middle parameter (``WHO :a b :c d``)
    would otherwise show a parser other parameters than the server meant.
    """
    parts = []
    if message.tags:
        parts.append("@" + ";".join(tag(key, value) for key, value in message.tags.items()))
    if message.source is not None:
        parts.append(f":{message.source}")
    parts.append(message.command)
    if message.params:
        *middle, last = message.params
        parts.extend(param if _is_middle(param) else "*" for param in middle)
        parts.append(f":{last}" if not last or " " in last or last.startswith(":") else last)
    return " ".join(parts)


def tag(key: str, value: str) -> str:
    """Return one tag as it is written: ``key``, or ``key=value`` with the value escaped."""
    return f"{key}={value.translate(_ESCAPE)}" if value else key


def _is_middle(param: str) -> bool:
    return bool(param) and " " not in param and not param.startswith(":")


def split_tags(line: bytes) -> tuple[bytes, bytes]:
    """Split a raw line into its tags part (``@...`` and the space, or empty) and the rest."""
    if not line.startswith(b"@"):
        return b"", line
    end = line.find(b" ")
    if end < 0:
        return line, b""
    return line[: end + 1], line[end + 1 :]


def split_text(text: str, room: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``room`` UTF-8 bytes, never inside a character.

    Prefers to cut after a space in the second half of a piece, so that words stay whole when
    they can. Nothing is dropped: the pieces joined are the text.
    """
    data = text.encode()
    if len(data) <= room:
        return [text]
    pieces = []
    start = 0
    while len(data) - start > room:
        end = start + room
        while end > start and (data[end] & 0xC0) == 0x80:  # a continuation byte: back off
            end -= 1
        space = data.rfind(b" ", start + room // 2, end)
        if space >= 0:
            end = space + 1
        pieces.append(data[start:end].decode())
        start = end
    pieces.append(data[start:].decode())
    return pieces
