"""The account store: a change is on disk before its member is told, and a failed commit says so."""

from __future__ import annotations

import contextlib
import sqlite3
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
