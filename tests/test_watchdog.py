"""The watchdog alone, in virtual time: stuck writes timed out, quiet peers pinged, then dropped.

Each session is a fake with the times a real one keeps; the test plays its writer and its
reader by setting them. The inbox is a memory channel the test reads as the hub would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import trio
import trio.testing

from tests.test_hub import new_member
from trio_chat.core.events import LeaveReason, Reply, Say, Tell
from trio_chat.core.hub import Request
from trio_chat.core.members import Member
from trio_chat.core.requests import Act
from trio_chat.frontends.irc import Ping
from trio_chat.shell.channels import take_waiting
from trio_chat.shell.watchdog import WATCH_INTERVAL, Watchdog

SEND_TIMEOUT = 5.0
PING_INTERVAL = 90.0
PING_TIMEOUT = 60.0
PING = Ping("trio-chat")


@dataclass(eq=False)
class FakeSession:
    """A chatting session as the watchdog sees it (a Watched), which remembers its time-outs."""

    member: Member
    heard_at: float
    sending_since: float | None = None
    pinged_at: float | None = None
    ping: Reply | None = PING  # what keepalive() makes: None, a protocol without one
    timed_out: list[tuple[float, LeaveReason, str]] = field(default_factory=list)

    def time_out(self, leave: LeaveReason, why: str) -> None:
        self.timed_out.append((trio.current_time(), leave, why))

    def keepalive(self) -> Reply | None:
        return self.ping


@asynccontextmanager
async def watching(
    session: FakeSession,
    channel: tuple[trio.MemorySendChannel[Request], trio.MemoryReceiveChannel[Request]]
    | None = None,
) -> AsyncIterator[trio.MemoryReceiveChannel[Request]]:
    """Run a watchdog over ``session``; yield its inbox; cancel it (it runs for ever) after.

    It wakes every WATCH_INTERVAL from now: the tests look between two of its rounds, never
    at the instant of one. What it sends the hub, the tests take with take_waiting.
    """
    send, inbox = channel or trio.open_memory_channel[Request](10)
    watchdog = Watchdog(
        send, send_timeout=SEND_TIMEOUT, ping_interval=PING_INTERVAL, ping_timeout=PING_TIMEOUT
    )
    watchdog.watched.add(session)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(watchdog.run)
        yield inbox
        nursery.cancel_scope.cancel()


async def test_a_write_stuck_for_the_send_timeout_is_timed_out(
    autojump_clock: trio.testing.MockClock,
) -> None:
    start = trio.current_time()
    session = FakeSession(new_member(), heard_at=start, sending_since=start)
    async with watching(session) as inbox:
        await trio.sleep_until(start + SEND_TIMEOUT - WATCH_INTERVAL / 4)
        assert session.timed_out == []
        await trio.sleep_until(start + SEND_TIMEOUT + WATCH_INTERVAL * 3 / 4)
        when, leave, why = session.timed_out[0]
        assert (leave, why) == (LeaveReason.TIMED_OUT, "send timed out")
        assert SEND_TIMEOUT <= when - start <= SEND_TIMEOUT + WATCH_INTERVAL
        assert take_waiting(inbox) == []  # never pinged: it was heard from just now


async def test_a_write_that_completes_in_time_is_not_timed_out(
    autojump_clock: trio.testing.MockClock,
) -> None:
    start = trio.current_time()
    session = FakeSession(new_member(), heard_at=start, sending_since=start)
    async with watching(session):
        await trio.sleep_until(start + SEND_TIMEOUT - WATCH_INTERVAL / 4)
        session.sending_since = None  # the writer's send_all returned
        await trio.sleep_until(start + 4 * SEND_TIMEOUT + WATCH_INTERVAL / 4)
        assert session.timed_out == []


async def test_a_quiet_peer_is_pinged_then_timed_out_if_it_never_answers(
    autojump_clock: trio.testing.MockClock,
) -> None:
    start = trio.current_time()
    member = new_member()
    session = FakeSession(member, heard_at=start)
    async with watching(session) as inbox:
        await trio.sleep_until(start + PING_INTERVAL - WATCH_INTERVAL / 4)
        assert take_waiting(inbox) == []
        assert session.pinged_at is None
        await trio.sleep_until(start + PING_INTERVAL + WATCH_INTERVAL * 3 / 4)
        # Through the hub, as every reply goes, so that it stays in order with them.
        assert take_waiting(inbox) == [Act(member, Tell(PING))]
        assert session.pinged_at is not None
        pinged = session.pinged_at
        assert PING_INTERVAL <= pinged - start <= PING_INTERVAL + WATCH_INTERVAL
        await trio.sleep_until(pinged + PING_TIMEOUT - WATCH_INTERVAL / 4)
        assert session.timed_out == []
        assert take_waiting(inbox) == []  # pinged once, not every round
        await trio.sleep_until(pinged + PING_TIMEOUT + WATCH_INTERVAL * 3 / 4)
        when, leave, why = session.timed_out[0]
        assert (leave, why) == (LeaveReason.PING_TIMEOUT, "ping timeout")
        assert PING_TIMEOUT <= when - pinged <= PING_TIMEOUT + WATCH_INTERVAL


async def test_a_peer_that_answers_its_pings_stays(
    autojump_clock: trio.testing.MockClock,
) -> None:
    start = trio.current_time()
    member = new_member()
    session = FakeSession(member, heard_at=start)
    async with watching(session) as inbox:
        # It answers each ping within 10 s (looked at off the watchdog's rounds), so by the
        # second time it has outlived a ping it never answered.
        for answered in range(1, 6):
            await trio.sleep_until(start + answered * (PING_INTERVAL + 10) + WATCH_INTERVAL / 2)
            assert take_waiting(inbox) == [Act(member, Tell(PING))]
            assert session.timed_out == []
            # The reader hears the answer, and says so as the real one does on any input.
            session.heard_at, session.pinged_at = trio.current_time(), None
        await trio.sleep_until(trio.current_time() + PING_INTERVAL - WATCH_INTERVAL)
        assert take_waiting(inbox) == []
        assert session.timed_out == []


async def test_a_protocol_without_a_keepalive_is_never_pinged_nor_timed_out(
    autojump_clock: trio.testing.MockClock,
) -> None:
    start = trio.current_time()
    session = FakeSession(new_member(), heard_at=start, ping=None)
    async with watching(session) as inbox:
        await trio.sleep_until(start + 10 * (PING_INTERVAL + PING_TIMEOUT) + 0.25)
        assert take_waiting(inbox) == []
        assert session.pinged_at is None
        assert session.timed_out == []


async def test_a_full_inbox_means_the_ping_is_tried_next_round(
    autojump_clock: trio.testing.MockClock,
) -> None:
    start = trio.current_time()
    member = new_member()
    session = FakeSession(member, heard_at=start)
    send, inbox = trio.open_memory_channel[Request](1)
    busy = Act(new_member(), Say("the hub has not taken this yet"))
    send.send_nowait(busy)  # the inbox is full when the ping falls due
    async with watching(session, (send, inbox)):
        await trio.sleep_until(start + PING_INTERVAL + WATCH_INTERVAL * 5 / 4)  # 2 rounds due
        assert session.pinged_at is None  # not sent, so not waited for either
        assert take_waiting(inbox) == [busy]
        drained = trio.current_time()
        await trio.sleep_until(drained + WATCH_INTERVAL)
        assert take_waiting(inbox) == [Act(member, Tell(PING))]
        assert session.pinged_at is not None
        assert drained < session.pinged_at <= drained + WATCH_INTERVAL
