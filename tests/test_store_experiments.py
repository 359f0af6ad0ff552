"""lessons.store_experiments: the lost-update experiments and the round-trip table (both backends).

The lost update is staged (``lockstep_updates``: every thread reads before any writes), so the
exact counts below hold whatever the machine's load; nothing here waits for a race by luck."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest
import redis
from pytest import MonkeyPatch

from lessons.backend import Client
from lessons.errors import RetryLimitExceeded
from lessons.store import SessionStore
from lessons.store_experiments import (
    UpdateRun,
    concurrent_updates,
    lockstep_updates,
    print_round_trips,
    round_trips,
)

PER_NODE = (
    "a pipeline, or requests to keys in two slots, cost one request per node on a cluster, so "
    "single-server round-trip counts differ (tests/test_rediscluster_store.py checks the cluster's)"
)


class NaiveStore:
    """Read, merge, write back: loses concurrent updates (the lesson's pattern)."""

    def __init__(self, client: Client, prefix: str) -> None:
        self.r, self.prefix = client, prefix

    def create(self, data: dict[str, Any]) -> str:
        self.r.set(f"{self.prefix}:s", "{}", ex=60)
        return "s"

    def get(self, sid: str) -> dict[str, Any]:
        import json

        raw = self.r.get(f"{self.prefix}:{sid}")
        assert raw is not None
        session: dict[str, Any] = json.loads(raw)
        return session

    def update(self, sid: str, data: dict[str, Any]) -> None:
        import json

        current = self.get(sid)
        self.r.set(f"{self.prefix}:{sid}", json.dumps({**current, **data}), ex=60)


def test_concurrent_updates_counts_every_write_of_an_atomic_store(redis_url: str, prefix: str) -> None:
    store = SessionStore(redis_url, prefix=prefix)
    sid = store.create({"user_id": 1})
    run = concurrent_updates(store, sid, threads=4, updates=10)
    assert (run.kept, run.lost, dict(run.failures)) == (40, 0, {})
    assert run.report() == "40 of 40 writes survived, 0 lost"
    session = store.get(sid)
    assert store.r is not None and session is not None and session["w3_9"] == 9


def test_lockstep_loses_all_but_one_write_per_round_of_a_read_merge_write_store(
    client: Client, prefix: str
) -> None:
    """Every thread reads before any writes, so each round keeps exactly the last writer's field."""
    store = NaiveStore(client, prefix)
    run = lockstep_updates(store, store.create({}), threads=8, rounds=4)
    assert (run.kept, run.lost, run.retried, dict(run.failures)) == (4, 28, 0, {})
    assert run.report() == "4 of 32 writes survived, 28 lost"
    assert store.r is client  # the stand-in client is gone again


def test_lockstep_keeps_every_write_of_the_improved_store(client: Client, prefix: str) -> None:
    """The same staging: in each round one EXEC wins and the 7 others are refused, every time."""
    store = SessionStore(client=client, prefix=prefix)
    sid = store.create({"user_id": 1})
    run = lockstep_updates(store, sid, threads=8, rounds=4)
    assert (run.kept, run.lost, run.retried, dict(run.failures)) == (32, 0, 28, {})
    assert run.retries >= 28
    assert run.report(retried=True) == (
        "32 of 32 writes survived, 0 lost; 28 of 32 updates were refused at first and ran again"
    )
    assert store.r is client


class FailingStore(NaiveStore):
    """Thread 0's updates raise before reading anything; thread 1's give up after reading."""

    def update(self, sid: str, data: dict[str, Any]) -> None:
        (name,) = data
        if name.startswith("w0_"):
            raise redis.ConnectionError("Redis is down")
        if name.startswith("w1_"):
            self.get(sid)
            raise RetryLimitExceeded("update gave up")
        super().update(sid, data)


@pytest.mark.parametrize("experiment", [lockstep_updates, concurrent_updates])
def test_failed_updates_are_counted_and_explained_not_raised(
    client: Client, prefix: str, experiment: Callable[..., UpdateRun]
) -> None:
    store = FailingStore(client, prefix)
    run = experiment(store, store.create({}), 3, 2)  # neither staging waits for a thread forever
    assert dict(run.failures) == {"ConnectionError": 2, "RetryLimitExceeded": 2}
    assert run.kept + run.lost == 2
    assert run.report().splitlines()[1:] == [
        "2 of 6 updates raised ConnectionError (Redis could not be reached): the caller got the "
        "error, so this write was not lost silently",
        "2 of 6 updates raised RetryLimitExceeded (the store gave up after its retry budget of "
        "conflicts): the caller got the error, so this write was not lost silently",
    ]


@pytest.mark.cluster_unsupported(PER_NODE)
def test_round_trips_of_the_improved_store(
    redis_url: str, prefix: str, monkeypatch: MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    rows = round_trips(lambda client: SessionStore(client=client, prefix=prefix))
    commands = {op: (None if m is None else m.commands) for op, m in rows.items()}
    assert commands == {
        "create": ["SET"],
        "create (logged in)": ["ZADD PEXPIRE PEXPIRE SET"],
        "get": ["GET"],
        "get(refresh=True)": ["GETEX"],
        "refresh": ["GETEX"],
        "update (refresh=True)": ["WATCH", "GET", "MULTI SET EXEC"],
        "update (refresh=False)": ["WATCH", "GET", "MULTI SET PEXPIRE EXEC"],
        "regenerate": ["EVALSHA", "ZADD PEXPIRE PEXPIRE ZREM", "SET"],
        "delete": ["GETDEL"],
        "delete (logged in)": ["GETDEL", "ZREM"],
        "get (malformed ID)": [],
    }
    print_round_trips({"get": rows["get"], "regenerate": None}, rows)
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["operation", "lesson", "improved", "improved", "store", "sends"]
    assert out[3].split() == ["get", "1", "1", "GET"]
    assert out[8].split()[:3] == ["regenerate", "—", "3"]
    assert out[1].split() == ["create", "—", "1", "SET"]  # not in the lesson's rows
    assert out[-1].split() == ["get", "(malformed", "ID)", "—", "0", "(nothing)"]


def test_round_trips_marks_missing_operations(redis_url: str, prefix: str, monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)

    class NoSlidingGet(SessionStore):
        def get(self, session_id: str) -> dict[str, Any] | None:  # type: ignore[override]  # no refresh=, like the lesson's store
            return super().get(session_id)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = round_trips(lambda client: NoSlidingGet(client=client, prefix=prefix))
    get = rows["get"]
    assert rows["get(refresh=True)"] is None and get is not None and get.count == 1
