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

from trio_chat.core.lookalikes import is_default_ignorable, mixed_scripts, skeleton
from trio_chat.core.refusals import Reason, Refusal

MAX_NICKNAME_CHARS = 32  # long enough for real names, short enough for a roster line
MAX_ROOM_NAME_CHARS = 50  # after the "#"
ROOM_PREFIX = "#"

# Removed from everything a peer sends, before it reaches anyone:
# - C0 controls (tab excepted), DEL and C1 controls: what a terminal interprets as commands
#   (ESC starts every colour, cursor and title sequence);
# - every Unicode bidi control (the Bidi_Control property: the embeddings, overrides and
#   isolates U+202A-202E and U+2066-2069, and the marks U+200E, U+200F, U+061C): they reorder
#   how the rest of the line is displayed, so "invoice_\u202efdp.exe" reads as an .exe.
#   Right-to-left scripts do not need them (the terminal's bidi algorithm does the work), and
#   the joiners that real text does need (ZWJ, ZWNJ) are kept.
# The line and paragraph separators (U+2028, U+2029) start a new line in some clients, so a
# peer could fake a line from someone else: they become spaces.
BIDI_CONTROLS = frozenset([*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C])
LINE_SEPARATORS = frozenset([0x2028, 0x2029])
_REMOVED: dict[int, str | None] = {
    **dict.fromkeys([*range(0x00, 0x09), *range(0x0A, 0x20), *range(0x7F, 0xA0), *BIDI_CONTROLS]),
    **dict.fromkeys(LINE_SEPARATORS, " "),
}
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
        # Drawn as nothing, so "paypal" + U+034F would pass for paypal (some are marks or
        # letters: the Hangul fillers, the variation selectors, the grapheme joiner).
        if is_default_ignorable(char):
            return char
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
    if unicodedata.category(char)[0] in "LNPS" and not is_default_ignorable(char):
        return repr(char)
    return f"U+{ord(char):04X}"


def sanitize(text: str) -> str:
    """Remove control characters (C0 but tab, DEL, C1) and bidi controls; see _REMOVED."""
    return text.translate(_REMOVED)


def sanitized(refusal: Refusal) -> Refusal:
    """Return ``refusal`` with its subject sanitized, to echo a refused name to its typist."""
    return Refusal(refusal.reason, sanitize(refusal.subject), refusal.detail)


def decode(raw: bytes) -> str:
    """Decode a line as UTF-8, replacing invalid sequences with U+FFFD, and sanitize it."""
    return sanitize(raw.decode("utf-8", "replace"))


# Names that would let someone pass for the server or its staff ("*" matches anything):
# the IRC server's default name (its NOTICEs show as server notices), services (NickServ,
# ChanServ, ... and their collective name).
DEFAULT_RESERVED_NICKS = (
    "server",
    "system",
    "admin",
    "root",
    "operator",
    "*serv",
    "services",
    "trio-chat",
)


def _shapes(name: str) -> frozenset[str]:
    """Return the forms a reserved name is matched in: folded, and its look-alike skeletons.

    A skeleton depends on case (``I`` looks like ``l``, ``i`` does not), so the skeletons of
    the lower and upper case spellings are taken too: ``ADMlN`` is refused as ``admin``.
    """
    return frozenset([fold(name), *map(skeleton, (name, name.lower(), name.upper()))])


@dataclass(frozen=True)
class NicknamePolicy:
    """What a server refuses beyond syntax: reserved names, mixed scripts, non-ASCII if asked.

    Patterns are matched against the normalized nickname and against its confusable skeleton,
    so ``*serv`` refuses ``NickServ`` in any case or width, and ``admin`` refuses ``ᴀᴅᴍɪɴ``.
    """

    reserved: tuple[str, ...] = DEFAULT_RESERVED_NICKS
    ascii_only: bool = False
    _patterns: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The "*" of a pattern survives its skeleton: it is confusable with nothing allowed.
        patterns = frozenset().union(*map(_shapes, self.reserved))
        object.__setattr__(self, "_patterns", patterns)

    def refusal(self, nick: Nickname) -> Refusal | None:
        """Say why ``nick`` is refused here, or return None if it is allowed."""
        if self.ascii_only and not nick.display.isascii():
            return Refusal(Reason.NICK_NOT_ASCII, nick.display)
        shapes = _shapes(nick.display)
        if any(fnmatch.fnmatchcase(s, p) for s in shapes for p in self._patterns):
            return Refusal(Reason.NICK_RESERVED, nick.display)
        if scripts := mixed_scripts(nick.display):
            return Refusal(Reason.NICK_MIXED_SCRIPTS, nick.display, ", ".join(sorted(scripts)))
        return None
