"""The server's database: one SQLite file for what outlives the process (accounts, history).

Synchronous: every method does I/O and must run in a worker thread, one at a time. A SQLite
connection is not for concurrent use, so whoever uses it (the history's writer, the accounts'
store) goes through the one :attr:`Database.limiter`, a ``trio.CapacityLimiter(1)``:
``await trio.to_thread.run_sync(database.save, ..., limiter=database.limiter)``.

WAL mode with ``synchronous=NORMAL``: a commit is one write to the log, and a crash (``kill -9``
included) loses no committed transaction, only the ones in flight.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import trio

from trio_chat.core.accounts import Account, Credentials, Ticket
from trio_chat.core.events import Entry
from trio_chat.core.history import History, RoomEntry, decode_event, encode_event
from trio_chat.core.text import Nickname

logger = logging.getLogger(__name__)

IN_MEMORY = ":memory:"

SCHEMA = """
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY,  -- the entry's id: one sequence for all rooms
    room_key TEXT NOT NULL,  -- the room's normalized name
    room TEXT NOT NULL,      -- the room's name as displayed then
    time REAL NOT NULL,      -- Unix time
    kind TEXT NOT NULL,      -- the event's class: Said, Joined, ...
    payload TEXT NOT NULL    -- the event's fields, as JSON
);
CREATE INDEX IF NOT EXISTS history_by_room ON history (room_key, id);
CREATE TABLE IF NOT EXISTS accounts (
    key TEXT PRIMARY KEY,           -- the name, normalized (NFKC, case folded)
    name TEXT NOT NULL,             -- the name as registered
    password_hash TEXT NOT NULL,    -- argon2id, PHC form (parameters and salt included)
    scram_salt BLOB NOT NULL,       -- SCRAM-SHA-256: salt, stored key, server key, rounds
    scram_stored_key BLOB NOT NULL,
    scram_server_key BLOB NOT NULL,
    scram_iterations INTEGER NOT NULL,
    certificates TEXT NOT NULL,     -- JSON list of SHA-256 fingerprints (SASL EXTERNAL)
    created REAL NOT NULL           -- Unix time
);
CREATE TABLE IF NOT EXISTS tickets (
    digest TEXT PRIMARY KEY,        -- SHA-256 of a browser's token (the token: only its cookie)
    account TEXT NOT NULL,          -- the account's key
    expires REAL NOT NULL           -- Unix time
);
"""


class DatabaseError(Exception):
    """The database cannot be opened or used."""


class Database:
    """The SQLite file (see the module docstring)."""

    def __init__(self, connection: sqlite3.Connection, path: str) -> None:
        self._connection = connection
        self.path = path
        self.limiter = trio.CapacityLimiter(1)  # one thread at a time uses the connection

    @classmethod
    def open(cls, path: str) -> Database:
        """Open (or create) the database, in WAL mode.

        Raises:
            DatabaseError: if it cannot be created, read or written (a missing directory that
                cannot be made, no permission, a file that is not a database).
        """
        try:
            if path != IN_MEMORY:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, check_same_thread=False)
        except (OSError, sqlite3.Error) as error:
            raise DatabaseError(f"cannot open the database {path}: {error}") from None
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")  # WAL: a crash loses no commit's data
            connection.executescript(SCHEMA)
            connection.execute("SELECT COUNT(*) FROM history WHERE id < 0").fetchone()
        except sqlite3.Error as error:
            connection.close()
            raise DatabaseError(f"cannot use the database {path}: {error}") from None
        return cls(connection, path)

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
                    entries.append(Entry(entry_id, when, decode_event(kind, payload)))
                except ValueError as error:  # written by another version: skip, say so
                    logger.warning("history entry %d of %r skipped: %s", entry_id, room_key, error)
            history.load(room_key, entries)
            loaded += len(entries)
        return loaded

    def save(self, records: Sequence[RoomEntry], max_per_room: int) -> None:
        """Insert ``records`` and keep at most ``max_per_room`` entries per room, in one commit."""
        rows = [
            (r.entry.id, r.room_key, r.room, r.entry.time, *encode_event(r.entry.event))
            for r in records
        ]
        with self._connection:  # one transaction: all of it, or (after a crash) none
            self._connection.executemany(
                "INSERT OR IGNORE INTO history (id, room_key, room, time, kind, payload)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            for room_key in {r.room_key for r in records}:
                self._connection.execute(
                    "DELETE FROM history WHERE room_key = ? AND id <= (SELECT id FROM history"
                    " WHERE room_key = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
                    (room_key, room_key, max_per_room),
                )

    def prune(self, before: float) -> int:
        """Delete every entry older than ``before`` (Unix time); return how many."""
        with self._connection:
            return self._connection.execute(
                "DELETE FROM history WHERE time < ?", (before,)
            ).rowcount

    # --- accounts -------------------------------------------------------------------------

    def load_accounts(self) -> list[Account]:
        """Return every saved account, oldest first."""
        rows = self._connection.execute(
            "SELECT name, key, password_hash, scram_salt, scram_stored_key, scram_server_key,"
            " scram_iterations, certificates, created FROM accounts ORDER BY created, key"
        ).fetchall()
        accounts = []
        for name, key, password_hash, salt, stored, server, rounds, certificates, created in rows:
            keys = Credentials(password_hash, bytes(salt), bytes(stored), bytes(server), rounds)
            accounts.append(
                Account(Nickname(name, key), keys, created, tuple(json.loads(certificates)))
            )
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
            )
            for account in accounts
        ]
        with self._connection:
            self._connection.executemany(
                "INSERT OR REPLACE INTO accounts (key, name, password_hash, scram_salt,"
                " scram_stored_key, scram_server_key, scram_iterations, certificates, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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

    def close(self) -> None:
        """Close the database (the WAL is folded back into the file)."""
        self._connection.close()
