"""Listening and accepting: what happens when the system says no.

Running out of file descriptors, a connection that is gone before it is served, a certificate
that does not load, a port that is taken: each must leave the server serving (or, at start-up,
leave nothing open behind it).
"""

from __future__ import annotations

import logging
import re
import resource
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import pytest
import trio
import trio.testing
import trustme

from tests.chat_client import PATIENCE, ChatClient, free_port
from tests.conftest import plain_config
from trio_chat.frontends.line import LineFrontEnd
from trio_chat.shell import listeners
from trio_chat.shell.listeners import Listening
from trio_chat.shell.server import Endpoint, StartupError, serve, serve_listeners


def test_accepted_connections_are_kept_alive() -> None:
    with socket.socket() as sock:
        listeners.keep_alive(sock)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        if hasattr(socket, "TCP_KEEPIDLE"):
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 60
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 10
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3


class StreamsListener(trio.abc.Listener[trio.abc.Stream]):
    """Hands out the streams put in it, in order."""

    def __init__(self) -> None:
        self.send, self._receive = trio.open_memory_channel[trio.abc.Stream](10)

    async def accept(self) -> trio.abc.Stream:
        return await self._receive.receive()

    async def aclose(self) -> None:
        self._receive.close()
        await trio.lowlevel.checkpoint()


async def test_a_connection_that_refuses_socket_options_ends_alone(
    nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    # Some systems refuse setsockopt on a connection the peer already reset; here a Unix socket
    # refuses the TCP keepalive options. That connection ends; the server carries on (it used
    # to crash, because the options were set before the connection's error handling began).
    caplog.set_level(logging.INFO, logger="trio_chat")
    listener = StreamsListener()
    stop = trio.Event()
    listening = [Listening(listener, LineFrontEnd)]
    await nursery.start(partial(serve_listeners, listening, plain_config(), stop=stop))
    ours, theirs = trio.socket.socketpair()
    listener.send.send_nowait(trio.SocketStream(ours))
    peer = ChatClient(trio.SocketStream(theirs))
    assert await peer.expect_closed() == []
    await peer.stream.aclose()
    assert "gone before it was served: Operation not supported" in caplog.text
    client, server_end = trio.testing.memory_stream_pair()
    listener.send.send_nowait(server_end)
    alice = ChatClient(client)
    await alice.expect("* what is your name?")
    await alice.send("alice")
    await alice.expect("* welcome, alice! online (1): alice")
    stop.set()


async def port_is_free(port: int) -> bool:
    try:
        (listener,) = await trio.open_tcp_listeners(port, host="127.0.0.1")
    except OSError:
        return False
    await listener.aclose()
    return True


@pytest.fixture
def certificate(tmp_path: Path) -> Path:
    ca = trustme.CA()
    path = tmp_path / "server.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(path))
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem.bytes())
    return path


async def test_a_certificate_that_does_not_load_leaves_nothing_open(tmp_path: Path) -> None:
    plain = free_port()
    config = plain_config(
        endpoints=(Endpoint(plain, LineFrontEnd), Endpoint(0, LineFrontEnd, "TLS", tls=True)),
        tls_cert=str(tmp_path / "missing.pem"),
    )
    with pytest.raises(StartupError, match=r"cannot load the TLS certificate .*missing\.pem"):
        await serve(config, stop=trio.Event())
    assert await port_is_free(plain)


async def test_a_tls_port_in_use_leaves_the_plain_listener_closed(certificate: Path) -> None:
    plain = free_port()
    (taken,) = await trio.open_tcp_listeners(0, host="127.0.0.1")
    tls_port = taken.socket.getsockname()[1]
    config = plain_config(
        endpoints=(
            Endpoint(plain, LineFrontEnd),
            Endpoint(tls_port, LineFrontEnd, "TLS", tls=True),
        ),
        tls_cert=str(certificate),
    )
    with pytest.raises(StartupError, match=f"cannot listen on 127.0.0.1 port {tls_port}"):
        await serve(config, stop=trio.Event())
    assert await port_is_free(plain)  # the plain listener, opened first, was closed again
    await taken.aclose()


def limited_files(soft: int, hard: int) -> Callable[[], None]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return limit


class Log:
    """A server process's log lines, as they arrive."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.port = 0  # the first port it said it listens on
        self._changed = trio.Event()

    def add(self, line: str) -> None:
        self.lines.append(line)
        if not self.port and (found := re.search(r"listening on 127.0.0.1 port (\d+)", line)):
            self.port = int(found[1])
        self._changed.set()
        self._changed = trio.Event()

    def has(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    async def wait_for(self, text: str) -> None:
        with trio.fail_after(PATIENCE):
            while not self.has(text):
                await self._changed.wait()


@asynccontextmanager
async def server_process(
    args: list[str], files: tuple[int, int]
) -> AsyncIterator[tuple[trio.Process, Log]]:
    """A server process with RLIMIT_NOFILE set to ``files``, and its log."""
    command = [sys.executable, "-m", "trio_chat", "server", *args, "--log-level", "info"]
    process = await trio.lowlevel.open_process(
        command, stderr=subprocess.PIPE, preexec_fn=limited_files(*files)
    )
    log = Log()

    async def read_log() -> None:
        assert process.stderr is not None
        buffer = b""
        while chunk := await process.stderr.receive_some():
            *lines, buffer = (buffer + chunk).split(b"\n")
            for line in lines:
                log.add(line.decode())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(read_log)
        try:
            await log.wait_for("listening on")
            yield process, log
        finally:
            process.kill()
            # Shielded, so that a failing (cancelled) test still reaps its child; bounded.
            with trio.move_on_after(PATIENCE, shield=True):
                await process.wait()


async def test_running_out_of_files_on_a_tls_listener_is_survived(certificate: Path) -> None:
    # With 64 file descriptors and 100 clients at once, accept() fails with EMFILE. The server
    # says so once, backs off and keeps trying (it used to die: the TLS listener's accept loop
    # let the error escape), and serves newcomers again as soon as descriptors are free.
    args = ["--no-plain", "--no-irc", "--no-web", "--tls-port", "0", "--tls-cert", str(certificate)]
    async with server_process(args, files=(64, 64)) as (process, log):
        crowd = [await trio.open_tcp_stream("127.0.0.1", log.port) for _ in range(100)]
        await log.wait_for("Too many open files")
        assert process.returncode is None  # still running
        for stream in crowd:
            await stream.aclose()
        context = ssl.create_default_context(cafile=str(certificate.parent / "ca.pem"))
        with trio.fail_after(PATIENCE):
            tls = await trio.open_ssl_over_tcp_stream("127.0.0.1", log.port, ssl_context=context)
        client = ChatClient(tls)
        await client.expect("* what is your name?")
        await client.send("alice")
        await client.expect("* welcome, alice! online (1): alice")
        # Logged by the server's log thread, maybe after the welcome: waited for, and then,
        # since the log is one ordered stream, the error is known to have been said once.
        await log.wait_for("accepting again after")
        assert log.has("Too many open files") == 1  # said once, not every 0.1 s
        process.send_signal(signal.SIGINT)
        assert await client.expect_closed() == ["* server shutting down"]
        await tls.aclose()
        with trio.fail_after(PATIENCE):
            assert await process.wait() == 0


async def test_the_open_files_limit_is_raised_and_a_small_one_is_warned_about() -> None:
    async with server_process(["--port", "0"], files=(64, 4096)) as (process, log):
        limits = await trio.Path(f"/proc/{process.pid}/limits").read_text()
        assert re.search(r"Max open files\s+4096\s+4096", limits)
        assert log.has("--max-clients 10000 does not fit under the open files limit (4096)")
    async with server_process(["--port", "0", "--max-clients", "100"], files=(64, 4096)) as (
        _,
        log,
    ):
        assert not log.has("does not fit")
