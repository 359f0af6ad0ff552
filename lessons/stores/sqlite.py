"""``SqliteStore``: sessions as rows of an SQLite table (the lesson's DB row).

Durable and shared with every process on the same machine; Python's ``sqlite3``, no server and no
Redis. The table ``sessions(id TEXT, data TEXT, expires_at REAL)`` is what notebook 00's cleanup
exercise works on (``lessons.checks.stores.check_cleanup_sql``).
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import SessionNotFound
from ..keys import is_valid_session_id
from ..session_records import Clock, dumps, idle_ttl, merge_update, new_session
from ..session_value import check_new_data, check_ttl, check_update

__all__ = ["SqliteStore"]


class SqliteStore:
    """Sessions as rows of ``sessions(id, data, expires_at)`` in an SQLite database file.

    WAL journal with ``synchronous=NORMAL`` (a common server setting: a commit is safe against
    an application crash at once, and against power loss at the next checkpoint). ``update`` runs
    in a ``BEGIN IMMEDIATE`` transaction, so concurrent writers from any process on this machine
    lose nothing and never bring back a deleted session. An index on ``expires_at`` makes the
    cleanup job a single ``DELETE … WHERE expires_at <= ?``. ``expires_at`` is a Unix time
    (``clock``, default ``time.time``). ``conn`` is the open connection (autocommit).
    """

    kind = "sqlite"

    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS sessions ("
        "id TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at REAL NOT NULL)"
    )
    INDEX = "CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at)"

    def __init__(self, path: str | os.PathLike[str], default_ttl: int = 3600, *, clock: Clock = time.time):
        self.path = Path(path)
        self.default_ttl = check_ttl("default_ttl", default_ttl)
        self.clock = clock
        self._lock = threading.Lock()
        # isolation_level=None: autocommit; each statement is its own transaction unless BEGIN.
        self.conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute(self.SCHEMA)
        self.conn.execute(self.INDEX)

    @property
    def spec(self) -> str:
        """``sqlite:PATH``: any process on this machine can open the same database file."""
        return f"sqlite:{self.path}"

    def create(self, data: dict[str, Any], ttl: int | None = None) -> str:
        """INSERT one row; return the new 43-character ID. ``ttl`` must be > 0 seconds."""
        check_new_data(data)
        ttl = self.default_ttl if ttl is None else check_ttl("ttl", ttl)
        payload = dumps(new_session(data, ttl))
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self.conn.execute(
                "INSERT INTO sessions (id, data, expires_at) VALUES (?, ?, ?)",
                (session_id, payload, self.clock() + ttl),
            )
        return session_id

    def _live(self, session_id: str, now: float) -> tuple[float, dict[str, Any]] | None:
        row = self.conn.execute(
            "SELECT data, expires_at FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        if row is None:
            return None
        if row[1] <= now:
            self.conn.execute("DELETE FROM sessions WHERE id = ? AND expires_at <= ?", (session_id, now))
            return None
        return float(row[1]), dict(json.loads(row[0]))

    def get(self, session_id: str, refresh: bool = False) -> dict[str, Any] | None:
        """SELECT the row (None if missing or expired); ``refresh=True`` also UPDATEs its expiry."""
        if not is_valid_session_id(session_id):
            return None
        with self._lock:
            now = self.clock()
            record = self._live(session_id, now)
            if record is None:
                return None
            if refresh:
                self.conn.execute(
                    "UPDATE sessions SET expires_at = ? WHERE id = ?",
                    (now + idle_ttl(record[1], self.default_ttl), session_id),
                )
            return record[1]

    def update(self, session_id: str, data: dict[str, Any], refresh: bool = True) -> dict[str, Any]:
        """Merge ``data`` in one ``BEGIN IMMEDIATE`` transaction; ``SessionNotFound`` if gone."""
        check_update(data)
        if not is_valid_session_id(session_id):
            raise SessionNotFound("malformed session ID")
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                now = self.clock()
                expires_at, updated = merge_update(
                    self._live(session_id, now), data, refresh, now, self.default_ttl
                )
                self.conn.execute(
                    "UPDATE sessions SET data = ?, expires_at = ? WHERE id = ?",
                    (dumps(updated), expires_at, session_id),
                )
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
            return updated

    def delete(self, session_id: str) -> bool:
        """DELETE the row; True if it existed."""
        if not is_valid_session_id(session_id):
            return False
        with self._lock:
            return self.conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount > 0

    def refresh(self, session_id: str) -> bool:
        """Slide the session back to its own idle TTL; True if it is live."""
        return self.get(session_id, refresh=True) is not None

    def ttl(self, session_id: str) -> float | None:
        """Seconds left, or None if missing or expired."""
        with self._lock:
            row = self.conn.execute("SELECT expires_at FROM sessions WHERE id = ?", (session_id,)).fetchone()
            left = None if row is None else float(row[0]) - self.clock()
            return left if left is not None and left > 0 else None

    def cleanup(self) -> int:
        """``DELETE FROM sessions WHERE expires_at <= now``; return how many rows went."""
        with self._lock:
            return self.conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (self.clock(),)).rowcount

    def stored_count(self) -> int:
        """Rows in the table, expired ones included."""
        with self._lock:
            return int(self.conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()
