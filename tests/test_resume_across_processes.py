"""Gap-free resume: a reader of a process killed with SIGKILL moves to another, missing nothing.

Two real server processes share rooms through one real Redis. A reader follows #rust on the
first; the first is killed (``kill -9``: no goodbye, nothing flushed) while a talker on the
second goes on; the reader connects to the second and asks ``CHATHISTORY AFTER`` the last msgid
it saw. What it saw live and what it was given then must be the room's history exactly: the
same ids, in the same order, none missing and none twice.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from tests.chat_client import PATIENCE
from tests.irc_client import IrcClient
from tests.redis_server import RedisServer
from tests.test_backplane import redis_server
from tests.test_chathistory import CAPS, read_batch
from trio_chat.frontends.ircmessage import Message

__all__ = ["redis_server"]  # a fixture, from the backplane's tests

LISTENING = re.compile(rb"listening on 127\.0\.0\.1 port (\d+) \(IRC\)")


@asynccontextmanager
async def server_process(
    nursery: trio.Nursery, database: Path, redis_url: str, backplane: str
) -> AsyncIterator[tuple[trio.Process, int]]:
    """Run ``trio-chat server`` (IRC only) sharing ``backplane``; yield it and its IRC port."""
    command = [
        sys.executable, "-m", "trio_chat", "server", "--no-plain", "--no-web",
        "--irc-port", "0", "--db", str(database), "--flood-rate", "0",
        "--backplane", redis_url, "--backplane-name", backplane, "--backplane-ttl", "1",
        "--log-level", "info",
    ]  # fmt: skip
    process = await trio.lowlevel.open_process(command, stderr=subprocess.PIPE)
    assert process.stderr is not None
    try:
        log = b""
        with trio.fail_after(PATIENCE * 4):  # (joining the backplane takes a moment)
            while not (port := LISTENING.search(log)):
                data = await process.stderr.receive_some()
                assert data, log.decode(errors="replace")
                log += data
        # Its log goes on: read it, so that a full pipe never stops the server.
        nursery.start_soon(_drain, process.stderr)
        yield process, int(port[1])
    finally:
        process.kill()
        # Reaping a killed process: quick, and it must happen even as the test is cancelled.
        with trio.move_on_after(PATIENCE, shield=True):
            await process.wait()


async def _drain(stream: trio.abc.ReceiveStream) -> None:
    while await stream.receive_some():
        pass


async def irc_client(port: int, nick: str, caps: str) -> IrcClient:
    client = IrcClient(await trio.open_tcp_stream("127.0.0.1", port))
    await client.register(nick, caps=caps, lobby=False)
    await client.send("JOIN #rust")
    await client.receive_until("366")
    return client


def said(messages: list[Message]) -> list[tuple[str, str]]:
    """The (msgid, text) of each PRIVMSG to #rust."""
    return [(m.tags["msgid"], m.params[1]) for m in messages if m.command == "PRIVMSG"]


async def test_a_reader_moved_to_another_process_after_sigkill_misses_nothing(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    backplane = f"test-{uuid.uuid4().hex[:12]}"
    async with trio.open_nursery() as nursery:
        first = server_process(nursery, tmp_path / "a.sqlite3", redis_server.url, backplane)
        second = server_process(nursery, tmp_path / "b.sqlite3", redis_server.url, backplane)
        async with first as (a, a_port), second as (_, b_port):
            reader = await irc_client(a_port, "reader", CAPS)
            talker = await irc_client(b_port, "talker", CAPS)
            await reader.sync()
            seen: list[tuple[str, str]] = []
            for n in range(5):
                await talker.send(f"PRIVMSG #rust :before {n}")
                await talker.receive_until("PRIVMSG")  # (its echo: the log has it)
                seen += said(await reader.receive_until("PRIVMSG"))
            a.send_signal(signal.SIGKILL)
            await a.wait()
            await reader.stream.aclose()
            for n in range(5):
                await talker.send(f"PRIVMSG #rust :while away {n}")
                await talker.receive_until("PRIVMSG")
            back = await irc_client(b_port, "reader2", CAPS)
            await back.send(f"CHATHISTORY AFTER #rust msgid={seen[-1][0]} 100")
            resumed = said(await read_batch(back))
            await talker.sync()  # (the reader's coming and going, in between)
            await talker.send("CHATHISTORY LATEST #rust * 100")
            room = said(await read_batch(talker))
            assert [text for _, text in room] == [
                *(f"before {n}" for n in range(5)),
                *(f"while away {n}" for n in range(5)),
            ]
            assert seen + resumed == room  # no gap, no repeat, one order, the same ids
            await back.stream.aclose()
            await talker.stream.aclose()
        nursery.cancel_scope.cancel()  # the log readers: their processes are gone
