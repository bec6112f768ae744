"""How the terminal client shows the server's lines: pure, so it is tested without a terminal.

Lines are sanitized again here (the client must not trust the server to have done it), then,
if colour is on, marked up with SGR colour codes: your own nickname, every other nickname and
every room name in a colour of its own (stable: the same name always gets the same colour),
notices dimmed, errors red, private messages magenta. In a list of who is online, each name is
in its colour too, after its role's mark in bold (``@`` a room's operator, ``+`` voice).

The display also follows what the lines say about you: your nickname, and your current room,
which the input prompt shows (``#lobby> ``).
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

LOBBY = "#lobby"  # where the server places every newcomer

_MESSAGE = re.compile(r"<(?P<nick>[^>]+)> (?P<text>.*)", re.DOTALL)
_ROOM_LINE = re.compile(r"(?P<room>#\S+) (?P<line>.*)", re.DOTALL)
_WELCOME = re.compile(r"\* welcome, (?P<nick>[^!]+)! ")
_ROOM_WELCOME = re.compile(r"\* welcome to (?P<room>#\S+)! ")
_NOW_TALKING = re.compile(r"\* now talking in (?P<room>#\S+)$")
_NO_ROOM = "* you are in no room now"
_RENAME = re.compile(r"\* (?P<old>\S+) is now (?P<new>\S+)$")
_ONLINE = re.compile(r"(?P<head>\* (?:welcome[^!]*! )?online \(\d+\): )(?P<names>.+)")
_MARKS = "@+"  # the marks of roles before a name: operator, voice


def nick_colour(nick: str) -> str:
    """Pick the colour of ``nick``: the same in every session, different for most pairs."""
    return NICK_COLOURS[zlib.crc32(nick.encode()) % len(NICK_COLOURS)]


@dataclass
class Display:
    """Turns server lines into what the terminal shows, following your nickname and room."""

    color: bool
    own_nick: str | None = None
    room: str | None = None  # where your lines go: the prompt shows it

    def prompt(self) -> str:
        """Return the input line's prompt: your current room, if any."""
        return f"{self.room}> " if self.room else "> "

    def show(self, line: str) -> str:
        """Return the text to print for one line received from the server."""
        line = sanitize(line)
        self._follow(line)
        if not self.color:
            return line
        if room_line := _ROOM_LINE.match(line):
            room = room_line["room"]
            return f"{nick_colour(room)}{room}{RESET} {self._colour(room_line['line'])}"
        return self._colour(line)

    def _colour(self, line: str) -> str:
        if message := _MESSAGE.match(line):
            nick = message["nick"]
            colour = BOLD if nick == self.own_nick else nick_colour(nick)
            return f"{colour}<{nick}>{RESET} {message['text']}"
        if line.startswith("! "):
            return f"{RED}{line}{RESET}"
        if line.startswith("[pm "):
            return f"{MAGENTA}{line}{RESET}"
        if online := _ONLINE.fullmatch(line):
            names = ", ".join(map(self._name, online["names"].split(", ")))
            return f"{DIM}{online['head']}{RESET}{names}"
        if line.startswith("* "):
            return f"{DIM}{line}{RESET}"
        return line

    def _name(self, shown: str) -> str:
        """Colour one name of a list: its mark (``@``, ``+``) bold, the name in its colour."""
        nick = shown.lstrip(_MARKS)
        mark = shown[: len(shown) - len(nick)]
        colour = BOLD if nick == self.own_nick else nick_colour(nick)
        return (f"{BOLD}{mark}{RESET}" if mark else "") + f"{colour}{nick}{RESET}"

    def _follow(self, line: str) -> None:
        if welcome := _WELCOME.match(line):
            self.own_nick = welcome["nick"]
            self.room = LOBBY
        elif (rename := _RENAME.match(line)) and rename["old"] == self.own_nick:
            self.own_nick = rename["new"]
        elif room := _ROOM_WELCOME.match(line) or _NOW_TALKING.match(line):
            self.room = room["room"]
        elif line.startswith(_NO_ROOM):
            self.room = None
