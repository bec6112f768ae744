"""The fast path end to end, over TCP on 127.0.0.1: who writes, and that nothing is reordered.

A Trio instrument records every task that runs, so a test can say "no writer task ran".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import trio
import trio.testing

from tests.chat_client import ChatClient, RunningServer
from tests.conftest import StartServer

BACKLOG_WRITER = "trio_chat.shell.session.Session._write_backlog"
WRITER = "trio_chat.shell.session.Session._write"
ROOT = Path(__file__).resolve().parent.parent


class TaskNames(trio.abc.Instrument):
    def __init__(self) -> None:
        self.names: set[str] = set()

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.names.add(task.name)


@contextmanager
def tasks_that_run() -> Iterator[TaskNames]:
    names = TaskNames()
    trio.lowlevel.add_instrument(names)
    try:
        yield names
    finally:
        trio.lowlevel.remove_instrument(names)


async def test_a_member_whose_socket_takes_everything_is_served_without_a_writer(
    server: RunningServer,
) -> None:
    alice = await server.join("alice")
    bob = await server.join("bob")
    await alice.expect("* bob joined")
    with tasks_that_run() as names:
        for n in range(50):
            await alice.send(f"message {n}")
            for member in (alice, bob):
                await member.expect(f"<alice> message {n}")
    assert BACKLOG_WRITER not in names.names
    assert WRITER not in names.names


# 400 lines, 200 KB: far more than the kernel's buffers hold for a member that does not read.
LINES = [f"{n:04d} {'x' * 500}" for n in range(400)]


async def alice_and_slow(start_server: StartServer) -> tuple[ChatClient, ChatClient]:
    """alice, and slow, whose small receive buffer fills with LINES: room enough to queue them."""
    server = await start_server(mailbox_size=10_000, mailbox_bytes=1 << 24)
    alice = await server.join("alice")
    slow = await server.join("slow", receive_buffer=4096)
    await alice.expect("* slow joined")
    return alice, slow


async def test_a_member_whose_socket_is_full_gets_a_backlog_in_order(
    start_server: StartServer,
) -> None:
    alice, slow = await alice_and_slow(start_server)
    with tasks_that_run() as names:
        for line in LINES:
            await alice.send(line)
            await alice.expect(f"<alice> {line}")
        # slow has read nothing meanwhile; now it reads everything, in order.
        for line in LINES:
            await slow.expect(f"<alice> {line}")
    assert BACKLOG_WRITER in names.names
    # The backlog is gone: the fast path serves slow again.
    with tasks_that_run() as names:
        await alice.send("back to normal")
        await slow.expect("<alice> back to normal")
    assert BACKLOG_WRITER not in names.names


async def test_eviction_still_fires_on_the_fast_path(start_server: StartServer) -> None:
    server = await start_server(mailbox_size=5)
    alice = await server.join("alice")
    await server.join("stuck", receive_buffer=4096)
    await alice.expect("* stuck joined")
    seen = []
    for n in range(10_000):
        await alice.send(f"{n:04d} {'x' * 1000}")
        seen.append(await alice.receive_line())
        if seen[-1] == "* stuck left (too slow)":
            break
    assert seen[-1] == "* stuck left (too slow)"
    assert all(line.startswith("<alice> ") for line in seen[:-1])


async def test_the_send_timeout_still_fires_on_the_fast_path(start_server: StartServer) -> None:
    server = await start_server(send_timeout=1, mailbox_size=10_000, mailbox_bytes=1 << 24)
    alice = await server.join("alice")
    await server.join("stuck", receive_buffer=4096)
    await alice.expect("* stuck joined")
    await alice.send("x" * 2000)  # more than stuck's buffers ever take, at once or later
    for _ in range(200):
        await alice.send("y" * 2000)
    with trio.fail_after(10):
        while (line := await alice.receive_line()) != "* stuck left (timed out)":
            assert line.startswith("<alice> ")


def connection_tasks() -> list[trio.lowlevel.Task]:
    """Every task running ``Server.handle``: one per connection, each with its whole stack."""
    found, pending = [], [trio.lowlevel.current_root_task()]
    while pending:
        task = pending.pop()
        assert task is not None
        if task.name.endswith("Server.handle"):
            found.append(task)
        pending.extend(child for nursery in task.child_nurseries for child in nursery.child_tasks)
    return found


def our_frames(task: trio.lowlevel.Task) -> list[str]:
    """The names of trio-chat's coroutine frames in ``task``'s stack, outermost first."""
    return [
        frame.f_code.co_qualname
        for frame, _ in task.iter_await_frames()
        if frame.f_code.co_filename.startswith(str(ROOT / "trio_chat"))
    ]


async def test_a_parked_member_is_one_task_in_a_cancel_scope_with_five_frames(
    server: RunningServer,
) -> None:
    # Ten thousand members who keep up sit parked like this: every object they hold counts
    # (see docs/benchmarks.md, memory). No member nursery until a writer is needed, and no
    # more coroutine frames than these five.
    await server.join("alice")
    await trio.testing.wait_all_tasks_blocked()
    (alice,) = connection_tasks()
    assert alice.child_nurseries == []
    assert our_frames(alice) == [
        "Server.handle",
        "Session.run",
        "Session._chat",
        "Session._read",
        "Session._next_input",
    ]


async def test_a_member_with_a_backlog_gets_the_member_nursery_and_keeps_it(
    start_server: StartServer,
) -> None:
    alice, slow = await alice_and_slow(start_server)
    for line in LINES:
        await alice.send(line)
        await alice.expect(f"<alice> {line}")
    await trio.testing.wait_all_tasks_blocked()
    nursery_of = {
        len(task.child_nurseries): [c.name for n in task.child_nurseries for c in n.child_tasks]
        for task in connection_tasks()
    }
    # alice keeps up: no nursery; slow's reader opened one, for the writer of its backlog.
    assert nursery_of == {0: [], 1: [BACKLOG_WRITER]}
    for line in LINES:  # in order, none lost, while the reader moved into the nursery
        await slow.expect(f"<alice> {line}")
    await slow.send("still reading")
    await alice.expect("<slow> still reading")
    # A second backlog: its writer starts in the nursery slow's reader is already in.
    for line in LINES:
        await alice.send(line)
        await alice.expect(f"<alice> {line}")
    await slow.expect("<slow> still reading")
    for line in LINES:
        await slow.expect(f"<alice> {line}")
