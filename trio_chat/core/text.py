"""Nicknames and message text: validation, normalization and sanitization.

Pure functions and values only: no I/O, no Trio. Everything a peer types passes through here
before it can reach another person's terminal.
"""

from __future__ import annotations

import fnmatch
import unicodedata
from dataclasses import dataclass, field

from trio_chat.core.lookalikes import mixed_scripts

MAX_NICKNAME_CHARS = 32  # long enough for real names, short enough for a roster line

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
_NICKNAME_PUNCTUATION = frozenset("_-")


class InvalidNickname(ValueError):
    """A nickname was refused; ``str(error)`` is the reason, worded for the person who chose it."""


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
    def parse(cls, typed: str) -> Nickname:
        """Validate and normalize a nickname as typed; raise :class:`InvalidNickname` if refused."""
        display = unicodedata.normalize("NFKC", typed.strip())
        if not display:
            raise InvalidNickname("a nickname needs at least one character")
        if len(display) > MAX_NICKNAME_CHARS:
            raise InvalidNickname(f"nickname too long (max {MAX_NICKNAME_CHARS} characters)")
        for position, char in enumerate(display):
            if not _allowed_in_nickname(char, first=position == 0):
                raise InvalidNickname(
                    f"nicknames use letters, digits, _ and - only (not {_describe(char)})",
                )
        key = unicodedata.normalize("NFKC", display.casefold())
        return cls(display, key)

    def __str__(self) -> str:
        return self.display


def _allowed_in_nickname(char: str, *, first: bool) -> bool:
    category = unicodedata.category(char)
    if category[0] in "LN" or char in _NICKNAME_PUNCTUATION:
        return True
    # Combining marks belong to the letter before them (Devanagari vowel signs, for example).
    return category[0] == "M" and not first


def _describe(char: str) -> str:
    # Show visible characters as themselves; invisible ones by code point.
    if char == " ":
        return "spaces"
    if unicodedata.category(char)[0] in "LNPS":
        return repr(char)
    return f"U+{ord(char):04X}"


def sanitize(text: str) -> str:
    """Remove control characters (C0 but tab, DEL, C1) and bidi controls (see _REMOVED)."""
    return text.translate(_REMOVED)


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
        keys = tuple(unicodedata.normalize("NFKC", p.casefold()) for p in self.reserved)
        object.__setattr__(self, "_patterns", keys)

    def refusal(self, nick: Nickname) -> str | None:
        """Say why ``nick`` is refused here, or return None if it is allowed."""
        if self.ascii_only and not nick.display.isascii():
            return "nicknames here use ASCII letters and digits only"
        if any(fnmatch.fnmatchcase(nick.key, pattern) for pattern in self._patterns):
            return f"the nickname {nick.display} is reserved"
        if scripts := mixed_scripts(nick.display):
            return f"nicknames cannot mix writing systems ({', '.join(sorted(scripts))})"
        return None
