"""The configuration file: TOML whose keys are ``trio-chat server``'s options, read and written.

Theory of operation. The command line's parser is the one source: every option of
``trio-chat server`` is a key of the file, named after the option's ``dest`` (``--max-clients``
is ``max_clients``), checked and converted by the option's own ``type`` and ``choices``, and
documented by its own help, so an option added to the parser is a key of the file with no
more work. Keys may stand at the top of the file or in the section :data:`SECTIONS` puts them
in (``[irc]``, ``[limits]``, ...), which only groups them: the key keeps its whole name.

What the file says becomes the options' values, and then the command line is parsed again:
an option given there wins. :func:`render` writes the effective configuration back as a
commented file that reads back to the same values (a test checks the round trip).

Repeatable options that take several values (``--oper-login NAME HASH``) are arrays of tables,
one table per use of the option, with the fields :data:`TABLES` names for the option's values:
register such an option there (``TABLES["oper_login"] = ("name", "hash")``) and the file says
``[[oper_login]]`` / ``name = "..."`` / ``hash = "..."``; a repeatable option with one value
may be registered too (``TABLES["oper"] = ("account",)``), or else it is an array of strings.
"""

from __future__ import annotations

import argparse
import pathlib
import textwrap
from collections.abc import Iterable, Sequence
from typing import Any

# Sections, in the order the file shows them, and the options each holds: a ``dest`` ending
# in "_" is a prefix, any other is a whole name; the first section that matches wins, and an
# option no section matches stands at the top of the file.
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("tls", ("tls_",)),
    ("irc", ("irc_", "no_irc", "ping_")),
    (
        "web",
        ("http_", "https_", "web_", "no_web", "no_irc_websocket", "metrics_", "max_message_bytes"),
    ),
    ("history", ("db", "no_history", "history_")),
    ("accounts", ("min_password_", "max_password_", "login_", "registrations_")),
    ("backplane", ("backplane", "backplane_")),
    ("limits", ("max_", "limit_exempt", "reserved_nicks", "ascii_nicks", "flood_")),
)

# The hook for repeatable options with several values: their dest, and the names of the
# fields of each table (the option's values, in order). Such tables stand at the top level.
TABLES: dict[str, tuple[str, ...]] = {
    "oper": ("account",),  # [[oper]] account = "alice"
    "oper_login": ("name", "hash"),  # [[oper_login]] name = "operuser" hash = "$argon2id$..."
}

NOT_IN_FILE = {"help", "config", "print_config"}  # options about the file itself
WIDTH = 98  # of the comments render() writes


class ConfigError(Exception):
    """A configuration file that cannot be used: the file, the key and what was expected."""


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """Return the options of ``parser`` a file may set, in the parser's order."""
    return [action for action in parser._actions if action.dest not in NOT_IN_FILE]


def section_of(dest: str) -> str | None:
    """Return the section an option's key belongs in (None: the top of the file)."""
    if dest in TABLES:
        return None
    for section, patterns in SECTIONS:
        for pattern in patterns:
            if dest == pattern or (pattern.endswith("_") and dest.startswith(pattern)):
                return section
    return None


def read(path: str | pathlib.Path, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """Return the options set by the file at ``path``, by dest, as ``parser`` would make them.

    Raises:
        ConfigError: if the file cannot be read, is not TOML, or has a key that is unknown,
            in the wrong section, or of the wrong type or value.
    """
    import tomllib  # here, not at the top: a server started without --config never parses TOML

    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read it: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    known = {action.dest: action for action in options(parser)}
    sections = {section for section, _ in SECTIONS}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in sections and (isinstance(value, dict) or key not in known):
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: {key}: expected a section, [{key}]")
            for inner, inner_value in value.items():
                action = _known(path, f"{key}.{inner}", inner, known, sections, section=key)
                values[inner] = convert(action, inner_value, f"{path}: {key}.{inner}")
        else:
            action = _known(path, key, key, known, sections, section=None)
            values[key] = convert(action, value, f"{path}: {key}")
    return values


def _known(
    path: str | pathlib.Path,
    where: str,
    key: str,
    known: dict[str, argparse.Action],
    sections: set[str],
    *,
    section: str | None,
) -> argparse.Action:
    action = known.get(key)
    if action is None:
        import difflib  # only for this mistake's hint: a server that starts never needs it

        near = difflib.get_close_matches(key, [*known, *sections], n=1)
        hint = f" (did you mean {near[0]}?)" if near else ""
        raise ConfigError(f"{path}: {where}: unknown key{hint}")
    home = section_of(key)
    if home is not None and section not in (None, home):
        raise ConfigError(f"{path}: {where}: belongs in [{home}]")
    if home is None and section is not None:
        raise ConfigError(f"{path}: {where}: belongs at the top of the file, before any [section]")
    return action


def convert(action: argparse.Action, value: Any, where: str) -> Any:
    """Check and convert one value of the file as the option's parser would.

    Raises:
        ConfigError: naming ``where`` and what was expected.
    """
    if action.dest in TABLES:
        return _tables(action, value, where)
    if action.nargs == 0:  # a flag: --no-plain
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, not {_shown(value)}")
        return value
    if action.nargs in ("*", "+") or isinstance(action, argparse._AppendAction):
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list of {_kind(action)}s, not {_shown(value)}")
        return [_scalar(action, item, where) for item in value]
    return _scalar(action, value, where)


def _tables(action: argparse.Action, value: Any, where: str) -> list[Any]:
    fields = TABLES[action.dest]
    shape = ", ".join(f"{name} = ..." for name in fields)
    expected = f"an array of tables [[{action.dest}]], each with {shape}"
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError(f"{where}: expected {expected}")
    found = []
    for item in value:
        if set(item) != set(fields):
            raise ConfigError(f"{where}: expected {expected}, not {', '.join(item) or 'nothing'}")
        converted = [_scalar(action, item[name], f"{where}.{name}") for name in fields]
        found.append(converted if len(fields) > 1 or action.nargs is not None else converted[0])
    return found


def _kind(action: argparse.Action) -> str:
    name = getattr(action.type, "__name__", "str")
    return {"int": "integer", "float": "number"}.get(name, "string")


def _scalar(action: argparse.Action, value: Any, where: str) -> Any:
    kind = _kind(action)
    fits = {
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "string": isinstance(value, str),
    }[kind]
    if not fits:
        raise ConfigError(f"{where}: expected {_article(kind)}, not {_shown(value)}")
    if action.choices is not None and value not in action.choices:
        choices = ", ".join(map(repr, action.choices))
        raise ConfigError(f"{where}: expected one of {choices}, not {value!r}")
    if action.type is None or not callable(action.type):
        return value
    try:
        return action.type(str(value))
    except (argparse.ArgumentTypeError, ValueError, TypeError) as error:
        raise ConfigError(f"{where}: {error}") from None


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _shown(value: Any) -> str:
    kinds = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    for kind, name in kinds.items():
        if type(value) is kind:
            return f"{name} ({toml_value(value)})"
    return "a list" if isinstance(value, list) else "a table"


def given(parser: argparse.ArgumentParser, argv: Sequence[str]) -> set[str]:
    """Return the dests of the options ``argv`` gives explicitly (those that win over a file).

    ``parser`` is modified: use a fresh one.
    """
    for action in _all_actions(parser):
        action.default = argparse.SUPPRESS
    return set(vars(parser.parse_args(argv)))


def _all_actions(parser: argparse.ArgumentParser) -> Iterable[argparse.Action]:
    for action in parser._actions:
        yield action
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                yield from _all_actions(subparser)


def render(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
    """Write the configuration ``args`` holds as a commented TOML file that reads back to it.

    An option without a value (None) is written commented out.
    """
    top: list[str] = []
    tables: list[str] = []
    sectioned: dict[str, list[str]] = {section: [] for section, _ in SECTIONS}
    for action in options(parser):
        value = getattr(args, action.dest)
        if action.dest in TABLES:
            tables += _render_tables(action, value)
            continue
        lines = [*_comment(action)]
        if value is None:  # commented out, with what it takes
            placeholder = action.metavar or action.dest.upper()
            if _kind(action) == "string":
                placeholder = _string(str(placeholder))
            lines.append(f"# {action.dest} = {placeholder}")
        else:
            lines.append(f"{action.dest} = {toml_value(value)}")
        section = section_of(action.dest)
        (top if section is None else sectioned[section]).extend([*lines, ""])
    out = [
        "# trio-chat server's configuration: trio-chat server --config FILE",
        "# Each key is an option of trio-chat server (--max-clients is max_clients); options",
        "# given on the command line win over this file. Sections only group the keys.",
        "",
        *top,
    ]
    for section, lines in sectioned.items():
        if lines:
            out += [f"[{section}]", "", *lines]
    out += tables
    return "\n".join(out).rstrip("\n") + "\n"


def _render_tables(action: argparse.Action, value: list[Any] | None) -> list[str]:
    fields = TABLES[action.dest]
    lines = [*_comment(action)]
    if not value:
        example = ", ".join(f'{name} = "..."' for name in fields)
        return [*lines, f"# [[{action.dest}]] {example}", ""]
    for item in value:
        values = item if isinstance(item, list) else [item]
        lines.append(f"[[{action.dest}]]")
        lines += [f"{name} = {toml_value(one)}" for name, one in zip(fields, values, strict=True)]
        lines.append("")
    return lines


def _comment(action: argparse.Action) -> list[str]:
    text = (action.help or "") % {**vars(action), "prog": "trio-chat server"}
    flags = ", ".join(action.option_strings)
    return textwrap.wrap(f"{flags}: {text}", WIDTH - 2, initial_indent="# ", subsequent_indent="# ")


def toml_value(value: Any) -> str:
    """Write ``value`` (a flag, a number, a string, a path, a list) as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return _string(str(value))  # a str, or a pathlib.Path


def _string(text: str) -> str:
    """Write ``text`` as a TOML basic string: quotes, backslashes and controls escaped."""
    escaped = []
    for char in text:
        if char in '"\\':
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'
