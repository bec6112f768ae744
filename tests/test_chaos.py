"""Chaos: well-behaved members chat while misbehaving peers do their worst, on real sockets.

The misbehaviours are the ones a public server meets: resets in the middle of a line,
half-closes, clients that never read, flooders, over-long lines, invalid UTF-8, connections
that never register. The assertions are the server's promises: every well-behaved member gets
every well-behaved message, all in one order; afterwards the room is empty, and the server is
back to the number of tasks and file descriptors it had before.
"""

from __future__ import annotations

import os
import random
import socket
import struct
from collections.abc import Awaitable, Callable

import trio
import trio.testing

from tests.chat_client import PATIENCE, ChatClient, RunningServer
from tests.conftest import StartServer

MEMBERS = 5
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


MISBEHAVIOURS: list[Callable[[RunningServer, int], Awaitable[None]]] = [
    reset_mid_line,
    half_close,
    never_read,
    flood,
    long_lines,
    bad_utf8,
    silent,
]


async def test_chaos(start_server: StartServer) -> None:
    # Default protections on (flood control included), a short registration timeout.
    server = await start_server(registration_timeout=0.5, flood_rate=5)
    await trio.testing.wait_all_tasks_blocked()
    idle_tasks, idle_fds = task_count(), open_fds()

    members = [await server.join(f"m{n}") for n in range(MEMBERS)]
    for member in members[:-1]:
        while not (await member.receive_line()).endswith(f"m{MEMBERS - 1} joined"):
            pass
    expected = {f"<m{n}> {k}" for n in range(MEMBERS) for k in range(MESSAGES)}
    transcripts: dict[str, list[str]] = {}

    async def behave(member: ChatClient) -> None:
        async with trio.open_nursery() as nursery:

            async def talk() -> None:
                for k in range(MESSAGES):
                    await member.send(str(k))

            nursery.start_soon(talk)
            received: list[str] = []
            while not expected <= set(received):
                line = await member.receive_line()
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
