"""A member's mailbox: a bounded memory channel of deliveries, plus a byte budget.

The room is the only producer and never waits: :meth:`Mailbox.offer` either accepts a delivery at
once or reports the member as too slow. The member's writer task is the only consumer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import trio

from trio_chat.core.events import Event

Encoder = Callable[[Sequence[Event]], bytes]

_EVENT_OVERHEAD = 16  # rough bytes per event beyond its text: markers, punctuation, newline


class Delivery:
    """The events one member receives in one room turn.

    Members who saw exactly the same events that turn share one ``Delivery``, so a broadcast is
    rendered once per wire format (the first writer to encode it pays; the rest reuse the bytes).
    """

    __slots__ = ("_encoded", "_size", "events")

    def __init__(self, events: Sequence[Event]) -> None:
        self.events = events
        self._size = -1
        self._encoded: dict[Encoder, bytes] = {}

    @property
    def size(self) -> int:
        """Approximate output size in bytes, the same for every wire format."""
        if self._size < 0:
            self._size = sum(map(_approximate_size, self.events))
        return self._size

    def encode(self, encoder: Encoder) -> bytes:
        """Render the events with ``encoder``, once per encoder however many members share this."""
        data = self._encoded.get(encoder)
        if data is None:
            data = self._encoded[encoder] = encoder(self.events)
        return data


def _approximate_size(event: Event) -> int:
    size = _EVENT_OVERHEAD
    for name in event.__slots__:
        value = getattr(event, name)
        if isinstance(value, str):
            size += len(value)
        elif isinstance(value, tuple):  # a roster: thousands of names, so no Python loop
            size += sum(map(len, value)) + 2 * len(value)
    return size


class Mailbox:
    """Where the room leaves a member's deliveries until its writer sends them.

    A member is too slow when the channel is full (``capacity`` deliveries) or when more than
    ``byte_budget`` bytes are accepted but not yet sent (like an IRC server's hard sendq).
    """

    def __init__(self, capacity: int, byte_budget: int) -> None:
        self._send, self.receive = trio.open_memory_channel[Delivery](capacity)
        self.byte_budget = byte_budget
        self.pending_bytes = 0  # accepted by offer() and not yet reported sent

    def offer(self, delivery: Delivery) -> bool:
        """Accept ``delivery`` without waiting, or return False if the member is too slow.

        A mailbox with nothing pending always accepts one delivery, however large: being slow
        means not keeping up, and a member with nothing pending is keeping up.
        """
        if self.pending_bytes and self.pending_bytes + delivery.size > self.byte_budget:
            return False
        try:
            self._send.send_nowait(delivery)
        except trio.WouldBlock:
            return False
        self.pending_bytes += delivery.size
        return True

    def sent(self, delivery: Delivery) -> None:
        """Report that ``delivery`` has been written to the peer, releasing its bytes."""
        self.pending_bytes -= delivery.size

    def close(self) -> None:
        """No more deliveries: the writer finishes what is queued, then sees the end."""
        self._send.close()
