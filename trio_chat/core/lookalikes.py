"""Nicknames that look alike: confusable skeletons and mixed scripts. Pure.

``раураl`` (mostly Cyrillic) and ``paypal`` (Latin) are different strings that look the same.
Unicode TR39 answers with a *skeleton*: map every character to a representative of the
characters it can be confused with, and two names with the same skeleton are confusable. The
confusables data comes from confusable-homoglyphs, a maintained packaging of Unicode's
confusables.txt and Scripts.txt: thousands of entries that must follow Unicode's releases,
which no hand-typed table would.

The groups of look-alikes are read from lookalikes.txt, beside this module, which
lookalike_table.py builds from confusable-homoglyphs' confusables.json: building them here, at
every start, would parse 900 KB of JSON for a 5,259-entry table (see that module). A test
checks that the shipped file is what the installed confusable-homoglyphs gives.
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
import re
from array import array
from dataclasses import dataclass
from pathlib import Path

import confusable_homoglyphs  # for its data files, not its modules (see confusable_data)

# Unicode's Default_Ignorable_Code_Point property (DerivedCoreProperties.txt, Unicode 15):
# characters that render as nothing at all, so "paypal" + U+034F looks exactly like "paypal".
# The standard library has no accessor for the property, hence the table (it changes rarely:
# the last addition was U+180F, Mongolian free variation selector four, in Unicode 14).
DEFAULT_IGNORABLE_RANGES = (
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # Arabic letter mark
    (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors and vowel separator
    (0x200B, 0x200F),  # zero width space, joiners, LTR and RTL marks
    (0x202A, 0x202E),  # bidi embeddings and overrides
    (0x2060, 0x206F),  # word joiner, invisible operators, bidi isolates, deprecated formats
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors 1-16
    (0xFEFF, 0xFEFF),  # zero width no-break space (BOM)
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFF8),  # unassigned, reserved as ignorable
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol beam and phrase controls
    (0xE0000, 0xE0FFF),  # tags, variation selectors 17-256, reserved
)


def is_default_ignorable(char: str) -> bool:
    """Say whether ``char`` is a default-ignorable code point: drawn as nothing."""
    code = ord(char)
    return any(first <= code <= last for first, last in DEFAULT_IGNORABLE_RANGES)


# The same ranges as one character class (none of these code points is special in a class). A
# translate table dropping them held 4,174 entries (270 KB), for a class of 17 ranges.
_IGNORABLE = re.compile(
    "[" + "".join(f"{chr(first)}-{chr(last)}" for first, last in DEFAULT_IGNORABLE_RANGES) + "]"
)

# Scripts that real names mix: Japanese writes Han, Hiragana and Katakana together, Korean
# Hangul and Han. Any other mix (Cyrillic letters in a Latin name) is refused.
COMMON_MIXES = (
    frozenset({"HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"HAN", "HANGUL"}),
)
_NOT_A_SCRIPT = frozenset({"COMMON", "INHERITED"})  # digits, "_", "-", combining marks


def skeleton(display: str) -> str:
    """Return the confusable skeleton of a nickname as displayed, case folded.

    Every character becomes the representative of the characters it can be mistaken for, so
    ``р`` (Cyrillic) and ``p`` (Latin) become one character, and so do ``l``, ``I`` and ``1``.
    Case is folded after the mapping, since ``I`` and ``l`` are confusable while ``i`` and
    ``l`` are not. Default-ignorable code points are dropped first: they show as nothing.
    """
    visible = _IGNORABLE.sub("", display)
    return "".join(map(_representative, visible)).casefold()


TABLE = Path(__file__).with_name("lookalikes.txt")  # made by lookalike_table.py


def _read_table() -> tuple[str, tuple[str, ...]]:
    """Read lookalikes.txt: every look-alike character in code point order, and its representative.

    A line is the representative's code points, ``;``, then its group's other characters. The
    characters come back as one string, and the representatives as a tuple in the same order
    (one string per group, shared by its characters).
    """
    pairs: list[tuple[str, str]] = []
    for line in TABLE.read_text(encoding="ascii").splitlines():
        if not line.startswith("#"):
            representative, _, chars = line.partition(";")
            pairs.extend(zip(_chars(chars), itertools.repeat(_chars(representative))))
    pairs.sort()
    return "".join(char for char, _ in pairs), tuple(group for _, group in pairs)


def _chars(codes: str) -> str:
    """Return the characters of space-separated hexadecimal code points."""
    return "".join(chr(int(code, 16)) for code in codes.split())


def confusable_data(filename: str) -> bytes:
    """Read one of confusable-homoglyphs' data files, from where its ``utils.path`` would.

    Read here rather than through its modules: ``utils`` imports ``urllib.request`` (with
    ``http.client`` and ``email``, most of a megabyte) for a download command the server never
    runs, and ``confusables`` keeps its whole table (with a name for every entry: 6 MB).
    """
    package = os.path.dirname(confusable_homoglyphs.__file__ or "")
    directory = os.environ.get("CONFUSABLE_DATA", package)  # the package's own override
    return Path(directory, filename).read_bytes()


# The 5,259 look-alikes in one string, searched by bisection: 4 bytes a character, where a
# dict keyed by one-character strings cost about 100 bytes an entry (0.5 MB in all).
_LOOKALIKES, _REPRESENTATIVES = _read_table()


def _representative(char: str) -> str:
    """Return the representative of ``char``'s look-alike group (``char`` itself if none)."""
    index = bisect.bisect_left(_LOOKALIKES, char)
    if index < len(_LOOKALIKES) and _LOOKALIKES[index] == char:
        return _REPRESENTATIVES[index]
    return char


@dataclass(frozen=True)
class _Scripts:
    """Unicode's Scripts.txt as confusable-homoglyphs packs it: ranges of code points, sorted."""

    # Code points as arrays of machine integers: 4 bytes each, not an int object of 32.
    starts: array[int]  # each range's first code point...
    ends: array[int]  # ...its last...
    names: list[str]  # ...and its script ("LATIN", "CYRILLIC", "COMMON")

    @classmethod
    def read(cls) -> _Scripts:
        """Read the ranges from confusable-homoglyphs' categories table."""
        table = json.loads(confusable_data("categories.json"))
        aliases = table["iso_15924_aliases"]
        ranges = table["code_points_ranges"]  # [first, last, script's index, category's index]
        return cls(
            array("I", [first for first, *_ in ranges]),
            array("I", [last for _, last, *_ in ranges]),
            [aliases[script] for _, _, script, _ in ranges],
        )

    def of(self, char: str) -> str:
        """Return the script of ``char`` ("Unknown" for a code point in no range)."""
        code = ord(char)
        index = bisect.bisect_right(self.starts, code) - 1
        if index >= 0 and code <= self.ends[index]:
            return self.names[index]
        return "Unknown"


_SCRIPTS = _Scripts.read()


def script(char: str) -> str:
    """Return the Unicode script of ``char``, as confusable-homoglyphs' ``categories.alias``."""
    return _SCRIPTS.of(char)


def mixed_scripts(name: str) -> frozenset[str]:
    """Return the scripts ``name`` mixes in a way real names do not (empty if it does not)."""
    scripts = frozenset(script(char) for char in name) - _NOT_A_SCRIPT
    if len(scripts) > 1 and not any(scripts <= mix for mix in COMMON_MIXES):
        return scripts
    return frozenset()
