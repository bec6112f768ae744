"""What moderation keeps: registered rooms, server bans and the cloak key, in the database.

And accounts' read markers, which the same store saves.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
import trio

from tests.names import room
from trio_chat.core.events import ServerBanEntry
from trio_chat.core.hub import Hub
from trio_chat.core.members import Member
from trio_chat.core.modes import ListEntry
from trio_chat.core.read_markers import ReadMark
from trio_chat.core.snapshots import RoomRecord, RoomSettings
from trio_chat.shell.database import SCHEMA, Database
from trio_chat.shell.mailbox import Mailbox
from trio_chat.shell.moderation_store import ModerationStore

BAN = ListEntry("*!*@k5x2q9m4tbhe.ip", "alice", 1_796_000_000.0)
RUST = RoomRecord(
    room("#Rust"),
    "borrowed, never stolen",
    RoomSettings(
        "iknt",
        "s3cret",
        25,
        (("b", (BAN, ListEntry("a:mallory", "alice", 1_796_000_001.0))),),
        1_795_000_000.0,
        "alice",
        ("bob", "carol"),
    ),
)
GO = RoomRecord(room("#go"), "", RoomSettings(founder="dave"))
KLINE = ServerBanEntry("*!*@abcdefghijkl.ip", "spam", "oper", 1_796_000_000.0, 1_796_003_600.0)
DLINE = ServerBanEntry("203.0.113.0/24", "a botnet", "oper", 1_796_000_005.0)
READ = ReadMark("alice", "#rust", 1_796_000_000_123)  # alice read #rust up to then (ms)


def test_registered_rooms_are_written_read_back_and_dropped(tmp_path: Path) -> None:
    database = Database.open(str(tmp_path / "state.sqlite3"))
    database.save_rooms([RUST, GO], [])
    database.close()  # (one server at a time holds the file)
    again = Database.open(database.path)  # opened again: it is on disk
    assert again.load_rooms() == [GO, RUST]  # by key: "#go" < "#rust"
    again.save_rooms([], [GO.name.key])
    assert again.load_rooms() == [RUST]
    again.close()


def test_server_bans_are_written_replaced_lifted_and_expire(tmp_path: Path) -> None:
    database = Database.open(str(tmp_path / "state.sqlite3"))
    database.save_server_bans([KLINE, DLINE], [])
    assert database.load_server_bans(now=KLINE.time) == [KLINE, DLINE]
    longer = ServerBanEntry(KLINE.mask.upper(), "more spam", "oper2", KLINE.time + 10)
    database.save_server_bans([longer], [])  # the same mask, in another case: replaced
    assert database.load_server_bans(now=KLINE.time) == [DLINE, longer]
    database.save_server_bans([], [DLINE.mask])
    assert database.load_server_bans(now=KLINE.time) == [longer]
    database.save_server_bans([KLINE], [])
    assert database.load_server_bans(now=KLINE.expires) == []  # expired: gone from the file too
    database.close()
    again = Database.open(database.path)
    assert again.load_server_bans(now=0.0) == []
    again.close()


def test_read_markers_are_written_moved_forgotten_and_read_back(tmp_path: Path) -> None:
    database = Database.open(str(tmp_path / "state.sqlite3"))
    bob = ReadMark("bob", "alice", 1_796_000_000_000)  # bob's conversation with alice
    database.save_read_markers([READ, bob])
    database.save_read_markers([ReadMark("alice", "#rust", 1_796_000_009_000)])  # moved
    database.save_read_markers([ReadMark("bob", "alice", None)])  # forgotten
    database.close()
    again = Database.open(database.path)  # opened again: it is on disk
    assert again.load_read_markers() == [ReadMark("alice", "#rust", 1_796_000_009_000)]
    again.close()


def test_the_cloak_key_is_made_once_and_kept(tmp_path: Path) -> None:
    path = str(tmp_path / "state.sqlite3")
    keys = []
    for where in (path, path, str(tmp_path / "other.sqlite3")):
        database = Database.open(where)
        keys.append(database.cloak_key())
        database.close()
    assert len(keys[0]) == 32
    assert keys[1] == keys[0]  # kept: the same after a restart
    assert keys[2] != keys[0]  # another server's, another key


def test_a_file_of_an_earlier_version_gains_the_new_tables_and_keeps_its_own(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    old_schema = SCHEMA.split("CREATE TABLE IF NOT EXISTS rooms")[0]  # accounts and history
    with sqlite3.connect(path) as connection:
        connection.executescript(old_schema)
        connection.execute(
            "INSERT INTO tickets (digest, account, expires) VALUES ('d', 'alice', 9e9)"
        )
    connection.close()
    database = Database.open(str(path))
    assert database.load_rooms() == []
    assert database.load_server_bans(now=0.0) == []
    assert database.load_read_markers() == []
    assert [ticket.digest for ticket in database.load_tickets(now=0.0)] == ["d"]
    database.save_rooms([GO], [])
    assert database.load_rooms() == [GO]


async def test_the_store_writes_each_room_as_it_now_is_and_each_ban_once(tmp_path: Path) -> None:
    database = Database.open(str(tmp_path / "state.sqlite3"))
    store = ModerationStore(database)
    topic = RoomRecord(RUST.name, "a new topic", RUST.settings)
    store.offer([RUST, GO], [KLINE])
    store.offer([topic, GO.name.key], [DLINE, KLINE.mask])  # in the same batch: merged
    later = replace(READ, time=1_796_000_000_124)
    store.offer([], [], [READ, ReadMark("bob", "alice", 5)])
    store.offer([], [], [later])  # the marker as it now is, written once
    store.offer([], [])  # nothing: nothing queued
    store.close()
    await store.run()
    saved = database.load_rooms()
    assert [(record.name, record.topic) for record in saved] == [(RUST.name, "a new topic")]
    assert database.load_server_bans(now=0.0) == [DLINE]
    assert database.load_read_markers() == [later, ReadMark("bob", "alice", 5)]
    assert (store.saved, store.failed) == (6, 0)


async def test_a_failed_commit_is_logged_and_its_changes_written_with_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    database = Database.open(str(tmp_path / "state.sqlite3"))
    store = ModerationStore(database)
    saving = database.save_rooms
    full = trio.Event()

    def full_disk(records: object, dropped: object) -> None:
        trio.from_thread.run_sync(full.set)  # (this runs in the writer's thread)
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(database, "save_rooms", full_disk)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(store.run)
        store.offer([RUST], [KLINE], [READ])
        await full.wait()  # the first commit is failing
        monkeypatch.setattr(database, "save_rooms", saving)  # the disk is back
        store.offer([GO], [])
        store.close()
    assert store.failed == 1
    assert [record.name for record in database.load_rooms()] == [GO.name, RUST.name]  # both
    assert database.load_server_bans(now=0.0) == [KLINE]
    assert database.load_read_markers() == [READ]
    assert "moderation: saving 1 rooms, 1 server bans and 1 read markers failed" in caplog.text


def test_a_replica_that_adopts_a_state_notes_what_to_save_and_what_to_drop() -> None:
    # This process's file had #go and a DLINE; the state it adopts has #rust and a KLINE.
    ours = Hub()
    ours.load_rooms([GO])
    ours.load_server_bans([DLINE])
    other = Hub()
    other.load_rooms([RUST])
    other.load_server_bans([KLINE])
    state, _ = other.state()
    ours.reset()
    ours.restore(state, [Member(Mailbox(4, 1024)) for _ in state.members])
    unsaved = ours.take_unsaved_rooms()
    assert GO.name.key in unsaved
    (record,) = [r for r in unsaved if isinstance(r, RoomRecord)]
    letters = "".join(sorted(record.settings.letters))  # in the hub's order of modes: "tnik"
    assert replace(record, settings=replace(record.settings, letters=letters)) == RUST
    bans = ours.take_unsaved_server_bans()
    assert bans == [DLINE.mask, KLINE]  # lifted, then set: in this order
