"""The server's database: one SQLite file for what outlives the process.

Accounts, rooms' history, registered rooms and server bans, accounts' read markers, and the
server's own settings (the key of members' cloaked hosts).

Synchronous: every method does I/O and must run in a worker thread, one at a time. A SQLite
connection is not for concurrent use, so whoever uses it (the history's writer, the accounts'
store, the moderation store) goes through the one :attr:`Database.limiter`, a
``trio.CapacityLimiter(1)``:
``await trio.to_thread.run_sync(database.save, ..., limiter=database.limiter)``.

WAL mode with ``synchronous=NORMAL``: a commit is one write to the log, and a crash (``kill -9``
included) loses no committed transaction, only the ones in flight.

Private: the file holds password hashes and everything said in rooms, so it is created ``0600``
in a directory created ``0700`` (SQLite gives its ``-wal`` and ``-shm`` files the file's mode),
and a file readable by others, made by an older version, is made private when it is opened.

One server at a time: two writers of one file would each number entries from the same last id,
and ``INSERT OR IGNORE`` silently kept only the first one's. So a server holds an exclusive
``flock`` on ``PATH.lock`` (which says its process id) for as long as the file is open; a
second server refuses to start, naming the holder. The kernel releases the lock when its
holder dies, ``kill -9`` included, so a crash never leaves the file locked.

The schema grows by tables: a file made by an earlier version gains the new ones (``CREATE
TABLE IF NOT EXISTS``) the first time a newer one opens it, and keeps everything it had. (One
table changed its key: ``history``, once keyed by id alone, is copied into its new shape in
one transaction, see :func:`_upgrade`; and ``accounts`` gained a column, with its default.)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import sqlite3
import stat
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import trio

from trio_chat.core.accounts import Account, Credentials, Ticket
from trio_chat.core.events import AtId, Direction, Entry, HistoryQuery, Mark, ServerBanEntry
from trio_chat.core.history import (
    Change,
    History,
    RoomEntry,
    decode_event,
    encode_event,
    is_message,
)
from trio_chat.core.modes import ListEntry
from trio_chat.core.read_markers import ReadMark
from trio_chat.core.snapshots import RoomRecord, RoomSettings
from trio_chat.core.text import Nickname, RoomName, fold

logger = logging.getLogger(__name__)

IN_MEMORY = ":memory:"
CLOAK_KEY = "cloak_key"  # the settings' name of the key of cloaked hosts
CLOAK_KEY_BYTES = 32  # a generated key's size: HMAC-SHA-256's block wants no more

SCHEMA = """
CREATE TABLE IF NOT EXISTS history (
    id INTEGER NOT NULL,     -- the event's id: one sequence for all rooms (IRC's msgid)
    room_key TEXT NOT NULL,  -- the room's normalized name (or a conversation's key)
    room TEXT NOT NULL,      -- the room's name as displayed then
    time REAL NOT NULL,      -- Unix time
    kind TEXT NOT NULL,      -- the event's class: Said, Joined, ...
    payload TEXT NOT NULL,   -- the event's fields, as JSON
    PRIMARY KEY (room_key, id)  -- a departure is one event, in each of its rooms
);
CREATE INDEX IF NOT EXISTS history_by_id ON history (id);
CREATE TABLE IF NOT EXISTS accounts (
    key TEXT PRIMARY KEY,           -- the name, normalized (NFKC, case folded)
    name TEXT NOT NULL,             -- the name as registered
    password_hash TEXT NOT NULL,    -- argon2id, PHC form (parameters and salt included)
    scram_salt BLOB NOT NULL,       -- SCRAM-SHA-256: salt, stored key, server key, rounds
    scram_stored_key BLOB NOT NULL,
    scram_server_key BLOB NOT NULL,
    scram_iterations INTEGER NOT NULL,
    certificates TEXT NOT NULL,     -- JSON list of SHA-256 fingerprints (SASL EXTERNAL)
    created REAL NOT NULL,          -- Unix time
    private_history INTEGER NOT NULL DEFAULT 1  -- 0: none of its private messages are kept
);
CREATE TABLE IF NOT EXISTS tickets (
    digest TEXT PRIMARY KEY,        -- SHA-256 of a browser's token (the token: only its cookie)
    account TEXT NOT NULL,          -- the account's key
    expires REAL NOT NULL           -- Unix time
);
CREATE TABLE IF NOT EXISTS rooms (  -- registered rooms (ChanServ REGISTER), until dropped
    key TEXT PRIMARY KEY,           -- the room's normalized name
    name TEXT NOT NULL,             -- the name as displayed
    topic TEXT NOT NULL,
    letters TEXT NOT NULL,          -- the flags that are on: "nt", "imnst", ...
    password TEXT NOT NULL,         -- the key (+k), "" for none
    member_limit INTEGER NOT NULL,  -- +l, 0 for none
    lists TEXT NOT NULL,            -- JSON {"b": [[mask, setter, time], ...], "e": ...}
    created REAL NOT NULL,          -- Unix time
    founder TEXT NOT NULL,          -- the founder's account key
    operators TEXT NOT NULL         -- JSON list of account keys made operators on joining
);
CREATE TABLE IF NOT EXISTS server_bans (  -- KLINE, DLINE: by mask, account or network
    key TEXT PRIMARY KEY,           -- the mask, case folded (as the hub finds it)
    mask TEXT NOT NULL,             -- as the hub keeps it: normalized
    reason TEXT NOT NULL,
    setter TEXT NOT NULL,           -- the operator's nickname
    time REAL NOT NULL,             -- when it was set (Unix time)
    expires REAL NOT NULL           -- Unix time, 0 for never
);
CREATE TABLE IF NOT EXISTS read_markers (  -- how far each account read each target (MARKREAD)
    account TEXT NOT NULL,          -- the account's key
    target TEXT NOT NULL,           -- the key of a room's name ("#...") or of a nickname
    time INTEGER NOT NULL,          -- milliseconds since the Unix epoch
    PRIMARY KEY (account, target)
);
CREATE TABLE IF NOT EXISTS settings (  -- the server's own: made once, kept
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
"""


@dataclass
class Commit:
    """History's changes as one :meth:`Database.save` writes them: rows of SQL parameters.

    Made on the event loop's thread (:class:`~trio_chat.shell.archive.Archive` adds a slice of
    changes at a time), so that the worker thread saving it holds the GIL only for SQLite's
    calls. Encoding is the costly part, the JSON of each event; done in the worker thread, it
    held the GIL for about 10 ms per thousand entries, and the event loop waited up to the
    interpreter's switch interval (5 ms) at a time to take it back.
    """

    inserted: list[tuple[int, str, str, float, str, str]] = field(default_factory=list)
    taken_back: list[tuple[str, int]] = field(default_factory=list)  # (room_key, id)
    room_keys: set[str] = field(default_factory=set)  # whose oldest entries may go

    @classmethod
    def of(cls, changes: Iterable[Change]) -> Commit:
        """Return a commit of ``changes`` (what tests and small batches need)."""
        commit = cls()
        commit.add(changes)
        return commit

    def add(self, changes: Iterable[Change]) -> None:
        """Encode ``changes`` into this commit, in order."""
        for change in changes:
            self.room_keys.add(change.room_key)
            if isinstance(change, RoomEntry):
                entry = change.entry
                kind, payload = encode_event(entry.event)
                self.inserted.append(
                    (entry.id, change.room_key, change.room, entry.time, kind, payload)
                )
            else:
                self.taken_back.append((change.room_key, change.id))


class DatabaseError(Exception):
    """The database cannot be opened or used."""


class Database:
    """The SQLite file (see the module docstring)."""

    def __init__(self, connection: sqlite3.Connection, path: str, lock: int | None = None) -> None:
        self._connection = connection
        self.path = path
        self.limiter = trio.CapacityLimiter(1)  # one thread at a time uses the connection
        self._lock = lock  # the descriptor holding the lock file's flock (None: in memory)

    @classmethod
    def open(cls, path: str) -> Database:
        """Open (or create) the database, in WAL mode.

        Raises:
            DatabaseError: if it cannot be created, read or written (a missing directory that
                cannot be made, no permission, a file that is not a database).
        """
        lock = None
        try:
            if path != IN_MEMORY:
                Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                lock = _lock(path)
                _make_private(path)
            connection = sqlite3.connect(path, check_same_thread=False)
        except (OSError, sqlite3.Error) as error:
            _unlock(lock)
            raise DatabaseError(f"cannot open the database {path}: {error}") from None
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")  # WAL: a crash loses no commit's data
            _upgrade(connection)
            connection.executescript(SCHEMA)
            connection.execute("SELECT COUNT(*) FROM history WHERE id < 0").fetchone()
        except sqlite3.Error as error:
            connection.close()
            _unlock(lock)
            raise DatabaseError(f"cannot use the database {path}: {error}") from None
        return cls(connection, path, lock)

    # --- rooms' history -------------------------------------------------------------------

    def load(self, history: History, *, since: float = 0.0) -> int:
        """Fill ``history``'s rings with the most recently active rooms' last entries.

        Returns the number of entries loaded.
        """
        connection = self._connection
        (last_id,) = connection.execute("SELECT COALESCE(MAX(id), 0) FROM history").fetchone()
        history.last_id = max(history.last_id, int(last_id))
        rooms = connection.execute(
            "SELECT room_key FROM history WHERE time >= ? GROUP BY room_key"
            " ORDER BY MAX(id) DESC LIMIT ?",
            (since, history.rooms),
        ).fetchall()
        loaded = 0
        for (room_key,) in reversed(rooms):  # the most recent last: it must not be pushed out
            rows = connection.execute(
                "SELECT id, time, kind, payload FROM history WHERE room_key = ? AND time >= ?"
                " ORDER BY id DESC LIMIT ?",
                (room_key, since, history.ring),
            ).fetchall()
            entries = []
            for entry_id, when, kind, payload in reversed(rows):
                try:
                    entries.append(Entry(entry_id, when, decode_event(kind, payload, entry_id)))
                except ValueError as error:  # written by another version: skip, say so
                    logger.warning("history entry %d of %r skipped: %s", entry_id, room_key, error)
            history.load(room_key, entries)
            loaded += len(entries)
        return loaded

    def read(self, key: str, query: HistoryQuery, deadline: float) -> list[Entry]:
        """Return the saved entries of ``key`` (a room's, a conversation's) ``query`` may need.

        Up to ``query.limit`` on each side it reads from: :meth:`Lookup.answer
        <trio_chat.core.history.Lookup.answer>` selects the answer from them and memory.
        SQLite itself stops the read at ``deadline`` (``time.monotonic()``), raising
        :class:`sqlite3.OperationalError`: a slow disk fails one query, and the connection
        is free again when this returns (a thread abandoned mid-read would keep it in use).
        """
        connection = self._connection
        # Called every thousand of SQLite's steps: a true value interrupts the statement.
        connection.set_progress_handler(lambda: time.monotonic() > deadline, 1000)
        try:
            entries: dict[int, Entry] = {}
            for condition, values, order in _sides(query):
                rows = connection.execute(
                    f"SELECT id, time, kind, payload FROM history WHERE room_key = ?{condition}"
                    f" ORDER BY id {order}",
                    (key, *values),
                )
                taken = 0
                for entry_id, when, kind, payload in rows:
                    try:
                        event = decode_event(kind, payload, entry_id)
                    except ValueError:  # written by another version: start-up said so
                        continue
                    if query.events or is_message(event):
                        entries[entry_id] = Entry(entry_id, when, event)
                        taken += 1
                        if taken == query.limit:
                            break
            return [entries[entry_id] for entry_id in sorted(entries)]
        finally:
            connection.set_progress_handler(None, 0)

    def save(self, commit: Commit, max_per_room: int) -> None:
        """Save ``commit`` in one transaction, keeping at most ``max_per_room`` entries per room.

        Entries are inserted; those taken back (a :class:`Redaction`) are deleted.
        """
        with self._connection:  # one transaction: all of it, or (after a crash) none
            self._connection.executemany(
                "INSERT OR IGNORE INTO history (id, room_key, room, time, kind, payload)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                commit.inserted,
            )
            # (After the inserts: an entry may be taken back in the batch that saves it.)
            self._connection.executemany(
                "DELETE FROM history WHERE room_key = ? AND id = ?", commit.taken_back
            )
            for room_key in commit.room_keys:
                self._connection.execute(
                    "DELETE FROM history WHERE room_key = ? AND id <= (SELECT id FROM history"
                    " WHERE room_key = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
                    (room_key, room_key, max_per_room),
                )

    def prune(self, before: float, max_rooms: int | None = None) -> int:
        """Delete old entries and rooms; return how many entries.

        Deleted: every entry older than ``before`` (Unix time), and every entry of the rooms
        past the ``max_rooms`` most recently active (None: any number of rooms).
        """
        with self._connection:
            deleted = self._connection.execute(
                "DELETE FROM history WHERE time < ?", (before,)
            ).rowcount
            if max_rooms is not None:
                deleted += self._connection.execute(
                    "DELETE FROM history WHERE room_key IN (SELECT room_key FROM history"
                    " GROUP BY room_key ORDER BY MAX(id) DESC LIMIT -1 OFFSET ?)",
                    (max_rooms,),
                ).rowcount
            return deleted

    # --- accounts -------------------------------------------------------------------------

    def load_accounts(self) -> list[Account]:
        """Return every saved account, oldest first."""
        rows = self._connection.execute(
            "SELECT name, key, password_hash, scram_salt, scram_stored_key, scram_server_key,"
            " scram_iterations, certificates, created, private_history FROM accounts"
            " ORDER BY created, key"
        ).fetchall()
        accounts = []
        for name, key, password_hash, salt, stored, server, rounds, *rest in rows:
            certificates, created, private_history = rest
            keys = Credentials(password_hash, bytes(salt), bytes(stored), bytes(server), rounds)
            fingerprints = tuple(json.loads(certificates))
            nickname = Nickname(name, key)
            accounts.append(Account(nickname, keys, created, fingerprints, bool(private_history)))
        return accounts

    def save_accounts(self, accounts: Sequence[Account]) -> None:
        """Write ``accounts`` as they now are (new ones added), in one commit."""
        rows = [
            (
                account.name.key,
                account.name.display,
                account.credentials.password_hash,
                account.credentials.scram_salt,
                account.credentials.scram_stored_key,
                account.credentials.scram_server_key,
                account.credentials.scram_iterations,
                json.dumps(list(account.certificates)),
                account.created,
                account.private_history,
            )
            for account in accounts
        ]
        with self._connection:
            self._connection.executemany(
                "INSERT OR REPLACE INTO accounts (key, name, password_hash, scram_salt,"
                " scram_stored_key, scram_server_key, scram_iterations, certificates, created,"
                " private_history) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def load_tickets(self, now: float) -> list[Ticket]:
        """Return the tickets still valid at ``now`` (the expired are deleted)."""
        with self._connection:
            self._connection.execute("DELETE FROM tickets WHERE expires <= ?", (now,))
        rows = self._connection.execute("SELECT digest, account, expires FROM tickets").fetchall()
        return [Ticket(digest, account, expires) for digest, account, expires in rows]

    def save_tickets(self, kept: Sequence[Ticket], dropped: Sequence[str]) -> None:
        """Write the tickets ``kept`` and delete those ``dropped`` (digests), in one commit."""
        with self._connection:
            self._connection.executemany(
                "INSERT OR REPLACE INTO tickets (digest, account, expires) VALUES (?, ?, ?)",
                [(t.digest, t.account, t.expires) for t in kept],
            )
            self._connection.executemany(
                "DELETE FROM tickets WHERE digest = ?", [(digest,) for digest in dropped]
            )

    # --- moderation: registered rooms, server bans ----------------------------------------

    def load_rooms(self) -> list[RoomRecord]:
        """Return every registered room, by name."""
        rows = self._connection.execute(
            "SELECT key, name, topic, letters, password, member_limit, lists, created, founder,"
            " operators FROM rooms ORDER BY key"
        ).fetchall()
        records = []
        for key, name, topic, letters, password, limit, lists, created, founder, operators in rows:
            entries = tuple(
                (letter, tuple(ListEntry(mask, setter, when) for mask, setter, when in masks))
                for letter, masks in json.loads(lists).items()
            )
            settings = RoomSettings(
                letters, password, limit, entries, created, founder, tuple(json.loads(operators))
            )
            records.append(RoomRecord(RoomName(name, key), topic, settings))
        return records

    def save_rooms(self, records: Sequence[RoomRecord], dropped: Sequence[str]) -> None:
        """Write the registered rooms ``records`` as they now are, delete those ``dropped``."""
        rows = []
        for record in records:
            settings = record.settings
            lists = {
                letter: [[e.mask, e.setter, e.time] for e in entries]
                for letter, entries in settings.lists
            }
            rows.append(
                (
                    record.name.key,
                    record.name.display,
                    record.topic,
                    settings.letters,
                    settings.key,
                    settings.limit,
                    json.dumps(lists),
                    settings.created,
                    settings.founder,
                    json.dumps(sorted(settings.operators)),
                )
            )
        with self._connection:  # one transaction: all of it, or (after a crash) none
            self._connection.executemany(
                "DELETE FROM rooms WHERE key = ?", [(key,) for key in dropped]
            )
            self._connection.executemany(
                "INSERT OR REPLACE INTO rooms (key, name, topic, letters, password, member_limit,"
                " lists, created, founder, operators) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def load_server_bans(self, now: float) -> list[ServerBanEntry]:
        """Return the server bans still in force at ``now``, oldest first (the expired go)."""
        with self._connection:
            self._connection.execute(
                "DELETE FROM server_bans WHERE expires > 0 AND expires <= ?", (now,)
            )
        rows = self._connection.execute(
            "SELECT mask, reason, setter, time, expires FROM server_bans ORDER BY time, mask"
        ).fetchall()
        return [ServerBanEntry(*row) for row in rows]

    def save_server_bans(self, bans: Sequence[ServerBanEntry], lifted: Sequence[str]) -> None:
        """Write the server bans ``bans`` (replacing any on the same mask), delete ``lifted``."""
        with self._connection:
            self._connection.executemany(
                "DELETE FROM server_bans WHERE key = ?", [(fold(mask),) for mask in lifted]
            )
            self._connection.executemany(
                "INSERT OR REPLACE INTO server_bans (key, mask, reason, setter, time, expires)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(fold(b.mask), b.mask, b.reason, b.setter, b.time, b.expires) for b in bans],
            )

    # --- read markers ---------------------------------------------------------------------

    def load_read_markers(self) -> list[ReadMark]:
        """Return every account's read markers, by account then target."""
        rows = self._connection.execute(
            "SELECT account, target, time FROM read_markers ORDER BY account, target"
        ).fetchall()
        return [ReadMark(account, target, time) for account, target, time in rows]

    def save_read_markers(self, marks: Sequence[ReadMark]) -> None:
        """Write ``marks`` as they now are (time None: forgotten), in one commit."""
        with self._connection:
            self._connection.executemany(
                "DELETE FROM read_markers WHERE account = ? AND target = ?",
                [(m.account, m.target) for m in marks if m.time is None],
            )
            self._connection.executemany(
                "INSERT OR REPLACE INTO read_markers (account, target, time) VALUES (?, ?, ?)",
                [(m.account, m.target, m.time) for m in marks if m.time is not None],
            )

    # --- the server's settings ------------------------------------------------------------

    def cloak_key(self) -> bytes:
        """Return the key of cloaked hosts kept here, made (at random) and kept if there is none.

        So that a member's cloak, and the bans on it, are the same after a restart.
        """
        with self._connection:  # made and kept in one transaction: two openers agree
            self._connection.execute(
                "INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)",
                (CLOAK_KEY, secrets.token_bytes(CLOAK_KEY_BYTES)),
            )
            (value,) = self._connection.execute(
                "SELECT value FROM settings WHERE name = ?", (CLOAK_KEY,)
            ).fetchone()
        return bytes(value)

    def close(self) -> None:
        """Close the database (the WAL is folded back into the file), and release its lock."""
        self._connection.close()
        _unlock(self._lock)
        self._lock = None


def _sides(query: HistoryQuery) -> list[tuple[str, tuple[int, ...], str]]:
    """Return what to read for ``query``: (an SQL condition, its values, the order) per side."""
    mark, until = query.mark, query.until
    match query.direction:
        case Direction.LATEST:
            return [(*_compare(mark, ">"), "DESC") if mark is not None else ("", (), "DESC")]
        case Direction.BEFORE if mark is not None:
            return [(*_compare(mark, "<"), "DESC")]
        case Direction.AFTER if mark is not None:
            return [(*_compare(mark, ">"), "ASC")]
        case Direction.AROUND if mark is not None:
            return [(*_compare(mark, "<"), "DESC"), (*_compare(mark, ">="), "ASC")]
        case Direction.BETWEEN if mark is not None and until is not None:
            forward = _both(_compare(mark, ">"), _compare(until, "<"))
            backward = _both(_compare(until, ">"), _compare(mark, "<"))
            return [(*forward, "ASC"), (*backward, "DESC")]
    raise ValueError(f"a history query without the marks it needs: {query!r}")


def _compare(mark: Mark, operator: str) -> tuple[str, tuple[int, ...]]:
    """Return `` AND <where an entry is> <operator> ?`` and the mark's value."""
    if isinstance(mark, AtId):
        return f" AND id {operator} ?", (mark.id,)
    # Times are saved in seconds, whole milliseconds: compared as such, exactly.
    return f" AND CAST(ROUND(time * 1000) AS INTEGER) {operator} ?", (mark.ms,)


def _both(
    first: tuple[str, tuple[int, ...]], second: tuple[str, tuple[int, ...]]
) -> tuple[str, tuple[int, ...]]:
    return first[0] + second[0], first[1] + second[1]


def _lock(path: str) -> int:
    """Take the exclusive lock of the database at ``path``; return its descriptor.

    Raises:
        DatabaseError: if another process holds it (naming that process, as its file says).
    """
    lock = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(lock, 32, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(lock)
        raise DatabaseError(
            f"the database {path} is in use by another server (process {holder}); "
            "give each server its own --db"
        ) from None
    except OSError:
        os.close(lock)
        raise
    os.ftruncate(lock, 0)
    os.pwrite(lock, f"{os.getpid()}\n".encode(), 0)
    return lock


def _unlock(lock: int | None) -> None:
    if lock is not None:
        os.close(lock)  # closing the descriptor releases the flock


def _make_private(path: str) -> None:
    """Create the database file ``0600``, or make it so if others could read it."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
        return
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        os.chmod(path, mode & 0o700)
        logger.warning("the database %s was readable by others (%o): made private", path, mode)


def _upgrade(connection: sqlite3.Connection) -> None:
    """Bring a file an earlier version made up to today's schema (tables it lacks come after).

    Accounts made before they had a choice about private messages keep theirs (the column's
    default); a history table keyed by id alone (before events had ids) gets its key by room.
    """
    columns = {row[1] for row in connection.execute("PRAGMA table_info(accounts)")}
    if columns and "private_history" not in columns:  # (no columns: no table yet)
        # One statement, atomic by itself: every row reads as the default at once.
        connection.execute(
            "ALTER TABLE accounts ADD COLUMN private_history INTEGER NOT NULL DEFAULT 1"
        )
    row = connection.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'history'"
    ).fetchone()
    if row is None or "PRIMARY KEY (room_key, id)" in row[0]:
        return
    # One transaction, all of it or nothing: a crash leaves the old table as it was. (BEGIN
    # by hand: sqlite3 would run the DDL outside a transaction.)
    connection.execute("BEGIN")
    try:
        connection.execute("ALTER TABLE history RENAME TO history_before_ids")
        connection.execute("DROP INDEX IF EXISTS history_by_room")
        connection.execute(SCHEMA.partition(";")[0])
        connection.execute(
            "INSERT INTO history (id, room_key, room, time, kind, payload)"
            " SELECT id, room_key, room, time, kind, payload FROM history_before_ids"
        )
        connection.execute("DROP TABLE history_before_ids")
    except BaseException:
        connection.rollback()
        raise
    connection.commit()
