"""Four session stores behind one small interface: the lesson's comparison table, measured.

The lesson's table (なぜ Redis でセッション管理？) compares four places to keep sessions:

==========  ===============  ==============================================================
kind        class            where a session lives
==========  ===============  ==============================================================
``memory``  ``MemoryStore``  a dict inside this Python process (メモリ)
``file``    ``FileStore``    one JSON file per session in a directory (ファイル)
``sqlite``  ``SqliteStore``  a row in an SQLite database file, Python's ``sqlite3`` (DB)
``redis``   ``RedisStore``   a key in Redis, via ``lessons.store.SessionStore`` (Redis)
==========  ===============  ==============================================================

All four answer the same calls, with the meanings of ``lessons.store.SessionStore``::

    sid = store.create({"user_id": 1, "username": "alice"}, ttl=None)  # 43-char token
    store.get(sid, refresh=False) -> dict | None      # None: missing, expired, malformed ID
    store.update(sid, {"role": "admin"}, refresh=True) -> dict   # raises SessionNotFound
    store.delete(sid) -> bool
    store.refresh(sid) -> bool                        # slide the TTL back to default_ttl
    store.ttl(sid) -> float | None                    # seconds left; None if missing or expired
    store.cleanup() -> int                            # the cleanup job: expired entries removed
    store.stored_count() -> int                       # entries physically stored, expired included
    store.spec                                        # how another process opens the same store
    store.close()

Expiry, honestly. Redis deletes expired keys itself (when a key is touched, and by a background
cycle that samples keys with a TTL), so ``RedisStore.cleanup()`` has nothing to do. The other three
only *answer* correctly: ``get`` treats an expired session as missing and deletes that one entry,
but a session that nobody reads again (the user closed the browser) stays in the dict, on disk or
in the table until ``cleanup()`` runs. In production that means a cron job or a background thread.

The three local stores take ``clock=`` (a function returning seconds, default ``time.time``) so
that tests can move time forward without sleeping. Redis keeps its own clock.

Sharing. ``other_process_sees(...)`` starts a second Python process (``python -m lessons.stores
peek``), opens each store there from its ``spec`` and looks the session up. A dict lives and dies
with its process; files and SQLite are visible to any process on the same machine (the same disk);
Redis is reached over TCP from any process on any machine that can connect to it.
"""

from __future__ import annotations

import json
import math
import os
import random
import secrets
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Protocol

from . import backend
from .store import SessionNotFound, SessionStore, _now_iso, _positive_int, is_valid_session_id

__all__ = [
    "Store", "MemoryStore", "FileStore", "SqliteStore", "RedisStore", "SessionNotFound",
    "open_store", "KINDS", "LESSON_TABLE",
    "OpStats", "run_workload", "summarize", "other_process_sees", "check_cleanup_sql",
]

Clock = Callable[[], float]

#: The four kinds, in the lesson's order.
KINDS = ("memory", "file", "sqlite", "redis")

#: The lesson's table, row by row: (kind, 方式, メリット, デメリット).
LESSON_TABLE = (
    ("memory", "メモリ", "高速 (fast)", "スケールしない (does not scale)"),
    ("file", "ファイル", "シンプル (simple)", "共有できない (cannot be shared)"),
    ("sqlite", "DB", "永続化 (durable)", "遅い (slow)"),
    ("redis", "Redis", "高速+共有 (fast + shared)", "運用コスト (operating cost)"),
)

#: Fields every store writes into a session; ``update`` may not set them.
META_FIELDS = ("created_at", "last_accessed")


def _check_data(data: object) -> dict:
    if not isinstance(data, dict):
        raise TypeError(f"session data must be a dict, not {type(data).__name__}")
    return data


def _check_update(data: object) -> dict:
    _check_data(data)
    for name in META_FIELDS:
        if name in data:  # type: ignore[operator]
            raise ValueError(f"{name!r} is managed by the store and cannot be updated")
    return data  # type: ignore[return-value]


def _dumps(data: dict) -> str:
    try:
        return json.dumps(data, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"session data must be JSON-serialisable: {exc}") from None


class Store(Protocol):
    """What the four stores have in common (see the module docstring)."""

    kind: str
    default_ttl: int

    def create(self, data: dict, ttl: int | None = None) -> str: ...
    def get(self, session_id: str, refresh: bool = False) -> dict | None: ...
    def update(self, session_id: str, data: dict, refresh: bool = True) -> dict: ...
    def delete(self, session_id: str) -> bool: ...
    def refresh(self, session_id: str) -> bool: ...
    def ttl(self, session_id: str) -> float | None: ...
    def cleanup(self) -> int: ...
    def stored_count(self) -> int: ...
    def close(self) -> None: ...
    @property
    def spec(self) -> str: ...


# -- memory ---------------------------------------------------------------------------------------
class MemoryStore:
    """Sessions in a dict in this process: ``{session_id: (expires_at, session)}``.

    Nothing is serialised (that is most of why it is fast, and why no other process can read it).
    ``get`` returns a shallow copy. A lock makes each call atomic between threads of this process.
    Expired entries stay until ``get`` touches them or ``cleanup()`` runs.
    """

    kind = "memory"

    def __init__(self, default_ttl: int = 3600, *, clock: Clock = time.time):
        self.default_ttl = _positive_int("default_ttl", default_ttl)
        self.clock = clock
        self._data: dict[str, tuple[float, dict]] = {}
        self._lock = threading.Lock()

    @property
    def spec(self) -> str:
        return "memory:"  # another process can only open a new, empty dict

    def create(self, data: dict, ttl: int | None = None) -> str:
        """Store a copy of ``data`` plus timestamps; return a new 43-character ID."""
        _check_data(data)
        ttl = self.default_ttl if ttl is None else _positive_int("ttl", ttl)
        now = _now_iso()
        session = {**data, "created_at": now, "last_accessed": now}
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self._data[session_id] = (self.clock() + ttl, session)
        return session_id

    def _live(self, session_id: str, now: float) -> dict | None:
        """The live session, deleting it if it has expired (caller holds the lock)."""
        entry = self._data.get(session_id)
        if entry is None:
            return None
        if entry[0] <= now:
            del self._data[session_id]
            return None
        return entry[1]

    def get(self, session_id: str, refresh: bool = False) -> dict | None:
        if not is_valid_session_id(session_id):
            return None
        with self._lock:
            now = self.clock()
            session = self._live(session_id, now)
            if session is None:
                return None
            if refresh:
                self._data[session_id] = (now + self.default_ttl, session)
            return dict(session)

    def update(self, session_id: str, data: dict, refresh: bool = True) -> dict:
        _check_update(data)
        if not is_valid_session_id(session_id):
            raise SessionNotFound("malformed session ID")
        with self._lock:
            now = self.clock()
            current = self._live(session_id, now)
            if current is None:
                raise SessionNotFound(f"session {session_id[:6]}… not found")
            expires_at = now + self.default_ttl if refresh else self._data[session_id][0]
            updated = {**current, **data, "last_accessed": _now_iso()}
            self._data[session_id] = (expires_at, updated)
            return dict(updated)

    def delete(self, session_id: str) -> bool:
        with self._lock:
            return self._data.pop(session_id, None) is not None

    def refresh(self, session_id: str) -> bool:
        return self.get(session_id, refresh=True) is not None

    def ttl(self, session_id: str) -> float | None:
        with self._lock:
            entry = self._data.get(session_id)
            left = None if entry is None else entry[0] - self.clock()
            return left if left is not None and left > 0 else None

    def cleanup(self) -> int:
        """Remove every expired entry (one pass over the dict); return how many."""
        with self._lock:
            now = self.clock()
            dead = [sid for sid, (expires_at, _) in self._data.items() if expires_at <= now]
            for sid in dead:
                del self._data[sid]
            return len(dead)

    def stored_count(self) -> int:
        """Entries in the dict, expired ones included."""
        return len(self._data)

    def close(self) -> None:
        with self._lock:
            self._data.clear()


# -- files ----------------------------------------------------------------------------------------
class FileStore:
    """One JSON file per session, ``{directory}/{session_id}.json`` = ``{"expires_at", "session"}``.

    Writes go to a temporary file that replaces the old one (``os.replace``), so a reader never
    sees half a file. There is no lock: if two processes update the same session at the same time,
    the last writer wins, and a delete racing an update can be undone by it. (The SQLite and Redis
    stores are atomic.) Files are not fsync'ed. Session IDs are validated before they become file
    names, so an ID like ``../../etc/passwd`` never reaches the file system.
    """

    kind = "file"

    def __init__(self, directory: str | os.PathLike, default_ttl: int = 3600, *,
                 clock: Clock = time.time):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.default_ttl = _positive_int("default_ttl", default_ttl)
        self.clock = clock

    @property
    def spec(self) -> str:
        return f"file:{self.directory}"

    def _path(self, session_id: str) -> Path:
        return self.directory / f"{session_id}.json"

    def _write(self, session_id: str, expires_at: float, session: dict) -> None:
        payload = _dumps({"expires_at": expires_at, "session": session})
        tmp = self.directory / f".{session_id}.{secrets.token_hex(4)}.tmp"
        tmp.write_text(payload, encoding="utf-8")
        os.replace(tmp, self._path(session_id))

    def _read(self, session_id: str) -> tuple[float, dict] | None:
        try:
            record = json.loads(self._path(session_id).read_text(encoding="utf-8"))
            return float(record["expires_at"]), dict(record["session"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None

    def _live(self, session_id: str, now: float) -> tuple[float, dict] | None:
        record = self._read(session_id)
        if record is None:
            return None
        if record[0] <= now:
            self._path(session_id).unlink(missing_ok=True)
            return None
        return record

    def create(self, data: dict, ttl: int | None = None) -> str:
        _check_data(data)
        ttl = self.default_ttl if ttl is None else _positive_int("ttl", ttl)
        now = _now_iso()
        session_id = secrets.token_urlsafe(32)
        self._write(session_id, self.clock() + ttl, {**data, "created_at": now, "last_accessed": now})
        return session_id

    def get(self, session_id: str, refresh: bool = False) -> dict | None:
        if not is_valid_session_id(session_id):
            return None
        now = self.clock()
        record = self._live(session_id, now)
        if record is None:
            return None
        if refresh:
            self._write(session_id, now + self.default_ttl, record[1])
        return record[1]

    def update(self, session_id: str, data: dict, refresh: bool = True) -> dict:
        _check_update(data)
        if not is_valid_session_id(session_id):
            raise SessionNotFound("malformed session ID")
        now = self.clock()
        record = self._live(session_id, now)
        if record is None:
            raise SessionNotFound(f"session {session_id[:6]}… not found")
        expires_at = now + self.default_ttl if refresh else record[0]
        updated = {**record[1], **data, "last_accessed": _now_iso()}
        self._write(session_id, expires_at, updated)
        return updated

    def delete(self, session_id: str) -> bool:
        if not is_valid_session_id(session_id):
            return False
        try:
            self._path(session_id).unlink()
            return True
        except FileNotFoundError:
            return False

    def refresh(self, session_id: str) -> bool:
        return self.get(session_id, refresh=True) is not None

    def ttl(self, session_id: str) -> float | None:
        record = self._read(session_id) if is_valid_session_id(session_id) else None
        left = None if record is None else record[0] - self.clock()
        return left if left is not None and left > 0 else None

    def cleanup(self) -> int:
        """Read every session file and delete the expired ones; return how many."""
        now, removed = self.clock(), 0
        for path in self.directory.glob("*.json"):
            session_id = path.stem
            record = self._read(session_id)
            if record is not None and record[0] <= now:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def stored_count(self) -> int:
        """Session files in the directory, expired ones included."""
        return sum(1 for _ in self.directory.glob("*.json"))

    def close(self) -> None:
        pass


# -- SQLite ---------------------------------------------------------------------------------------
class SqliteStore:
    """Sessions as rows of ``sessions(id, data, expires_at)`` in an SQLite database file.

    WAL journal with ``synchronous=NORMAL`` (a common server setting: a commit is safe against
    an application crash at once, and against power loss at the next checkpoint). ``update`` runs
    in a ``BEGIN IMMEDIATE`` transaction, so concurrent writers from any process on this machine
    lose nothing and never bring back a deleted session. An index on ``expires_at`` makes the
    cleanup job a single ``DELETE … WHERE expires_at <= ?``.
    """

    kind = "sqlite"

    SCHEMA = ("CREATE TABLE IF NOT EXISTS sessions ("
              "id TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at REAL NOT NULL)")
    INDEX = "CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at)"

    def __init__(self, path: str | os.PathLike, default_ttl: int = 3600, *,
                 clock: Clock = time.time):
        self.path = Path(path)
        self.default_ttl = _positive_int("default_ttl", default_ttl)
        self.clock = clock
        self._lock = threading.Lock()
        # isolation_level=None: autocommit; each statement is its own transaction unless BEGIN.
        self.conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None,
                                    check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute(self.SCHEMA)
        self.conn.execute(self.INDEX)

    @property
    def spec(self) -> str:
        return f"sqlite:{self.path}"

    def create(self, data: dict, ttl: int | None = None) -> str:
        _check_data(data)
        ttl = self.default_ttl if ttl is None else _positive_int("ttl", ttl)
        now = _now_iso()
        payload = _dumps({**data, "created_at": now, "last_accessed": now})
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self.conn.execute("INSERT INTO sessions (id, data, expires_at) VALUES (?, ?, ?)",
                              (session_id, payload, self.clock() + ttl))
        return session_id

    def _live(self, session_id: str, now: float) -> tuple[float, dict] | None:
        row = self.conn.execute("SELECT data, expires_at FROM sessions WHERE id = ?",
                                (session_id,)).fetchone()
        if row is None:
            return None
        if row[1] <= now:
            self.conn.execute("DELETE FROM sessions WHERE id = ? AND expires_at <= ?",
                              (session_id, now))
            return None
        return row[1], json.loads(row[0])

    def get(self, session_id: str, refresh: bool = False) -> dict | None:
        if not is_valid_session_id(session_id):
            return None
        with self._lock:
            now = self.clock()
            record = self._live(session_id, now)
            if record is None:
                return None
            if refresh:
                self.conn.execute("UPDATE sessions SET expires_at = ? WHERE id = ?",
                                  (now + self.default_ttl, session_id))
            return record[1]

    def update(self, session_id: str, data: dict, refresh: bool = True) -> dict:
        _check_update(data)
        if not is_valid_session_id(session_id):
            raise SessionNotFound("malformed session ID")
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                now = self.clock()
                record = self._live(session_id, now)
                if record is None:
                    raise SessionNotFound(f"session {session_id[:6]}… not found")
                expires_at = now + self.default_ttl if refresh else record[0]
                updated = {**record[1], **data, "last_accessed": _now_iso()}
                self.conn.execute("UPDATE sessions SET data = ?, expires_at = ? WHERE id = ?",
                                  (_dumps(updated), expires_at, session_id))
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
            return updated

    def delete(self, session_id: str) -> bool:
        if not is_valid_session_id(session_id):
            return False
        with self._lock:
            return self.conn.execute("DELETE FROM sessions WHERE id = ?",
                                     (session_id,)).rowcount > 0

    def refresh(self, session_id: str) -> bool:
        return self.get(session_id, refresh=True) is not None

    def ttl(self, session_id: str) -> float | None:
        with self._lock:
            row = self.conn.execute("SELECT expires_at FROM sessions WHERE id = ?",
                                    (session_id,)).fetchone()
            left = None if row is None else row[0] - self.clock()
            return left if left is not None and left > 0 else None

    def cleanup(self) -> int:
        """``DELETE FROM sessions WHERE expires_at <= now``; return how many rows went."""
        with self._lock:
            return self.conn.execute("DELETE FROM sessions WHERE expires_at <= ?",
                                     (self.clock(),)).rowcount

    def stored_count(self) -> int:
        """Rows in the table, expired ones included."""
        with self._lock:
            return self.conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]

    def close(self) -> None:
        self.conn.close()


# -- Redis ----------------------------------------------------------------------------------------
class RedisStore:
    """``lessons.store.SessionStore`` with the other stores' extras (cleanup, counting, spec).

    Sessions live at ``{prefix}:{id}`` with a Redis TTL; the per-user index at
    ``{prefix}-by-user:{user_id}``. Round trips: create 1, get 1, update 3, delete 1.
    """

    kind = "redis"

    def __init__(self, redis_url: str | None = None, prefix: str = "session",
                 default_ttl: int = 3600):
        self.url = redis_url or backend.redis_url()
        self.sessions = SessionStore(self.url, prefix=prefix, default_ttl=default_ttl)
        self.r = self.sessions.r
        self.prefix = prefix
        self.default_ttl = self.sessions.default_ttl

    @property
    def spec(self) -> str:
        # The URL may hold a password: other_process_sees passes specs on stdin, never argv.
        return f"redis:{self.prefix}@{self.url}"

    def create(self, data: dict, ttl: int | None = None) -> str:
        return self.sessions.create(data, ttl)

    def get(self, session_id: str, refresh: bool = False) -> dict | None:
        return self.sessions.get(session_id, refresh=refresh)

    def update(self, session_id: str, data: dict, refresh: bool = True) -> dict:
        return self.sessions.update(session_id, data, refresh=refresh)

    def delete(self, session_id: str) -> bool:
        return self.sessions.delete(session_id)

    def refresh(self, session_id: str) -> bool:
        return self.sessions.refresh(session_id)

    def ttl(self, session_id: str) -> float | None:
        """Seconds left (one PTTL), or None if the key is gone or the ID is malformed."""
        if not is_valid_session_id(session_id):
            return None
        left = self.r.pttl(self.sessions._key(session_id))
        return left / 1000 if left > 0 else None

    def cleanup(self) -> int:
        """Nothing to do: Redis deletes expired keys itself. Returns 0, sends no command."""
        return 0

    def stored_count(self) -> int:
        """Session keys ``{prefix}:*`` that Redis still holds (SCAN; expired keys are gone)."""
        return sum(1 for _ in self.r.scan_iter(match=f"{self.prefix}:*", count=1000))

    def close(self) -> None:
        self.r.close()


# -- opening a store by its spec (used by the second process) -------------------------------------
def open_store(spec: str, default_ttl: int = 3600) -> Store:
    """Open the store that ``spec`` names: ``memory:``, ``file:DIR``, ``sqlite:PATH``,
    ``redis:PREFIX@URL``. ``memory:`` always opens a new, empty dict."""
    kind, _, rest = spec.partition(":")
    if kind == "memory":
        return MemoryStore(default_ttl)
    if kind == "file" and rest:
        return FileStore(rest, default_ttl)
    if kind == "sqlite" and rest:
        return SqliteStore(rest, default_ttl)
    if kind == "redis" and "@" in rest:
        prefix, _, url = rest.partition("@")
        return RedisStore(url, prefix=prefix, default_ttl=default_ttl)
    raise ValueError(f"not a store spec: {spec.split('@')[0]!r} (expected memory:, file:DIR, "
                     "sqlite:PATH or redis:PREFIX@URL)")


# -- the benchmark --------------------------------------------------------------------------------
OPS = ("create", "get", "update", "delete")


def _payload(i: int) -> dict:
    """A small, typical session (about 150 bytes of JSON)."""
    return {"user_id": i % 100, "username": f"user{i % 100}", "role": "member",
            "csrf": f"{i:032x}", "cart": [i % 7, i % 11]}


def run_workload(store: Store, n: int = 2000, seed: int = 0,
                 warmup: int = 50) -> dict[str, list[float]]:
    """Time the same workload on any store: ``n`` creates, ``n`` gets, ``n`` updates, ``n`` deletes.

    Gets, updates and deletes visit the sessions in a shuffled (seeded) order. Each call is timed
    alone with ``time.perf_counter``, one at a time from one client. A few warm-up calls run first
    and are not counted. Returns seconds per call, by operation. The store is empty again after.
    """
    rng = random.Random(seed)
    for i in range(warmup):
        sid = store.create(_payload(i))
        store.get(sid)
        store.update(sid, {"cart": [i]})
        store.delete(sid)
    timings: dict[str, list[float]] = {op: [] for op in OPS}
    clock = time.perf_counter
    ids = []
    for i in range(n):
        t0 = clock()
        sid = store.create(_payload(i))
        timings["create"].append(clock() - t0)
        ids.append(sid)
    for op in ("get", "update", "delete"):
        order = ids[:]
        rng.shuffle(order)
        samples = timings[op]
        for k, sid in enumerate(order):
            t0 = clock()
            if op == "get":
                found = store.get(sid)
            elif op == "update":
                found = store.update(sid, {"cart": [k % 5]})
            else:
                found = store.delete(sid)
            samples.append(clock() - t0)
            if not found:
                raise AssertionError(f"{store.kind}: {op} lost a session during the benchmark")
    return timings


@dataclass(frozen=True)
class OpStats:
    """One store's figures for one operation (latency in microseconds, throughput in ops/s)."""

    kind: str
    op: str
    count: int
    median_us: float
    p99_us: float
    ops_per_s: float


def _percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (q in 0..100)."""
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarize(results: dict[str, dict[str, list[float]]]) -> list[OpStats]:
    """Median, p99 and throughput (calls / total time, one client) per store and operation."""
    rows = []
    for kind, timings in results.items():
        for op in OPS:
            values = sorted(timings[op])
            rows.append(OpStats(kind, op, len(values), 1e6 * _percentile(values, 50),
                                1e6 * _percentile(values, 99), len(values) / sum(values)))
    return rows


# -- the sharing experiment -----------------------------------------------------------------------
def other_process_sees(lookups: Iterable[tuple[Store, str]],
                       timeout: float = 60.0) -> tuple[int, dict[str, dict | None]]:
    """Look sessions up from a brand-new Python process; return (its pid, {kind: session or None}).

    Runs ``python -m lessons.stores peek`` with ``[{"spec", "session_id"}, …]`` on stdin (not on
    the command line, where a password in a Redis URL would show in ``ps``). The child opens each
    store from its spec and calls ``get``: a ``memory:`` spec gives it a new, empty dict.
    """
    request = [{"kind": s.kind, "spec": s.spec, "session_id": sid} for s, sid in lookups]
    done = subprocess.run([sys.executable, "-m", "lessons.stores", "peek"],
                          input=json.dumps(request), capture_output=True, text=True,
                          timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the second process failed:\n{done.stderr.strip()}")
    reply = json.loads(done.stdout)
    return reply["pid"], {item["kind"]: item["session"] for item in reply["results"]}


def _peek_main() -> int:
    request = json.loads(sys.stdin.read())
    results = []
    for item in request:
        store = open_store(item["spec"])
        try:
            results.append({"kind": item["kind"], "session": store.get(item["session_id"])})
        finally:
            store.close()
    print(json.dumps({"pid": os.getpid(), "results": results}))
    return 0


# -- "Your turn" checker --------------------------------------------------------------------------
def check_cleanup_sql(cleanup: Callable[[sqlite3.Connection, float], int]) -> bool:
    """Test a learner's SQLite cleanup job ``cleanup(conn, now) -> rows deleted`` and print why.

    Builds a throw-away ``SqliteStore`` in a temporary directory with a clock the checker moves
    forward: 3 sessions with a 10 s TTL, 2 with a 1000 s TTL, then 60 s pass. The job must delete
    exactly the 3 expired rows, return 3, and leave the 2 live sessions readable.
    """
    import shutil
    import tempfile

    now = [1_000_000.0]
    directory = tempfile.mkdtemp(prefix="course00-check-")
    store = SqliteStore(Path(directory) / "check.db", default_ttl=1000, clock=lambda: now[0])
    passed = False
    try:
        [store.create({"user_id": i}, ttl=10) for i in range(3)]
        live = [store.create({"user_id": i}, ttl=1000) for i in range(3, 5)]
        now[0] += 60
        returned = cleanup(store.conn, now[0])
        left = store.stored_count()
        still_there = all(store.get(sid) is not None for sid in live)
        print(f"returned {returned!r} (expected 3): {'ok' if returned == 3 else 'FAIL'}")
        print(f"rows left: {left} (expected 2): {'ok' if left == 2 else 'FAIL'}")
        print(f"live sessions still readable: {still_there}")
        passed = returned == 3 and left == 2 and still_there
        print("PASSED: your cleanup job deletes exactly the expired rows." if passed else
              "Not yet: delete the rows whose expires_at is <= now, and return cursor.rowcount.")
    finally:
        store.close()
        shutil.rmtree(directory, ignore_errors=True)
    return passed


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["peek"]:
        return _peek_main()
    print("usage: python -m lessons.stores peek  < [{\"kind\", \"spec\", \"session_id\"}, ...]",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
