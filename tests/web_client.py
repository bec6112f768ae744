"""Test clients for the web port: WebSocket (wsproto) over any Trio stream, JSON or IRC inside."""

from __future__ import annotations

import json
from typing import Any

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)

from tests.chat_client import PATIENCE


class Closed(Exception):
    """The server closed the WebSocket (``code``) or the connection (``code`` None)."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


class WebClient:
    """One browser-like connection: handshake, then JSON messages both ways."""

    def __init__(self, stream: trio.abc.Stream, host: str = "127.0.0.1") -> None:
        self.stream = stream
        self.host = host  # the Host header: the server's own origin is http://{host}
        self.socket = WSConnection(ConnectionType.CLIENT)
        self._events: list[Event] = []

    async def handshake(self, *, origin: str | None = None, after: bytes = b"") -> int:
        """Upgrade (sending ``after`` right behind the request); return 101 or the status."""
        extra = [(b"Origin", origin.encode())] if origin else []
        request = Request(host=self.host, target="/ws", extra_headers=extra)
        await self.stream.send_all(self.socket.send(request) + after)
        while True:
            self._events += await self._receive_events()
            while self._events:
                event = self._events.pop(0)
                if isinstance(event, AcceptConnection):
                    return 101  # what came right behind it stays for receive()
                if isinstance(event, RejectConnection):
                    return event.status_code

    async def hello(self, nick: str, **fields: Any) -> dict[str, Any]:
        """Say hello; return the server's first answer (registered, or a refusal)."""
        await self.send({"type": "hello", "v": 1, "nick": nick, **fields})
        return await self.receive()

    async def send(self, message: dict[str, Any] | str) -> None:
        text = message if isinstance(message, str) else json.dumps(message)
        await self.stream.send_all(self.socket.send(TextMessage(text)))

    async def send_raw(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def receive(self) -> dict[str, Any]:
        """The next JSON message; raises Closed when a close frame (or the end) comes instead."""
        with trio.fail_after(PATIENCE):
            while True:
                while self._events:
                    event = self._events.pop(0)
                    if isinstance(event, TextMessage):
                        message: dict[str, Any] = json.loads(event.data)
                        return message
                    if isinstance(event, CloseConnection):
                        raise Closed(event.code, event.reason or "")
                    if isinstance(event, Ping):
                        await self.stream.send_all(self.socket.send(event.response()))
                self._events += await self._receive_events()

    async def expect(self, *types: str) -> list[dict[str, Any]]:
        """Receive messages of exactly these types, in this order; return them."""
        messages = [await self.receive() for _ in types]
        assert [message["type"] for message in messages] == list(types), messages
        return messages

    async def until(self, kind: str) -> dict[str, Any]:
        """Receive until a message of type ``kind``; return it."""
        while (message := await self.receive())["type"] != kind:
            pass
        return message

    async def idle(self, seconds: float) -> int:
        """Read for ``seconds``, answering pings as a browser does; return how many came."""
        pings = 0
        with trio.move_on_after(seconds):
            while True:
                for event in await self._receive_events():
                    if isinstance(event, Ping):
                        pings += 1
                        await self.stream.send_all(self.socket.send(event.response()))
                    else:
                        self._events.append(event)
        return pings

    async def closed(self) -> Closed:
        """Receive until the server closes; return how it did."""
        try:
            while True:
                await self.receive()
        except Closed as closed:
            return closed

    async def _receive_events(self) -> list[Event]:
        try:
            data = await self.stream.receive_some(1 << 16)
        except trio.BrokenResourceError:
            data = b""
        if not data:
            raise Closed(None)
        self.socket.receive_data(bytes(data))
        return list(self.socket.events())


class IrcOverWebSocket(trio.abc.Stream):
    """IRC over WebSocket (the IRCv3 transport) as a byte stream, for :class:`IrcClient`.

    Each line ``send_all`` is given goes out as one message, without its CR LF (text or binary
    frames, as the subprotocol the server chose says); each message received comes back as one
    line with a CR LF added. What kinds of message came is kept in ``kinds``.
    """

    def __init__(self, stream: trio.abc.Stream, host: str = "127.0.0.1") -> None:
        self.stream = stream
        self.host = host
        self.socket = WSConnection(ConnectionType.CLIENT)
        self.subprotocol: str | None = None  # what the server's 101 named
        self.binary = False  # send binary messages (binary.ircv3.net)
        self.kinds: set[str] = set()  # "text" and "binary": the messages the server sent
        self.close_code: int | None = None  # the server's close frame's, once it came
        self._received: list[bytes] = []

    async def handshake(
        self, subprotocols: list[str], *, origin: str | None = None, target: str = "/"
    ) -> int:
        """Upgrade asking for ``subprotocols``; return 101 or the refusal's status."""
        extra = [(b"Origin", origin.encode())] if origin else []
        request = Request(
            host=self.host, target=target, subprotocols=subprotocols, extra_headers=extra
        )
        await self.stream.send_all(self.socket.send(request))
        while True:
            for event in await self._events():
                if isinstance(event, AcceptConnection):
                    self.subprotocol = event.subprotocol
                    self.binary = event.subprotocol == "binary.ircv3.net"
                    return 101
                if isinstance(event, RejectConnection):
                    return event.status_code

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        for line in bytes(data).split(b"\r\n")[:-1]:
            message = BytesMessage(line) if self.binary else TextMessage(line.decode())
            await self.stream.send_all(self.socket.send(message))

    async def send_message(self, message: TextMessage | BytesMessage) -> None:
        """Send one message as it is (a CR LF inside, a trailing one, ...)."""
        await self.stream.send_all(self.socket.send(message))

    async def wait_send_all_might_not_block(self) -> None:
        await self.stream.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """The next message, as a line with its CR LF; ``b""`` once the server closed."""
        while not self._received:
            if self.close_code is not None:
                return b""
            try:
                events = await self._events()
            except Closed:
                return b""
            for event in events:
                if isinstance(event, TextMessage):
                    self.kinds.add("text")
                    self._received.append(event.data.encode() + b"\r\n")
                elif isinstance(event, BytesMessage):
                    self.kinds.add("binary")
                    self._received.append(bytes(event.data) + b"\r\n")
                elif isinstance(event, CloseConnection):
                    self.close_code = event.code
                elif isinstance(event, Ping):
                    await self.stream.send_all(self.socket.send(event.response()))
        return self._received.pop(0)

    async def aclose(self) -> None:
        await trio.aclose_forcefully(self.stream)

    async def _events(self) -> list[Event]:
        try:
            data = await self.stream.receive_some(1 << 16)
        except trio.BrokenResourceError:
            data = b""
        if not data:
            raise Closed(None)
        self.socket.receive_data(bytes(data))
        return list(self.socket.events())
