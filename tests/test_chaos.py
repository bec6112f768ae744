"""Chaos: well-behaved members chat while misbehaving peers do their worst, on real sockets.

The misbehaviours are the ones a public server meets, on all three front ends: resets in the
middle of a line, half-closes, clients that never read, flooders, over-long lines, invalid
UTF-8, connections that never register; IRC clients that never answer a PING, never end CAP,
send 600-byte lines or ask for NAMES without reading; browsers that send half a request
(slowloris), upgrade and never say hello, send oversized or deeply nested messages, or ping
without reading. The assertions are the server's promises: every well-behaved member (plain,
IRC and web alike) gets every well-behaved message, all in one order; afterwards the room is
empty, and the server is back to the number of tasks and file descriptors it had before.
"""

from __future__ import annotations

import os
import random
import socket
import struct
from collections.abc import Awaitable, Callable

import trio
import trio.testing
from wsproto.events import Ping

from tests.chat_client import PATIENCE, ChatClient, RunningServer
from tests.conftest import StartServer
from tests.irc_client import IrcClient
from tests.web_client import WebClient

MEMBERS = 5  # three plain, one IRC, one web
MESSAGES = 8  # per well-behaved member, under the flood burst
SEED = 20261126  # the mix is random, and the same in every run


def task_count() -> int:
    """Every task in this Trio run (the server's among them)."""
    root = trio.lowlevel.current_root_task()
    assert root is not None
    count = 0
    pending = [root]
    while pending:
        task = pending.pop()
        count += 1
        for nursery in task.child_nurseries:
            pending.extend(nursery.child_tasks)
    return count


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def reset_mid_line(server: RunningServer, n: int) -> None:
    peer = await server.join(f"reset{n}")
    await peer.stream.send_all(b"half a line that never ends")
    assert isinstance(peer.stream, trio.SocketStream)
    peer.stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    peer.stream.socket.close()  # RST


async def half_close(server: RunningServer, n: int) -> None:
    peer = await server.join(f"half{n}")
    await peer.send("one last thing")
    await peer.send_eof()
    await peer.expect_closed()


async def never_read(server: RunningServer, n: int) -> None:
    await server.join(f"deaf{n}", receive_buffer=4096)  # and never reads again


async def flood(server: RunningServer, n: int) -> None:
    peer = await server.join(f"flood{n}")
    await peer.stream.send_all(b"spam\n" * 300)


async def long_lines(server: RunningServer, n: int) -> None:
    peer = await server.join(f"long{n}")
    await peer.stream.send_all(b"x" * 100_000 + b"\n")
    while await peer.receive_line() != "! line too long (max 2048 bytes)":
        pass  # others' news may come first


async def bad_utf8(server: RunningServer, n: int) -> None:
    peer = await server.join(f"bad{n}")
    await peer.send(b"\xff\xfe\xc3\x28 \x1b[2J")


async def silent(server: RunningServer, n: int) -> None:
    await server.connect()  # and never names itself: the registration timeout closes it


async def _tcp(
    server: RunningServer, port: int, receive_buffer: int | None = None
) -> trio.SocketStream:
    """A connection to ``port``, closed when the test (or the soak's round) ends."""
    sock = trio.socket.socket()
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    await sock.connect(("127.0.0.1", port))
    stream = trio.SocketStream(sock)
    server.clients.append(ChatClient(stream))
    return stream


async def irc_no_pong(server: RunningServer, n: int) -> None:
    irc = IrcClient(await _tcp(server, server.irc_port))
    await irc.register(f"nopong{n}")  # then never answers: removed as a ping timeout
    while True:
        try:
            await irc.receive_line()
        except EOFError:
            return


async def irc_cap_never_ended(server: RunningServer, n: int) -> None:
    irc = IrcClient(await _tcp(server, server.irc_port))
    await irc.send("CAP LS 302")
    await irc.send(f"NICK capper{n}")
    await irc.send("USER u 0 * :never ends CAP")  # the registration timeout closes it
    await irc.expect_closed()


async def irc_half_open(server: RunningServer, n: int) -> None:
    stream = await _tcp(server, server.irc_port)
    await stream.send_all(f"NICK half{n}\r\nUSER u 0 *".encode())  # and nothing more


async def irc_long_lines(server: RunningServer, n: int) -> None:
    irc = IrcClient(await _tcp(server, server.irc_port))
    await irc.register(f"long{n}irc", lobby=False)
    await irc.send("PRIVMSG #lobby :" + "x" * 600)
    while (await irc.receive()).command != "417":
        pass


async def irc_names_amplification(server: RunningServer, n: int) -> None:
    irc = IrcClient(await _tcp(server, server.irc_port, receive_buffer=4096))
    await irc.register(f"names{n}")
    await irc.stream.send_all(b"NAMES #lobby\r\n" * 500)  # and never reads the answers


async def web_slowloris(server: RunningServer, n: int) -> None:
    stream = await _tcp(server, server.web_port)
    await stream.send_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")  # never ends


async def web_no_hello(server: RunningServer, n: int) -> None:
    web = WebClient(await _tcp(server, server.web_port), f"127.0.0.1:{server.web_port}")
    assert await web.handshake() == 101  # then nothing: closed with 1008 at the timeout
    assert (await web.closed()).code == 1008


async def web_oversized(server: RunningServer, n: int) -> None:
    web = WebClient(await _tcp(server, server.web_port), f"127.0.0.1:{server.web_port}")
    assert await web.handshake() == 101
    assert (await web.hello(f"big{n}"))["type"] == "registered"
    await web.send({"type": "say", "text": "x" * 100_000})
    assert (await web.closed()).code == 1009


async def web_nested(server: RunningServer, n: int) -> None:
    web = WebClient(await _tcp(server, server.web_port), f"127.0.0.1:{server.web_port}")
    assert await web.handshake() == 101
    await web.send("[" * 3000)
    assert (await web.until("error"))["code"] == "too_deep"


async def web_pings_without_reading(server: RunningServer, n: int) -> None:
    stream = await _tcp(server, server.web_port, receive_buffer=4096)
    web = WebClient(stream, f"127.0.0.1:{server.web_port}")
    assert await web.handshake() == 101
    assert (await web.hello(f"pinger{n}"))["type"] == "registered"
    ping = web.socket.send(Ping(b"x" * 100))
    await stream.send_all(ping * 200)  # and never reads the pongs


Misbehaviour = Callable[[RunningServer, int], Awaitable[None]]
PLAIN_MISBEHAVIOURS: list[Misbehaviour] = [
    reset_mid_line,
    half_close,
    never_read,
    flood,
    long_lines,
    bad_utf8,
    silent,
]
IRC_MISBEHAVIOURS: list[Misbehaviour] = [
    irc_no_pong,
    irc_cap_never_ended,
    irc_half_open,
    irc_long_lines,
    irc_names_amplification,
]
WEB_MISBEHAVIOURS: list[Misbehaviour] = [
    web_slowloris,
    web_no_hello,
    web_oversized,
    web_nested,
    web_pings_without_reading,
]
MISBEHAVIOURS = PLAIN_MISBEHAVIOURS + IRC_MISBEHAVIOURS + WEB_MISBEHAVIOURS


class Member:
    """A well-behaved member on any front end: says numbered lines, hears "<nick> text"."""

    def __init__(self, nick: str, client: ChatClient | IrcClient | WebClient) -> None:
        self.nick = nick
        self.client = client

    async def say(self, text: str) -> None:
        match self.client:
            case ChatClient():
                await self.client.send(text)
            case IrcClient():
                await self.client.send(f"PRIVMSG #lobby :{text}")
            case WebClient():
                await self.client.send({"type": "say", "room": "#lobby", "text": text})

    async def hear(self) -> str:
        """The next thing heard, as the plain protocol shows a message (or another line)."""
        match self.client:
            case ChatClient():
                return await self.client.receive_line()
            case IrcClient():
                message = await self.client.receive()
                if message.command == "PING":  # a well-behaved client answers
                    await self.client.send(f"PONG :{message.params[-1]}")
                sender = (message.source or "").split("!")[0]
                if message.command == "PRIVMSG":
                    return f"<{sender}> {message.params[-1]}"
                if message.command == "JOIN":
                    return f"* {sender} joined"
                return message.command
            case WebClient():
                event = await self.client.receive()
                if event["type"] == "said":
                    return f"<{event['nick']}> {event['text']}"
                if event["type"] == "joined":
                    return f"* {event['nick']} joined"
                return str(event["type"])


async def members_of_every_front_end(server: RunningServer) -> list[Member]:
    members = [Member(f"m{n}", await server.join(f"m{n}")) for n in range(MEMBERS - 2)]
    irc = IrcClient(await _tcp(server, server.irc_port))
    await irc.register(f"m{MEMBERS - 2}", caps="echo-message")  # its own lines too
    members.append(Member(f"m{MEMBERS - 2}", irc))
    web = WebClient(await _tcp(server, server.web_port), f"127.0.0.1:{server.web_port}")
    assert await web.handshake() == 101
    assert (await web.hello(f"m{MEMBERS - 1}"))["type"] == "registered"
    members.append(Member(f"m{MEMBERS - 1}", web))
    return members


async def test_chaos(start_server: StartServer) -> None:
    # Default protections on (flood control included), short registration and ping timeouts.
    server = await start_server(
        registration_timeout=0.5, flood_rate=5, irc=True, web=True, ping_interval=0.5,
        ping_timeout=0.5,
    )  # fmt: skip
    await trio.testing.wait_all_tasks_blocked()
    idle_tasks, idle_fds = task_count(), open_fds()

    members = await members_of_every_front_end(server)
    for member in members[:-1]:  # the web member is the last to arrive: all know everyone
        while not (await member.hear()).endswith(f"m{MEMBERS - 1} joined"):
            pass
    expected = {f"<m{n}> {k}" for n in range(MEMBERS) for k in range(MESSAGES)}
    transcripts: dict[str, list[str]] = {}

    async def behave(member: Member) -> None:
        async with trio.open_nursery() as nursery:

            async def talk() -> None:
                for k in range(MESSAGES):
                    await member.say(str(k))

            nursery.start_soon(talk)
            received: list[str] = []
            while not expected <= set(received):
                line = await member.hear()
                if line in expected:
                    received.append(line)
            transcripts[member.nick] = received

    busy_tasks = task_count()
    assert busy_tasks >= idle_tasks + MEMBERS  # (the counter does see the connections: a task each)
    mix = [(kind, n) for kind in MISBEHAVIOURS for n in range(2)]
    random.Random(SEED).shuffle(mix)
    with trio.fail_after(PATIENCE):
        async with trio.open_nursery() as nursery:
            for kind, n in mix:
                nursery.start_soon(kind, server, n)
            for member in members:
                nursery.start_soon(behave, member)

    # Every well-behaved member got every message once, all in the same order.
    orders = list(transcripts.values())
    assert len(orders) == MEMBERS
    assert all(order == orders[0] for order in orders)
    assert set(orders[0]) == expected
    assert len(orders[0]) == len(expected)

    # Everyone leaves; the room is empty and the server is back to where it started.
    for client in server.clients:
        await trio.aclose_forcefully(client.stream)
    for member in members:
        await trio.aclose_forcefully(member.client.stream)
    with trio.fail_after(PATIENCE):
        # No event says "cleaned up", so poll the condition, bounded by the deadline.
        while task_count() > idle_tasks or open_fds() > idle_fds:  # noqa: ASYNC110
            await trio.sleep(0.01)
    checker = await server.join("checker")
    await checker.send("/who")
    try:
        assert await checker.receive_line() == "* online (1): checker"
    finally:
        await trio.aclose_forcefully(checker.stream)
    with trio.fail_after(PATIENCE):
        # The server closes the checker's socket a moment before its task ends: wait for both.
        while task_count() > idle_tasks or open_fds() > idle_fds:  # noqa: ASYNC110 (as above)
            await trio.sleep(0.01)
    # (Descriptors only "at most": another test's garbage may be collected meanwhile.)
    assert task_count() == idle_tasks
