"""``FileStore``: one JSON file per session in a directory (the lesson's ファイル row).

Shared with every process on the same machine (the same disk), not with another server. No Redis.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from ..errors import SessionNotFound
from ..keys import is_valid_session_id
from ..session_records import Clock, dumps, idle_ttl, merge_update, new_session
from ..session_value import check_new_data, check_ttl, check_update

__all__ = ["FileStore"]


class FileStore:
    """One JSON file per session, ``{directory}/{session_id}.json`` = ``{"expires_at", "session"}``.

    Writes go to a temporary file that replaces the old one (``os.replace``), so a reader never
    sees half a file. There is no lock: if two processes update the same session at the same time,
    the last writer wins, and a delete racing an update can be undone by it. (The SQLite and Redis
    stores are atomic.) Files are not fsync'ed. Session IDs are validated before they become file
    names, so an ID like ``../../etc/passwd`` never reaches the file system. ``expires_at`` is a
    Unix time (``clock``, default ``time.time``): other processes read the same files.
    """

    kind = "file"

    def __init__(
        self, directory: str | os.PathLike[str], default_ttl: int = 3600, *, clock: Clock = time.time
    ):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.default_ttl = check_ttl("default_ttl", default_ttl)
        self.clock = clock

    @property
    def spec(self) -> str:
        """``file:DIR``: any process on this machine can open the same directory."""
        return f"file:{self.directory}"

    def _path(self, session_id: str) -> Path:
        return self.directory / f"{session_id}.json"

    def _write(self, session_id: str, expires_at: float, session: dict[str, Any]) -> None:
        payload = dumps({"expires_at": expires_at, "session": session})
        tmp = self.directory / f".{session_id}.{secrets.token_hex(4)}.tmp"
        tmp.write_text(payload, encoding="utf-8")
        os.replace(tmp, self._path(session_id))

    def _read(self, session_id: str) -> tuple[float, dict[str, Any]] | None:
        try:
            record = json.loads(self._path(session_id).read_text(encoding="utf-8"))
            return float(record["expires_at"]), dict(record["session"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None

    def _live(self, session_id: str, now: float) -> tuple[float, dict[str, Any]] | None:
        record = self._read(session_id)
        if record is None:
            return None
        if record[0] <= now:
            self._path(session_id).unlink(missing_ok=True)
            return None
        return record

    def create(self, data: dict[str, Any], ttl: int | None = None) -> str:
        """Write a new session file; return its 43-character ID. ``ttl`` must be > 0 seconds."""
        check_new_data(data)
        ttl = self.default_ttl if ttl is None else check_ttl("ttl", ttl)
        session_id = secrets.token_urlsafe(32)
        self._write(session_id, self.clock() + ttl, new_session(data, ttl))
        return session_id

    def get(self, session_id: str, refresh: bool = False) -> dict[str, Any] | None:
        """The session, or None; ``refresh=True`` rewrites the file with a slid expiry."""
        if not is_valid_session_id(session_id):
            return None
        now = self.clock()
        record = self._live(session_id, now)
        if record is None:
            return None
        if refresh:
            self._write(session_id, now + idle_ttl(record[1], self.default_ttl), record[1])
        return record[1]

    def update(self, session_id: str, data: dict[str, Any], refresh: bool = True) -> dict[str, Any]:
        """Merge ``data`` into the session file; ``SessionNotFound`` if it is gone."""
        check_update(data)
        if not is_valid_session_id(session_id):
            raise SessionNotFound("malformed session ID")
        now = self.clock()
        expires_at, updated = merge_update(self._live(session_id, now), data, refresh, now, self.default_ttl)
        self._write(session_id, expires_at, updated)
        return updated

    def delete(self, session_id: str) -> bool:
        """Remove the session file; True if it existed."""
        if not is_valid_session_id(session_id):
            return False
        try:
            self._path(session_id).unlink()
            return True
        except FileNotFoundError:
            return False

    def refresh(self, session_id: str) -> bool:
        """Slide the session back to its own idle TTL; True if it is live."""
        return self.get(session_id, refresh=True) is not None

    def ttl(self, session_id: str) -> float | None:
        """Seconds left, or None if missing, expired or malformed."""
        record = self._read(session_id) if is_valid_session_id(session_id) else None
        left = None if record is None else record[0] - self.clock()
        return left if left is not None and left > 0 else None

    def cleanup(self) -> int:
        """Read every session file and delete the expired ones; return how many."""
        now, removed = self.clock(), 0
        for path in self.directory.glob("*.json"):
            record = self._read(path.stem)
            if record is not None and record[0] <= now:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def stored_count(self) -> int:
        """Session files in the directory, expired ones included."""
        return sum(1 for _ in self.directory.glob("*.json"))

    def close(self) -> None:
        """Nothing to close: every call opens and closes its file."""
