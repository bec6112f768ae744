"""Every cancel scope of the server, made to fire, each test naming the scope it exercises.

Timeouts run under ``autojump_clock``: virtual time jumps ahead whenever every task is blocked,
so a 60-second timeout takes no real time and the tests can assert exact virtual durations.
The clients here connect through in-memory streams (``start_memory_server``), not sockets: with
a kernel in between, "every task is blocked" can also mean "a packet is on its way", and the
clock would jump too early. A *lockstep* client is one whose reads the test controls: the
server's ``send_all`` to it blocks until the test reads, which makes a writer stuck on a client
that never reads a one-liner.
"""

from __future__ import annotations

import logging
import threading

import pytest
import trio
import trio.testing

from tests.chat_client import PATIENCE, ChatClient, RunningServer
from tests.conftest import StartServer
from tests.names import nick
from trio_chat.core.accounts import Account, Check, Credentials, Ticket
from trio_chat.shell import credentials as credentials_module
from trio_chat.shell.credentials import Authenticator
from trio_chat.shell.session import LAST_WORDS_TIMEOUT
from trio_chat.shell.watchdog import WATCH_INTERVAL

STUCK_LINE = "<alice> stuck's writer blocks sending this"


async def join_stuck(server: RunningServer, alice: ChatClient) -> ChatClient:
    """A member whose writer is blocked in send_all: it joined, then never read again."""
    stuck = await server.join("stuck", lockstep=True)
    await alice.expect("* stuck joined")
    await alice.send(STUCK_LINE.removeprefix("<alice> "))
    await alice.expect(STUCK_LINE)
    return stuck


async def test_eviction_cancels_a_writer_blocked_in_send_all(
    start_memory_server: StartServer, autojump_clock: trio.testing.MockClock
) -> None:
    """Scope: the member nursery (Session._chat), cancelled by Hub.flush through Mailbox.evict.

    The stuck member's writer is blocked in send_all, so deliveries pile up in its mailbox; when
    the mailbox is full the hub evicts it, which cancels its nursery with reason "too slow".
    The writer is cancelled where it is blocked, at once: no time passes, and everyone else
    carries on.
    """
    server = await start_memory_server(mailbox_size=3)
    alice = await server.join("alice")
    stuck = await join_stuck(server, alice)
    start = trio.current_time()
    for n in range(3):  # one turn each (we wait for the echo): they fill the mailbox of three
        await alice.send(str(n))
        await alice.expect(f"<alice> {n}")
    await alice.send("one too many")
    await alice.expect("<alice> one too many", "* stuck left (too slow)")
    assert trio.current_time() == start  # nobody waited for a timeout
    # Cancelled in the middle of sending that line: nothing after it ever reached stuck.
    assert await stuck.expect_closed() == [STUCK_LINE]
    await alice.send("/who")
    await alice.expect("* online (1): alice")


async def test_a_quitting_client_that_does_not_read_gets_one_second_to_take_its_goodbye(
    start_memory_server: StartServer,
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Scope: the member nursery's deadline, set by Session._read after /exit.

    The reader has sent the quit and finished; the writer, blocked on a peer that does not
    read, cannot deliver the goodbye. The deadline ends the connection LAST_WORDS_TIMEOUT later.
    """
    caplog.set_level(logging.INFO, logger="trio_chat")
    server = await start_memory_server()
    alice = await server.join("alice")
    stuck = await join_stuck(server, alice)
    await stuck.send("/exit")
    await alice.expect("* stuck left (quit)")
    start = trio.current_time()
    await trio.sleep(LAST_WORDS_TIMEOUT * 0.99)
    assert caplog.text.count("disconnected") == 0  # still trying to deliver
    await trio.sleep(LAST_WORDS_TIMEOUT * 0.02)
    assert caplog.text.count("disconnected") == 1  # the deadline passed: cut off
    assert trio.current_time() - start == pytest.approx(LAST_WORDS_TIMEOUT * 1.01)
    assert await stuck.expect_closed() == [STUCK_LINE]  # and never the goodbye


async def test_a_reader_cancelled_mid_line_drops_the_partial_line(
    start_memory_server: StartServer, autojump_clock: trio.testing.MockClock
) -> None:
    """Scope: the member nursery (Session._chat), cancelled by the writer at shutdown.

    The reader is waiting for the rest of a line when the hub closes the mailbox; the writer
    delivers the notice and cancels the nursery, reader included. Half a line is never said.
    """
    server = await start_memory_server()
    alice = await server.join("alice")
    bob = await server.join("bob")
    await alice.expect("* bob joined")
    await bob.stream.send_all(b"half a li")
    await trio.testing.wait_all_tasks_blocked()  # the reader has it, and waits for more
    server.stop.set()
    assert await alice.expect_closed() == ["* server shutting down"]
    assert await bob.expect_closed() == ["* server shutting down"]
    await server.finished.wait()


async def test_registration_times_out(
    start_memory_server: StartServer, autojump_clock: trio.testing.MockClock
) -> None:
    """Scope: ``move_on_after(registration_timeout)`` in Session._register."""
    server = await start_memory_server(registration_timeout=0.25)
    start = trio.current_time()
    idle = await server.connect()
    assert await idle.expect_closed() == ["! timed out"]
    assert trio.current_time() - start == pytest.approx(0.25)


async def test_registration_timeout_covers_refused_attempts_and_never_registered_members(
    start_memory_server: StartServer, autojump_clock: trio.testing.MockClock
) -> None:
    """Scope: ``move_on_after(registration_timeout)``: it covers refused attempts too."""
    server = await start_memory_server(registration_timeout=0.25)
    alice = await server.join("alice")
    start = trio.current_time()
    newcomer = await server.connect()
    await trio.sleep(0.2)
    await newcomer.send("alice")
    await newcomer.expect("! nickname alice is taken", "* what is your name?")
    assert await newcomer.expect_closed() == ["! timed out"]
    assert trio.current_time() - start == pytest.approx(0.25)
    await trio.sleep(3600)  # a registered member is never timed out for being quiet
    await alice.send("/who")
    await alice.expect("* online (1): alice")


async def test_shutdown_tells_everyone_and_closes(
    start_memory_server: StartServer, autojump_clock: trio.testing.MockClock
) -> None:
    """Scopes: the ``accepting`` nursery and the ``shutdown`` scope of each registration.

    Accepting stops (the listener closes), a newcomer still choosing a name is told and closed,
    members get the notice; nobody is stuck, so the grace period is not needed at all.
    """
    server = await start_memory_server(shutdown_grace=2)
    alice = await server.join("alice")
    bob = await server.join("bob")
    registering = await server.connect()
    start = trio.current_time()
    server.stop.set()
    assert await alice.expect_closed() == ["* bob joined", "* server shutting down"]
    assert await bob.expect_closed() == ["* server shutting down"]
    assert await registering.expect_closed() == ["* server shutting down"]
    await server.finished.wait()
    assert trio.current_time() == start  # nobody needed the grace period
    with pytest.raises(trio.BrokenResourceError):  # the listener is closed
        await server.connect()


async def test_shutdown_grace_period_ends_a_writer_stuck_on_a_client_that_never_reads(
    start_memory_server: StartServer, autojump_clock: trio.testing.MockClock
) -> None:
    """Scope: the connections nursery's deadline, set by Server.shut_down (the grace period).

    The stuck member's writer is still blocked in send_all when shutdown begins (its mailbox is
    not full, so it was not evicted), and only the end of the grace period cancels it.
    """
    server = await start_memory_server(shutdown_grace=2)
    alice = await server.join("alice")
    stuck = await join_stuck(server, alice)
    start = trio.current_time()
    server.stop.set()
    assert await alice.expect_closed() == ["* server shutting down"]
    await server.finished.wait()
    assert trio.current_time() - start == pytest.approx(2)
    # Its connection was closed under the blocked writer: nothing after that line, no notice.
    assert await stuck.expect_closed() == [STUCK_LINE]


async def test_a_send_blocked_too_long_removes_the_member_as_timed_out(
    start_memory_server: StartServer, autojump_clock: trio.testing.MockClock
) -> None:
    """Scope: the member nursery, cancelled by the send watchdog (Watchdog.run).

    In a quiet room the stuck member's mailbox never fills, so only the send timeout notices
    that its peer takes nothing: the watchdog cancels the connection, which leaves "timed out".
    """
    server = await start_memory_server(send_timeout=5)
    alice = await server.join("alice")
    start = trio.current_time()
    stuck = await join_stuck(server, alice)
    await alice.expect("* stuck left (timed out)")
    # The watchdog looks every WATCH_INTERVAL: timed out within one interval of 5 s.
    assert 5 <= trio.current_time() - start <= 5 + WATCH_INTERVAL
    assert await stuck.expect_closed() == [STUCK_LINE]
    # A member that is merely quiet (it reads, it just says nothing) is never timed out.
    await trio.sleep(3600)
    await alice.send("/who")
    await alice.expect("* online (1): alice")


async def test_a_password_being_checked_is_waited_for_when_its_session_is_cancelled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Scope: none of its own; a thread checking a password, under a cancelled session.

    to_thread.run_sync without abandon_on_cancel: the check is not abandoned. The task waits
    for its thread (tens of milliseconds of argon2), and sees Cancelled at its next
    checkpoint: the session's next step, which would have sent the login to the hub.
    """
    started, release = threading.Event(), threading.Event()

    def slow_check(credentials: object, password: str) -> Check:
        started.set()
        release.wait(PATIENCE)
        return Check.RIGHT

    monkeypatch.setattr(credentials_module, "check", slow_check)
    keys = Credentials("$argon2id$x", b"s", b"k", b"v", 4096)
    authenticator = Authenticator(OneAccount(Account(nick("alice"), keys, 0.0)))
    checked: list[object] = []  # what the check said
    used: list[object] = []  # what the session went on to do with it

    async def session_step(scope: trio.CancelScope) -> None:
        with scope:
            proof = await authenticator.log_in("alice", "whatever", None)
            checked.append(proof)
            await trio.lowlevel.checkpoint()  # the session's next step: the hub's inbox
            used.append(proof)

    scope = trio.CancelScope()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(session_step, scope)
        await trio.to_thread.run_sync(started.wait, PATIENCE)
        scope.cancel(reason="the session ends")
        await trio.testing.wait_all_tasks_blocked()
        assert not checked  # the thread is still checking: its task waits for it
        release.set()
    assert len(checked) == 1  # the check finished...
    assert not used  # ...and its result went nowhere
    assert scope.cancelled_caught


class OneAccount:
    def __init__(self, account: Account) -> None:
        self.only = account

    def account(self, name: str) -> Account | None:
        return self.only

    def account_with_certificate(self, fingerprint: str) -> Account | None:
        return None

    def ticket(self, digest: str) -> Ticket | None:
        return None
