"""The layers' dependency rules (docs/architecture.md), read from the imports themselves."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "trio_chat"


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (TYPE_CHECKING imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).glob("*.py"))


@pytest.mark.parametrize("layer", ["core", "frontends"])
def test_the_pure_layers_import_no_trio(layer: str) -> None:
    for path in modules(layer):
        assert not {name for name in imports(path) if name.split(".")[0] == "trio"}, path.name


def test_the_core_imports_no_other_layer() -> None:
    for path in modules("core"):
        outside = {
            name
            for name in imports(path)
            if name.startswith("trio_chat.") and not name.startswith("trio_chat.core")
        }
        assert not outside, f"{path.name} imports {outside}"


def test_the_shell_knows_no_wire_format() -> None:
    for path in modules("shell"):
        front_ends = {
            name
            for name in imports(path)
            if name.startswith("trio_chat.frontends")
            and not name.startswith("trio_chat.frontends.base")
        }
        front_ends.discard("trio_chat.frontends")  # the package, for `from ... import base`
        assert not front_ends, f"{path.name} imports {front_ends}"


def test_the_finder_sees_imports() -> None:
    # Guard against a finder that finds nothing (which would make every test above pass).
    assert "trio" in imports(PACKAGE / "shell" / "session.py")
    assert "trio_chat.frontends.base" in imports(PACKAGE / "shell" / "session.py")
    assert "trio_chat.core.hub" in imports(PACKAGE / "shell" / "server.py")
