"""The liveness watchdog: one task that times out stuck writes and pings quiet peers.

A peer that takes nothing for ``send_timeout`` seconds has vanished (or is stalling us on
purpose); in a quiet room its mailbox would never fill up to tell us. A peer that sends nothing
for ``ping_interval`` seconds is sent its protocol's keepalive (IRC's PING), and removed as
"ping timeout" if it still sends nothing ``ping_timeout`` seconds later.

One task checks every chatting session each :data:`WATCH_INTERVAL`, instead of a timeout per
write or per read: arming and disarming a deadline around each of the hub's deliveries (a
cancel scope's deadline lives in Trio's timer heap) doubled the latency-rate benchmark's p99.
The watchdog knows a session only as :class:`Watched`: the times it keeps, and two calls.
"""

from __future__ import annotations

from typing import NoReturn, Protocol

import trio

from trio_chat.core.events import LeaveReason, Reply, Tell
from trio_chat.core.hub import Request
from trio_chat.core.members import Member
from trio_chat.core.requests import Act

WATCH_INTERVAL = 0.5  # seconds between the watchdog's rounds (the precision of its timeouts)


class Watched(Protocol):
    """What the watchdog reads and does to a chatting session."""

    member: Member
    sending_since: float | None  # when the write in progress began (None: none is)
    heard_at: float  # when the peer last sent something
    pinged_at: float | None  # when it was pinged, if it has not answered since

    def time_out(self, leave: LeaveReason, why: str) -> None:
        """End the session now, telling the hub it left for ``leave``."""
        ...

    def keepalive(self) -> Reply | None:
        """Make the event that asks the peer to answer (None: its protocol has none)."""
        ...


class Watchdog:
    """Watches every chatting session of one server (see the module docstring)."""

    def __init__(
        self,
        inbox: trio.MemorySendChannel[Request],
        *,
        send_timeout: float,
        ping_interval: float,
        ping_timeout: float,
    ) -> None:
        self.inbox = inbox  # where pings go: through the hub, in order with every reply
        self.send_timeout = send_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.watched: set[Watched] = set()  # the sessions chatting now

    async def run(self) -> NoReturn:
        """Check every watched session each WATCH_INTERVAL, for ever.

        Cancellation: at shutdown, with the accept loops; nothing to clean up.
        """
        while True:
            await trio.sleep(WATCH_INTERVAL)
            now = trio.current_time()
            for session in list(self.watched):
                started = session.sending_since
                if started is not None and now - started >= self.send_timeout:
                    session.time_out(LeaveReason.TIMED_OUT, "send timed out")
                elif session.pinged_at is not None:
                    if now - session.pinged_at >= self.ping_timeout:
                        session.time_out(LeaveReason.PING_TIMEOUT, "ping timeout")
                elif now - session.heard_at >= self.ping_interval:
                    self._ping(session, now)

    def _ping(self, session: Watched, now: float) -> None:
        ping = session.keepalive()
        if ping is None:
            return  # its protocol has no keepalive
        try:
            # Through the hub, like every reply, so that it stays in order with them.
            self.inbox.send_nowait(Act(session.member, Tell(ping)))
        except trio.WouldBlock:
            return  # the hub is busy: the next round will try again
        session.pinged_at = now
