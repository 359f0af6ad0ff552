"""``lessons.bench`` (bulk sessions, the revoke benchmark, round-trip time and sizes) and the
"Your turn" check of notebook 03 (``lessons.checks.admin``), on both backends."""

from __future__ import annotations

import json
import math
import time
from typing import cast

import pytest
from pytest import MonkeyPatch

from lessons import bench
from lessons.admin import LastSeen, SessionAdmin
from lessons.backend import Client
from lessons.checks.admin import check_live_session_ids
from lessons.classroom import namespace
from lessons.event_loop import slow_client
from lessons.roundtrips import RoundTrips, counting_client
from lessons.store import SessionStore

TTL = 60

#: Why some tests are skipped on a Redis Cluster.
PER_NODE = (
    "a pipeline is one request per node it touches, so the single-server round-trip "
    "count differs; tests/test_rediscluster_store.py checks the cluster's counts"
)


# -- bench helpers -------------------------------------------------------------------------------
def test_populate_writes_sessions_like_the_store(client: Client, prefix: str) -> None:
    with_last_seen = LastSeen(client, prefix, window=TTL)
    sids = bench.populate(client, prefix, 25, per_user=10, ttl=TTL, batch=10, last_seen=with_last_seen)
    assert len(set(sids)) == 25
    store = SessionStore(client=client, prefix=prefix, default_ttl=TTL)
    admin = SessionAdmin(client, prefix)
    first = bench.FIRST_BULK_USER
    session = store.get(sids[0])
    assert session is not None and session["user_id"] == first
    assert [len(admin.list_sessions(first + n)) for n in range(3)] == [10, 10, 5]
    assert admin.get_active_users_count() == 3 == with_last_seen.count()
    assert all(0 < client.ttl(k) <= TTL for k in client.scan_iter(match=f"{prefix}:*"))
    # indexes live twice the idle TTL, as the store keeps them
    assert all(TTL < client.ttl(k) <= 2 * TTL for k in client.scan_iter(match=f"{prefix}-by-user:*"))


@pytest.mark.cluster_unsupported(PER_NODE)
def test_populate_uses_one_round_trip_per_batch(redis_url: str, prefix: str) -> None:
    client, trips = counting_client(redis_url)
    try:
        with trips.measure() as m:
            bench.populate(client, prefix, 250, batch=100, ttl=TTL)
        assert m.count == math.ceil(250 / 100)
    finally:
        client.close()


@pytest.mark.cluster_unsupported(PER_NODE)
def test_revoke_scaling_measures_and_checks(redis_url: str, prefix: str) -> None:
    def by_index(c: Client, p: str, u: int | str) -> int:
        return SessionAdmin(c, p).revoke_all_sessions(u)

    def by_scan(c: Client, p: str, u: int | str) -> int:
        return SessionAdmin(c, p).revoke_by_scan(u)

    rows = bench.revoke_scaling(
        {"per-user index": by_index, "SCAN + pipeline": by_scan},
        [20, 200],
        prefix,
        url=redis_url,
        repeats={"per-user index": 2},
        ttl=TTL,
    )
    assert [(r.method, r.sessions) for r in rows] == [
        ("per-user index", 20),
        ("SCAN + pipeline", 20),
        ("per-user index", 200),
        ("SCAN + pipeline", 200),
    ]
    assert all(r.revoked == 5 and r.only_that_user and r.seconds > 0 for r in rows)
    assert [r.round_trips for r in rows if r.method == "per-user index"] == [3, 3]
    assert "round trips" in bench.format_table(rows)


def test_revoke_scaling_prints_one_progress_line_per_size(
    redis_url: str, prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def by_index(c: Client, p: str, u: int | str) -> int:
        return SessionAdmin(c, p).revoke_all_sessions(u)

    bench.revoke_scaling(
        {"per-user index": by_index}, [10, 30], prefix, url=redis_url, ttl=TTL, progress=True
    )
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" sessions:")[0].strip() for line in lines] == ["10", "30"]
    assert all(line.endswith(" s so far)") and ": measured (" in line for line in lines)


def test_round_trip_time_is_the_median_of_pings(counted_client: tuple[Client, RoundTrips]) -> None:
    """Seven PINGs, each its own round trip; the answer is the median one's duration: the four
    slowest of seven each took at least that long (an ordering, whatever the machine's load)."""
    client, trips = counted_client
    with trips.measure() as m:
        started = time.perf_counter()
        seconds = bench.round_trip_time(client, pings=7)
        took = time.perf_counter() - started
    assert m.commands == ["PING"] * 7
    assert 0 < seconds and 4 * seconds <= took
    with pytest.raises(ValueError, match="pings must be > 0"):
        bench.round_trip_time(client, pings=0)


def test_round_trip_time_measures_the_wait_for_a_reply(redis_url: str) -> None:
    """On a client 50 ms from Redis (``slow_client``), the median PING takes at least 50 ms."""
    if not redis_url.startswith("redis://"):
        pytest.skip("slow_client supports redis:// URLs only")
    far = slow_client(0.05, redis_url)
    try:
        assert bench.round_trip_time(far, pings=3) >= 0.05
    finally:
        far.close()


@pytest.mark.parametrize(
    "round_trip, sizes",
    [
        (0.000_05, (500, 1_000, 2_000, 5_000, 10_000, 20_000)),  # a local Redis
        (0.000_2, (500, 1_000, 2_000, 5_000)),  # the embedded server
        (0.001, (500, 1_000, 2_000)),  # a remote Redis, 1 ms away
        (0.05, (500, 1_000, 2_000)),  # the minimum, however slow
    ],
)
def test_choose_sizes_fits_the_budget(round_trip: float, sizes: tuple[int, ...]) -> None:
    chosen = bench.choose_sizes(round_trip, 6.0)
    assert chosen == sizes
    assert len(chosen) == 3 or 2 * round_trip * sum(chosen) <= 6.0


def test_choose_sizes_keeps_a_remote_redis_under_a_minute() -> None:
    """1 ms round trips: the lesson's revoke alone makes one per session of every size."""
    assert 0.001 * sum(bench.choose_sizes(0.001, 6.0)) < 60 / 10


def test_revoke_scaling_stops_before_a_size_that_would_overrun_its_budget(
    redis_url: str, prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def slow_index(c: Client, p: str, u: int | str) -> int:
        time.sleep(0.05)
        return SessionAdmin(c, p).revoke_all_sessions(u)

    rows = bench.revoke_scaling(
        {"per-user index": slow_index},
        [10, 20, 30, 900, 1800],
        prefix,
        url=redis_url,
        ttl=TTL,
        progress=True,
        budget_seconds=0.5,
    )
    assert [r.sessions for r in rows] == [10, 20, 30]  # the first three always run
    out = capsys.readouterr().out  # 900 would take 30x the time 30 took
    assert "      900 sessions: skipped" in out and "1,800" not in out


def test_choose_sizes_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="round_trip and budget_seconds must be > 0"):
        bench.choose_sizes(0)
    with pytest.raises(ValueError, match="round_trip and budget_seconds must be > 0"):
        bench.choose_sizes(0.001, budget_seconds=-1)


# -- the "Your turn" check ------------------------------------------------------------------------
@pytest.mark.cluster_unsupported(PER_NODE)
def test_check_live_session_ids_passes_a_solution_and_fails_a_scan(
    redis_url: str, monkeypatch: MonkeyPatch, capsys: pytest.CaptureFixture[str], learner: str
) -> None:
    monkeypatch.setattr("lessons.backend.redis_url", lambda: redis_url)

    def solution(client: Client, prefix: str, user_id: int | str) -> list[str]:
        members = cast("list[str]", client.zrange(f"{prefix}-by-user:{user_id}", 0, -1))
        if not members:
            return []
        pipe = client.pipeline(transaction=False)
        for sid in members:
            pipe.exists(f"{prefix}:{sid}")
        return [sid for sid, alive in zip(members, pipe.execute()) if alive]

    def lesson_style(client: Client, prefix: str, user_id: int | str) -> list[str]:
        return [
            k[len(prefix) + 1 :]
            for k in client.scan_iter(match=f"{prefix}:*")
            if json.loads(client.get(k) or "{}").get("user_id") == user_id
        ]

    assert check_live_session_ids(solution) is True
    out = capsys.readouterr().out
    assert "✗" not in out and out.rstrip().endswith("All checks passed.")
    assert check_live_session_ids(lesson_style) is False
    out = capsys.readouterr().out
    assert "✓ returns exactly user 7's 2 live sessions" in out
    assert "✗ finds them through the index, without SCAN or KEYS (saw 'SCAN')" in out
    assert "✗ in at most 2 round trips" in out
    assert check_live_session_ids(lambda c, p, u: 1 / 0) is False
    assert "✗ your code raised ZeroDivisionError" in capsys.readouterr().out


def test_check_live_session_ids_on_a_stub_fails_every_check_and_cleans_up(
    redis_url: str, client: Client, monkeypatch: MonkeyPatch, capsys: pytest.CaptureFixture[str], learner: str
) -> None:
    monkeypatch.setattr("lessons.backend.redis_url", lambda: redis_url)
    before = set(client.scan_iter(match=f"{namespace('03')}:check-*"))
    assert check_live_session_ids(lambda c, p, u: None) is False
    out = capsys.readouterr().out
    assert out.count("✗") == 5 and "✓" not in out
    assert out.rstrip().endswith("Edit your code above, run its cell, then run this check again.")
    # a stub that answers [] has the two trivial properties, which count for nothing yet
    assert check_live_session_ids(lambda c, p, u: []) is False
    out = capsys.readouterr().out
    assert "✓" not in out and out.count("✗") == 3 and out.count("· ") == 2
    assert set(client.scan_iter(match=f"{namespace('03')}:check-*")) == before
