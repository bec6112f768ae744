"""Rooms' history on disk: SQLite in a worker thread, across restarts, kill -9 and bad disks."""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.chat_client import PATIENCE, ChatClient
from tests.conftest import T0, StartServer, plain_config
from trio_chat.cli import EXIT_CANNOT_LISTEN, run_server
from trio_chat.core.events import Said
from trio_chat.core.history import History
from trio_chat.shell import archive as archive_module
from trio_chat.shell.archive import HistoryConfig
from trio_chat.shell.database import Commit, Database, DatabaseError


def saved(path: Path, **overrides: Any) -> dict[str, Any]:
    """The ServerConfig fields of a server that saves history (with ``overrides``) in ``path``."""
    return {"database": str(path), "history": HistoryConfig(**overrides)}


# --- the database alone ----------------------------------------------------------------------


def test_retention_keeps_the_last_entries_per_room(tmp_path: Path) -> None:
    database = Database.open(str(tmp_path / "h.sqlite3"))
    ring = History(ring=100, rooms=10)
    for n in range(30):
        ring.record("#a", "#a", Said("#a", "x", str(n), id=n + 1), T0 + n)
    database.save(Commit.of(ring.take_unsaved()), max_per_room=10)
    assert database.prune(before=T0 + 25) == 5  # the 10 kept: 20..29; older than T0+25: 20..24
    loaded = History(ring=100, rooms=10)
    assert database.load(loaded) == 5
    assert [e.event.text for e in loaded.recent("#a", 100) if isinstance(e.event, Said)] == [
        str(n) for n in range(25, 30)
    ]
    assert loaded.last_id == 30  # numbering goes on after the last saved id
    database.close()


def test_rooms_on_disk_are_bounded_the_least_recently_active_first(tmp_path: Path) -> None:
    # Rooms churn: with no bound on rooms the file grew forever (even with max_per_room).
    database = Database.open(str(tmp_path / "h.sqlite3"))
    ring = History(ring=100, rooms=10)
    ids = itertools.count(1)
    for name in ("#old", "#a", "#b", "#old2", "#c"):
        for n in range(3):
            ring.record(name, name, Said(name, "x", str(n), id=next(ids)), T0)
    ring.record("#old", "#old", Said("#old", "x", "back", id=next(ids)), T0)  # active again: kept
    database.save(Commit.of(ring.take_unsaved()), max_per_room=10)
    assert database.prune(before=0.0, max_rooms=2) == 3 * 3  # #a, #b and #old2: 9 entries
    loaded = History(ring=100, rooms=10)
    assert database.load(loaded) == 3 + 4
    assert {"#c", "#old"} == {
        key for key in ("#old", "#a", "#b", "#old2", "#c") if loaded.recent(key, 10)
    }
    database.close()


def test_the_database_is_private_to_its_owner(tmp_path: Path) -> None:
    # It holds password hashes and every room's history: 0644 let every local user read it.
    path = tmp_path / "new" / "folder" / "h.sqlite3"
    database = Database.open(str(path))
    database.save(Commit(), max_per_room=10)
    ring = History(ring=100, rooms=10)
    ring.record("#a", "#a", Said("#a", "x", "secret", id=1), T0)
    database.save(Commit.of(ring.take_unsaved()), max_per_room=10)  # the WAL file now exists
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.parent.iterdir()}
    assert modes == {
        "h.sqlite3": 0o600,
        "h.sqlite3-wal": 0o600,
        "h.sqlite3-shm": 0o600,
        "h.sqlite3.lock": 0o600,
    }
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    database.close()


def test_a_database_readable_by_others_is_made_private(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "h.sqlite3"
    Database.open(str(path)).close()
    path.chmod(0o644)  # as an older version left it
    Database.open(str(path)).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "was readable by others (644): made private" in caplog.text


def test_a_second_server_on_one_database_refuses_to_start(tmp_path: Path) -> None:
    # Two writers numbered entries from the same last id, and INSERT OR IGNORE kept only
    # the first one's: one server's history was lost, silently.
    path = str(tmp_path / "h.sqlite3")
    first = Database.open(path)
    with pytest.raises(DatabaseError) as refused:
        Database.open(path)
    assert str(refused.value) == (
        f"the database {path} is in use by another server (process {os.getpid()}); "
        "give each server its own --db"
    )
    first.close()
    Database.open(path).close()  # released with the first: free again


async def test_a_second_server_exits_with_one_line_naming_the_holder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "h.sqlite3"
    holder = Database.open(str(path))
    try:
        config = replace(plain_config(), **saved(path))
        with trio.fail_after(PATIENCE):  # without the lock, the server would serve on
            assert await run_server(config) == EXIT_CANNOT_LISTEN
    finally:
        holder.close()
    assert f"the database {path} is in use by another server (process {os.getpid()})" in (
        caplog.text
    )


# --- the server, with a database -------------------------------------------------------------


async def test_everything_said_is_saved_by_a_graceful_shutdown(
    start_server: StartServer, tmp_path: Path
) -> None:
    path = tmp_path / "h.sqlite3"
    first = await start_server(**saved(path, flush_interval=3600))  # no commit before
    alice = await first.join("alice")
    for text in ("one", "two", "three"):
        await alice.send(text)
        await alice.expect(f"<alice> {text}")
    first.stop.set()
    await first.finished.wait()
    second = await start_server(**saved(path))
    bob = await second.join("bob")
    lines = [await bob.receive_line() for _ in range(4)]
    assert [line.split(" ", 3)[3] for line in lines] == [
        "* alice joined",
        "<alice> one",
        "<alice> two",
        "<alice> three",
    ]


async def test_kill_9_loses_at_most_the_last_commit(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    command = [
        sys.executable, "-m", "trio_chat", "server", "--port", "0", "--log-level", "info",
        "--history-db", str(path), "--history-flush-interval", "0.05", "--no-irc", "--no-web",
    ]  # fmt: skip
    process = await trio.lowlevel.open_process(command, stderr=subprocess.PIPE)
    assert process.stderr is not None
    try:
        log = b""
        with trio.fail_after(PATIENCE):
            while not (port := re.search(rb"listening on 127.0.0.1 port (\d+) \(plain\)", log)):
                log += await process.stderr.receive_some()
        alice = ChatClient(await trio.open_tcp_stream("127.0.0.1", int(port[1])))
        await alice.expect("* what is your name?")
        await alice.send("alice")
        await alice.receive_line()
        for n in range(20):
            await alice.send(f"message {n}")
            await alice.expect(f"<alice> message {n}")
        # Wait (bounded) until the commits have reached the file, as a reader sees it.
        with trio.fail_after(PATIENCE):
            # Polling another process's file: there is no event to wait on.
            while saved_texts(path)[-1:] != ["message 19"]:  # noqa: ASYNC110
                await trio.sleep(0.05)
        await alice.send("said just before the crash")
        await alice.expect("<alice> said just before the crash")
        with pytest.raises(
            DatabaseError, match=rf"in use by another server \(process {process.pid}\)"
        ):
            Database.open(str(path))  # the running server holds it
        process.send_signal(signal.SIGKILL)
        await process.wait()
        await alice.stream.aclose()
        Database.open(str(path)).close()  # kill -9 left no lock behind
    finally:
        process.kill()
        with trio.move_on_after(PATIENCE, shield=True):
            await process.wait()
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    connection.close()
    texts = saved_texts(path)
    assert texts[:20] == [f"message {n}" for n in range(20)]
    assert texts[20:] in ([], ["said just before the crash"])  # the last commit, or not


def saved_texts(path: Path) -> list[str]:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        rows = connection.execute(
            "SELECT payload FROM history WHERE kind = 'Said' ORDER BY id"
        ).fetchall()
        connection.close()
    except sqlite3.Error:
        return []  # not created yet
    return [json.loads(payload)["text"] for (payload,) in rows]


async def test_a_stuck_disk_never_delays_live_chat(
    start_memory_server: StartServer,
    autojump_clock: trio.testing.MockClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    unstuck = threading.Event()
    saving = threading.Event()

    def stuck_save(self: Database, records: object, max_per_room: int) -> None:
        saving.set()
        unstuck.wait()  # the disk does not answer (until the test ends)

    monkeypatch.setattr(Database, "save", stuck_save)
    monkeypatch.setattr(archive_module, "MAX_QUEUED", 10)
    caplog.set_level(logging.WARNING)
    try:
        server = await start_memory_server(**saved(tmp_path / "h.sqlite3"))
        alice = await server.join("alice")
        bob = await server.join("bob")
        assert (await bob.receive_line()).endswith(" * alice joined")  # from memory
        await alice.expect("* bob joined")
        # The first commit (their joins) is now stuck in its thread.
        assert await trio.to_thread.run_sync(saving.wait, PATIENCE)
        for n in range(30):  # far more than the queue holds while the disk is stuck
            await alice.send(f"line {n}")
            await bob.expect(f"<alice> line {n}")
            await alice.expect(f"<alice> line {n}")
        assert "history: the disk is not keeping up; dropping entries" in caplog.text
        start = trio.current_time()
        server.stop.set()
        await server.finished.wait()  # the writer gives up at the shutdown timeout
        assert trio.current_time() - start == pytest.approx(5, abs=0.6)
        assert "history: saving stopped at the shutdown timeout" in caplog.text
        # The first commit (alice's join), stuck: neither saved nor dropped, and said so.
        assert "entries in the commit left running: 1 (saved whole or not at all)" in caplog.text
    finally:
        unstuck.set()


class TaskSteps(trio.abc.Instrument):
    """Counts the steps (runs between two checkpoints) of the tasks with one name."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.steps = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if task.name == self.name:
            self.steps += 1


async def test_the_writer_encodes_between_checkpoints_not_in_its_thread(tmp_path: Path) -> None:
    # Encoding (the JSON of each entry) in the saving thread held the GIL for about 10 ms per
    # thousand entries: members' messages waited behind it (latency-rate's p99 went from
    # 1.5 ms to 4.4). The writer's task now encodes a slice between two checkpoints.
    path = tmp_path / "h.sqlite3"
    database = Database.open(str(path))
    ring = History(ring=100, rooms=10)
    count = 40 * archive_module.ENCODE_SLICE
    for n in range(count):
        ring.record("#a", "#a", Said("#a", "x", f"line {n}", id=n + 1), T0 + n)
    archive = archive_module.Archive(database, HistoryConfig(), ring)
    writer = TaskSteps("writer")
    trio.lowlevel.add_instrument(writer)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(archive.run, name="writer")  # ends once closed and drained
        archive.offer(ring.take_unsaved())
        await archive.settle()
        archive.close()
    trio.lowlevel.remove_instrument(writer)
    database.close()
    assert saved_texts(path) == [f"line {n}" for n in range(count)]
    assert writer.steps >= 40  # at least a step per slice (9 when one step encoded them all)


async def test_a_database_that_is_not_one_is_a_clear_error_at_start_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corrupt = tmp_path / "corrupt.sqlite3"
    corrupt.write_bytes(b"this is not a database, " * 100)
    config = replace(plain_config(), **saved(corrupt))
    assert await run_server(config) == EXIT_CANNOT_LISTEN
    assert f"cannot use the database {corrupt}" in caplog.text
    assert "file is not a database" in caplog.text


async def test_an_unwritable_database_path_is_a_clear_error_at_start_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    config = replace(plain_config(), **saved(blocker / "h.sqlite3"))
    assert await run_server(config) == EXIT_CANNOT_LISTEN
    assert "cannot open the database" in caplog.text
