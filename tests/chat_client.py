"""A test client for the plain-text protocol, over real loopback sockets."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import trio
import trio.testing

from trio_chat.core.framing import LineFramer
from trio_chat.shell.server import ServerConfig

PATIENCE = 10  # seconds any single expectation may take before the test fails instead of hanging


def free_port() -> int:
    """A loopback port nobody listens on (free now: for a process the test starts on it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ConnectionClosed(Exception):
    """The server closed the connection while the test expected a line."""


class ChatClient:
    """One connection: send lines, receive lines, expect exact lines."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self._framer = LineFramer(max_line_bytes=1 << 20)
        self.nick = ""

    async def send_eof(self) -> None:
        """Half-close: the client will send nothing more (its stream must allow it)."""
        assert isinstance(self.stream, trio.abc.HalfCloseableStream)
        await self.stream.send_eof()

    async def send(self, line: str | bytes) -> None:
        data = line.encode() if isinstance(line, str) else line
        await self.stream.send_all(data + b"\n")

    async def receive_line(self) -> str:
        """The next line from the server, decoded; raises ConnectionClosed at EOF."""
        with trio.fail_after(PATIENCE):
            while (line := self._framer.next_line()) is None:
                try:
                    data = await self.stream.receive_some(1 << 16)
                except trio.BrokenResourceError:
                    data = b""
                if not data:
                    raise ConnectionClosed
                self._framer.feed(data)
        assert isinstance(line, bytes)
        return line.decode()

    async def receive_lines(self, count: int) -> list[str]:
        return [await self.receive_line() for _ in range(count)]

    async def expect(self, *lines: str) -> None:
        """Receive exactly these lines, in this order."""
        assert await self.receive_lines(len(lines)) == list(lines)

    async def expect_closed(self) -> list[str]:
        """Receive until the server closes the connection; return what came before."""
        lines = []
        while True:
            try:
                lines.append(await self.receive_line())
            except ConnectionClosed:
                return lines


class MemoryListener(trio.abc.Listener[trio.abc.Stream]):
    """A listener for in-memory connections: no kernel buffers, so tests control every byte.

    ``connect(lockstep=True)`` makes a client whose reads the test controls exactly: the
    server's ``send_all`` to it blocks until the test reads (trio.testing.lockstep_stream_pair).
    """

    def __init__(self) -> None:
        self._send, self._receive = trio.open_memory_channel[trio.abc.Stream](0)

    async def accept(self) -> trio.abc.Stream:
        return await self._receive.receive()

    async def aclose(self) -> None:
        self._receive.close()
        await trio.lowlevel.checkpoint()

    async def connect(self, *, lockstep: bool = False) -> trio.abc.HalfCloseableStream:
        """Connect; raises trio.BrokenResourceError once the server has stopped accepting."""
        pair = trio.testing.lockstep_stream_pair if lockstep else trio.testing.memory_stream_pair
        client, server = pair()
        await self._send.send(server)
        return client


@dataclass
class RunningServer:
    """A server started by the ``start_server`` fixture."""

    config: ServerConfig
    stop: trio.Event  # set it to begin a graceful shutdown
    finished: trio.Event  # set when serve() has returned
    clients: list[ChatClient]
    port: int = 0  # for TCP servers
    irc_port: int = 0  # for TCP servers with an IRC endpoint (started with irc=True)
    web_port: int = 0  # for TCP servers with a web endpoint (started with web=...)
    listener: MemoryListener | None = None  # for in-memory servers

    async def open_connection(
        self, *, receive_buffer: int | None = None, lockstep: bool = False
    ) -> ChatClient:
        """Connect (the connection is closed when the test ends).

        With ``receive_buffer`` (TCP), the socket's receive buffer is shrunk before connecting,
        so a client that stops reading makes the server's sends block sooner. With ``lockstep``
        (in memory), they block at once.
        """
        stream: trio.abc.HalfCloseableStream
        if self.listener is not None:
            stream = await self.listener.connect(lockstep=lockstep)
        else:
            sock = trio.socket.socket()
            if receive_buffer is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            await sock.connect(("127.0.0.1", self.port))
            stream = trio.SocketStream(sock)
        client = ChatClient(stream)
        self.clients.append(client)
        return client

    async def connect(
        self, *, receive_buffer: int | None = None, lockstep: bool = False
    ) -> ChatClient:
        """Connect, and read the name prompt."""
        client = await self.open_connection(receive_buffer=receive_buffer, lockstep=lockstep)
        await client.expect("* what is your name?")
        return client

    async def join(
        self, nick: str, *, receive_buffer: int | None = None, lockstep: bool = False
    ) -> ChatClient:
        """Connect and register as ``nick``; return once the welcome has been read."""
        client = await self.connect(receive_buffer=receive_buffer, lockstep=lockstep)
        await client.send(nick)
        welcome = await client.receive_line()
        assert welcome.startswith(f"* welcome, {nick}! online ("), welcome
        client.nick = nick
        return client
