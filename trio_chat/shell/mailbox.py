"""A member's mailbox: the one queue of its pending output, and the fast path around it.

This is the shell's side of :class:`trio_chat.core.hub.Outbox`. The hub is the only producer
and never waits: :meth:`Mailbox.offer` accepts a delivery at once or reports the member as too
slow (a full channel, or more than ``byte_budget`` bytes not yet sent: IRC's hard sendq).

Theory of operation: writing without waking a task
--------------------------------------------------
Waking a writer task for every delivery costs a trip through Trio's scheduler per member per
turn: with a thousand members in a room, a thousand task switches for one join notice. So, once
a member is chatting over a plain TCP socket, :meth:`Mailbox.offer` writes the delivery itself,
from the hub's task, when nothing is waiting before it (nothing queued, no write in progress):
it renders it and hands the bytes to the socket with one non-blocking ``write()``. Usually the
kernel takes all of it, and no task wakes up at all. Whatever the kernel refuses (the member
reads slowly, its window is full) goes into the channel as bytes already rendered, and only
then is a writer task started, which waits until the socket is writable, sends the backlog,
and stops when none is left.

Order is kept because the two paths never overlap: the hub writes directly only while the
queue is empty and no writer holds a batch (``queued`` counts what was accepted and not yet
written), so every delivery offered after bytes were queued is queued behind them, and the
writer writes them in order. So the channel stays the one queue of a member's pending output,
the byte budget and the capacity still say when a member is too slow, and exactly one party
writes to the socket at any moment: the hub, when the queue is empty, or the writer, while it
is not. Over TLS, ``render`` seals the delivery into TLS records as well (see
:mod:`trio_chat.shell.tls`), and the bytes queued are records: the one order of writing is
then also the order in which records are made, which TLS requires. In-memory streams have no
direct path: every delivery goes through the channel to a writer that runs for the whole
session.

On the fast path the channel exists only while something waits in it: it is made when the
kernel first refuses bytes and dropped when the backlog writer has written everything, with
the same capacity each time. Ten thousand members who keep up then hold no channel at all
(about 1.7 KB each: its state, its deque and its two ends).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import trio

from trio_chat.core.delivery import Delivery
from trio_chat.core.events import LeaveReason
from trio_chat.shell.channels import take_waiting

Item = Delivery | bytes  # a delivery to render, or bytes the kernel did not take at once


class Meter:
    """What the mailboxes of one server have written, and the most any of them held (metrics)."""

    __slots__ = ("bytes_sent", "most_bytes", "most_queued")

    def __init__(self) -> None:
        self.bytes_sent = 0  # written to peers, by the fast path and the writers
        self.most_queued = 0  # deliveries waiting in one mailbox, at the most
        self.most_bytes = 0  # bytes waiting in one mailbox, at the most


class Mailbox:
    """Where the hub leaves a member's deliveries until they are written."""

    # Ten thousand members hold ten thousand mailboxes: no per-instance __dict__.
    __slots__ = (
        "_capacity",
        "_closed",
        "_fd",
        "_hang_up",
        "_meter",
        "_receive",
        "_render",
        "_send",
        "_start_writer",
        "_writer_running",
        "byte_budget",
        "evicted",
        "pending_bytes",
        "queued",
    )

    def __init__(self, capacity: int, byte_budget: int, meter: Meter | None = None) -> None:
        self._capacity = capacity
        # The channel: there from the start (registration waits on it), then see _drop().
        self._send: trio.MemorySendChannel[Item] | None
        self._receive: trio.MemoryReceiveChannel[Item] | None
        self._send, self._receive = trio.open_memory_channel[Item](capacity)
        self.byte_budget = byte_budget
        self._meter = meter if meter is not None else Meter()
        self.pending_bytes = 0  # accepted by offer() and not yet reported sent
        self.queued = 0  # items accepted into the channel and not yet reported sent
        self.evicted: LeaveReason | None = None  # why the hub evicted the member, if it did
        self._closed = False
        # Set by connect(), once the member is chatting:
        self._render: Callable[[Delivery], bytes] | None = None
        self._fd = -1  # the socket to write to directly (-1: none, always queue)
        self._start_writer: Callable[[], None] | None = None  # starts a backlog writer
        self._writer_running = False
        self._hang_up: Callable[[str], None] | None = None  # ends the connection, with a reason

    def connect(
        self,
        render: Callable[[Delivery], bytes],
        hang_up: Callable[[str], None],
        *,
        fd: int = -1,
        start_writer: Callable[[], None] | None = None,
    ) -> None:
        """Begin the session's output: with ``fd``, the fast path; without, the writer alone.

        ``render`` turns a delivery into bytes (the front end's); ``start_writer`` starts a
        task that sends the backlog (fast path only); ``hang_up`` cancels the connection's
        reader and writer: when the hub evicts the member, once the hub has closed the mailbox
        and everything is written, or when the socket broke.
        """
        self._render, self._hang_up = render, hang_up
        self._fd, self._start_writer = fd, start_writer
        if self.evicted is not None:  # evicted between its welcome and now
            hang_up(self.evicted.value)
        elif start_writer is not None and self.queued:
            # Delivered between the welcome and now: they go first, through the writer.
            self._writer_running = True
            start_writer()
        elif start_writer is not None and self._closed:
            self._end("removed by the hub")  # removed between its welcome and now
        elif start_writer is not None:
            self._drop()  # nothing waits: the fast path needs no channel until something does

    def disconnect(self) -> None:
        """End the session's output: from now on, nothing is written and no writer started.

        Called before the connection is closed, so that its file descriptor (which the system
        may give to the next connection) is never written to again.
        """
        self._fd, self._start_writer, self._hang_up = -1, None, None

    def offer(self, delivery: Delivery) -> bool:
        """Accept ``delivery`` without waiting, or return False if the member is too slow.

        A mailbox with nothing pending always accepts one delivery, however large: being slow
        means not keeping up, and a member with nothing pending is keeping up.
        """
        if self._fd < 0 or self.queued or self._closed or self._render is None:
            return self._queue(delivery, delivery.size)  # (which refuses it, once closed)
        data = self._render(delivery)
        try:
            written = os.write(self._fd, data)
        except BlockingIOError:
            written = 0
        except OSError:  # reset, broken pipe: the reader will see it too; nothing more to do
            self._fd = -1
            self._end("connection lost")
            return True
        self._meter.bytes_sent += written
        if written == len(data):
            return True
        return self._queue(data[written:], len(data) - written)

    @property
    def receive(self) -> trio.MemoryReceiveChannel[Item]:
        """The channel's receiving end: for registration, and for a writer without fast path.

        (Neither ever finds it dropped: only the fast path drops it, and only once chatting.)
        """
        assert self._receive is not None, "the channel is dropped only on the fast path"
        return self._receive

    def _queue(self, item: Item, size: int) -> bool:
        if self._closed or (self.pending_bytes and self.pending_bytes + size > self.byte_budget):
            return False
        if self._send is None:
            self._send, self._receive = trio.open_memory_channel[Item](self._capacity)
        try:
            self._send.send_nowait(item)
        except trio.WouldBlock:
            return False
        self.pending_bytes += size
        self.queued += 1
        meter = self._meter  # the slow path only: a high-water mark costs the fast path nothing
        meter.most_queued = max(meter.most_queued, self.queued)
        meter.most_bytes = max(meter.most_bytes, self.pending_bytes)
        if self._start_writer is not None and not self._writer_running:
            self._writer_running = True
            self._start_writer()
        return True

    def count_sent(self, size: int) -> None:
        """Count ``size`` bytes written to the peer by the session itself (for the metrics)."""
        self._meter.bytes_sent += size

    def sent(self, item: Item) -> None:
        """Report that ``item`` has been written to the peer, releasing its bytes."""
        self.pending_bytes -= len(item) if isinstance(item, bytes) else item.size
        self.queued -= 1

    def take(self) -> list[Item]:
        """Everything queued, at once and in order, without waiting (maybe nothing)."""
        return [] if self._receive is None else take_waiting(self._receive)

    def backlog_written(self) -> None:
        """Hear from the backlog writer that all is written and it stops: the fast path resumes."""
        self._writer_running = False
        if self._closed:
            self._end("removed by the hub")
        else:
            self._drop()

    def _drop(self) -> None:
        """Let the channel go while nothing waits in it; _queue() makes a new one when needed."""
        assert not self.queued, "only an empty channel is dropped"
        self._send = self._receive = None

    def disconnect_broken(self) -> None:
        """Hear from a writer that the connection broke: end it, as lost."""
        self._end("connection lost")

    def all_written(self) -> None:
        """Hear from the session's writer (no fast path) that the hub closed and all is written."""
        self._end("removed by the hub")

    def close(self) -> None:
        """No more deliveries: what is queued is still written, then the connection ends."""
        if self._send is not None:
            self._send.close()
        self._closed = True
        if self._start_writer is not None and not self._writer_running:
            self._end("removed by the hub")  # the fast path had written everything already

    def evict(self, reason: LeaveReason) -> None:
        """Cancel the connection's reader and writer, even a writer blocked in a send.

        A synchronous call: it requests the cancellation and returns; the connection's tasks
        see ``Cancelled`` at their next checkpoint (at once, for a task already blocked). A
        member not chatting yet is hung up as soon as it connects.
        """
        self.evicted = reason
        self._end(reason.value)

    def _end(self, reason: str) -> None:
        if self._hang_up is not None:
            self._hang_up(reason)
