"""Flood control: the token bucket, and fakelag on a real (in-memory) server, in virtual time."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tests.chat_client import ChatClient
from tests.conftest import StartServer
from trio_chat.core.flood import TokenBucket


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
    assert arrivals[:10] == [0] * 10  # the burst goes through at once
    assert arrivals[10:] == pytest.approx([0.2 * k for k in range(1, 11)])  # then 5 a second


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
