"""The fast path over TLS, on 127.0.0.1 with trustme's certificates: the hub seals and writes.

The same promises as the plain fast path (tests/test_fast_path.py): a member who keeps up is
served with no writer task; one whose socket is full gets a backlog, in order (over TLS a record
out of order would not even decrypt); the capacity, the byte budget and eviction still hold.
And :class:`TlsStream` itself, against Trio's own TLS client over memory streams.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
import trustme

from tests.chat_client import ChatClient, RunningServer
from tests.conftest import StartServer
from tests.test_fast_path import BACKLOG_WRITER, WRITER, tasks_that_run
from trio_chat.frontends.line import LineFrontEnd
from trio_chat.shell.server import Endpoint
from trio_chat.shell.tls import TlsStream


@dataclass
class Certificates:
    server: ssl.SSLContext  # for TlsStream, as the server makes it
    client: ssl.SSLContext  # trusts the server's certificate
    chain: Path  # the server's key and certificate chain, one PEM file
    ca: trustme.CA  # what issued it


@pytest.fixture
def certificates(tmp_path: Path) -> Certificates:
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    chain = tmp_path / "server.pem"
    issued.private_key_and_cert_chain_pem.write_to_path(str(chain))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    issued.configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return Certificates(server, client, chain, ca)


async def tls_server(
    start_server: StartServer, certificates: Certificates, **overrides: Any
) -> RunningServer:
    """A server with one endpoint: the plain protocol over TLS."""
    endpoint = Endpoint(0, LineFrontEnd, "plain over TLS", tls=True)
    chain = str(certificates.chain)
    return await start_server(endpoints=(endpoint,), tls_cert=chain, tls_key=chain, **overrides)


async def join(
    server: RunningServer,
    certificates: Certificates,
    nick: str,
    *,
    receive_buffer: int | None = None,
) -> ChatClient:
    """Connect over TLS (with a small receive buffer, if asked) and register as ``nick``."""
    sock = trio.socket.socket()
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    await sock.connect(("127.0.0.1", server.port))
    stream = trio.SSLStream(
        trio.SocketStream(sock), certificates.client, server_hostname="127.0.0.1"
    )
    client = ChatClient(stream)
    server.clients.append(client)
    await client.expect("* what is your name?")
    await client.send(nick)
    assert (await client.receive_line()).startswith(f"* welcome, {nick}! online (")
    return client


async def test_a_tls_member_who_keeps_up_is_served_without_a_writer(
    start_server: StartServer, certificates: Certificates
) -> None:
    server = await tls_server(start_server, certificates)
    alice = await join(server, certificates, "alice")
    bob = await join(server, certificates, "bob")
    await alice.expect("* bob joined")
    with tasks_that_run() as names:
        for n in range(50):
            await alice.send(f"message {n}")
            for member in (alice, bob):
                await member.expect(f"<alice> message {n}")
    # The hub sealed and wrote every delivery itself, in its turn: nothing waited for a task.
    assert WRITER not in names.names
    assert BACKLOG_WRITER not in names.names


async def test_a_tls_member_whose_socket_is_full_gets_a_backlog_in_order(
    start_server: StartServer, certificates: Certificates
) -> None:
    limits = {"mailbox_size": 10_000, "mailbox_bytes": 1 << 24}
    server = await tls_server(start_server, certificates, **limits)
    alice = await join(server, certificates, "alice")
    slow = await join(server, certificates, "slow", receive_buffer=4096)
    await alice.expect("* slow joined")
    lines = [f"{n:04d} {'x' * 500}" for n in range(400)]  # 200 KB: far more than the buffers
    with tasks_that_run() as names:
        for line in lines:
            await alice.send(line)
            await alice.expect(f"<alice> {line}")
        # slow has read nothing meanwhile: the records the kernel refused, and the deliveries
        # sealed behind them by the backlog writer, arrive in order (or would not decrypt).
        for line in lines:
            await slow.expect(f"<alice> {line}")
    assert BACKLOG_WRITER in names.names
    with tasks_that_run() as names:
        await alice.send("back to normal")
        await slow.expect("<alice> back to normal")
    assert BACKLOG_WRITER not in names.names  # the hub writes again


@pytest.mark.parametrize(
    "limits", [{"mailbox_size": 5}, {"mailbox_size": 10_000, "mailbox_bytes": 64 * 1024}]
)
async def test_a_tls_member_who_does_not_read_is_evicted(
    start_server: StartServer, certificates: Certificates, limits: dict[str, int]
) -> None:
    # The capacity, then the byte budget: each still says when a TLS member is too slow.
    server = await tls_server(start_server, certificates, **limits)
    alice = await join(server, certificates, "alice")
    await join(server, certificates, "stuck", receive_buffer=4096)
    await alice.expect("* stuck joined")
    seen = []
    for n in range(10_000):
        await alice.send(f"{n:04d} {'x' * 1000}")
        seen.append(await alice.receive_line())
        if seen[-1] == "* stuck left (too slow)":
            break
    assert seen[-1] == "* stuck left (too slow)"
    assert all(line.startswith("<alice> ") for line in seen[:-1])


async def connected(
    certificates: Certificates, client_context: ssl.SSLContext | None = None
) -> tuple[trio.SSLStream[Any], TlsStream]:
    """A Trio TLS client and a TlsStream server, over memory streams, the handshake done."""
    client_side, server_side = trio.testing.memory_stream_pair()
    client = trio.SSLStream(
        client_side, client_context or certificates.client, server_hostname="localhost"
    )
    server = TlsStream(server_side, certificates.server)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(client.do_handshake)
        await server.send_all(b"hello\n")  # the server speaks first, as the plain protocol does
    assert await client.receive_some() == b"hello\n"
    return client, server


async def test_records_sealed_now_and_sent_later_arrive_in_order(
    certificates: Certificates,
) -> None:
    client, server = await connected(certificates)
    first, second = server.seal(b"one\n"), server.seal(b"two\n")
    await server.transport_stream.send_all(first + second)
    received = b""
    while len(received) < 8:
        received += await client.receive_some()
    assert received == b"one\ntwo\n"
    await client.send_all(b"from the client\n")
    assert await server.receive_some() == b"from the client\n"


async def test_a_tls_1_2_client_gets_the_servers_last_flight_without_asking(
    certificates: Certificates,
) -> None:
    # Over TLS 1.2 the server's Finished ends the handshake; an IRC client then speaks first
    # and the server says nothing until it does: without that flight both would wait forever.
    old = ssl.create_default_context()
    certificates.ca.configure_trust(old)
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    client_side, server_side = trio.testing.memory_stream_pair()
    client = trio.SSLStream(client_side, old, server_hostname="localhost")
    server = TlsStream(server_side, certificates.server)
    with trio.fail_after(5):  # not a timing assumption: a deadlock fails instead of hanging
        async with trio.open_nursery() as nursery:
            nursery.start_soon(partial(client.send_all, b"NICK alice\r\n"))
            assert await server.receive_some() == b"NICK alice\r\n"
    assert client.version() == "TLSv1.2"


async def test_a_clean_close_reads_as_the_end(certificates: Certificates) -> None:
    client, server = await connected(certificates)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(client.aclose)  # close_notify, then the transport closes
        assert await server.receive_some() == b""


async def test_garbage_breaks_the_stream(certificates: Certificates) -> None:
    client, server = await connected(certificates)
    await client.transport_stream.send_all(b"\x17\x03\x03\x00\x05xxxxx")  # a record, forged
    with pytest.raises(trio.BrokenResourceError):
        await server.receive_some()


async def test_a_send_that_did_not_finish_breaks_the_stream(certificates: Certificates) -> None:
    _client, server = await connected(certificates)
    with trio.CancelScope() as scope:  # cancelled at once: part of a record may have gone
        scope.cancel()
        await server.send_all(b"x" * 100)
    with pytest.raises(trio.BrokenResourceError):
        await server.send_all(b"more")
    with pytest.raises(trio.BrokenResourceError):
        await server.receive_some()


async def ended_without_close_notify(certificates: Certificates) -> TlsStream:
    """A server whose client dropped TCP without close_notify, once its reader has seen it."""
    client, server = await connected(certificates)
    await client.transport_stream.aclose()
    with pytest.raises(trio.BrokenResourceError):
        await server.receive_some()
    return server


async def test_after_a_close_without_close_notify_sealing_gives_nothing_and_never_raises(
    certificates: Certificates,
) -> None:
    # A client that drops TCP without TLS's close_notify ends the TLS session; the hub may
    # still have a delivery for it in the same turn (its departure, its last lines). Sealing
    # it raised ssl.SSLEOFError in the hub's turn, and that stopped the whole server.
    server = await ended_without_close_notify(certificates)
    assert server.seal(b"* alice left\n") == b""
    assert server.seal(b"more\n") == b""


async def test_a_send_after_a_close_without_close_notify_is_broken_not_lost(
    certificates: Certificates,
) -> None:
    # The same end seen by send_all first: it must not return as if the bytes had gone.
    server = await ended_without_close_notify(certificates)
    with pytest.raises(trio.BrokenResourceError):
        await server.send_all(b"* alice left\n")
