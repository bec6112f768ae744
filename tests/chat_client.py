"""A test client for the plain-text protocol, over real loopback sockets."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import trio

from trio_chat.framing import LineFramer
from trio_chat.server import ServerConfig

PATIENCE = 10  # seconds any single expectation may take before the test fails instead of hanging


class ConnectionClosed(Exception):
    """The server closed the connection while the test expected a line."""


class ChatClient:
    """One connection: send lines, receive lines, expect exact lines."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self._framer = LineFramer(max_line_bytes=1 << 20)
        self.nick = ""

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


@dataclass
class RunningServer:
    """A server started by the ``start_server`` fixture."""

    config: ServerConfig
    stop: trio.Event  # set it to begin a graceful shutdown
    finished: trio.Event  # set when serve() has returned
    clients: list[ChatClient]
    port: int = 0

    async def open_connection(self, *, receive_buffer: int | None = None) -> ChatClient:
        """Connect (the connection is closed when the test ends).

        With ``receive_buffer``, the socket's receive buffer is shrunk before connecting, so a
        client that stops reading makes the server's sends block sooner.
        """
        sock = trio.socket.socket()
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        await sock.connect(("127.0.0.1", self.port))
        client = ChatClient(trio.SocketStream(sock))
        self.clients.append(client)
        return client

    async def connect(self, *, receive_buffer: int | None = None) -> ChatClient:
        """Connect, and read the name prompt."""
        client = await self.open_connection(receive_buffer=receive_buffer)
        await client.expect("* what is your name?")
        return client

    async def join(self, nick: str, *, receive_buffer: int | None = None) -> ChatClient:
        """Connect and register as ``nick``; return once the welcome has been read."""
        client = await self.connect(receive_buffer=receive_buffer)
        await client.send(nick)
        welcome = await client.receive_line()
        assert welcome.startswith(f"* welcome, {nick}! online ("), welcome
        client.nick = nick
        return client
