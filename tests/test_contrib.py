"""contrib/trio-chat.service: the systemd unit asks for what the README promises, and is valid."""

from __future__ import annotations

import pathlib
import shlex
import shutil
import subprocess
import sys

import pytest

from trio_chat.cli import arguments

ROOT = pathlib.Path(__file__).resolve().parent.parent
UNIT = ROOT / "contrib" / "trio-chat.service"


def directives(text: str) -> dict[str, dict[str, list[str]]]:
    """Each section's keys, with every value given (a key may be repeated)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


def test_the_unit_is_a_hardened_notify_service_that_reloads_with_sighup() -> None:
    service = directives(UNIT.read_text())["Service"]
    expected = {
        "Type": "notify",
        "ExecReload": "/bin/kill -HUP $MAINPID",
        "DynamicUser": "yes",
        "StateDirectory": "trio-chat",
        "ProtectSystem": "strict",
        "NoNewPrivileges": "yes",
        "CapabilityBoundingSet": "",  # no capability at all: the default ports are above 1024
        "AmbientCapabilities": "",
    }
    for key, value in expected.items():
        assert service[key] == [value], key


def test_the_units_command_line_is_one_trio_chat_accepts(tmp_path: pathlib.Path) -> None:
    (command,) = directives(UNIT.read_text())["Service"]["ExecStart"]
    program, *argv = shlex.split(command.replace("${STATE_DIRECTORY}", str(tmp_path)))
    assert program.endswith("/trio-chat")
    config = tmp_path / "trio-chat.toml"
    config.write_text("")
    argv[argv.index("/etc/trio-chat/trio-chat.toml")] = str(config)
    args = arguments(argv)
    assert args.db == f"{tmp_path}/trio-chat.sqlite3"  # in its state directory


def test_systemd_finds_nothing_wrong_with_the_unit(tmp_path: pathlib.Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian's systemd package)")
    # verify checks that ExecStart's program exists: point it at this checkout's.
    program = pathlib.Path(sys.executable).with_name("trio-chat")
    unit = tmp_path / "trio-chat.service"
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/trio-chat", str(program)))
    result = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    # Whatever it says of other units (this machine's), nothing about ours.
    assert unit.name not in result.stderr, result.stderr
