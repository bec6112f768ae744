"""Giving a burst's memory back to the system: glibc's ``malloc_trim``, once the burst is over.

Theory of operation. A join storm allocates large, short-lived buffers (welcomes listing
everyone, notices rendered for thousands of mailboxes) from glibc's heap, and frees them once
they are written. glibc reuses that memory but does not give it back: it returns only the top
of the heap, and after a storm the top is in use (measured after a storm of 5,000: a 60 MB
heap, 12 MB of it in use and 49 MB free, all of it resident). ``malloc_trim(0)`` releases the
free pages inside the heap (``madvise``), which brought the storm's 19.8 KiB per connection
down to 10.2. Python's own allocator is not the problem: it keeps its objects in arenas of its
own, and hands back empty ones by itself.

When to trim. The resident memory is read every :data:`TRIM_INTERVAL` (one small read of
``/proc/self/statm``, about 10 microseconds). A trim is worth it once that memory has grown by
:data:`TRIM_GROWTH` since the last trim (from its lowest point since), and is due once it holds
still for one interval (it moved less than :data:`SETTLED`): the burst is over, and trimming
earlier would release pages the burst is about to fault in again. Asking glibc instead
(``mallinfo2()``'s free bytes) would cost as much as the trim itself: both walk every free
chunk of the heap, with its lock held (3 to 11 ms measured on fragmented heaps). A server
that never trimmed counts from zero, so its first quiet second trims what starting left
behind (measured: 0.2 MB of an idle server's 40 MB, 4.4 MB of 46 when it compiled its
``.pyc`` files).

What a trim costs. It walks the heap's free chunks: 8 ms after a storm of 5,000 on this
machine, 0.1 to 4 ms otherwise, and it runs on the event loop, so the loop stands still that
long, once per burst, after it. A worker thread would not shorten that: ctypes releases the
GIL during the call, but ``malloc_trim`` holds the main arena's lock while it walks it, and the
event loop's next allocation larger than Python's small-object limit (a line, a growing list)
waits for that lock (measured: the loop's longest pause was the same, 40 to 90 ms on a heap
fragmented on purpose, with the trim in a thread as inline).

Only on glibc (Linux): elsewhere, or on musl, :func:`glibc_heap` finds no ``malloc_trim`` and
the server does not trim.
"""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn, Protocol

import trio

TRIM_INTERVAL = 1.0  # seconds between looks at the resident memory: a trim 1-2 s after a burst
TRIM_GROWTH = 4 << 20  # bytes the resident memory must have grown since the last trim...
SETTLED = 1 << 20  # ...and then moved less than this in one interval: the burst is over
STATM = "/proc/self/statm"  # the process's sizes in pages: total, then resident


class Heap(Protocol):
    """The process's memory, as the trimmer sees it."""

    def resident(self) -> int:
        """Return the process's resident memory, in bytes."""
        ...

    def trim(self) -> None:
        """Give the heap's free pages back to the system."""
        ...


@dataclass(frozen=True)
class GlibcHeap:
    """glibc's heap, read through ``/proc/self/statm`` and trimmed by ``malloc_trim``."""

    malloc_trim: Callable[[int], int]
    page_size: int

    def resident(self) -> int:
        """Return the process's resident memory, in bytes."""
        with open(STATM, "rb") as statm:
            return int(statm.read().split()[1]) * self.page_size

    def trim(self) -> None:
        """Give the heap's free pages back to the system (0: keep no padding at the top)."""
        self.malloc_trim(0)


def glibc_heap(library: object | None = None) -> GlibcHeap | None:
    """Return the process's glibc heap, or None without glibc or ``/proc`` (nothing to trim).

    ``library`` is where ``malloc_trim`` is looked up (None: the C library the process runs).
    """
    if library is None:
        library = ctypes.CDLL(None)  # the process's own symbols: the C library among them
    malloc_trim = getattr(library, "malloc_trim", None)  # glibc only (musl, macOS: none)
    if malloc_trim is None or not os.path.exists(STATM):
        return None
    malloc_trim.argtypes = [ctypes.c_size_t]
    malloc_trim.restype = ctypes.c_int
    return GlibcHeap(malloc_trim, os.sysconf("SC_PAGE_SIZE"))


@dataclass
class TrimPolicy:
    """Decides, look by look, when a burst is over and a trim worth it (see the module docstring).

    Pure: it is handed the resident memory, and says whether to trim.
    """

    growth: int = TRIM_GROWTH
    settled: int = SETTLED
    baseline: int = 0  # the least resident since the last trim, in bytes (0: no trim yet)
    previous: int | None = None  # resident bytes at the previous look

    def look(self, resident: int) -> bool:
        """Say whether to trim now, ``resident`` bytes being resident."""
        previous, self.previous = self.previous, resident
        # Growth counts from the lowest point: memory given back since (members who left,
        # Python's emptied arenas) and then taken again is growth too.
        self.baseline = min(self.baseline, resident)
        quiet = previous is not None and abs(resident - previous) < self.settled
        return quiet and resident - self.baseline >= self.growth

    def trimmed(self, resident: int) -> None:
        """Count from ``resident`` bytes, what a trim left resident."""
        self.baseline = self.previous = resident


@dataclass
class TrimStats:
    """What the trims did, for the metrics."""

    trims: int = 0
    released: int = 0  # bytes of resident memory given back
    seconds: float = 0.0  # the event loop's time spent trimming


async def trim_after_bursts(
    heap: Heap, stats: TrimStats, policy: TrimPolicy | None = None
) -> NoReturn:
    """Trim ``heap`` after each burst, for ever, counting in ``stats``.

    Cancellation: at shutdown, with the accept loops (between looks: a trim is synchronous, so
    it is never cut short); nothing to clean up.
    """
    policy = policy or TrimPolicy()
    while True:
        await trio.sleep(TRIM_INTERVAL)
        resident = heap.resident()
        if not policy.look(resident):
            continue
        started = time.perf_counter()
        heap.trim()  # on the event loop: a thread would wait for the same lock (module docstring)
        stats.seconds += time.perf_counter() - started
        left = heap.resident()
        policy.trimmed(left)
        stats.trims += 1
        stats.released += max(resident - left, 0)
