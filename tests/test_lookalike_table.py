"""The shipped look-alike table is what the installed confusable-homoglyphs gives."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.test_imports import without_coverage
from trio_chat.core import lookalike_table, lookalikes

REGENERATE = "python -m trio_chat.core.lookalike_table"

# Import lookalikes in a fresh interpreter, its own imports done first, and print the bytes its
# tables hold (tracemalloc: what the import allocated and kept).
MEASURE_IMPORT = textwrap.dedent(
    """
    import array, bisect, itertools, json, os, re, dataclasses, pathlib, encodings.ascii
    import confusable_homoglyphs, trio_chat.core
    import tracemalloc

    tracemalloc.start()
    import trio_chat.core.lookalikes
    print(tracemalloc.get_traced_memory()[0])
    """
)


def test_the_shipped_table_is_what_confusable_homoglyphs_gives() -> None:
    # Fails after an upgrade of confusable-homoglyphs that changed its data (or its version).
    shipped = lookalikes.TABLE.read_text(encoding="ascii")
    assert shipped == lookalike_table.text(), f"lookalikes.txt is stale: run `{REGENERATE}`"


def test_skeletons_read_the_table_as_it_was_built() -> None:
    # Multi-character representatives (U+FB01 ﬁ becomes "fi") and spaces included.
    built = lookalike_table.representatives()
    read = dict(zip(lookalikes._LOOKALIKES, lookalikes._REPRESENTATIVES, strict=True))
    assert read == built
    # Every entry is found by the bisection, so the string is in code point order.
    assert [lookalikes._representative(char) for char in built] == list(built.values())
    assert lookalikes._representative("a") == "a"  # a character in no group is its own
    assert (lookalikes.skeleton("\ufb01"), lookalikes.skeleton("a\u2003b")) == ("fi", "a b")


def test_the_command_writes_the_table(tmp_path: Path) -> None:
    written = tmp_path / "lookalikes.txt"
    command = [sys.executable, "-m", "trio_chat.core.lookalike_table", str(written)]
    subprocess.run(command, check=True, timeout=60)
    assert written.read_text(encoding="ascii") == lookalike_table.text()


def test_the_tables_stay_small() -> None:
    # They live as long as the server. Keyed by one-character strings, the groups and the
    # ignorables took 1.2 MB; one string searched by bisection and a regular expression, 0.6;
    # the scripts' ranges in arrays rather than lists of ints, 0.49.
    command = [sys.executable, "-c", MEASURE_IMPORT]
    done = subprocess.run(
        command, capture_output=True, text=True, check=True, env=without_coverage()
    )
    assert int(done.stdout) < 560_000
