"""SIGHUP: a real server process reads its configuration again, and applies what can change live.

Each test starts ``trio-chat server --config FILE`` on free ports, changes the file, sends the
process SIGHUP, and waits for the line its log writes when the reload is done: no sleeps.
The last drives the reloader task alone, with a read that never returns.
"""

from __future__ import annotations

import pathlib
import re
import signal
import ssl
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
import trustme

from tests.chat_client import PATIENCE, ChatClient
from tests.irc_client import IrcClient
from trio_chat.cli import _reload_on_hangup
from trio_chat.core.accounts import hash_password
from trio_chat.shell.server import ServerConfig

BASE = """
db = ":memory:"
no_history = true
port = 0
[irc]
irc_port = 0
irc_motd = "{motd}"
[web]
http_port = 0
[limits]
flood_burst = 100
flood_rate = 20
"""


class ServerProcess:
    """A server process, its log as it comes, and its ports by front end."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.log: list[str] = []
        self.ports: dict[str, int] = {}
        self._changed = trio.Event()

    async def read_log(self) -> None:
        assert self.process.stderr is not None
        buffer = b""
        while chunk := await self.process.stderr.receive_some():
            *lines, buffer = (buffer + chunk).split(b"\n")
            for line in lines:
                text = line.decode()
                self.log.append(text)
                if found := re.search(r"listening on 127.0.0.1 port (\d+) \((.+)\)$", text):
                    self.ports[found[2]] = int(found[1])
            self._changed.set()
            self._changed = trio.Event()

    async def wait_for(self, text: str, after: int = 0) -> str:
        """The first log line from line ``after`` on that contains ``text``."""
        with trio.fail_after(PATIENCE):
            while True:
                for line in self.log[after:]:
                    if text in line:
                        return line
                await self._changed.wait()

    async def reload(self, expect: str = "reload applied") -> list[str]:
        """SIGHUP, and the log lines up to the one that says the reload is done."""
        start = len(self.log)
        self.process.send_signal(signal.SIGHUP)
        last = await self.wait_for(expect, after=start)
        return self.log[start : self.log.index(last, start) + 1]


@asynccontextmanager
async def server(path: pathlib.Path, ready: str = "in a browser") -> AsyncIterator[ServerProcess]:
    """The server of the file at ``path``, once its log says ``ready`` (its last start line)."""
    command = [sys.executable, "-m", "trio_chat", "server", "--config", str(path)]
    process = await trio.lowlevel.open_process(command, stderr=subprocess.PIPE)
    running = ServerProcess(process)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(running.read_log)
            await running.wait_for(ready)
            yield running
            process.send_signal(signal.SIGTERM)
            with trio.fail_after(PATIENCE):
                assert await process.wait() == 0
    finally:
        process.kill()
        # Shielded, so that a failing (cancelled) test still reaps its child; bounded, in case.
        with trio.move_on_after(PATIENCE, shield=True):
            await process.wait()


async def motd_of_a_new_irc_client(running: ServerProcess, nick: str) -> list[str]:
    irc = IrcClient(await trio.open_tcp_stream("127.0.0.1", running.ports["IRC"]))
    burst = await irc.register(nick, lobby=False)
    await irc.stream.aclose()
    return [message.params[-1] for message in burst if message.command == "372"]


async def flood_delays(running: ServerProcess) -> float:
    stream = await trio.open_tcp_stream("127.0.0.1", running.ports["web"])
    # Read to the end: ask the server to close after its answer (it keeps connections).
    await stream.send_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    answer = b""
    with trio.fail_after(PATIENCE):
        while chunk := await stream.receive_some():
            answer += chunk
    await stream.aclose()
    found = re.search(rb"^trio_chat_flood_delays_total (\S+)$", answer, re.MULTILINE)
    assert found is not None
    return float(found[1])


async def test_sighup_changes_the_motd_and_flood_control_for_newcomers(
    tmp_path: pathlib.Path,
) -> None:
    motd = tmp_path / "motd.txt"
    motd.write_text("welcome, first edition\n")
    path = tmp_path / "trio-chat.toml"
    path.write_text(BASE.format(motd=motd))
    async with server(path) as running:
        assert await motd_of_a_new_irc_client(running, "early") == ["- welcome, first edition"]
        before = ChatClient(await trio.open_tcp_stream("127.0.0.1", running.ports["plain"]))
        await before.expect("* what is your name?")
        await before.send("before")
        await before.expect("* welcome, before! online (1): before")

        motd.write_text("welcome, second edition\n")
        path.write_text(
            BASE.format(motd=motd)
            .replace("flood_burst = 100", "flood_burst = 1")
            .replace("[limits]", '[limits]\nreserved_nicks = ["mallory"]')
        )
        said = await running.reload()
        assert any("reload: flood_burst is now 1 (was 100)" in line for line in said)
        assert any('reload: reserved_nicks is now ["mallory"]' in line for line in said)

        # A new IRC client is told the new MOTD.
        assert await motd_of_a_new_irc_client(running, "late") == ["- welcome, second edition"]
        # The member who was here keeps chatting, with the flood control it had. (A scrape
        # of /metrics is a newcomer too, whose request may wait: what that costs, measured.)
        delays = await flood_delays(running)
        scrape = await flood_delays(running) - delays
        delays += scrape
        for n in range(3):
            await before.send(f"still here {n}")
            await before.expect(f"<before> still here {n}")
        assert await flood_delays(running) == delays + scrape
        delays += scrape
        # A newcomer gets the new flood control (a burst of 1: its lines wait), and the names.
        after = ChatClient(await trio.open_tcp_stream("127.0.0.1", running.ports["plain"]))
        await after.expect("* what is your name?")
        await after.send("mallory")
        await after.expect("! the nickname mallory is reserved", "* what is your name?")
        await after.send("after")
        await after.expect("* welcome, after! online (2): after, before")
        for n in range(3):
            await after.send(f"new {n}")
            await after.expect(f"<after> new {n}")
        assert await flood_delays(running) > delays + scrape
        for client in (before, after):
            await client.stream.aclose()


async def test_a_file_broken_on_reload_keeps_the_running_configuration(
    tmp_path: pathlib.Path,
) -> None:
    motd = tmp_path / "motd.txt"
    motd.write_text("the good one\n")
    path = tmp_path / "trio-chat.toml"
    path.write_text(BASE.format(motd=motd))
    async with server(path) as running:
        motd.write_text("not to be seen\n")
        path.write_text(BASE.format(motd=motd).replace("flood_rate = 20", "flood_rat = 20"))
        said = await running.reload(expect="the running configuration stays")
        assert "flood_rat: unknown key (did you mean flood_rate?)" in said[-1]
        assert " ERROR " in said[-1]
        assert await motd_of_a_new_irc_client(running, "someone") == ["- the good one"]
        # Fixed again, it applies.
        path.write_text(BASE.format(motd=motd))
        await running.reload()
        assert await motd_of_a_new_irc_client(running, "other") == ["- not to be seen"]


async def test_what_needs_a_restart_is_said_and_kept(tmp_path: pathlib.Path) -> None:
    motd = tmp_path / "motd.txt"
    motd.write_text("hi\n")
    path = tmp_path / "trio-chat.toml"
    path.write_text(BASE.format(motd=motd))
    async with server(path) as running:
        port = running.ports["plain"]
        path.write_text(BASE.format(motd=motd).replace("port = 0", "port = 1", 1))
        said = await running.reload()
        assert any(
            "WARNING reload: port stays 0 until a restart (the configuration says 1)" in line
            for line in said
        )
        client = ChatClient(await trio.open_tcp_stream("127.0.0.1", port))  # still there
        await client.expect("* what is your name?")
        await client.stream.aclose()


async def test_the_log_level_changes_live(tmp_path: pathlib.Path) -> None:
    motd = tmp_path / "motd.txt"
    motd.write_text("hi\n")
    path = tmp_path / "trio-chat.toml"
    path.write_text(BASE.format(motd=motd))
    async with server(path) as running:
        path.write_text('log_level = "debug"\n' + BASE.format(motd=motd))
        said = await running.reload()
        assert any('reload: log_level is now "debug" (was "info")' in line for line in said)
        client = ChatClient(await trio.open_tcp_stream("127.0.0.1", running.ports["plain"]))
        await client.expect("* what is your name?")
        await client.send("dora")
        await client.expect("* welcome, dora! online (1): dora")
        # Joining a room is logged at debug only.
        assert " DEBUG " in await running.wait_for("('dora') joined '#lobby'")
        await client.stream.aclose()


async def test_a_renewed_certificate_is_served_to_the_next_tls_client(
    tmp_path: pathlib.Path,
) -> None:
    ca = trustme.CA()
    pem = tmp_path / "server.pem"
    first = ca.issue_cert("127.0.0.1")
    first.private_key_and_cert_chain_pem.write_to_path(str(pem))
    path = tmp_path / "trio-chat.toml"
    path.write_text(
        f'db = ":memory:"\nno_plain = true\nno_irc = true\nno_web = true\nflood_rate = 0\n'
        f'[tls]\ntls_cert = "{pem}"\ntls_key = "{pem}"\ntls_port = 0\n'
    )
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)

    async def connect() -> tuple[ChatClient, bytes]:
        port = running.ports["plain over TLS"]
        stream = await trio.open_ssl_over_tcp_stream("127.0.0.1", port, ssl_context=client_context)
        client = ChatClient(stream)
        await client.expect("* what is your name?")
        served = stream.getpeercert(binary_form=True)
        assert served is not None
        return client, served

    async with server(path, ready="listening on") as running:
        early, served = await connect()
        assert served == ssl.PEM_cert_to_DER_cert(first.cert_chain_pems[0].bytes().decode())
        await early.send("early")
        await early.expect("* welcome, early! online (1): early")

        renewed = ca.issue_cert("127.0.0.1")
        renewed.private_key_and_cert_chain_pem.write_to_path(str(pem))
        said = await running.reload()
        assert any(f"reload: TLS certificate {pem} loaded" in line for line in said)
        late, served = await connect()
        assert served == ssl.PEM_cert_to_DER_cert(renewed.cert_chain_pems[0].bytes().decode())
        # The connection made before the renewal carries on.
        await early.send("still here")
        await early.expect("<early> still here")

        # A certificate that does not load leaves the one in use.
        pem.write_text("not a certificate")
        said = await running.reload()
        assert any("cannot load the TLS certificate" in line for line in said)
        third, served = await connect()
        assert served == ssl.PEM_cert_to_DER_cert(renewed.cert_chain_pems[0].bytes().decode())
        for client in (early, late, third):
            await client.stream.aclose()


async def test_an_oper_login_added_by_a_reload_works_at_once(tmp_path: pathlib.Path) -> None:
    motd = tmp_path / "motd.txt"
    motd.write_text("hi\n")
    path = tmp_path / "trio-chat.toml"
    path.write_text(BASE.format(motd=motd))
    async with server(path) as running:
        # Connected before the reload: OPER is checked against the logins known when it comes.
        irc = IrcClient(await trio.open_tcp_stream("127.0.0.1", running.ports["IRC"]))
        await irc.register("boss", lobby=False)
        hashed = hash_password("the operators' secret")
        path.write_text(
            BASE.format(motd=motd) + f'\n[[oper_login]]\nname = "chief"\nhash = "{hashed}"\n'
        )
        said = await running.reload()
        assert any(line.endswith("INFO reload: oper_login changed") for line in said)
        assert not any(hashed in line for line in said)  # a secret: never in the log
        await irc.send("OPER chief :the operators' secret")
        assert "381" in [message.command for message in await irc.sync()]
        await irc.stream.aclose()


async def test_a_reload_stuck_on_the_disk_does_not_hold_the_shutdown() -> None:
    # The reloader's thread reads the file; a second signal cancels the reloader, which
    # must go at once and leave the thread behind (it changes nothing when it returns).
    started, released, finished = threading.Event(), threading.Event(), threading.Event()

    def reread() -> ServerConfig:
        started.set()
        released.wait(PATIENCE)  # a disk that does not answer, until the test lets it
        finished.set()
        raise OSError("gone")

    hangup_send, hangup_receive = trio.open_memory_channel[None](1)
    reload_send, _reload_receive = trio.open_memory_channel[ServerConfig](1)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_reload_on_hangup, hangup_receive, reread, reload_send)
            await hangup_send.send(None)
            await trio.to_thread.run_sync(started.wait)  # the read is under way
            nursery.cancel_scope.cancel()
        assert not finished.is_set()  # the reloader did not wait for the stuck read
    finally:
        released.set()
