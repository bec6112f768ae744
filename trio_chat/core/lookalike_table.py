"""Build lookalikes.txt, the look-alike table that skeletons read, from confusable-homoglyphs.

The server does not build the table itself: parsing confusable-homoglyphs' 900 KB
confusables.json and grouping its pairs peaks at about 5 MB, which the allocators keep for the
process's life (4.7 MB of an idle server, docs/benchmarks.md). The groups are built here
instead, once per release of confusable-homoglyphs, and shipped in the package; a test checks
that the shipped file is what the installed release gives. To regenerate it::

    python -m trio_chat.core.lookalike_table

Nothing imports this module at run time.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

import confusable_homoglyphs

from trio_chat.core.lookalikes import TABLE, confusable_data


def representatives() -> dict[str, str]:
    """Map each character a skeleton can meet to the smallest member of its look-alike group.

    confusables.txt pairs characters with their look-alikes, but not transitively (``l`` is
    listed with ``1``, ``I`` with ``l``); grouping the pairs (union-find) makes "looks like" an
    equivalence, so a skeleton does not depend on which spelling an impostor picked. Only
    single characters that are not their own representative are kept: ``skeleton`` looks up
    one character at a time and leaves the others as they are.
    """
    parent: dict[str, str] = {}

    def root(text: str) -> str:
        parent.setdefault(text, text)
        while parent[text] != text:
            parent[text] = parent[parent[text]]  # path halving keeps the trees flat
            text = parent[text]
        return text

    def unite(one: str, other: str) -> None:
        first, second = root(one), root(other)
        if first != second:
            parent[max(first, second)] = min(first, second)  # the smaller one leads

    # Each entry: a character, and its look-alikes as {"c": look-alike, "n": its name}.
    confusables: dict[str, list[dict[str, str]]] = json.loads(confusable_data("confusables.json"))
    for char, lookalikes in confusables.items():
        for lookalike in lookalikes:
            unite(char, lookalike["c"])
    # confusables.txt does not pair small capitals with their letters (ᴀᴅᴍɪɴ reads as admin);
    # they are lowercase-sized, so each joins its lowercase letter.
    # (Those of the Phonetic Extensions block, and of IPA Extensions.)
    for char in [*map(chr, range(0x1D00, 0x1D2C)), *"ʀʙɢʜɪʟɴʏ"]:
        _, _, letter = unicodedata.name(char, "").partition("LATIN LETTER SMALL CAPITAL ")
        if len(letter) == 1:
            unite(char, letter.lower())
    return {text: root(text) for text in parent if len(text) == 1 and root(text) != text}


def text() -> str:
    """Return lookalikes.txt as the installed confusable-homoglyphs makes it.

    One line per group, sorted: its representative's code points, ``;``, then the code points
    of the characters that map to it. Code points rather than the characters themselves, since
    many of them draw as nothing, combine with their neighbour or reorder a line.
    """
    groups: defaultdict[str, list[str]] = defaultdict(list)
    for char, representative in representatives().items():
        groups[representative].append(char)
    lines = [
        "# The look-alike groups that trio_chat/core/lookalikes.py reads, made by",
        "# trio_chat/core/lookalike_table.py from confusable-homoglyphs"
        f" {confusable_homoglyphs.__version__}: do not edit,",
        "# regenerate with `python -m trio_chat.core.lookalike_table`.",
        "# Each line: a representative's code points ; the characters that map to it.",
    ]
    for representative, chars in sorted(groups.items()):
        lines.append(f"{_codes(representative)} ; {_codes(''.join(sorted(chars)))}")
    return "\n".join(lines) + "\n"


def _codes(chars: str) -> str:
    return " ".join(f"{ord(char):04X}" for char in chars)


if __name__ == "__main__":
    # The shipped file, or the path given (the test writes elsewhere, to check this command).
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else TABLE
    target.write_text(text(), encoding="ascii")
