"""The shipped look-alike table is what the installed confusable-homoglyphs gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from trio_chat.core import lookalike_table, lookalikes

REGENERATE = "python -m trio_chat.core.lookalike_table"


def test_the_shipped_table_is_what_confusable_homoglyphs_gives() -> None:
    # Fails after an upgrade of confusable-homoglyphs that changed its data (or its version).
    shipped = lookalikes.TABLE.read_text(encoding="ascii")
    assert shipped == lookalike_table.text(), f"lookalikes.txt is stale: run `{REGENERATE}`"


def test_skeletons_read_the_table_as_it_was_built() -> None:
    # Multi-character representatives (U+FB01 ﬁ becomes "fi") and spaces included.
    assert lookalike_table.representatives() == lookalikes._REPRESENTATIVE
    assert (lookalikes.skeleton("\ufb01"), lookalikes.skeleton("a\u2003b")) == ("fi", "a b")


def test_the_command_writes_the_table(tmp_path: Path) -> None:
    written = tmp_path / "lookalikes.txt"
    command = [sys.executable, "-m", "trio_chat.core.lookalike_table", str(written)]
    subprocess.run(command, check=True, timeout=60)
    assert written.read_text(encoding="ascii") == lookalike_table.text()
