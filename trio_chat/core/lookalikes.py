"""Nicknames that look alike: confusable skeletons and mixed scripts. Pure.

``раураl`` (mostly Cyrillic) and ``paypal`` (Latin) are different strings that look the same.
Unicode TR39 answers with a *skeleton*: map every character to a representative of the
characters it can be confused with, and two names with the same skeleton are confusable. The
confusables data comes from confusable-homoglyphs, a maintained packaging of Unicode's
confusables.txt and Scripts.txt: thousands of entries that must follow Unicode's releases,
which no hand-typed table would.
"""

from __future__ import annotations

from confusable_homoglyphs import categories, confusables

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
    ``l`` are not.
    """
    return "".join(_REPRESENTATIVE.get(char, char) for char in display).casefold()


def _representatives() -> dict[str, str]:
    """Map every confusable character to the smallest member of its group of look-alikes.

    confusables.txt pairs characters with their look-alikes, but not transitively (``l`` is
    listed with ``1``, ``I`` with ``l``); grouping the pairs (union-find) makes "looks like" an
    equivalence, so a skeleton does not depend on which spelling an impostor picked.
    """
    parent: dict[str, str] = {}

    def root(text: str) -> str:
        parent.setdefault(text, text)
        while parent[text] != text:
            parent[text] = parent[parent[text]]  # path halving keeps the trees flat
            text = parent[text]
        return text

    for char, entries in confusables.confusables_data.items():
        for entry in entries:
            first, second = root(char), root(entry["c"])
            if first != second:
                parent[max(first, second)] = min(first, second)  # the smaller one leads
    return {text: root(text) for text in parent}


_REPRESENTATIVE = _representatives()


def mixed_scripts(name: str) -> frozenset[str]:
    """Return the scripts ``name`` mixes in a way real names do not (empty if it does not)."""
    scripts = frozenset(categories.alias(char) for char in name) - _NOT_A_SCRIPT
    if len(scripts) > 1 and not any(scripts <= mix for mix in COMMON_MIXES):
        return scripts
    return frozenset()
