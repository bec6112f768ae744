"""The mailbox's fast path: written at once when the socket takes it, queued in order when not.

The sockets are real (a Unix socket pair: the same non-blocking write() as TCP, with buffers
small enough to fill); the writer is played by the test, as the session's backlog writer would
play it: take what is queued, write it, report it sent.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from trio_chat.core.delivery import Delivery
from trio_chat.core.events import LeaveReason, Said
from trio_chat.shell.mailbox import Item, Mailbox


def delivery(text: str) -> Delivery:
    return Delivery([Said("#lobby", "alice", text)])


def render(item: Delivery) -> bytes:
    (event,) = item.events
    assert isinstance(event, Said)
    return f"{event.text}\n".encode()


class Peer:
    """The far end of a member's socket, and what the mailbox asked of the session."""

    def __init__(self, ours: socket.socket, theirs: socket.socket) -> None:
        self.ours, self.theirs = ours, theirs
        self.writers_started = 0
        self.hung_up: list[str] = []

    def start_writer(self) -> None:
        self.writers_started += 1

    def hang_up(self, reason: str) -> None:
        self.hung_up.append(reason)

    def read_all(self) -> bytes:
        data = b""
        while True:
            try:
                data += self.theirs.recv(1 << 20)
            except BlockingIOError:
                return data


@pytest.fixture
def peer() -> Iterator[Peer]:
    ours, theirs = socket.socketpair()
    for sock in (ours, theirs):
        sock.setblocking(False)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    yield Peer(ours, theirs)
    ours.close()
    theirs.close()


def connected(peer: Peer, capacity: int = 8, byte_budget: int = 1 << 20) -> Mailbox:
    mailbox = Mailbox(capacity, byte_budget)
    mailbox.connect(render, peer.hang_up, fd=peer.ours.fileno(), start_writer=peer.start_writer)
    return mailbox


def write_backlog(mailbox: Mailbox, peer: Peer) -> bytes:
    """Play the backlog writer, the peer reading as it goes; return what the peer read."""
    received = b""
    while batch := mailbox.take():
        for item in batch:
            data = item if isinstance(item, bytes) else render(item)
            while data:
                try:
                    data = data[peer.ours.send(data) :]
                except BlockingIOError:  # the writer would wait until writable; we read
                    received += peer.read_all()
            mailbox.sent(item)
    mailbox.backlog_written()
    return received + peer.read_all()


def test_a_socket_that_takes_everything_is_written_without_a_writer(peer: Peer) -> None:
    mailbox = connected(peer)
    for n in range(10):
        assert mailbox.offer(delivery(f"message {n}"))
    assert peer.read_all() == b"".join(b"message %d\n" % n for n in range(10))
    assert peer.writers_started == 0
    assert mailbox.queued == 0
    assert mailbox.pending_bytes == 0


def test_a_full_socket_falls_back_to_the_queue_and_keeps_the_order(peer: Peer) -> None:
    mailbox = connected(peer, capacity=1000)
    texts = [f"{n:04d} " + "x" * 200 for n in range(200)]  # 40 KB: more than the buffers hold
    for text in texts:
        assert mailbox.offer(delivery(text))
    assert peer.writers_started == 1  # once, when the kernel first refused bytes
    assert mailbox.queued > 0
    received = peer.read_all() + write_backlog(mailbox, peer)
    assert received == b"".join(f"{text}\n".encode() for text in texts)
    # The backlog is written: the fast path is back, without a writer.
    assert mailbox.offer(delivery("after"))
    assert peer.read_all() == b"after\n"
    assert peer.writers_started == 1


def test_a_member_that_does_not_read_is_too_slow_on_the_fast_path_too(peer: Peer) -> None:
    mailbox = connected(peer, capacity=4, byte_budget=1 << 20)
    accepted = 0
    while mailbox.offer(delivery("y" * 1000)):
        accepted += 1
        assert accepted < 100, "never refused"
    assert mailbox.queued == 4  # the capacity, once the socket was full


def test_a_member_that_caught_up_is_held_to_the_same_capacity_again(peer: Peer) -> None:
    # The channel is dropped once the backlog is written and made again for the next one.
    mailbox = connected(peer, capacity=4)
    sent: list[bytes] = []
    for backlog in range(2):
        accepted = 0
        while mailbox.offer(delivery(f"{backlog}.{accepted} " + "y" * 1000)):
            sent.append(f"{backlog}.{accepted} ".encode() + b"y" * 1000 + b"\n")
            accepted += 1
            assert accepted < 100, "never refused"
        assert mailbox.queued == 4  # the capacity, each time
        assert peer.read_all() + write_backlog(mailbox, peer) == b"".join(sent)
        sent.clear()
    assert peer.writers_started == 2


def test_nothing_is_accepted_once_closed(peer: Peer) -> None:
    for mailbox in (Mailbox(8, 1 << 20), connected(peer)):  # with its channel, and without
        mailbox.close()
        assert not mailbox.offer(delivery("too late"))
        assert mailbox.take() == []


def test_what_was_queued_before_the_chat_began_is_written_first(peer: Peer) -> None:
    mailbox = Mailbox(8, 1 << 20)
    mailbox.offer(delivery("while registering"))  # no fast path yet: queued
    mailbox.connect(render, peer.hang_up, fd=peer.ours.fileno(), start_writer=peer.start_writer)
    assert peer.writers_started == 1
    assert mailbox.offer(delivery("behind it"))  # queued behind, not written before it
    assert peer.read_all() == b""
    assert write_backlog(mailbox, peer) == b"while registering\nbehind it\n"


def test_a_broken_socket_hangs_up_as_lost(peer: Peer) -> None:
    mailbox = connected(peer)
    peer.theirs.close()
    assert mailbox.offer(delivery("into the void"))  # accepted: not the member's slowness
    assert peer.hung_up == ["connection lost"]


def test_closing_hangs_up_once_everything_is_written(peer: Peer) -> None:
    mailbox = connected(peer, capacity=1000)
    mailbox.offer(delivery("bye"))
    mailbox.close()
    assert peer.hung_up == ["removed by the hub"]  # nothing queued: at once
    backlogged = connected(peer, capacity=1000)
    for _ in range(100):
        backlogged.offer(delivery("z" * 500))
    backlogged.close()
    assert peer.hung_up == ["removed by the hub"]  # not yet: a backlog is being written
    write_backlog(backlogged, peer)
    assert peer.hung_up == ["removed by the hub", "removed by the hub"]


def test_eviction_hangs_up_at_once_or_as_soon_as_the_member_connects(peer: Peer) -> None:
    mailbox = connected(peer)
    mailbox.evict(LeaveReason.TOO_SLOW)
    assert peer.hung_up == ["too slow"]
    early = Mailbox(8, 1 << 20)
    early.evict(LeaveReason.TOO_SLOW)  # between its welcome and its chat
    early.connect(render, peer.hang_up, fd=peer.ours.fileno(), start_writer=peer.start_writer)
    assert peer.hung_up == ["too slow", "too slow"]
    assert peer.writers_started == 0


def test_a_member_removed_before_it_chats_is_hung_up_when_it_connects(peer: Peer) -> None:
    mailbox = Mailbox(8, 1 << 20)
    mailbox.close()
    assert peer.hung_up == []
    mailbox.connect(render, peer.hang_up, fd=peer.ours.fileno(), start_writer=peer.start_writer)
    assert peer.hung_up == ["removed by the hub"]


def test_after_disconnect_nothing_is_written_directly(peer: Peer) -> None:
    mailbox = connected(peer)
    mailbox.disconnect()
    assert mailbox.offer(delivery("later"))
    assert peer.read_all() == b""  # queued: the socket may already belong to someone else
    items: list[Item] = mailbox.take()
    assert len(items) == 1
    assert peer.writers_started == 0
