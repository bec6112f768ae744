"""Masks: who a ban, an exception or a mute names. Pure.

A mask is IRC's ``nick!user@host`` with ``*`` and ``?`` wildcards, matched under the same
folding as nicknames (``Alice!*@*`` is ``alice!*@*``), or an extended ban naming an account,
``a:alice``, which holds whatever the member calls itself or wherever it connects from. A mute
(``m:`` and a mask) bans a member from speaking, not from the room. The host in a member's mask
is its cloak (:mod:`trio_chat.core.cloaks`), never its address: a ban by host holds across
nickname changes while nobody learns where anyone connects from.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from trio_chat.core.text import fold

ACCOUNT_PREFIX = "a:"  # an extended ban by account (IRC's EXTBAN type a)
MUTE_PREFIX = "m:"  # a mute: the mask after it may not speak (IRC's EXTBAN type m)
EXTBAN_TYPES = "am"  # for IRC's ISUPPORT EXTBAN
MAX_MASK_CHARS = 200


@dataclass(frozen=True, slots=True)
class Identity:
    """What a mask is matched against: a member as others see it."""

    nick: str
    user: str
    host: str
    account: str = ""  # "": not logged in

    @property
    def mask(self) -> str:
        """``nick!user@host``, as IRC shows the member."""
        return f"{self.nick}!{self.user or self.nick}@{self.host}"


def normalized(typed: str) -> str | None:
    """Return ``typed`` as a list keeps it (``bob`` is ``bob!*@*``), or None if it is no mask."""
    text = typed.strip()
    if not text or len(text) > MAX_MASK_CHARS or any(c in text for c in " ,\x00\r\n"):
        return None
    for prefix in (ACCOUNT_PREFIX, MUTE_PREFIX):
        if text.startswith(prefix):
            rest = text[len(prefix) :]
            if not rest:
                return None
            if prefix == ACCOUNT_PREFIX:
                return prefix + rest
            inner = normalized(rest)
            return None if inner is None or inner.startswith(MUTE_PREFIX) else prefix + inner
    if "!" not in text and "@" not in text:
        return f"{text}!*@*"  # a nickname
    if "!" not in text:
        return f"*!{text}"  # user@host
    if "@" not in text:
        return f"{text}@*"
    return text


def matches(mask: str, who: Identity) -> bool:
    """Whether the (normalized) ``mask`` names ``who``; a mute names nobody here (see muted)."""
    if mask.startswith(ACCOUNT_PREFIX):
        account = mask[len(ACCOUNT_PREFIX) :]
        return bool(who.account) and fnmatchcase(fold(who.account), fold(account))
    if mask.startswith(MUTE_PREFIX):
        return False
    return fnmatchcase(fold(who.mask), fold(mask))


def muted(mask: str, who: Identity) -> bool:
    """Whether ``mask`` is a mute (``m:...``) that names ``who``."""
    return mask.startswith(MUTE_PREFIX) and matches(mask[len(MUTE_PREFIX) :], who)


def same(one: str, other: str) -> bool:
    """Whether two (normalized) masks are the same entry of a list, under nickname folding."""
    return fold(one) == fold(other)
