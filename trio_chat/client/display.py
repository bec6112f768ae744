"""How the terminal client shows the server's lines: pure, so it is tested without a terminal.

Lines are sanitized again here (the client must not trust the server to have done it), then,
if colour is on, marked up with SGR colour codes: your own nickname, every other nickname in a
colour of its own (stable: the same nick always gets the same colour), notices dimmed, errors
red, private messages magenta.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from trio_chat.core.text import sanitize

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
DIM = "\x1b[2m"
RED = "\x1b[31m"
MAGENTA = "\x1b[35m"
# Colours for other people's nicknames: readable on dark and light backgrounds alike.
NICK_COLOURS = tuple(f"\x1b[{code}m" for code in (32, 33, 34, 36, 91, 92, 93, 94, 95, 96))

_MESSAGE = re.compile(r"<(?P<nick>[^>]+)> (?P<text>.*)", re.DOTALL)
_WELCOME = re.compile(r"\* welcome, (?P<nick>[^!]+)! ")
_RENAME = re.compile(r"\* (?P<old>\S+) is now (?P<new>\S+)$")


def nick_colour(nick: str) -> str:
    """Pick the colour of ``nick``: the same in every session, different for most pairs."""
    return NICK_COLOURS[zlib.crc32(nick.encode()) % len(NICK_COLOURS)]


@dataclass
class Display:
    """Turns server lines into what the terminal shows, remembering which nickname is yours."""

    color: bool
    own_nick: str | None = None

    def show(self, line: str) -> str:
        """Return the text to print for one line received from the server."""
        line = sanitize(line)
        self._follow_own_nick(line)
        if not self.color:
            return line
        if message := _MESSAGE.match(line):
            nick = message["nick"]
            colour = BOLD if nick == self.own_nick else nick_colour(nick)
            return f"{colour}<{nick}>{RESET} {message['text']}"
        if line.startswith("! "):
            return f"{RED}{line}{RESET}"
        if line.startswith("[pm "):
            return f"{MAGENTA}{line}{RESET}"
        if line.startswith("* "):
            return f"{DIM}{line}{RESET}"
        return line

    def _follow_own_nick(self, line: str) -> None:
        if welcome := _WELCOME.match(line):
            self.own_nick = welcome["nick"]
        elif (rename := _RENAME.match(line)) and rename["old"] == self.own_nick:
            self.own_nick = rename["new"]
