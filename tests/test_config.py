"""The configuration file: every kind of option, the command line winning, refusals, round trip."""

from __future__ import annotations

import argparse
import pathlib
import re
import signal
import subprocess
import sys

import pytest
import trio

from tests.chat_client import PATIENCE
from trio_chat import config
from trio_chat.cli import EXIT_BAD_CONFIG, _build_parser, arguments, main, server_parser
from trio_chat.config import ConfigError, read, render

ROOT = pathlib.Path(__file__).resolve().parent.parent


def write(tmp_path: pathlib.Path, text: str) -> str:
    path = tmp_path / "trio-chat.toml"
    path.write_text(text)
    return str(path)


def test_a_file_sets_every_kind_of_option(tmp_path: pathlib.Path) -> None:
    path = write(
        tmp_path,
        """
        host = "0.0.0.0"              # a string, at the top
        no_plain = true               # a flag
        registration_timeout = 5      # a number, given as an integer
        log_level = "warning"         # a choice
        [irc]
        irc_port = 6697               # an integer, in its section
        irc_motd = "motd.txt"         # a path
        ping_timeout = 2.5            # a number
        [web]
        web_origin = ["https://chat.example.org", "https://b.example"]  # a repeatable option
        [limits]
        reserved_nicks = ["bot*", "ops"]  # a list (nargs="*")
        limit_exempt = ["10.0.0.0/8"]     # a list, each item checked
        max_clients = 7
        flood_rate = 0
        [backplane]
        backplane = "redis://127.0.0.1:6379/0"  # the option named as its section
        """,
    )
    args = arguments(["server", "--config", path])
    assert (args.host, args.no_plain, args.registration_timeout) == ("0.0.0.0", True, 5.0)
    assert isinstance(args.registration_timeout, float)
    assert (args.log_level, args.irc_port, args.ping_timeout) == ("warning", 6697, 2.5)
    assert args.irc_motd == pathlib.Path("motd.txt")
    assert args.web_origin == ["https://chat.example.org", "https://b.example"]
    assert args.reserved_nicks == ["bot*", "ops"]
    assert args.limit_exempt == ["10.0.0.0/8"]
    assert (args.max_clients, args.flood_rate) == (7, 0.0)
    assert args.backplane == "redis://127.0.0.1:6379/0"
    # What the file does not say keeps its default.
    assert args.http_port == 8080


def test_the_command_line_wins_over_the_file(tmp_path: pathlib.Path) -> None:
    path = write(
        tmp_path,
        'max_clients = 7\nweb_origin = ["https://a.example"]\nno_irc = true\nport = 1\n',
    )
    argv = ["server", "--max-clients", "9", "--web-origin", "https://b.example"]
    args = arguments([*argv, "--config", path, "--port", "2"])
    assert args.max_clients == 9
    assert args.web_origin == ["https://b.example"]  # replaced, not added to
    assert args.port == 2  # the command line wins wherever --config stands
    assert args.no_irc is True  # the file's, since the command line did not say


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("max_clinets = 3", "max_clinets: unknown key (did you mean max_clients?)"),
        ("[irc]\nirc_prot = 1", "irc.irc_prot: unknown key (did you mean irc_port?)"),
        ("[limts]\nmax_rooms = 1", "limts: unknown key (did you mean limits?)"),
        ('irc_port = "6667"', 'irc_port: expected an integer, not a string ("6667")'),
        ("irc_port = 6667.0", "irc_port: expected an integer, not a number (6667.0)"),
        ("no_plain = 1", "no_plain: expected true or false, not an integer (1)"),
        ("max_clients = true", "max_clients: expected an integer, not a boolean (true)"),
        ("max_clients = 0", "max_clients: must be positive, not 0"),
        ('log_level = "loud"', "log_level: expected one of 'debug', 'info', 'warning', 'error'"),
        ('reserved_nicks = "bot"', "reserved_nicks: expected a list of strings, not a string"),
        ('limit_exempt = ["10.0.0.0/33"]', "limit_exempt: '10.0.0.0/33' does not appear"),
        ("[irc]\nmax_clients = 3", "irc.max_clients: belongs in [limits]"),
        ("[limits]\nhost = 'x'", "limits.host: belongs at the top of the file"),
        ("irc = 3", "irc: expected a section, [irc]"),
        ("max_clients = ", "not valid TOML"),
    ],
)
def test_a_bad_file_is_refused_with_the_key_and_what_was_expected(
    tmp_path: pathlib.Path, text: str, complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, text + "\n")
    assert main(["server", "--config", path]) == EXIT_BAD_CONFIG
    error = capsys.readouterr().err
    assert error.startswith(f"trio-chat server: {path}: ")
    assert complaint in error


def test_a_missing_file_is_refused(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ConfigError, match=r"nothing\.toml: cannot read it: No such file"):
        arguments(["server", "--config", str(tmp_path / "nothing.toml")])


def test_a_key_at_the_top_of_the_file_may_also_be_in_its_section(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "irc_port = 1\n[limits]\nmax_rooms = 2\n")
    args = arguments(["server", "--config", path])
    assert (args.irc_port, args.max_rooms) == (1, 2)


def test_every_option_of_the_server_has_a_key() -> None:
    # Derived from the parser: nothing to keep in step by hand.
    parser = server_parser(_build_parser())
    flags = {flag for action in parser._actions for flag in action.option_strings}
    keys = {action.dest for action in config.options(parser)}
    assert "--max-clients" in flags
    assert "max_clients" in keys
    assert keys == {a.dest for a in parser._actions} - {"help", "config", "print_config"}


def _effective(args: argparse.Namespace) -> dict[str, object]:
    return {k: v for k, v in vars(args).items() if k not in ("config", "print_config")}


def test_print_config_reads_back_to_the_same_configuration(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["server", "--port", "0", "--no-irc", "--irc-motd", "m.txt", "--flood-rate", "2.5"]
    argv += ["--reserved-nicks", "a", "b", "--web-origin", 'https://"q".example\\x']
    argv += ["--irc-password", "tab\there", "--log-level", "debug", "--history-max-days", "0"]
    assert main([*argv, "--print-config"]) == 0
    printed = capsys.readouterr().out
    path = write(tmp_path, printed)
    again = arguments(["server", "--config", path])
    assert _effective(again) == _effective(arguments(argv))
    # And printing that gives the same file again.
    assert main(["server", "--config", path, "--print-config"]) == 0
    assert capsys.readouterr().out == printed


def test_arrays_of_tables_for_repeatable_options_with_several_values(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The hook, shown with options shaped like the moderation issue's: register the fields.
    parser = argparse.ArgumentParser()
    parser.add_argument("--oper-login", nargs=2, action="append", default=[])
    parser.add_argument("--oper", action="append", default=[])
    parser.add_argument("--ban", action="append", default=[])  # not registered: strings
    monkeypatch.setitem(config.TABLES, "oper_login", ("name", "hash"))
    monkeypatch.setitem(config.TABLES, "oper", ("account",))
    text = """
        ban = ["*!*@spam"]
        [[oper_login]]
        name = "alice"
        hash = "$argon2id$x"
        [[oper_login]]
        name = "bob"
        hash = "$argon2id$y"
        [[oper]]
        account = "carol"
        """
    values = read(write(tmp_path, text), parser)
    assert values == {
        "oper_login": [["alice", "$argon2id$x"], ["bob", "$argon2id$y"]],
        "oper": ["carol"],
        "ban": ["*!*@spam"],
    }
    # The same shape as the command line makes, and it is written back as tables.
    cli = parser.parse_args(["--oper-login", "alice", "$argon2id$x", "--oper", "carol"])
    assert cli.oper_login == [["alice", "$argon2id$x"]]
    rendered = render(argparse.Namespace(**values), parser)
    assert read(write(tmp_path, rendered), parser) == values
    assert '[[oper_login]]\nname = "alice"\nhash = "$argon2id$x"' in rendered
    with pytest.raises(ConfigError, match=r"oper_login: expected an array of tables"):
        read(write(tmp_path, '[[oper_login]]\nname = "alice"\n'), parser)
    with pytest.raises(ConfigError, match=r"oper_login: expected an array of tables"):
        read(write(tmp_path, 'oper_login = ["alice"]\n'), parser)
    empty = render(parser.parse_args([]), parser)
    assert '# [[oper_login]] name = "...", hash = "..."' in empty


def test_the_readme_shows_the_configuration_print_config_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # One source: the README's example file is what --print-config says of the defaults.
    assert main(["server", "--print-config"]) == 0
    printed = capsys.readouterr().out
    readme = (ROOT / "README.md").read_text()
    shown = re.search(r"<!-- print-config -->\n```toml\n(.*?)```", readme, re.DOTALL)
    assert shown is not None, "the README lost its example configuration"
    assert shown[1] == printed, "run: trio-chat server --print-config, and paste it in the README"


def test_the_readme_names_every_option_of_the_server() -> None:
    readme = (ROOT / "README.md").read_text()
    parser = server_parser(_build_parser())
    missing = [
        action.option_strings[0]
        for action in parser._actions
        if action.option_strings
        and action.dest != "help"
        and not any(f"`{flag}" in readme for flag in action.option_strings)
    ]
    assert not missing, f"the README does not explain {missing}"


async def test_a_server_starts_from_the_file_print_config_wrote(tmp_path: pathlib.Path) -> None:
    # No port option on the command line that starts it: the file gives free ones (port 0).
    ports = ["--port", "0", "--irc-port", "0", "--http-port", "0", "--db", ":memory:"]
    printed = await trio.run_process(
        [sys.executable, "-m", "trio_chat", "server", *ports, "--print-config"],
        capture_stdout=True,
    )
    path = write(tmp_path, printed.stdout.decode())
    command = [sys.executable, "-m", "trio_chat", "server", "--config", path]
    process = await trio.lowlevel.open_process(command, stderr=subprocess.PIPE)
    assert process.stderr is not None
    try:
        log = b""
        with trio.fail_after(PATIENCE):
            while b"in a browser\n" not in log:
                log += await process.stderr.receive_some()
        listening = re.findall(rb"listening on 127.0.0.1 port (\d+) \((\w+)\)", log)
        assert [name for _, name in listening] == [b"plain", b"IRC", b"web"]
        web_port = int(listening[2][0])
        assert f"open http://127.0.0.1:{web_port}/ in a browser".encode() in log
        process.send_signal(signal.SIGTERM)
        with trio.fail_after(PATIENCE):
            assert await process.wait() == 0
    finally:
        process.kill()
        # Shielded, so that a failing (cancelled) test still reaps its child; bounded, in case.
        with trio.move_on_after(PATIENCE, shield=True):
            await process.wait()
