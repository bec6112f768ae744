"""``trio-chat client``: piped mode end to end, exit codes, and interactive mode on a pty."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pexpect
import pyte
import pytest
import trio

from tests.chat_client import RunningServer, free_port
from trio_chat.client import session as session_module
from trio_chat.client.display import Display

CLIENT = [sys.executable, "-m", "trio_chat", "client"]


async def run_piped(server: RunningServer, script: str) -> subprocess.CompletedProcess[bytes]:
    with trio.fail_after(20):
        return await trio.run_process(
            [*CLIENT, "--port", str(server.port)],
            stdin=script.encode(),
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )


async def test_piped_clients_chat_and_quit_cleanly(server: RunningServer) -> None:
    carol = await server.join("carol")
    results: dict[str, subprocess.CompletedProcess[bytes]] = {}

    async def client(name: str) -> None:
        results[name] = await run_piped(server, f"{name}\nhello from {name}\n/who\n")

    async with trio.open_nursery() as nursery:
        for name in ("alice", "bob"):
            nursery.start_soon(client, name)
    for name, result in results.items():
        assert result.returncode == 0, result.stderr
        assert result.stderr == b""
        lines = result.stdout.decode().splitlines()
        assert lines[0] == "* what is your name?"
        assert lines[1].startswith(f"* welcome, {name}! online (")
        assert f"<{name}> hello from {name}" in lines
        assert any(line.startswith("* online (") for line in lines)
        assert lines[-1] == "* bye"  # end of input sent /exit, and the goodbye was awaited
    # Carol saw each of them arrive, talk and quit (a quit, not a lost connection).
    seen = await carol.receive_lines(6)
    for name in ("alice", "bob"):
        events = [line for line in seen if name in line]
        assert events == [
            f"* {name} joined",
            f"<{name}> hello from {name}",
            f"* {name} left (quit)",
        ]


async def test_piped_client_with_nick_answers_the_prompt_itself(server: RunningServer) -> None:
    result = await trio.run_process(
        [*CLIENT, "--port", str(server.port), "--nick", "dora"],
        stdin=b"hi\n",
        capture_stdout=True,
    )
    assert result.stdout.decode().splitlines() == [
        "* welcome, dora! online (1): dora",
        "<dora> hi",
        "* bye",
    ]


class ScriptedConsole:
    """A console whose person types ``lines``: after the welcome, each once the last is echoed."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.shown: list[str] = []
        self._ready = trio.Event()  # set when the screen shows what the person waits for

    async def read_line(self) -> str | None:
        await self._ready.wait()
        self._ready = trio.Event()
        return self.lines.pop(0) if self.lines else None

    def show(self, text: str) -> None:
        self.shown.append(text)
        if text.startswith(("* welcome", "<")):
            self._ready.set()

    def ask_secret(self) -> None:
        self.shown.append("(a secret asked)")


class WriterRecordingStream(trio.abc.HalfCloseableStream):
    """A real TCP stream that notes which task makes each write."""

    def __init__(self, inner: trio.SocketStream) -> None:
        self.inner = inner
        self.writers: set[trio.lowlevel.Task] = set()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        self.writers.add(trio.lowlevel.current_task())
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self.inner.send_eof()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self.inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_one_task_writes_to_the_connection(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The nickname (answered by the receiver), the typed lines (the input reader) and the final
    # /exit all go through one writer, as on the server: no two tasks share the stream.
    streams: list[WriterRecordingStream] = []
    connect = trio.open_tcp_stream

    async def open_tcp_stream(host: str, port: int) -> WriterRecordingStream:
        streams.append(WriterRecordingStream(await connect(host, port)))
        return streams[-1]

    monkeypatch.setattr(trio, "open_tcp_stream", open_tcp_stream)
    console = ScriptedConsole(["one", "two"])
    with trio.fail_after(10):
        code = await session_module.run_client(
            "127.0.0.1", server.port, nick="fay", console=console, display=Display(color=False)
        )
    assert code == 0
    assert console.shown == ["* welcome, fay! online (1): fay", "<fay> one", "<fay> two", "* bye"]
    (stream,) = streams
    assert len(stream.writers) == 1


async def test_the_server_going_away_is_exit_code_1_without_traceback(
    server: RunningServer,
) -> None:
    client = await trio.lowlevel.open_process(
        [*CLIENT, "--port", str(server.port), "--nick", "erin"],
        stdin=subprocess.PIPE,  # kept open: the client waits for input that never comes
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert client.stdout is not None
    assert client.stderr is not None
    try:
        output = b""
        with trio.fail_after(20):
            while b"* welcome, erin!" not in output:
                output += await client.stdout.receive_some()
            server.stop.set()
            assert await client.wait() == 1
        stderr = b""
        while chunk := await client.stderr.receive_some():
            stderr += chunk
        assert stderr.decode() == f"disconnected from 127.0.0.1:{server.port}\n"
    finally:
        client.kill()
        with trio.move_on_after(5, shield=True):  # reap the child even if the test failed
            await client.wait()


async def test_cannot_connect_is_exit_code_2_with_one_line() -> None:
    port = free_port()
    result = await trio.run_process(
        [*CLIENT, "--port", str(port)], stdin=b"", capture_stderr=True, check=False
    )
    assert result.returncode == 2
    assert result.stderr.decode() == (
        f"trio-chat: cannot connect to 127.0.0.1:{port}: Connection refused\n"
    )


# --- interactive mode, on a pseudo-terminal, with pyte as the screen ------------------------


@pytest.fixture
def server_process() -> Iterator[int]:
    """A server in its own process (pexpect blocks, so it cannot share the test's event loop)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "trio_chat", "server", "--port", "0", "--no-irc", "--no-web"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    try:
        for line in process.stderr:
            if listening := re.search(r"listening on 127.0.0.1 port (\d+)", line):
                break
        else:
            raise AssertionError("the server did not start")
        yield int(listening[1])
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stderr.close()


class Terminal:
    """The client on a pty, its output rendered by pyte as a real terminal would show it."""

    def __init__(self, argv: list[str]) -> None:
        env = dict(os.environ, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
        self.child = pexpect.spawn(
            argv[0], argv[1:], env=env, dimensions=(24, 80), encoding="utf-8"
        )
        self.screen = pyte.Screen(80, 24)
        self._stream = pyte.Stream(self.screen)

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display if line.strip()]

    def wait_for(self, condition: Callable[[list[str]], bool], timeout: float = 10) -> None:
        """Render output until the screen satisfies ``condition``."""
        deadline = time.monotonic() + timeout
        while not condition(self.lines()):
            assert time.monotonic() < deadline, f"screen never matched:\n{self.lines()}"
            with contextlib.suppress(pexpect.TIMEOUT):  # nothing new yet: look again
                self._stream.feed(self.child.read_nonblocking(65536, timeout=0.1))

    def wait_for_exit(self) -> int:
        self.child.expect(pexpect.EOF, timeout=10)
        self.child.close()
        assert self.child.exitstatus is not None
        return self.child.exitstatus


def receive_until(sock: socket.socket, line: str) -> list[str]:
    """Lines from a plain socket, up to and including ``line``."""
    sock.settimeout(10)
    received = b""
    while f"{line}\n".encode() not in received:
        chunk = sock.recv(65536)
        assert chunk, f"closed before {line!r}; got {received!r}"
        received += chunk
    return received.decode().splitlines()


def test_incoming_lines_never_garble_a_half_typed_line(
    server_process: int, request: pytest.FixtureRequest
) -> None:
    port = server_process
    bob = Terminal([*CLIENT, "--port", str(port), "--nick", "bob"])
    bob.wait_for(lambda lines: "* welcome, bob! online (1): bob" in lines)
    alice = socket.create_connection(("127.0.0.1", port))
    request.addfinalizer(alice.close)
    alice.sendall(b"alice\n")
    receive_until(alice, "* welcome, alice! online (2): alice, bob")
    # Typed at the prompt, once it is redrawn: prompt_toolkit prints a line above the input
    # with the terminal cooked, and keys pressed meanwhile would be echoed by the tty itself.
    bob.wait_for(lambda lines: lines[-2:] == ["* alice joined", "#lobby>"])

    bob.child.send("hello wor")  # half a line, not sent yet
    bob.wait_for(lambda lines: lines[-1] == "#lobby> hello wor")  # the prompt names the room
    alice.sendall(b"incoming!\n")
    # The message appears above the input line, which is left exactly as it was.
    bob.wait_for(lambda lines: lines[-2:] == ["<alice> incoming!", "#lobby> hello wor"])

    bob.child.send("ld\r")  # finish the line: what was typed before the message is intact
    assert receive_until(alice, "<bob> hello world")[-1] == "<bob> hello world"
    # Bob sees his message once, as the server echoed it; the input line is empty again.
    bob.wait_for(lambda lines: lines[-2:] == ["<bob> hello world", "#lobby>"])
    assert not any("hello wor" in line for line in bob.lines()[:-2])

    bob.child.sendcontrol("c")  # leaves cleanly: the server sees a quit
    assert receive_until(alice, "* bob left (quit)")[-1] == "* bob left (quit)"
    assert bob.wait_for_exit() == 0


def test_ctrl_d_quits_and_a_refused_nick_is_asked_again(
    server_process: int, request: pytest.FixtureRequest
) -> None:
    port = server_process
    alice = socket.create_connection(("127.0.0.1", port))
    request.addfinalizer(alice.close)
    alice.sendall(b"alice\n")
    receive_until(alice, "* welcome, alice! online (1): alice")
    client = Terminal([*CLIENT, "--port", str(port), "--nick", "Alice"])
    client.wait_for(lambda lines: "! nickname Alice is taken" in lines)
    client.child.send("carol\r")  # the person answers the second prompt
    client.wait_for(lambda lines: "* welcome, carol! online (2): alice, carol" in lines)
    # Pressed at the prompt, as a person would: between two prompts the terminal is cooked,
    # and its line discipline consumes a Ctrl+D as end of file: no prompt would ever see it.
    client.wait_for(lambda lines: lines[-1] == "#lobby>")
    client.child.sendcontrol("d")
    assert receive_until(alice, "* carol left (quit)")[-1] == "* carol left (quit)"
    assert client.wait_for_exit() == 0


def test_a_password_is_asked_without_echo_and_never_kept_in_the_history(
    server_process: int, request: pytest.FixtureRequest
) -> None:
    port = server_process
    owner = socket.create_connection(("127.0.0.1", port))
    request.addfinalizer(owner.close)
    owner.sendall(b"alice\n/register hunter2-but-longer\n/quit\n")
    receive_until(owner, "* bye")
    client = Terminal([*CLIENT, "--port", str(port), "--nick", "alice"])
    client.wait_for(lambda lines: lines[-2:] == ["* alice is registered: password?", "password:"])
    client.child.send("hunter2-but-longer")
    client.wait_for(lambda lines: lines[-1] == "password: " + "*" * len("hunter2-but-longer"))
    client.child.send("\r")
    client.wait_for(lambda lines: "* welcome, alice! online (1): alice" in lines)
    client.wait_for(lambda lines: lines[-1] == "#lobby>")
    assert not any("hunter2" in line for line in client.lines())
    client.child.send("\x1b[A")  # up: the history has nothing to bring back
    client.child.send("hello\r")
    client.wait_for(lambda lines: "<alice> hello" in lines)
    client.child.send("\x1b[A")  # up: the line just sent, never the password
    client.wait_for(lambda lines: lines[-1] == "#lobby> hello")
    client.child.sendcontrol("c")
    assert client.wait_for_exit() == 0


class EagerConsole:
    """A console (a script's stdin) whose lines are all there at once, before any prompt."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.shown: list[str] = []

    async def read_line(self) -> str | None:
        await trio.lowlevel.checkpoint()
        return self.lines.pop(0) if self.lines else None

    def show(self, text: str) -> None:
        self.shown.append(text)

    def ask_secret(self) -> None:
        self.shown.append("(a secret asked)")


async def test_typed_lines_wait_for_the_nickname_to_be_given(server: RunningServer) -> None:
    # The line is there before the server's prompt is: without waiting for the nickname to be
    # queued first, it would be sent first, and taken for the nickname.
    console = EagerConsole(["hi"])
    with trio.fail_after(10):
        code = await session_module.run_client(
            "127.0.0.1", server.port, nick="dora", console=console, display=Display(color=False)
        )
    assert code == 0
    assert console.shown == ["* welcome, dora! online (1): dora", "<dora> hi", "* bye"]
