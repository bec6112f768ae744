"""The teaching guide stays true: docs/cancellation.md and docs/architecture.md against the code.

Excerpts in the guide are copied from the code, so they can drift; these tests catch it. An
excerpt is a ```python block whose caption (the text line before it) links its source file:

    *[trio_chat/shell/session.py](../trio_chat/shell/session.py), `Session._register`:*

Its lines must appear in that file, in order and consecutively (a line of just ``...`` marks an
elision), and inside the function or class the caption names, if it names one. Tests are cited
as ``tests/test_x.py::test_name`` and must exist. And every place in trio_chat/ where
cancellation is set up (a nursery, a cancel scope, a timeout, a deadline, a shield, a cancel()
call, a thread that may be abandoned) must appear in some excerpt.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDES = [ROOT / "docs" / "cancellation.md", ROOT / "docs" / "architecture.md"]
CAPTION = re.compile(r"^\*\[(?P<path>[\w/.]+)\]\(\.\./(?P=path)\)(?:, `(?P<name>[\w.]+)`:\*)?")
TEST_CITATION = re.compile(r"(?P<path>tests/\w+\.py)::(?P<name>\w+)")
FILE_CITATION = re.compile(r"\b(?:trio_chat|tests|docs)/[\w/]+\.(?:py|md)\b")
SCOPE_FACTORIES = {
    "open_nursery",
    "CancelScope",
    "move_on_after",
    "move_on_at",
    "fail_after",
    "fail_at",
}
SCOPE_KEYWORDS = {"shield", "abandon_on_cancel"}


@dataclass(frozen=True)
class Excerpt:
    guide: str
    path: str
    lines: list[str]
    name: str | None = None  # the function or class it comes from, as the caption says


def excerpts(guide: Path) -> list[Excerpt]:
    found = []
    lines = guide.read_text().splitlines()
    for number, line in enumerate(lines):
        if line.strip() != "```python":
            continue
        before = [line for line in lines[:number] if line.strip()]
        caption = CAPTION.match(before[-1]) if before else None
        if caption is None:
            continue
        end = lines.index("```", number + 1)
        found.append(Excerpt(guide.name, caption["path"], lines[number + 1 : end], caption["name"]))
    return found


def all_excerpts() -> list[Excerpt]:
    return [excerpt for guide in GUIDES for excerpt in excerpts(guide)]


def normalized(lines: list[str]) -> list[str]:
    return [line.rstrip() for line in textwrap.dedent("\n".join(lines)).splitlines()]


def appears_in(excerpt: Excerpt, source: str) -> bool:
    """Each ``...``-separated chunk of the excerpt appears in the source, in order."""
    source_lines = [line.strip() for line in source.splitlines()]
    position = 0
    chunk: list[str] = []
    chunks = []
    for line in [*normalized(excerpt.lines), "..."]:
        if line.strip() == "...":
            chunks.append(chunk)
            chunk = []
        else:
            chunk.append(line.strip())
    for chunk in filter(None, chunks):
        for start in range(position, len(source_lines) - len(chunk) + 1):
            if source_lines[start : start + len(chunk)] == chunk:
                position = start + len(chunk)
                break
        else:
            return False
    return True


def test_the_guides_exist_and_the_readme_links_them() -> None:
    readme = (ROOT / "README.md").read_text()
    for guide in GUIDES:
        assert guide.exists()
        assert f"docs/{guide.name}" in readme


@pytest.mark.parametrize("guide", GUIDES, ids=lambda guide: guide.name)
def test_every_cited_file_and_test_exists(guide: Path) -> None:
    text = guide.read_text()
    for path in FILE_CITATION.findall(text):
        assert (ROOT / path).exists(), f"{guide.name} cites {path}, which does not exist"
    for citation in TEST_CITATION.finditer(text):
        source = (ROOT / citation["path"]).read_text()
        assert f"def {citation['name']}(" in source, f"{guide.name}: no {citation[0]}"


def test_the_guide_cites_tests() -> None:
    assert len(TEST_CITATION.findall((ROOT / "docs" / "cancellation.md").read_text())) >= 8


@pytest.mark.parametrize(
    "excerpt", all_excerpts(), ids=lambda excerpt: f"{excerpt.guide}:{excerpt.path}"
)
def test_every_excerpt_is_still_in_its_file(excerpt: Excerpt) -> None:
    source = (ROOT / excerpt.path).read_text()
    if excerpt.name is not None:
        definition = defined(source, excerpt.name)
        assert definition is not None, f"{excerpt.guide}: no {excerpt.name} in {excerpt.path}"
        source = definition
    assert appears_in(excerpt, source), (
        f"{excerpt.guide}: this excerpt no longer matches {excerpt.name or excerpt.path}:\n"
        + "\n".join(excerpt.lines)
    )


def defined(source: str, name: str) -> str | None:
    """The source of the function or class ``name`` (``Class.method`` for a method), if any."""
    scope: list[ast.stmt] = ast.parse(source).body
    node: ast.stmt | None = None
    for part in name.split("."):
        kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        node = next((n for n in scope if isinstance(n, kinds) and n.name == part), None)
        if node is None:
            return None
        scope = node.body if isinstance(node, ast.ClassDef) else []
    assert node is not None
    return ast.get_source_segment(source, node)


def test_a_caption_that_names_the_wrong_function_is_caught() -> None:
    excerpt = Excerpt("x.md", "trio_chat/shell/session.py", ["self.host.watch(self)"], "last_words")
    source = (ROOT / excerpt.path).read_text()
    segment = defined(source, "last_words")
    assert segment is not None
    assert not appears_in(excerpt, segment)
    assert defined(source, "Session._chat") is not None
    assert defined(source, "Session.nothing") is None


def _is_transaction(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "_connection"


def cancellation_sites(path: Path) -> list[tuple[int, str]]:
    """Lines of ``path`` that set up cancellation, found in its syntax tree."""
    source = path.read_text()
    lines = source.splitlines()
    sites = set()
    for node in ast.walk(ast.parse(source)):
        is_site = (
            # trio.open_nursery(), trio.move_on_after(...), field(default_factory=trio.CancelScope)
            (isinstance(node, ast.Call) and _is_scope_factory(node.func))
            or (isinstance(node, ast.keyword) and _is_scope_factory(node.value))
            # shield=True, abandon_on_cancel=True
            or (isinstance(node, ast.keyword) and node.arg in SCOPE_KEYWORDS)
            # with member.cancel_scope:, with shutdown: (a scope made earlier), but not
            # with self._connection: (an SQLite transaction)
            or (
                isinstance(node, ast.With)
                and any(
                    isinstance(item.context_expr, ast.Name | ast.Attribute)
                    and not _is_transaction(item.context_expr)
                    for item in node.items
                )
            )
            # scope.deadline = ...
            or (
                isinstance(node, ast.Assign)
                and any(
                    isinstance(target, ast.Attribute) and target.attr == "deadline"
                    for target in node.targets
                )
            )
            # scope.cancel(reason=...)
            or (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "cancel"
            )
        )
        if is_site and hasattr(node, "lineno"):
            sites.add((node.lineno, lines[node.lineno - 1].strip()))
    return sorted(sites)


def _is_scope_factory(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "trio"
        and node.attr in SCOPE_FACTORIES
    )


def test_the_site_finder_finds_sites() -> None:
    # Guard against a finder that silently finds nothing (which would pass the test below).
    sites = cancellation_sites(ROOT / "trio_chat" / "shell" / "session.py")
    texts = [text for _, text in sites]
    assert "with trio.move_on_after(LEAVE_TIMEOUT, shield=True):" in texts
    assert "self._scope.deadline = trio.current_time() + LAST_WORDS_TIMEOUT" in texts
    assert len(sites) >= 9


def test_every_cancellation_site_is_in_an_excerpt() -> None:
    quoted: dict[str, set[str]] = {}
    for excerpt in all_excerpts():
        quoted.setdefault(excerpt.path, set()).update(line.strip() for line in excerpt.lines)
    missing = [
        f"{path.relative_to(ROOT)}:{number}: {text}"
        for path in sorted((ROOT / "trio_chat").rglob("*.py"))
        for number, text in cancellation_sites(path)
        if text not in quoted.get(str(path.relative_to(ROOT)), set())
    ]
    assert not missing, "not explained in the guide:\n" + "\n".join(missing)
