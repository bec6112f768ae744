"""Flood control: the token bucket, and fakelag on a real (in-memory) server, in virtual time."""

from __future__ import annotations

import collections

import pytest
import trio
import trio.testing

from tests.chat_client import ChatClient
from tests.conftest import StartServer
from trio_chat.core.flood import TokenBucket
from trio_chat.shell.session import HAND_IN_BURST


def test_a_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = TokenBucket.full(burst=3, rate=2, now=0)
    assert [bucket.take(0) for _ in range(3)] == [0, 0, 0]
    assert bucket.take(0) == pytest.approx(0.5)  # the 4th line waits half a second
    assert bucket.take(0.5) == pytest.approx(0.5)  # still in debt: the 5th another half
    assert bucket.take(10) == 0  # after a pause the bucket is full again...
    assert [bucket.take(10) for _ in range(2)] == [0, 0]
    assert bucket.take(10) > 0  # ...but holds no more than the burst


def test_rate_zero_means_no_flood_control() -> None:
    bucket = TokenBucket.full(burst=1, rate=0, now=0)
    assert all(bucket.take(0) == 0 for _ in range(1000))


async def alice_and_flooder(start_memory_server: StartServer) -> tuple[ChatClient, ChatClient]:
    """Two members of a server with flood control: 10 lines at once, then 5 a second."""
    server = await start_memory_server(flood_burst=10, flood_rate=5, flood_kick_after=30)
    alice = await server.join("alice")
    flooder = await server.join("flooder")
    await alice.expect("* flooder joined")
    return alice, flooder


async def test_a_flooder_is_slowed_down_and_nothing_is_dropped(
    start_memory_server: StartServer, autojump_clock: trio.testing.MockClock
) -> None:
    alice, flooder = await alice_and_flooder(start_memory_server)
    start = trio.current_time()
    await flooder.stream.send_all(b"".join(b"%d\n" % n for n in range(20)))
    arrivals = []
    for n in range(20):
        await alice.expect(f"<flooder> {n}")
        arrivals.append(trio.current_time() - start)
    # Every line counts, the nickname too: it was the first of the burst of 10.
    assert arrivals[:9] == [0] * 9  # the rest of the burst goes through at once
    assert arrivals[9:] == pytest.approx([0.2 * k for k in range(1, 12)])  # then 5 a second


async def test_others_are_not_slowed_by_a_flooder(
    start_memory_server: StartServer, autojump_clock: trio.testing.MockClock
) -> None:
    alice, flooder = await alice_and_flooder(start_memory_server)
    await flooder.stream.send_all(b"flood\n" * 100)
    await trio.sleep(1)  # the flooder is being held back now
    start = trio.current_time()
    await alice.send("still quick")
    while (line := await alice.receive_line()) != "<alice> still quick":
        assert line == "<flooder> flood"
    assert trio.current_time() == start


async def test_flooding_for_too_long_is_excess_flood(
    start_memory_server: StartServer, autojump_clock: trio.testing.MockClock
) -> None:
    alice, flooder = await alice_and_flooder(start_memory_server)
    start = trio.current_time()
    await flooder.stream.send_all(b"flood\n" * 1000)  # 200 seconds' worth at 5 a second
    while (line := await alice.receive_line()) == "<flooder> flood":
        pass
    assert line == "* flooder left (excess flood)"
    assert trio.current_time() - start == pytest.approx(30, abs=0.2)
    lines = await flooder.expect_closed()
    assert lines[-1] == "! excess flood"


async def test_a_member_at_the_rate_is_never_kicked(
    start_memory_server: StartServer, autojump_clock: trio.testing.MockClock
) -> None:
    server = await start_memory_server(flood_burst=10, flood_rate=5, flood_kick_after=30)
    alice = await server.join("alice")
    for n in range(300):  # a minute of lines at exactly the rate
        await alice.send(str(n))
        await alice.expect(f"<alice> {n}")
        await trio.sleep(0.2)
    await alice.send("/who")
    await alice.expect("* online (1): alice")


async def test_lines_that_carry_nothing_count_too(
    start_memory_server: StartServer, autojump_clock: trio.testing.MockClock
) -> None:
    # Empty lines used to skip flood control: a peer sending only newlines was never slowed
    # down, and its reader swallowed them as fast as they came. Now each one takes a token.
    alice, flooder = await alice_and_flooder(start_memory_server)
    start = trio.current_time()
    await flooder.stream.send_all(b"\n" * 1000 + b"  \r\n" * 1000)
    await trio.sleep(29)  # (longer than one expectation may take) nothing shows meanwhile
    assert await alice.receive_line() == "* flooder left (excess flood)"
    assert trio.current_time() - start == pytest.approx(30, abs=0.2)
    assert (await flooder.expect_closed())[-1] == "! excess flood"


class StepCounter(trio.abc.Instrument):
    """Counts how many times each task is scheduled (a step: from one yield to the next)."""

    def __init__(self) -> None:
        self.steps: collections.Counter[trio.lowlevel.Task] = collections.Counter()

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.steps[task] += 1


async def test_the_reader_yields_for_every_line_however_the_bytes_arrive(
    start_memory_server: StartServer,
) -> None:
    # Without flood control (load tests), 10,000 empty lines arrive in one chunk: the reader
    # must still let the other tasks run between them, not swallow them in one step.
    server = await start_memory_server(flood_rate=0)
    alice = await server.join("alice")
    flooder = await server.join("flooder")
    await alice.expect("* flooder joined")
    counter = StepCounter()
    trio.lowlevel.add_instrument(counter)
    try:
        await flooder.stream.send_all(b"\n" * 10_000 + b"done\n")
        await alice.expect("<flooder> done")
    finally:
        trio.lowlevel.remove_instrument(counter)
    # The flooder's reader (its connection's task) took a step per line at least.
    ((_, most),) = counter.steps.most_common(1)
    assert most > 10_000


async def test_lines_that_arrive_together_are_handed_to_the_hub_a_burst_at_a_time(
    start_memory_server: StartServer,
) -> None:
    # 320 lines in one chunk: the reader hands HAND_IN_BURST of them to the hub per step, so a
    # turn carries a burst (one delivery, one write per member, for 32 lines), still in order.
    server = await start_memory_server(flood_rate=0)
    alice = await server.join("alice")
    sender = await server.join("sender")
    await alice.expect("* sender joined")
    counter = StepCounter()
    trio.lowlevel.add_instrument(counter)
    try:
        await sender.stream.send_all(b"".join(b"line %d\n" % n for n in range(320)))
        await alice.expect(*(f"<sender> line {n}" for n in range(320)))
    finally:
        trio.lowlevel.remove_instrument(counter)
    steps = {task.name.rsplit(".", 1)[-1]: count for task, count in counter.steps.items()}
    # The sender's connection task (its reader) and the hub: a dozen steps, not 320 each.
    assert steps["handle"] <= 320 // HAND_IN_BURST + 5
    assert steps["run_hub"] <= 320 // HAND_IN_BURST + 5
