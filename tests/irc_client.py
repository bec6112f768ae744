"""A test client for the IRC front end: send lines, receive parsed messages, synchronize."""

from __future__ import annotations

import trio

from tests.chat_client import PATIENCE
from trio_chat.core.framing import LineFramer
from trio_chat.frontends.ircmessage import Message, parse, serialize


class IrcClient:
    """One IRC connection. ``sync()`` works as IRC test suites do: PING, and read to the PONG."""

    def __init__(self, stream: trio.abc.Stream, *, patience: float = PATIENCE) -> None:
        self.stream = stream
        self.patience = patience  # seconds one expected line may take
        self._framer = LineFramer(max_line_bytes=1 << 20)
        self._syncs = 0
        self.nick = "*"

    async def send(self, line: str | bytes) -> None:
        data = line.encode() if isinstance(line, str) else line
        await self.stream.send_all(data + b"\r\n")

    async def receive_line(self) -> str:
        """The next line, decoded; raises EOFError when the server closes."""
        with trio.fail_after(self.patience):
            while (line := self._framer.next_line()) is None:
                try:
                    data = await self.stream.receive_some(1 << 16)
                except trio.BrokenResourceError:
                    data = b""
                if not data:
                    raise EOFError
                self._framer.feed(data)
        assert isinstance(line, bytes)
        return line.decode()

    async def receive(self) -> Message:
        message = parse(await self.receive_line())
        assert isinstance(message, Message), message
        return message

    async def receive_until(self, *commands: str) -> list[Message]:
        """Messages up to and including the first of ``commands``."""
        messages = [await self.receive()]
        while messages[-1].command not in commands:
            messages.append(await self.receive())
        return messages

    async def sync(self) -> list[Message]:
        """Everything the server sends before it answers a PING (which it does in order)."""
        self._syncs += 1
        token = f"sync{self._syncs}"
        await self.send(f"PING :{token}")
        messages = []
        while (message := await self.receive()).command != "PONG" or message.params[-1] != token:
            messages.append(message)
        return messages

    async def lines(self) -> list[str]:
        """What :meth:`sync` gets, as lines without the server's tags (for exact comparisons)."""
        return [serialize(Message(m.command, m.params, m.source)) for m in await self.sync()]

    async def register(
        self, nick: str, *, caps: str = "", user: str = "u", lobby: bool = True
    ) -> list[Message]:
        """Register as ``nick``; return the welcome burst, up to the end of the MOTD.

        With ``lobby``, also join #lobby (and read up to the end of its names), where the
        plain protocol's users are.
        """
        if caps:
            await self.send("CAP LS 302")
            await self.send(f"CAP REQ :{caps}")
        await self.send(f"NICK {nick}")
        await self.send(f"USER {user} 0 * :Real {nick}")
        if caps:
            await self.send("CAP END")
        burst = [await self.receive()]
        while burst[-1].command not in ("376", "422"):  # the end of the MOTD, or none
            burst.append(await self.receive())
        assert burst[0 if not caps else 2].command == "001", burst
        self.nick = nick
        if lobby:
            await self.send("JOIN #lobby")
            await self.receive_until("366")
        return burst

    async def expect_closed(self) -> list[str]:
        lines = []
        while True:
            try:
                lines.append(await self.receive_line())
            except EOFError:
                return lines
