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
- ``round_trip_time`` and ``choose_sizes``: how long one round trip to this Redis takes
  (measured with PINGs), and which population sizes the benchmark can afford with it.

Timings depend on the machine, on the backend (the embedded server is a Python simulation, far
slower per command than Redis) and on whatever else runs: notebooks show them as measurements.
"""

from __future__ import annotations

import functools
import json
import secrets
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from . import backend
from .admin import LastSeen
from .backend import Client
from .i18n import _, pad, width
from .keys import KeySchema
from .roundtrips import counting_client
from .store import SessionStore

__all__ = [
    "CANDIDATE_SIZES",
    "FIRST_BULK_USER",
    "DuplicatingScan",
    "ExpiresAfterGet",
    "Measurement",
    "choose_sizes",
    "format_table",
    "measure",
    "populate",
    "revoke_scaling",
    "round_trip_time",
]

#: Bulk users are numbered from here, so they never collide with a demo's small user IDs.
FIRST_BULK_USER = 1_000_000


def populate(
    client: Client,
    prefix: str,
    count: int,
    *,
    first: int = 0,
    per_user: int = 10,
    ttl: int = 600,
    batch: int = 5000,
    last_seen: LastSeen | None = None,
) -> list[str]:
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
            value = {
                "idle_ttl": ttl,
                "user_id": user,
                "username": f"user{user}",
                "created_at": now_iso,
                "last_accessed": now_iso,
            }
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


def measure(fn: Callable[[Client], Any], url: str | None = None) -> tuple[float, int, Any]:
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


def _all_exist(client: Client, keys: list[str], chunk: int = 10_000) -> bool:
    found = 0
    for start in range(0, len(keys), chunk):
        found += client.exists(*keys[start : start + chunk])
    return found == len(keys)


def _run_revoke(
    revoke: Callable[[Client, str, int | str], int], client: Client, *, prefix: str, user_id: int | str
) -> int:
    return revoke(client, prefix, user_id)


def revoke_scaling(
    methods: dict[str, Callable[[Client, str, int | str], int]],
    sizes: Iterable[int],
    prefix: str,
    *,
    url: str | None = None,
    user_id: int | str = 42,
    user_sessions: int = 5,
    repeats: dict[str, int] | None = None,
    ttl: int = 600,
    progress: bool = False,
    budget_seconds: float | None = None,
    last_seen: LastSeen | None = None,
) -> list[Measurement]:
    """Revoke one user's ``user_sessions`` sessions among each total in ``sizes``, per method.

    ``methods`` maps a name to ``revoke(client, prefix, user_id) -> int``. For each size (in
    increasing order) the population grows to ``size - user_sessions`` bulk sessions; then, per
    method, the user logs in ``user_sessions`` times through ``SessionStore`` and the method
    revokes them on a counting client. A method listed in ``repeats`` runs that many times and
    keeps the fastest run (for sub-millisecond timings). ``progress=True`` prints a line after
    each size (with the time spent so far). With ``budget_seconds``, a size is skipped (with the
    larger ones) when the previous size's time, scaled to it, says it would end past the budget;
    the first three sizes always run. ``last_seen`` records the bulk users in a ``LastSeen`` set.
    Keys are left in place (the largest population, without that user): ``delete_prefix`` them
    afterwards.
    """
    url = url or backend.redis_url()
    client = backend.connect(url)
    store = SessionStore(client=client, prefix=prefix, default_ttl=ttl)
    repeats = repeats or {}
    others: list[str] = []
    rows: list[Measurement] = []
    started = time.perf_counter()
    previous: tuple[int, float] | None = None  # (size, seconds it took)
    try:
        for done, size in enumerate(sorted(sizes)):
            size_started = time.perf_counter()
            if budget_seconds is not None and previous is not None and done >= 3:
                predicted = previous[1] * size / previous[0]
                if size_started - started + predicted > budget_seconds:
                    if progress:
                        print(
                            _(
                                "{size:>9,} sessions: skipped, about {predicted:.0f} s more would "
                                "overrun the {budget:g} s budget",
                                size=size,
                                predicted=predicted,
                                budget=budget_seconds,
                            ),
                            flush=True,
                        )
                    break
            missing = size - user_sessions - len(others)
            if missing < 0:
                raise ValueError(f"sizes must be >= {user_sessions} and increasing")
            others += populate(client, prefix, missing, first=len(others), ttl=ttl, last_seen=last_seen)
            other_keys = [store.key(sid) for sid in others]
            for name, revoke in methods.items():
                best: Measurement | None = None
                for _round in range(repeats.get(name, 1)):
                    client.delete(store.keys.index_key(user_id))  # start from a clean index
                    mine = [
                        store.create({"user_id": user_id, "username": "target"})
                        for _n in range(user_sessions)
                    ]
                    seconds, trips, revoked = measure(
                        functools.partial(_run_revoke, revoke, prefix=prefix, user_id=user_id), url
                    )
                    gone = client.exists(*[store.key(sid) for sid in mine]) == 0
                    row = Measurement(name, size, seconds, trips, int(revoked), gone)
                    if best is None or row.seconds < best.seconds:
                        best = row
                assert best is not None
                best.only_that_user = best.only_that_user and _all_exist(client, other_keys)
                rows.append(best)
            client.delete(store.keys.index_key(user_id))
            previous = (size, time.perf_counter() - size_started)
            if progress:
                print(
                    _(
                        "{size:>9,} sessions: measured ({seconds:.1f} s so far)",
                        size=size,
                        seconds=time.perf_counter() - started,
                    ),
                    flush=True,
                )
    finally:
        client.close()
    return rows


#: The population sizes ``choose_sizes`` picks from, smallest first.
CANDIDATE_SIZES = (500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000)


def round_trip_time(client: Client, pings: int = 50) -> float:
    """Seconds one round trip to Redis takes: the median of ``pings`` PINGs, one at a time."""
    if pings <= 0:
        raise ValueError("pings must be > 0")
    times = []
    for _round in range(pings):
        start = time.perf_counter()
        client.ping()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def choose_sizes(
    round_trip: float,
    budget_seconds: float = 6.0,
    *,
    minimum: int = 3,
    candidates: Iterable[int] = CANDIDATE_SIZES,
) -> tuple[int, ...]:
    """The population sizes a ``revoke_scaling`` run can afford in about ``budget_seconds``.

    Cost model: the lesson's revoke makes one round trip per session in Redis (a GET each), and
    writing the population plus the other methods cost about as much again, so each size costs
    about ``2 * size * round_trip`` seconds. Sizes are taken smallest first while the estimate of
    all of them stays within the budget; the ``minimum`` smallest are always taken (on a remote
    Redis with 1 ms round trips: 500, 1 000 and 2 000 sessions, so about 3 500 round trips for
    the lesson's revoke). The embedded server
    spends more per command than a PING shows: ``revoke_scaling(budget_seconds=…)`` also stops
    early when the sizes measured so far say the next one would overrun.
    """
    if round_trip <= 0 or budget_seconds <= 0:
        raise ValueError("round_trip and budget_seconds must be > 0")
    chosen: list[int] = []
    for size in sorted(candidates):
        estimate = 2 * round_trip * (sum(chosen) + size)
        if len(chosen) >= minimum and estimate > budget_seconds:
            break
        chosen.append(size)
    return tuple(chosen)


def format_table(rows: Iterable[Measurement]) -> str:
    """The measurements as an aligned text table (times in ms). Headers in the course's language;
    a column widens when its header needs it (display width: ``lessons.i18n.pad``)."""
    headers = [
        _("method"),
        _("sessions"),
        _("time (ms)"),
        _("round trips"),
        _("revoked"),
        _("only that user"),
    ]
    w = [max(least, width(h) + 1) for least, h in zip((21, 10, 12, 13, 9, 16), headers)]
    w[0] += 1  # the method column is left-aligned: its space is after the name
    lines = [pad(headers[0], w[0]) + "".join(pad(h, n, ">") for h, n in zip(headers[1:], w[1:]))]
    for r in rows:
        lines.append(
            f"{r.method:<{w[0]}}{r.sessions:>{w[1]},}{r.seconds * 1000:>{w[2]}.2f}"
            f"{r.round_trips:>{w[3]},}{r.revoked:>{w[4]}}{r.only_that_user!s:>{w[5]}}"
        )
    return "\n".join(lines)


# -- experiments: what SCAN and expiry can do to an admin tool ------------------------------------
class _Wrapper:
    """Delegates everything to a real client except what a subclass overrides."""

    def __init__(self, client: Client):
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class DuplicatingScan(_Wrapper):
    """A client whose SCAN returns every key of a batch twice.

    Redis may return a key more than once during one iteration (when its hash table is resized
    between two calls); this makes that happen every time, so the effect can be shown.
    """

    def scan(
        self, cursor: int = 0, match: str | None = None, count: int | None = None, **kwargs: Any
    ) -> tuple[int, list[str]]:
        cursor, keys = self._client.scan(cursor, match=match, count=count, **kwargs)
        found = [str(k) for k in keys]
        return cursor, found + found


class ExpiresAfterGet(_Wrapper):
    """A client on which every key expires right after a GET has read it.

    It plays a session reaching the end of its TTL between the lesson's GET and TTL calls, so
    the TTL answers -2 ("no such key").
    """

    def get(self, name: str) -> Any:
        value = self._client.get(name)
        self._client.delete(name)
        return value
