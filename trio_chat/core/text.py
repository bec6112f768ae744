"""Nicknames, room names and message text: validation, normalization and sanitization.

Pure functions and values only: no I/O, no Trio. Everything a peer types passes through here
before it can reach another person's screen. Names are validated as typed, never after
sanitizing: a nickname with a control character in it is refused, not silently repaired into a
different name. Refusals are values (:class:`~trio_chat.core.refusals.Refusal`), in the style of
the framing module, so each front end can word them.
"""

from __future__ import annotations

import fnmatch
import unicodedata
from dataclasses import dataclass, field

from trio_chat.core.lookalikes import mixed_scripts
from trio_chat.core.refusals import Reason, Refusal

MAX_NICKNAME_CHARS = 32  # long enough for real names, short enough for a roster line
MAX_ROOM_NAME_CHARS = 50  # after the "#"
ROOM_PREFIX = "#"

# Removed from everything a peer sends, before it reaches anyone:
# - C0 controls (tab excepted), DEL and C1 controls: what a terminal interprets as commands
#   (ESC starts every colour, cursor and title sequence);
# - the bidirectional embedding, override and isolate controls (U+202A-202E, U+2066-2069):
#   they reorder how the rest of the line is displayed, so "invoice_\u202efdp.exe" reads as
#   an .exe. Right-to-left scripts do not need them (the terminal's bidi algorithm does the
#   work), and the joiners that real text does need (ZWJ, ZWNJ) are kept.
BIDI_CONTROLS = frozenset([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
_REMOVED = dict.fromkeys(
    [*range(0x00, 0x09), *range(0x0A, 0x20), *range(0x7F, 0xA0), *BIDI_CONTROLS],
)
_NAME_PUNCTUATION = frozenset("_-")
_BLANKS = " \t"  # what is trimmed around a typed name; anything else invisible is refused


def normalize(text: str) -> str:
    """Return the NFKC form, which names are displayed in: fullwidth letters become ASCII."""
    return unicodedata.normalize("NFKC", text)


def fold(text: str) -> str:
    """Return the key that decides uniqueness: NFKC, case folded (``Straße`` is ``STRASSE``)."""
    return normalize(normalize(text).casefold())


@dataclass(frozen=True, slots=True)
class Nickname:
    """A valid nickname.

    ``display`` is what people see (the NFKC form of what was typed); ``key`` decides uniqueness
    (NFKC plus case folding), so ``Alice``, ``alice`` and fullwidth ``Alice`` are one name.
    Build one with :meth:`parse`.
    """

    display: str
    key: str

    @classmethod
    def parse(cls, typed: str) -> Nickname | Refusal:
        """Validate and normalize a nickname as typed, or say why it is refused."""
        display = normalize(typed.strip(_BLANKS))
        if not display:
            return Refusal(Reason.NICK_EMPTY)
        if len(display) > MAX_NICKNAME_CHARS:
            return Refusal(Reason.NICK_TOO_LONG, display, str(MAX_NICKNAME_CHARS))
        if (char := _first_not_allowed(display)) is not None:
            return Refusal(Reason.NICK_INVALID, display, _describe(char))
        return cls(display, fold(display))

    def __str__(self) -> str:
        return self.display


@dataclass(frozen=True, slots=True)
class RoomName:
    """A valid room name: ``#`` and then 1 to 50 letters, digits, ``_`` or ``-``.

    Unique under the same normalization as nicknames: ``#Rust`` and ``#rust`` are one room.
    """

    display: str
    key: str

    @classmethod
    def parse(cls, typed: str) -> RoomName | Refusal:
        """Validate and normalize a room name as typed, or say why it is refused."""
        display = normalize(typed.strip(_BLANKS))
        if not display.startswith(ROOM_PREFIX):
            return Refusal(Reason.ROOM_NAME_NO_HASH, display)
        name = display[len(ROOM_PREFIX) :]
        if not name:
            return Refusal(Reason.ROOM_NAME_EMPTY, display)
        if len(name) > MAX_ROOM_NAME_CHARS:
            return Refusal(Reason.ROOM_NAME_TOO_LONG, display, str(MAX_ROOM_NAME_CHARS))
        if (char := _first_not_allowed(name)) is not None:
            return Refusal(Reason.ROOM_NAME_INVALID, display, _describe(char))
        return cls(display, fold(display))

    def __str__(self) -> str:
        return self.display


LOBBY = RoomName("#lobby", "#lobby")  # where every newcomer is placed


def _first_not_allowed(name: str) -> str | None:
    for position, char in enumerate(name):
        category = unicodedata.category(char)
        if category[0] in "LN" or char in _NAME_PUNCTUATION:
            continue
        # Combining marks belong to the letter before them (Devanagari vowel signs, for example).
        if category[0] == "M" and position > 0:
            continue
        return char
    return None


def _describe(char: str) -> str:
    # Show visible characters as themselves; invisible ones (controls among them) by code point.
    if char == " ":
        return "spaces"
    if unicodedata.category(char)[0] in "LNPS":
        return repr(char)
    return f"U+{ord(char):04X}"


def sanitize(text: str) -> str:
    """Remove control characters (C0 but tab, DEL, C1) and bidi controls (see _REMOVED)."""
    return text.translate(_REMOVED)


def sanitized(refusal: Refusal) -> Refusal:
    """Return ``refusal`` with its subject sanitized, to echo a refused name to its typist."""
    return Refusal(refusal.reason, sanitize(refusal.subject), refusal.detail)


def decode(raw: bytes) -> str:
    """Decode a line as UTF-8, replacing invalid sequences with U+FFFD, and sanitize it."""
    return sanitize(raw.decode("utf-8", "replace"))


# Names that would let someone pass for the server or its staff ("*" matches anything).
DEFAULT_RESERVED_NICKS = ("server", "system", "admin", "root", "operator", "*serv")


@dataclass(frozen=True)
class NicknamePolicy:
    """What a server refuses beyond syntax: reserved names, mixed scripts, non-ASCII if asked.

    Patterns are matched against the normalized nickname, so ``*serv`` refuses ``NickServ``
    in any case or width.
    """

    reserved: tuple[str, ...] = DEFAULT_RESERVED_NICKS
    ascii_only: bool = False
    _patterns: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_patterns", tuple(map(fold, self.reserved)))

    def refusal(self, nick: Nickname) -> Refusal | None:
        """Say why ``nick`` is refused here, or return None if it is allowed."""
        if self.ascii_only and not nick.display.isascii():
            return Refusal(Reason.NICK_NOT_ASCII, nick.display)
        if any(fnmatch.fnmatchcase(nick.key, pattern) for pattern in self._patterns):
            return Refusal(Reason.NICK_RESERVED, nick.display)
        if scripts := mixed_scripts(nick.display):
            return Refusal(Reason.NICK_MIXED_SCRIPTS, nick.display, ", ".join(sorted(scripts)))
        return None
