"""Every cancel scope of the server, made to fire, each test naming the scope it exercises.

Timeouts run under ``autojump_clock``: virtual time jumps ahead whenever every task is blocked,
so a 60-second timeout takes no real time and the tests can assert exact virtual durations.
(Real loopback sockets work with it: data sent on loopback is readable at once.)
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tests.chat_client import ChatClient
from tests.conftest import StartServer
from trio_chat.server import LAST_WORDS_TIMEOUT

LINE = "x" * 2000


async def test_eviction_cancels_a_writer_blocked_in_send_all(
    start_server: StartServer, autojump_clock: trio.testing.MockClock
) -> None:
    """Scope: ``member.cancel_scope`` (server.Connection._chat), cancelled by Room.flush.

    The slow client's receive buffer is tiny and it never reads, so the server's writer for it
    blocks in send_all; its small mailbox then fills, and the room cancels the member's scope
    with reason "too slow". The writer is cancelled where it is blocked, at once: no time passes.
    """
    server = await start_server(mailbox_size=8)
    alice = await server.join("alice")
    slow = await server.join("slow", receive_buffer=4096)
    await alice.expect("* slow joined")
    start = trio.current_time()
    await flood_until(alice, "* slow left (too slow)")
    assert trio.current_time() == start  # nobody waited for a timeout
    # The connection was closed under the blocked writer: reading it now ends at EOF.
    assert set(await slow.expect_closed()) == {f"<alice> {LINE}"}
    await alice.send("/who")
    await alice.expect("* online (1): alice")  # and alice carries on


async def test_a_quitting_client_that_does_not_read_gets_one_second_to_take_its_goodbye(
    start_server: StartServer, autojump_clock: trio.testing.MockClock
) -> None:
    """Scope: the member nursery's deadline, set by Connection._read after /exit.

    The writer is blocked on a peer that does not read, so the goodbye cannot be delivered; the
    deadline ends the connection LAST_WORDS_TIMEOUT after the reader finished.
    """
    server = await start_server(mailbox_size=100_000, mailbox_bytes=1 << 30)
    alice = await server.join("alice")
    stuck = await server.join("stuck", receive_buffer=4096)
    await alice.expect("* stuck joined")
    await fill_buffers(alice)
    await stuck.send("/exit")
    await alice.expect("* stuck left (quit)")
    # Reading now would unblock the writer, so let the deadline pass first (virtual time).
    await trio.sleep(LAST_WORDS_TIMEOUT + 0.001)
    lines = await stuck.expect_closed()
    assert "* bye" not in lines  # cut off before the goodbye
    assert set(lines) == {f"<alice> {LINE}"}


async def test_a_reader_cancelled_mid_line_drops_the_partial_line(
    start_server: StartServer, autojump_clock: trio.testing.MockClock
) -> None:
    """Scope: the member nursery (Connection._chat), cancelled by the writer at shutdown.

    The reader is waiting for the rest of a line when the room closes the mailbox; the writer
    delivers the notice and cancels the nursery, reader included. Half a line is never said.
    """
    server = await start_server()
    alice = await server.join("alice")
    bob = await server.join("bob")
    await alice.expect("* bob joined")
    await bob.stream.send_all(b"half a li")
    await trio.testing.wait_all_tasks_blocked()
    server.stop.set()
    assert await alice.expect_closed() == ["* server shutting down"]
    assert await bob.expect_closed() == ["* server shutting down"]
    await server.finished.wait()


async def test_registration_times_out(
    start_server: StartServer, autojump_clock: trio.testing.MockClock
) -> None:
    """Scope: ``move_on_after(registration_timeout)`` in Connection._register."""
    server = await start_server(registration_timeout=0.25)
    start = trio.current_time()
    idle = await server.connect()
    assert await idle.expect_closed() == ["! timed out"]
    assert trio.current_time() - start == pytest.approx(0.25)


async def test_registration_timeout_restarts_for_nobody(
    start_server: StartServer, autojump_clock: trio.testing.MockClock
) -> None:
    """Scope: ``move_on_after(registration_timeout)``: it covers refused attempts too."""
    server = await start_server(registration_timeout=0.25)
    alice = await server.join("alice")
    start = trio.current_time()
    newcomer = await server.connect()
    await trio.sleep(0.2)
    await newcomer.send("alice")
    await newcomer.expect("! nickname alice is taken", "* what is your name?")
    assert await newcomer.expect_closed() == ["! timed out"]
    assert trio.current_time() - start == pytest.approx(0.25)
    await trio.sleep(10)  # a registered member is never timed out for being quiet
    await alice.send("/who")
    await alice.expect("* online (1): alice")


async def test_shutdown_tells_everyone_and_closes(
    start_server: StartServer, autojump_clock: trio.testing.MockClock
) -> None:
    """Scopes: the ``accepting`` nursery and the ``shutdown`` scope of each registration.

    Accepting stops (the listener closes), a newcomer still choosing a name is told and closed,
    members get the notice; nobody is stuck, so the grace period is not needed at all.
    """
    server = await start_server(shutdown_grace=2)
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
    with pytest.raises(OSError, match="all attempts to connect"):  # the listener is closed
        await trio.open_tcp_stream("127.0.0.1", server.port)


async def test_shutdown_grace_period_ends_a_writer_stuck_on_a_client_that_never_reads(
    start_server: StartServer, autojump_clock: trio.testing.MockClock
) -> None:
    """Scope: the connections nursery's deadline, set by Server.shut_down (the grace period).

    A huge mailbox keeps the stuck member from being evicted as too slow, so its writer is still
    blocked in send_all when shutdown begins, and only the end of the grace period cancels it.
    """
    server = await start_server(shutdown_grace=2, mailbox_size=100_000, mailbox_bytes=1 << 30)
    alice = await server.join("alice")
    stuck = await server.join("stuck", receive_buffer=4096)
    await alice.expect("* stuck joined")
    await fill_buffers(alice)
    start = trio.current_time()
    server.stop.set()
    assert await alice.expect_closed() == ["* server shutting down"]
    await server.finished.wait()
    assert trio.current_time() - start == pytest.approx(2)
    # Its connection was closed under the blocked writer: reading it now ends at EOF.
    assert set(await stuck.expect_closed()) == {f"<alice> {LINE}"}


async def fill_buffers(sender: ChatClient) -> None:
    """Send (and read back) 6 MB: more than the kernel buffers of a peer that does not read."""
    for _ in range(3000):
        await sender.send(LINE)
        await sender.expect(f"<{sender.nick}> {LINE}")


async def flood_until(sender: ChatClient, notice: str) -> None:
    """Send long lines as fast as possible, reading them back, until ``notice`` arrives."""
    async with trio.open_nursery() as nursery:

        async def flood() -> None:
            for _ in range(20_000):  # 40 MB at most; eviction comes long before
                await sender.send(LINE)
            raise AssertionError("never evicted")

        nursery.start_soon(flood)
        while (received := await sender.receive_line()) != notice:
            assert received == f"<{sender.nick}> {LINE}"
        nursery.cancel_scope.cancel(reason="got the notice")
    # Skip what the flood left in flight, up to the answer to a question asked after it.
    await sender.send("/who")
    while (await sender.receive_line()).startswith("<"):
        pass
