"""lessons.store_experiments: the lost-update counter and the round-trip table (both backends)."""

from __future__ import annotations

import warnings

import pytest

from lessons.store import SessionStore
from lessons.store_experiments import concurrent_updates, print_round_trips, round_trips

PER_NODE = ("a pipeline, or requests to keys in two slots, cost one request per node on a cluster, "
            "so single-server round-trip counts differ (tests/test_cluster_store.py checks the cluster's)")


class NaiveStore:
    """Read, merge, write back: loses concurrent updates (the lesson's pattern)."""

    def __init__(self, client, prefix):
        self.r, self.prefix = client, prefix

    def create(self, data):
        self.r.set(f"{self.prefix}:s", "{}", ex=60)
        return "s"

    def get(self, sid):
        import json
        return json.loads(self.r.get(f"{self.prefix}:{sid}"))

    def update(self, sid, data):
        import json
        current = self.get(sid)
        self.r.set(f"{self.prefix}:{sid}", json.dumps({**current, **data}), ex=60)


def test_concurrent_updates_counts_every_write_of_an_atomic_store(redis_url, prefix):
    store = SessionStore(redis_url, prefix=prefix)
    sid = store.create({"user_id": 1})
    assert concurrent_updates(store, sid, threads=4, updates=10) == 40


def test_concurrent_updates_sees_lost_writes(client, prefix):
    store = NaiveStore(client, prefix)
    assert concurrent_updates(store, store.create({}), threads=8, updates=30) < 240


@pytest.mark.cluster_unsupported(PER_NODE)
def test_round_trips_of_the_improved_store(redis_url, prefix, monkeypatch, capsys):
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


def test_round_trips_marks_missing_operations(redis_url, prefix, monkeypatch):
    monkeypatch.setenv("REDIS_URL", redis_url)

    class NoSlidingGet(SessionStore):
        def get(self, session_id):  # no refresh= parameter, like the lesson's store
            return super().get(session_id)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = round_trips(lambda client: NoSlidingGet(client=client, prefix=prefix))
    assert rows["get(refresh=True)"] is None and rows["get"].count == 1
