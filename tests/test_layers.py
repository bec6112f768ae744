"""The layers' dependency rules (docs/architecture.md), read from the imports themselves."""

from __future__ import annotations

import ast
from collections.abc import Iterator
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


# Each front end's modules: a front end may import its own modules and frontends/base.py only.
FRONT_ENDS = {
    "line": {"line"},
    "irc": {"irc", "ircmessage"},
    "web": {"web", "webjson", "websocket"},
}


def test_front_ends_never_import_each_other() -> None:
    family_of = {module: name for name, family in FRONT_ENDS.items() for module in family}
    for path in modules("frontends"):
        if path.stem in ("__init__", "base"):
            continue
        assert path.stem in family_of, f"{path.name}: which front end is it part of?"
        allowed = FRONT_ENDS[family_of[path.stem]] | {"base"}
        # "trio_chat.frontends.line.render" is the module line; "trio_chat.frontends" the package.
        imported = {
            name.split(".")[2] for name in imports(path) if name.startswith("trio_chat.frontends.")
        }
        others = imported - allowed
        assert not others, f"{path.name} imports another front end: {others}"


def module_graph() -> dict[str, set[str]]:
    """Which trio_chat modules each trio_chat module imports (under TYPE_CHECKING too)."""
    names = {
        ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        for path in PACKAGE.rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        found = set()
        for name in imports(path):
            # "from trio_chat.core import text" names the module text; "from ... import Hub"
            # names a class of the module before it.
            while name and name not in names:
                name = name.rpartition(".")[0]
            if name and name != module and name not in ("trio_chat",):
                found.add(name)
        graph[module] = found
    return graph


def cycles(graph: dict[str, set[str]]) -> Iterator[list[str]]:
    """Every import cycle: a path from a module back to itself (depth first)."""
    done: set[str] = set()  # modules whose imports have all been followed
    path: list[str] = []  # the imports followed from the start to here

    def visit(module: str) -> Iterator[list[str]]:
        if module in path:
            yield [*path[path.index(module) :], module]
            return
        if module in done:
            return
        path.append(module)
        for imported in sorted(graph.get(module, ())):
            yield from visit(imported)
        path.pop()
        done.add(module)

    for start in sorted(graph):
        yield from visit(start)


def test_no_module_imports_itself_through_others() -> None:
    # Type-only imports count: a reader must untangle a circle whatever it is for.
    found = [" -> ".join(cycle) for cycle in cycles(module_graph())]
    assert not found, found


def test_the_cycle_finder_finds_cycles() -> None:
    assert list(cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})) == [["a", "b", "c", "a"]]
    assert not list(cycles({"a": {"b"}, "b": set()}))
    graph = module_graph()
    assert "trio_chat.core.members" in graph["trio_chat.core.hub"]  # "from ... import Member"
    assert "trio_chat.frontends.base" in graph["trio_chat.shell.session"]  # "import base"


def test_the_finder_sees_imports() -> None:
    # Guard against a finder that finds nothing (which would make every test above pass).
    assert "trio" in imports(PACKAGE / "shell" / "session.py")
    assert "trio_chat.frontends.base" in imports(PACKAGE / "shell" / "session.py")
    assert "trio_chat.core.hub" in imports(PACKAGE / "shell" / "server.py")
