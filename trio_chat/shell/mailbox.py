"""A member's mailbox: a bounded memory channel of deliveries, a byte budget, and a way to evict.

This is the shell's side of :class:`trio_chat.core.hub.Outbox`. The hub is the only producer
and never waits: :meth:`Mailbox.offer` either accepts a delivery at once or reports the member
as too slow. The member's writer task is the only consumer.
"""

from __future__ import annotations

import trio

from trio_chat.core.delivery import Delivery


class Mailbox:
    """Where the hub leaves a member's deliveries until its writer sends them.

    A member is too slow when the channel is full (``capacity`` deliveries) or when more than
    ``byte_budget`` bytes are accepted but not yet sent (like an IRC server's hard sendq).
    """

    def __init__(self, capacity: int, byte_budget: int) -> None:
        self._send, self.receive = trio.open_memory_channel[Delivery](capacity)
        self.byte_budget = byte_budget
        self.pending_bytes = 0  # accepted by offer() and not yet reported sent
        #: Wraps the connection's reader and writer; :meth:`evict` cancels it.
        self.cancel_scope = trio.CancelScope()

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

    def evict(self, reason: str) -> None:
        """Cancel the connection's reader and writer, even a writer blocked in a send.

        A synchronous call: it requests the cancellation and returns; the connection's tasks
        see ``Cancelled`` at their next checkpoint (at once, for a task already blocked).
        """
        self.cancel_scope.cancel(reason=reason)
