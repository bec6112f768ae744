"""The command line: arguments, signals, exit codes, and the real console entry point."""

from __future__ import annotations

import gc
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from importlib import metadata
from typing import Any

import pytest
import trio

from tests.chat_client import PATIENCE, ChatClient, RunningServer
from tests.conftest import plain_config
from tests.irc_client import IrcClient
from trio_chat.cli import (
    EXIT_CANNOT_LISTEN,
    EXIT_INTERRUPTED,
    _build_parser,
    endpoints,
    main,
    run_server,
    server_config,
)
from trio_chat.core.limits import Limits
from trio_chat.frontends.line import LineFrontEnd
from trio_chat.frontends.web import WebFrontEnd
from trio_chat.shell.metrics import Metrics
from trio_chat.shell.server import Endpoint, ServerConfig


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["server", "--max-clients", "0"], "argument --max-clients: must be positive, not 0"),
        (["server", "--shutdown-grace", "soon"], "invalid float value: 'soon'"),
        (["server", "--flood-rate", "soon"], "argument --flood-rate: invalid float value: 'soon'"),
        (["server", "--flood-rate", "-1"], "argument --flood-rate: must not be negative, not -1"),
        (["server", "--history-lines", "all"], "--history-lines: invalid int value: 'all'"),
        (["server", "--log-level", "loud"], "invalid choice: 'loud'"),
    ],
)
def test_bad_arguments_are_refused_with_a_reason(
    argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert complaint in capsys.readouterr().err


class ServerRun:
    """run_server() in the test's nursery; ``exit_code`` is set when it returns."""

    def __init__(self) -> None:
        self.exit_code: int | None = None
        self.done = trio.Event()

    async def run(  # noqa: ASYNC128 (run_server() calls started)
        self, config: ServerConfig, *, task_status: trio.TaskStatus[list[tuple[str, int]]]
    ) -> None:
        self.exit_code = await run_server(config, task_status=task_status)
        self.done.set()


Start = Callable[..., Awaitable[tuple[ServerRun, RunningServer]]]


@pytest.fixture
async def start(nursery: trio.Nursery) -> AsyncIterator[Start]:
    """Start run_server() on 127.0.0.1, port 0, with ServerConfig fields overridden."""
    clients: list[ChatClient] = []

    async def start(**overrides: Any) -> tuple[ServerRun, RunningServer]:
        config = plain_config(**overrides)
        server_run = ServerRun()
        addresses = await nursery.start(server_run.run, config)
        irc_port = addresses[1][1] if overrides.get("irc") else 0
        running = RunningServer(
            config, trio.Event(), server_run.done, clients, addresses[0][1], irc_port
        )
        return server_run, running

    yield start
    for client in clients:
        await trio.aclose_forcefully(client.stream)


async def test_sigterm_shuts_down_gracefully_with_exit_code_0(start: Start) -> None:
    server_run, server = await start()
    alice = await server.join("alice")
    os.kill(os.getpid(), signal.SIGTERM)
    assert await alice.expect_closed() == ["* server shutting down"]
    await server_run.done.wait()
    assert server_run.exit_code == 0


async def test_a_second_sigint_stops_at_once(start: Start) -> None:
    # A member that never reads keeps its writer blocked (its mailbox is big enough not to be
    # evicted), so the graceful shutdown would wait out its whole (one hour) grace period; the
    # second Ctrl+C cuts it short.
    server_run, server = await start(
        shutdown_grace=3600, mailbox_size=100_000, mailbox_bytes=1 << 30
    )
    alice = await server.join("alice")
    await server.join("stuck", receive_buffer=4096)
    await alice.expect("* stuck joined")
    line = "x" * 2000
    for _ in range(3000):
        await alice.send(line)
        await alice.expect(f"<alice> {line}")
    os.kill(os.getpid(), signal.SIGINT)
    assert await alice.expect_closed() == ["* server shutting down"]
    assert server_run.exit_code is None  # still waiting for the stuck writer
    os.kill(os.getpid(), signal.SIGINT)
    with trio.fail_after(PATIENCE):
        await server_run.done.wait()
    assert server_run.exit_code == EXIT_INTERRUPTED


async def test_a_port_in_use_is_a_clear_error(caplog: pytest.LogCaptureFixture) -> None:
    (taken,) = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = taken.socket.getsockname()[1]
    code = await run_server(replace(plain_config(), endpoints=(Endpoint(port, LineFrontEnd),)))
    assert code == EXIT_CANNOT_LISTEN
    assert f"cannot listen on 127.0.0.1 port {port}" in caplog.text
    await taken.aclose()


def test_the_server_leaves_what_the_imports_made_out_of_garbage_collections() -> None:
    with socket.socket() as taken:  # the server stops at once: its port is in use
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        thresholds = gc.get_threshold()
        gc.unfreeze()
        try:
            command = ["server", "--port", str(port), "--no-irc", "--no-web", "--db", ":memory:"]
            assert main(command) == EXIT_CANNOT_LISTEN
            assert gc.get_freeze_count() > 10_000  # the modules, classes and functions
        finally:  # this process goes on with the tests: as it was
            gc.unfreeze()
            gc.set_threshold(*thresholds)


async def test_the_console_script_serves_and_stops_on_sigint() -> None:
    command = [sys.executable, "-m", "trio_chat", "server", "--port", "0", "--log-level", "info"]
    command += ["--no-irc", "--no-web"]  # their default ports may be someone else's
    process = await trio.lowlevel.open_process(command, stderr=subprocess.PIPE)
    assert process.stderr is not None
    try:
        log = b""
        with trio.fail_after(PATIENCE):
            while not (
                listening := re.search(rb"listening on 127.0.0.1 port (\d+) \(plain\)\n", log)
            ):
                log += await process.stderr.receive_some()
        port = int(listening[1])
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        client = ChatClient(stream)
        await client.expect("* what is your name?")
        await client.send("alice")
        await client.expect("* welcome, alice! online (1): alice")
        process.send_signal(signal.SIGINT)
        assert await client.expect_closed() == ["* server shutting down"]
        await stream.aclose()
        with trio.fail_after(PATIENCE):
            assert await process.wait() == 0
        log += await process.stderr.receive_some()
        assert b"127.0.0.1" in log
        assert b"joined as 'alice'" in log
    finally:
        process.kill()
        # Shielded, so that a failing (cancelled) test still reaps its child; bounded, in case.
        with trio.move_on_after(PATIENCE, shield=True):
            await process.wait()


def test_limit_exempt_takes_networks(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["server", "--limit-exempt", "10.0.0.0/33"])
    assert "argument --limit-exempt: '10.0.0.0/33' does not appear" in capsys.readouterr().err


def test_the_irc_server_name_is_always_reserved() -> None:
    args = _build_parser().parse_args(
        ["server", "--reserved-nicks", "bot*", "--irc-server-name", "irc.example"],
    )
    config = server_config(args)
    assert config.reserved_nicks == ("bot*", "irc.example", "trio-chat")


DEFAULT_PORTS = {"plain": 12345, "IRC": 6667, "web": 8080}


def _taken(port: int) -> bool:
    """Whether a server could not listen on ``port`` of 127.0.0.1 now (as Trio binds)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


async def test_with_no_arguments_every_front_end_serves_on_its_default_port(
    tmp_path: pathlib.Path,
) -> None:
    taken = [f"{name} {port}" for name, port in DEFAULT_PORTS.items() if _taken(port)]
    if taken:
        pytest.skip(f"a default port is in use on this machine: {', '.join(taken)}")
    environment = os.environ | {"XDG_DATA_HOME": str(tmp_path)}  # its database goes there
    command = [sys.executable, "-m", "trio_chat", "server"]
    process = await trio.lowlevel.open_process(command, stderr=subprocess.PIPE, env=environment)
    assert process.stderr is not None
    try:
        log = b""
        with trio.fail_after(PATIENCE):
            while b"in a browser\n" not in log and process.poll() is None:
                log += await process.stderr.receive_some()
        if process.returncode == EXIT_CANNOT_LISTEN:  # taken since we looked
            pytest.skip(f"a default port was taken meanwhile: {log.decode()}")
        lines = [line.split(" ", 3)[3] for line in log.decode().splitlines()]
        # One line per front end, where it listens, and last the page's address.
        assert lines[-4:] == [
            "listening on 127.0.0.1 port 12345 (plain)",
            "listening on 127.0.0.1 port 6667 (IRC)",
            "listening on 127.0.0.1 port 8080 (web)",
            "the chat page: open http://127.0.0.1:8080/ in a browser",
        ]
        plain = ChatClient(await trio.open_tcp_stream("127.0.0.1", 12345))
        await plain.expect("* what is your name?")
        irc = IrcClient(await trio.open_tcp_stream("127.0.0.1", 6667))
        await irc.send("PING :here")
        assert (await irc.receive()).command == "PONG"  # IRC answers PING before registering
        web = await trio.open_tcp_stream("127.0.0.1", 8080)
        await web.send_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        with trio.fail_after(PATIENCE):
            assert (await web.receive_some()).startswith(b"HTTP/1.1 200 ")
        for stream in (plain.stream, irc.stream, web):
            await stream.aclose()
        process.send_signal(signal.SIGTERM)
        with trio.fail_after(PATIENCE):
            assert await process.wait() == 0
    finally:
        process.kill()
        # Shielded, so that a failing (cancelled) test still reaps its child; bounded, in case.
        with trio.move_on_after(PATIENCE, shield=True):
            await process.wait()


def test_a_taken_default_port_names_the_option_that_moves_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "trio_chat", "server", "--db", ":memory:"]
        command += ["--port", "0", "--no-web", "--irc-port", str(port)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == EXIT_CANNOT_LISTEN
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert line.endswith(
        f"ERROR cannot listen on 127.0.0.1 port {port} (IRC): Address already in use;"
        " --irc-port changes it, --no-irc turns it off"
    )


async def test_version_is_the_one_irc_clients_are_told(
    start: Start, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    printed = capsys.readouterr().out.strip()
    assert printed == f"trio-chat {metadata.version('trio-chat')}"
    _, server = await start(irc=True)
    irc = IrcClient(await trio.open_tcp_stream("127.0.0.1", server.irc_port))
    burst = await irc.register("curious", lobby=False)
    (my_info,) = [message for message in burst if message.command == "004"]
    assert my_info.params[2] == printed.replace(" ", "-")  # <server> <version> <modes>...
    await irc.send("VERSION")
    (version,) = [message for message in await irc.sync() if message.command == "351"]
    assert version.params[1] == my_info.params[2]
    await irc.stream.aclose()


async def test_systemd_hears_ready_once_every_listener_is_up_and_stopping_at_sigterm(
    start: Start, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "notify")
    systemd = trio.socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    await systemd.bind(path)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    with systemd:
        server_run, server = await start(irc=True)
        # start() returned: the listeners are up, and systemd was told just before.
        with trio.fail_after(PATIENCE):
            assert await systemd.recv(100) == b"READY=1\nSTATUS=serving"
        for port in (server.port, server.irc_port):
            await (await trio.open_tcp_stream("127.0.0.1", port)).aclose()
        os.kill(os.getpid(), signal.SIGTERM)
        with trio.fail_after(PATIENCE):
            assert await systemd.recv(100) == b"STOPPING=1"
            await server_run.done.wait()
    assert server_run.exit_code == 0


def test_the_web_port_carries_irc_over_websocket_unless_told_not_to() -> None:
    def web_irc(*options: str) -> list[bool]:
        args = _build_parser().parse_args(["server", "--https-port", "8443", *options])
        web = [e for e in endpoints(args, Metrics(), Limits()) if e.page is not None]
        assert [endpoint.name for endpoint in web] == ["web", "web over TLS"]
        front_ends = [endpoint.front_end() for endpoint in web]
        return [isinstance(f, WebFrontEnd) and f.config.irc is not None for f in front_ends]

    assert web_irc() == [True, True]  # the IRC front end, as on the IRC port, and over TLS
    assert web_irc("--no-irc") == [True, True]  # no IRC port: the web IRC clients still come
    assert web_irc("--no-irc-websocket") == [False, False]
