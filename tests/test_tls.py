"""TLS: the server beside its plain port, the client verifying certificates (trustme CAs)."""

from __future__ import annotations

import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
import trio
import trio.testing
import trustme

from tests.chat_client import ChatClient, MemoryListener
from trio_chat.frontends.line import LineFrontEnd
from trio_chat.shell.listeners import Listening
from trio_chat.shell.server import Endpoint, ServerConfig, serve, serve_listeners


@dataclass
class TLSServer:
    plain_port: int
    tls_port: int
    client_context: ssl.SSLContext
    ca_file: Path


@pytest.fixture
async def tls_server(nursery: trio.Nursery, tmp_path: Path) -> AsyncIterator[TLSServer]:
    ca = trustme.CA()
    certificate = ca.issue_cert("127.0.0.1", "localhost")
    key_and_chain = tmp_path / "server.pem"
    certificate.private_key_and_cert_chain_pem.write_to_path(str(key_and_chain))
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    config = ServerConfig(
        endpoints=(
            Endpoint(0, LineFrontEnd),
            Endpoint(0, LineFrontEnd, "plain over TLS", tls=True),
        ),
        host="127.0.0.1",
        tls_cert=str(key_and_chain),
        tls_key=str(key_and_chain),
        flood_rate=0,
    )
    stop = trio.Event()
    (_, plain_port), (_, tls_port) = await nursery.start(partial(serve, config, stop=stop))
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    yield TLSServer(plain_port, tls_port, client_context, ca_file)
    stop.set()


async def test_tls_and_plain_clients_share_the_room(tls_server: TLSServer) -> None:
    secure = ChatClient(
        await trio.open_ssl_over_tcp_stream(
            "127.0.0.1", tls_server.tls_port, ssl_context=tls_server.client_context
        ),
    )
    plain = ChatClient(await trio.open_tcp_stream("127.0.0.1", tls_server.plain_port))
    await secure.expect("* what is your name?")
    await secure.send("alice")
    await secure.expect("* welcome, alice! online (1): alice")
    await plain.expect("* what is your name?")
    await plain.send("bob")
    await plain.expect("* welcome, bob! online (2): alice, bob")
    await secure.expect("* bob joined")
    await plain.send("hello over plain text")
    await secure.expect("<bob> hello over plain text")
    for client in (secure, plain):
        await client.stream.aclose()


async def test_a_plain_text_client_on_the_tls_port_harms_nobody(tls_server: TLSServer) -> None:
    alice = ChatClient(await trio.open_tcp_stream("127.0.0.1", tls_server.plain_port))
    await alice.expect("* what is your name?")
    await alice.send("alice")
    await alice.expect("* welcome, alice! online (1): alice")
    confused = ChatClient(await trio.open_tcp_stream("127.0.0.1", tls_server.tls_port))
    # Not a TLS handshake: the server closes the connection. (A client that sends nothing at
    # all is left to the registration timeout, which covers the handshake.)
    await confused.send("bob, who speaks plain text")
    assert not any("welcome" in line for line in await confused.expect_closed())
    await alice.send("/who")
    await alice.expect("* online (1): alice")
    for client in (alice, confused):
        await client.stream.aclose()


async def test_the_client_verifies_the_certificate(tls_server: TLSServer) -> None:
    command = [sys.executable, "-m", "trio_chat", "client", "--port", str(tls_server.tls_port)]
    trusted = await trio.run_process(
        [*command, "--tls", "--cafile", str(tls_server.ca_file), "--nick", "carol"],
        stdin=b"hi\n",
        capture_stdout=True,
    )
    assert trusted.stdout.decode().splitlines() == [
        "* welcome, carol! online (1): carol",
        "<carol> hi",
        "* bye",
    ]
    untrusted = await trio.run_process(
        [*command, "--tls"], stdin=b"", capture_stderr=True, check=False
    )
    assert untrusted.returncode == 2
    assert "certificate verify failed" in untrusted.stderr.decode()


def test_turning_every_front_end_off_is_refused() -> None:
    command = [sys.executable, "-m", "trio_chat", "server", "--no-plain", "--no-irc", "--no-web"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "--no-plain, --no-irc and --no-web leave nothing" in result.stderr


def test_irc_over_tls_needs_a_certificate() -> None:
    command = [sys.executable, "-m", "trio_chat", "server", "--irc-tls-port", "6697"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "--irc-tls-port needs --tls-cert" in result.stderr


async def test_the_handshake_counts_against_the_registration_timeout(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    # In memory, under the autojump clock: a client that connects to the TLS listener and
    # never starts the handshake is closed when the registration timeout (0.25 s) fires. (The
    # cancelled handshake leaves the TLS stream broken, so there is no "! timed out" to try.)
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    listener = MemoryListener()
    config = ServerConfig(registration_timeout=0.25)
    listening = Listening(listener, LineFrontEnd, tls=context)
    await nursery.start(partial(serve_listeners, [listening], config, stop=trio.Event()))
    start = trio.current_time()
    silent = ChatClient(await listener.connect())
    assert await silent.expect_closed() == []
    assert trio.current_time() - start == pytest.approx(0.25)
