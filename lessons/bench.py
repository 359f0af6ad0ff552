"""Bulk sessions, benchmarks and experiments for Exercise 3 (演習3): how revoking scales.

- ``populate`` writes many sessions quickly, in the same format as ``SessionStore.create``
  (JSON value with a TTL at the session key, the user's index: names from ``lessons.keys``),
  through pipelines: one round trip per ``batch`` sessions instead of one per session.
- ``measure`` runs a function on a fresh round-trip-counting client and returns how long it took
  and how many round trips it made (counted, never claimed).
- ``revoke_scaling`` revokes one user's sessions among more and more sessions with each method
  you give it, and checks every time that exactly that user's sessions went.
- ``DuplicatingScan`` / ``ExpiresAfterGet`` wrap a client to make rare events happen on demand
  (SCAN returning a key twice; a key expiring between GET and TTL).
- ``check_live_session_ids``: the check of notebook 03's "Your turn".

Timings depend on the machine, on the backend (the embedded server is a Python simulation, far
slower per command than Redis) and on whatever else runs: notebooks show them as measurements.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

import redis

from . import backend
from .admin import LastSeen
from .roundtrips import counting_client
from .keys import KeySchema
from .store import SessionStore

__all__ = ["FIRST_BULK_USER", "populate", "measure", "Measurement", "revoke_scaling",
           "format_table", "DuplicatingScan", "ExpiresAfterGet", "check_live_session_ids"]

#: Bulk users are numbered from here, so they never collide with a demo's small user IDs.
FIRST_BULK_USER = 1_000_000


def populate(client: redis.Redis, prefix: str, count: int, *, first: int = 0,
             per_user: int = 10, ttl: int = 600, batch: int = 5000,
             last_seen: LastSeen | None = None) -> list[str]:
    """Create ``count`` sessions for bulk users; returns their IDs.

    Session number ``n`` (counting from ``first``, so calls can grow one population) belongs to
    user ``FIRST_BULK_USER + n // per_user``. Per session: ``SET <session key> json EX ttl``;
    per user and batch: one ZADD of its IDs plus ``EXPIRE NX`` / ``EXPIRE GT`` on its index,
    as ``SessionStore.create`` does (and a ``LastSeen.touch`` if ``last_seen`` is given).
    One pipelined round trip per ``batch`` sessions.
    """
    if count < 0 or per_user <= 0 or batch <= 0 or ttl <= 0:
        raise ValueError("count >= 0, and per_user, batch and ttl > 0, please")
    now_iso = datetime.now(timezone.utc).isoformat()
    now_ms = int(time.time() * 1000)
    keys = KeySchema(prefix)
    ids: list[str] = []
    for start in range(first, first + count, batch):
        stop = min(start + batch, first + count)
        pipe = client.pipeline(transaction=False)
        by_user: dict[int, dict[str, int]] = {}
        for n in range(start, stop):
            user = FIRST_BULK_USER + n // per_user
            sid = secrets.token_urlsafe(32)
            value = {"idle_ttl": ttl, "user_id": user, "username": f"user{user}",
                     "created_at": now_iso, "last_accessed": now_iso}
            pipe.set(keys.session_key(sid), json.dumps(value), ex=ttl)
            by_user.setdefault(user, {})[sid] = now_ms
            ids.append(sid)
        for user, members in by_user.items():
            index = keys.index_key(user)
            pipe.zadd(index, members)
            pipe.expire(index, 2 * ttl, nx=True)
            pipe.expire(index, 2 * ttl, gt=True)
            if last_seen is not None:
                last_seen.touch(user, pipe=pipe, now_ms=now_ms)
        pipe.execute()
    return ids


def measure(fn: Callable[[redis.Redis], Any], url: str | None = None) -> tuple[float, int, Any]:
    """Run ``fn(client)`` on a fresh counting client: (seconds, round trips, what fn returned)."""
    client, trips = counting_client(url)
    try:
        with trips.measure() as m:
            start = time.perf_counter()
            result = fn(client)
            seconds = time.perf_counter() - start
        return seconds, m.count, result
    finally:
        client.close()


@dataclass
class Measurement:
    """One revoke: which method, among how many sessions, how long, how many round trips."""

    method: str
    sessions: int
    seconds: float
    round_trips: int
    revoked: int
    only_that_user: bool  # the user's sessions are gone, every other session is still there


def _all_exist(client: redis.Redis, keys: list[str], chunk: int = 10_000) -> bool:
    found = 0
    for start in range(0, len(keys), chunk):
        found += client.exists(*keys[start:start + chunk])
    return found == len(keys)


def revoke_scaling(
    methods: dict[str, Callable[[redis.Redis, str, int | str], int]],
    sizes: Iterable[int],
    prefix: str,
    *,
    url: str | None = None,
    user_id: int | str = 42,
    user_sessions: int = 5,
    repeats: dict[str, int] | None = None,
    ttl: int = 600,
    on_size: Callable[[int], None] | None = None,
    last_seen: LastSeen | None = None,
) -> list[Measurement]:
    """Revoke one user's ``user_sessions`` sessions among each total in ``sizes``, per method.

    ``methods`` maps a name to ``revoke(client, prefix, user_id) -> int``. For each size (in
    increasing order) the population grows to ``size - user_sessions`` bulk sessions; then, per
    method, the user logs in ``user_sessions`` times through ``SessionStore`` and the method
    revokes them on a counting client. A method listed in ``repeats`` runs that many times and
    keeps the fastest run (for sub-millisecond timings). ``on_size(size)`` is called after each
    size (e.g. to print progress); ``last_seen`` records the bulk users in a ``LastSeen`` set.
    Keys are left in place (the largest population, without that user): ``delete_prefix`` them
    afterwards.
    """
    url = url or backend.redis_url()
    client = backend.connect(url)
    store = SessionStore(client=client, prefix=prefix, default_ttl=ttl)
    repeats = repeats or {}
    others: list[str] = []
    rows: list[Measurement] = []
    try:
        for size in sorted(sizes):
            missing = size - user_sessions - len(others)
            if missing < 0:
                raise ValueError(f"sizes must be >= {user_sessions} and increasing")
            others += populate(client, prefix, missing, first=len(others), ttl=ttl,
                               last_seen=last_seen)
            other_keys = [store.key(sid) for sid in others]
            for name, revoke in methods.items():
                best: Measurement | None = None
                for _ in range(repeats.get(name, 1)):
                    client.delete(store.keys.index_key(user_id))  # start from a clean index
                    mine = [store.create({"user_id": user_id, "username": "target"})
                            for _ in range(user_sessions)]
                    seconds, trips, revoked = measure(
                        lambda c: revoke(c, prefix, user_id), url)
                    gone = client.exists(*[store.key(sid) for sid in mine]) == 0
                    row = Measurement(name, size, seconds, trips, int(revoked), gone)
                    if best is None or row.seconds < best.seconds:
                        best = row
                assert best is not None
                best.only_that_user = best.only_that_user and _all_exist(client, other_keys)
                rows.append(best)
            client.delete(store.keys.index_key(user_id))
            if on_size is not None:
                on_size(size)
    finally:
        client.close()
    return rows


def format_table(rows: Iterable[Measurement]) -> str:
    """The measurements as an aligned text table (times in ms)."""
    lines = [f"{'method':<22}{'sessions':>10}{'time (ms)':>12}{'round trips':>13}"
             f"{'revoked':>9}{'only that user':>16}"]
    for r in rows:
        lines.append(f"{r.method:<22}{r.sessions:>10,}{r.seconds * 1000:>12.2f}"
                     f"{r.round_trips:>13,}{r.revoked:>9}{str(r.only_that_user):>16}")
    return "\n".join(lines)


# -- experiments: what SCAN and expiry can do to an admin tool ------------------------------------
class _Wrapper:
    """Delegates everything to a real client except what a subclass overrides."""

    def __init__(self, client: redis.Redis):
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class DuplicatingScan(_Wrapper):
    """A client whose SCAN returns every key of a batch twice.

    Redis may return a key more than once during one iteration (when its hash table is resized
    between two calls); this makes that happen every time, so the effect can be shown.
    """

    def scan(self, cursor: int = 0, match: str | None = None, count: int | None = None,
             **kwargs: Any) -> tuple[int, list[str]]:
        cursor, keys = self._client.scan(cursor, match=match, count=count, **kwargs)
        return cursor, list(keys) + list(keys)


class ExpiresAfterGet(_Wrapper):
    """A client on which every key expires right after a GET has read it.

    It plays a session reaching the end of its TTL between the lesson's GET and TTL calls, so
    the TTL answers -2 ("no such key").
    """

    def get(self, name: str) -> Any:
        value = self._client.get(name)
        self._client.delete(name)
        return value


# -- "Your turn" check ---------------------------------------------------------------------------
def check_live_session_ids(live_session_ids: Callable[[redis.Redis, str, int | str], list[str]]
                           ) -> bool:
    """``live_session_ids(client, prefix, user_id)`` must return the IDs of that user's live
    sessions from the index ``{prefix}-by-user:{user_id}``, in at most two round trips, without
    SCAN or KEYS, leaving out index entries whose session is gone. Prints one line per check."""
    import uuid

    client, trips = counting_client(backend.redis_url())
    prefix = f"exercise03-{uuid.uuid4().hex[:8]}"
    store = SessionStore(client=client, prefix=prefix, default_ttl=60)
    results: list[tuple[bool, str]] = []
    try:
        populate(client, prefix, 300, ttl=60)
        mine = [store.create({"user_id": 7, "username": "grace"}) for _ in range(3)]
        theirs = [store.create({"user_id": 8, "username": "alan"}) for _ in range(2)]
        client.delete(f"{prefix}:{mine[0]}")  # gone, but its index entry stays behind
        with trips.measure() as m:
            got = live_session_ids(client, prefix, 7)
        got_list = list(got or [])
        results.append((sorted(got_list) == sorted(mine[1:]),
                        "returns exactly the user's 2 live sessions"
                        + ("" if sorted(got_list) == sorted(mine[1:])
                           else f" (got {len(got_list)} IDs; "
                                f"{len(set(got_list) & set(theirs))} of another user's, "
                                f"{int(mine[0] in got_list)} of a deleted session)")))
        results.append((len(got_list) == len(set(got_list)), "lists each session once"))
        scanned = [c for c in m.commands if c.split()[0] in ("SCAN", "KEYS")]
        results.append((not scanned, "uses the index, not SCAN or KEYS"
                        + ("" if not scanned else f" (sent {scanned[0]})")))
        results.append((m.count <= 2, f"at most 2 round trips (counted: {m.count})"))
        with trips.measure() as m:
            nobody = live_session_ids(client, prefix, 9)
        results.append((list(nobody or []) == [], "a user without sessions gets an empty list"))
    except Exception as exc:  # noqa: BLE001 - report the learner's error, do not raise it
        results.append((False, f"your function raised {type(exc).__name__}: {exc}"))
    finally:
        backend.delete_prefix(client, prefix)
        client.close()
    for ok, text in results:
        print(("✓ " if ok else "✗ ") + text)
    passed = all(ok for ok, _ in results)
    print("All checks passed." if passed else "Some checks failed: fix your function and run both "
          "cells again.")
    return passed
