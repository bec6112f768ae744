"""Giving a burst's memory back: when to trim (numbers), the trimmer (virtual time), glibc's heap.

The policy is pure, so it is tested with resident sizes alone; the trimmer runs under the
autojump clock against a fake heap whose resident memory the test sets between two looks.
"""

from __future__ import annotations

import types
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
import trio
import trio.testing

from tests.conftest import StartServer
from trio_chat.shell.heap import (
    SETTLED,
    TRIM_GROWTH,
    TRIM_INTERVAL,
    TrimPolicy,
    TrimStats,
    glibc_heap,
    trim_after_bursts,
)

MB = 1 << 20


def test_a_trim_waits_for_a_burst_to_be_over() -> None:
    policy = TrimPolicy(baseline=40 * MB, previous=40 * MB)
    # A storm: the memory grows by more than SETTLED at each look, so no trim yet...
    assert [policy.look(size * MB) for size in (60, 80, 100)] == [False] * 3
    # ...and the first look at which it held still trims.
    assert policy.look(100 * MB + SETTLED // 2)


def test_the_first_look_never_trims_and_the_first_quiet_one_does() -> None:
    # A server that never trimmed counts from zero: what importing left behind is worth one.
    policy = TrimPolicy()
    assert not policy.look(47 * MB)  # nothing to compare with: it may be growing
    assert policy.look(47 * MB)


def test_after_a_trim_only_new_growth_counts() -> None:
    policy = TrimPolicy()
    policy.trimmed(50 * MB)
    assert not policy.look(50 * MB)  # held still, but nothing grew since the trim
    assert not policy.look(50 * MB + TRIM_GROWTH // 2)  # grew, a little
    assert not policy.look(50 * MB + TRIM_GROWTH // 2)
    assert not policy.look(50 * MB + TRIM_GROWTH)  # grew enough, but still growing
    assert policy.look(50 * MB + TRIM_GROWTH)


def test_growth_counts_from_the_lowest_point_since_the_trim() -> None:
    policy = TrimPolicy()
    policy.trimmed(90 * MB)
    assert not policy.look(60 * MB)  # members left: Python gave back its emptied arenas
    assert not policy.look(60 * MB)
    assert not policy.look(70 * MB)  # a new burst: 10 MB above the low point...
    assert policy.look(70 * MB)  # ...though 20 MB below what the last trim left


@dataclass
class FakeHeap:
    """A heap whose resident memory the test sets; a trim leaves ``floor`` resident."""

    size: int
    floor: int
    trims: list[float] = field(default_factory=list)  # when each trim happened

    def resident(self) -> int:
        return self.size

    def trim(self) -> None:
        self.trims.append(trio.current_time())
        self.size = min(self.size, self.floor)


@asynccontextmanager
async def trimming(heap: FakeHeap, stats: TrimStats) -> AsyncIterator[float]:
    """Run the trimmer over ``heap``; yield when it started; cancel it (it runs for ever) after.

    It looks every TRIM_INTERVAL from then: the tests set the size between two looks.
    """
    async with trio.open_nursery() as nursery:
        start = trio.current_time()
        nursery.start_soon(trim_after_bursts, heap, stats, TrimPolicy(baseline=heap.size))
        yield start
        nursery.cancel_scope.cancel()


async def test_the_trimmer_trims_once_a_burst_is_over_and_counts_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    heap, stats = FakeHeap(size=40 * MB, floor=50 * MB), TrimStats()
    async with trimming(heap, stats) as start:
        for look in range(1, 6):  # a storm: 20 MB more at each of five looks
            await trio.sleep_until(start + (look - 0.5) * TRIM_INTERVAL)
            heap.size += 20 * MB
        await trio.sleep_until(start + 5.5 * TRIM_INTERVAL)
        assert heap.trims == []  # still growing at the fifth look
        await trio.sleep_until(start + 6.5 * TRIM_INTERVAL)
        assert heap.trims == [start + 6 * TRIM_INTERVAL]  # the first look it held still
        assert (stats.trims, stats.released) == (1, 90 * MB)  # 140 MB resident, then 50
        assert stats.seconds >= 0
        await trio.sleep_until(start + 60.5 * TRIM_INTERVAL)
        assert len(heap.trims) == 1  # nothing grew since


async def test_the_trimmer_leaves_a_heap_that_grows_slowly_alone(
    autojump_clock: trio.testing.MockClock,
) -> None:
    heap, stats = FakeHeap(size=40 * MB, floor=0), TrimStats()
    async with trimming(heap, stats) as start:
        for look in range(1, 11):  # members arriving a few at a time: 300 KB a second
            await trio.sleep_until(start + (look - 0.5) * TRIM_INTERVAL)
            heap.size += 300 << 10
        await trio.sleep_until(start + 10.5 * TRIM_INTERVAL)
        assert heap.trims == []  # 3 MB in all: less than TRIM_GROWTH
        for look in range(11, 15):
            await trio.sleep_until(start + (look - 0.5) * TRIM_INTERVAL)
            heap.size += 300 << 10
        await trio.sleep_until(start + 14.5 * TRIM_INTERVAL)
        assert heap.trims == [start + 14 * TRIM_INTERVAL]  # 4.1 MB: once, when it got there


def test_without_malloc_trim_there_is_no_heap_to_trim() -> None:
    # musl, macOS: the C library has no malloc_trim, and the server does not trim.
    assert glibc_heap(types.SimpleNamespace()) is None


def test_with_malloc_trim_the_heap_trims_with_no_padding() -> None:
    calls: list[int] = []

    def malloc_trim(pad: int) -> int:
        calls.append(pad)
        return 1

    heap = glibc_heap(types.SimpleNamespace(malloc_trim=malloc_trim))
    if heap is None:
        pytest.skip("no /proc/self/statm here")
    heap.trim()
    assert calls == [0]
    assert heap.resident() > 0


def test_glibcs_heap_gives_a_bursts_free_memory_back() -> None:
    heap = glibc_heap()
    if heap is None:
        pytest.skip("not glibc")
    # A burst of 2 KB buffers (from glibc's heap: larger than Python's small objects), of which
    # one in fifty stays: the top of the heap is in use, so glibc keeps the rest by itself.
    buffers = [bytes(2000 + n % 7) for n in range(20_000)]
    kept = buffers[::50]
    del buffers
    before = heap.resident()
    heap.trim()
    assert before - heap.resident() > 20 * MB  # of the 40 MB freed
    assert len(kept) == 400


async def test_a_server_trims_its_heap_once_quiet(
    start_memory_server: StartServer, autojump_clock: trio.testing.MockClock
) -> None:
    if glibc_heap() is None:
        pytest.skip("not glibc")
    server = await start_memory_server()
    trims = server.config.metrics.trims
    assert trims.trims == 0
    # Its first quiet look: it never trimmed, so what it has is growth.
    await trio.sleep(2.5 * TRIM_INTERVAL)
    assert trims.trims == 1
    body = server.config.metrics.exposition()[0].decode()
    assert "trio_chat_heap_trims_total 1.0" in body
