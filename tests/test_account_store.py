"""The account store: a change is on disk before its member is told, and a failed commit says so."""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
import trio

from tests.names import nick
from trio_chat.core.accounts import Account, Credentials
from trio_chat.core.hub import Request, Unsaved
from trio_chat.core.members import Member
from trio_chat.core.requests import Change, Saved
from trio_chat.shell.account_store import AccountStore
from trio_chat.shell.database import Database
from trio_chat.shell.mailbox import Mailbox

KEYS = Credentials("$argon2id$x", b"salt", b"stored", b"server", 4096)


def account(name: str) -> Account:
    return Account(nick(name), KEYS, 1.0)


async def test_a_change_is_saved_and_then_the_hub_is_told(tmp_path: Path) -> None:
    database = Database.open(str(tmp_path / "state.sqlite3"))
    inbox, told = trio.open_memory_channel[Request](10)
    store = AccountStore(database, inbox)
    member = Member(Mailbox(4, 1024))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(store.run)
        store.offer([Unsaved(account("alice"), Change.CREATED, member)])
        assert await told.receive() == Saved("alice", Change.CREATED, member)
        # On disk already: a second connection to the file sees it (a plain one: a second
        # Database on one file is refused, as a second server would be).
        with contextlib.closing(sqlite3.connect(database.path)) as reader:
            assert reader.execute("SELECT name FROM accounts").fetchall() == [("alice",)]
        store.offer([Unsaved(account("bob"), None, None)])  # nobody is told of this one
        store.close()
    assert [a.name.key for a in database.load_accounts()] == ["alice", "bob"]
    assert store.saved == 2


async def test_a_failed_commit_is_said_and_tried_again_with_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database.open(str(tmp_path / "state.sqlite3"))
    inbox, told = trio.open_memory_channel[Request](10)
    store = AccountStore(database, inbox)
    member = Member(Mailbox(4, 1024))
    saving = database.save_accounts

    def full_disk(accounts: list[Account]) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(database, "save_accounts", full_disk)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(store.run)
        store.offer([Unsaved(account("alice"), Change.CREATED, member)])
        assert await told.receive() == Saved("alice", Change.CREATED, member, ok=False)
        monkeypatch.setattr(database, "save_accounts", saving)  # the disk is back
        store.offer([Unsaved(account("bob"), Change.CREATED, member)])
        assert await told.receive() == Saved("bob", Change.CREATED, member)
        store.close()
    assert [a.name.key for a in database.load_accounts()] == ["alice", "bob"]  # both, at last
    assert store.failed == 1


async def test_once_the_hub_is_gone_nobody_is_told(tmp_path: Path) -> None:
    database = Database.open(str(tmp_path / "state.sqlite3"))
    inbox, told = trio.open_memory_channel[Request](10)
    store = AccountStore(database, inbox)
    inbox.close()
    store.offer([Unsaved(account("alice"), Change.CREATED, Member(Mailbox(4, 1024)))])
    store.close()
    await store.run()  # returns: the change saved, its news for nobody
    assert [a.name.key for a in database.load_accounts()] == ["alice"]
    told.close()


async def test_an_accounts_choice_about_private_history_is_saved(tmp_path: Path) -> None:
    database = Database.open(str(tmp_path / "state.sqlite3"))
    inbox, told = trio.open_memory_channel[Request](10)
    store = AccountStore(database, inbox)
    member = Member(Mailbox(4, 1024))
    quiet = replace(account("alice"), private_history=False)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(store.run)
        store.offer([Unsaved(quiet, Change.PRIVATE_HISTORY_OFF, member)])
        assert await told.receive() == Saved("alice", Change.PRIVATE_HISTORY_OFF, member)
        store.close()
    database.close()
    reopened = Database.open(str(tmp_path / "state.sqlite3"))
    assert reopened.load_accounts() == [quiet]  # off, still, after a restart
    reopened.close()


def test_a_file_made_before_the_choice_opens_and_its_accounts_keep_private_history(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as old:
        # The accounts table as it was before private_history (and one account in it).
        old.executescript(
            "CREATE TABLE accounts (key TEXT PRIMARY KEY, name TEXT NOT NULL, password_hash"
            " TEXT NOT NULL, scram_salt BLOB NOT NULL, scram_stored_key BLOB NOT NULL,"
            " scram_server_key BLOB NOT NULL, scram_iterations INTEGER NOT NULL,"
            " certificates TEXT NOT NULL, created REAL NOT NULL);"
            "INSERT INTO accounts VALUES ('alice', 'Alice', '$argon2id$x', x'73616c74',"
            " x'73746f726564', x'736572766572', 4096, '[\"ab\"]', 1.0);"
        )
    database = Database.open(str(path))
    (alice,) = database.load_accounts()
    assert alice == Account(nick("Alice"), KEYS, 1.0, ("ab",))  # all of it, as it was
    assert alice.private_history  # the default: kept, as before the choice existed
    database.save_accounts([replace(alice, private_history=False), account("bob")])
    assert [a.private_history for a in database.load_accounts()] == [False, True]
    database.close()
