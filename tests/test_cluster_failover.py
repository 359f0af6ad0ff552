"""lessons.failover, lessons.cluster_designs, lessons.cluster_demo and lessons.checks.cluster.

The pure parts run without Redis; the rest on a 3-master + 3-replica cluster this module starts
from ``redis-server`` (skipped, saying how to install it, when there is none). The failover
tests kill masters, so each uses its own master index and they run in file order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from lessons import backend
from lessons.failover import (
    LoadRun,
    NotReplicated,
    Outcome,
    ReplicatedStore,
    create_latencies,
    cut_replication,
    latency_line,
    loss_experiment,
    lost_sessions,
    percentile,
    plot_timeline,
    run_load,
)
from lessons.store import SessionStore

USERS = {"alice": "wonderland", "bob": "builder"}


def synthetic_run() -> LoadRun:
    outcomes = [Outcome(0.1, "login", 200, 5.0, "a" * 43), Outcome(0.2, "me", 200, 1.0),
                Outcome(1.0, "login", 503, 300.0), Outcome(1.5, "me", 503, 100.0),
                Outcome(2.0, "login", 200, 5.0, "b" * 43)]
    return LoadRun(outcomes, 2.5, {"0": 0.9, "0 done": 1.7})


def test_load_run_summaries():
    run = synthetic_run()
    assert run.summary() == {"login": {200: 2, 503: 1}, "me": {200: 1, 503: 1}}
    assert [o.t for o in run.failures()] == [1.0, 1.5]
    assert run.failure_window() == (1.0, 1.6)
    assert [o.session for o in run.logins(0.5)] == ["b" * 43]
    assert LoadRun([], 1.0).failure_window() is None


def test_percentiles_and_latency_line():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) in (50.0, 51.0) and percentile(values, 0.95) == 95.0
    assert latency_line("x", [1.0, 2.0, 3.0]) == \
        "x: median 2.00 ms, 95th percentile 3.00 ms (3 calls)"


def test_plot_timeline_labels_its_axes():
    import matplotlib.pyplot as plt

    fig = plot_timeline(synthetic_run(), "title", marks={"0": "killed", "missing": "x"})
    ax = fig.axes[0]
    assert "time" in ax.get_xlabel() and "(s)" in ax.get_xlabel()
    assert ax.get_ylabel() == "requests per 250 ms" and ax.get_title() == "title"
    assert [t.get_text() for t in ax.texts] == ["killed"]
    plt.close(fig)


def test_run_load_on_one_redis_answers_200_and_loses_nothing():
    from lessons.web import create_app

    store = SessionStore(client=backend.connect(backend.embedded_url()),
                         prefix=f"test-{uuid.uuid4().hex[:10]}", default_ttl=60)
    marks: list[str] = []
    run = run_load(create_app(store, users=USERS), USERS, seconds=2.0, me_per_login=2,
                   events={0.3: lambda: marks.append("ran")})
    try:
        assert marks == ["ran"] and set(run.marks) == {"0", "0 done"}
        assert {o.status for o in run.outcomes} == {200}
        logins = run.logins()
        assert logins and all(o.session for o in logins)
        assert lost_sessions(logins, store) == []
        assert {o.endpoint for o in run.outcomes} == {"login", "me"}
    finally:
        backend.delete_prefix(store.r, store.prefix)


def test_not_replicated_is_a_connection_error():
    assert issubclass(NotReplicated, redis.ConnectionError)  # so the web app answers 503


# -- on a real cluster with replicas ---------------------------------------------------------------
@pytest.fixture
def prefix(ha_rc) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    backend.delete_prefix(ha_rc, name)


def test_demo_helpers(ha_cluster, ha_rc, prefix):
    from lessons.cluster_demo import moved_error, per_master, scan_one_node, slot_ranges

    assert slot_ranges(ha_cluster) == ["master 0: slots     0 –  5460", "master 1: slots  5461 – 10921",
                                    "master 2: slots 10922 – 16383"]
    for name in ("bob", "carol", "alice"):  # slots 1769, 8303, 15036: masters 0, 1, 2
        ha_rc.set(f"{prefix}:{{session:{name}}}", "{}", ex=60)
    assert moved_error(ha_cluster, f"{prefix}:{{session:bob}}") == "'{}'"
    assert moved_error(ha_cluster, f"{prefix}:{{session:carol}}").startswith("MovedError: 8303 ")
    assert scan_one_node(ha_cluster, f"{prefix}:*") == 1
    assert per_master(ha_rc, [f"{prefix}:{{session:{n}}}" for n in ("bob", "carol", "alice")]) == [1, 1, 1]


def test_designs_are_measured_side_by_side(ha_cluster, prefix):
    from lessons.cluster_designs import format_rows, measure

    rows = {r.design: r for r in measure(ha_cluster.url, prefix, users=20, per_user=2, heavy=60)}
    assert rows["user hash tag"].heavy_per_node == [60, 0, 0]
    assert rows["user hash tag"].create_trips == (1, 1) and rows["user hash tag"].revoke_trips == 2
    assert all(n > 0 for n in rows["course store"].heavy_per_node)
    assert rows["course store"].create_trips[1] == 2
    assert all(r.revoked == 2 for r in rows.values())
    assert sum(rows["single keys"].keys_per_node) == 40
    assert "very active user" in format_rows(list(rows.values()))


def test_the_cluster_check_passes_a_hash_tag_and_fails_the_rest(ha_cluster, capsys):
    from lessons.checks.cluster import check_user_keys

    def tagged(p, u):
        return [f"{p}:{{user:{u}}}:{n}" for n in ("index", "cart", "profile")]

    assert check_user_keys(tagged, ha_cluster.url) is True
    assert check_user_keys(lambda p, u: [f"{p}:{n}:{u}" for n in ("a", "b", "c")], ha_cluster.url) is False
    assert "✗ one MULTI writes all three" in capsys.readouterr().out
    assert check_user_keys(lambda p, u: [f"{p}:{{all}}:{n}:{u}" for n in "abc"], ha_cluster.url) is False
    assert "✗ 60 users' keys spread" in capsys.readouterr().out
    assert check_user_keys(lambda p, u: None, ha_cluster.url) is False


def test_wait_acknowledges_then_a_cut_replica_refuses(ha_cluster, ha_rc, prefix):
    store = ReplicatedStore(client=ha_rc, prefix=prefix, default_ttl=60, timeout_ms=50)
    sids = [store.create({"user_id": 1}) for _ in range(10)]  # every replica acknowledges
    assert all(store.get(s)["user_id"] == 1 for s in sids)
    cut_replication(ha_cluster, 0)  # master 0's replica stops following (it is killed later)
    refused = 0
    for _ in range(30):
        try:
            store.create({"cart": []})
        except NotReplicated:
            refused += 1  # a session on master 0: no replica acknowledged it
    assert 0 < refused < 30


def test_sessions_acknowledged_without_wait_are_lost_with_wait_never(ha_cluster, ha_rc, prefix):
    plain = loss_experiment(ha_cluster, SessionStore(client=ha_rc, prefix=prefix, default_ttl=60), 1)
    assert plain.acknowledged > 0 and plain.lost and 0 < plain.takeover_s < 15
    waited = loss_experiment(ha_cluster, ReplicatedStore(client=ha_rc, prefix=prefix, default_ttl=60,
                                                      timeout_ms=100), 2)
    assert waited.lost == [] and waited.refused > 0


def test_the_app_answers_503_never_500_during_a_failover(ha_cluster, ha_rc, prefix):
    from lessons.web import create_app

    store = SessionStore(client=ha_rc, prefix=prefix, default_ttl=60)
    run = run_load(create_app(store, users=USERS), USERS, seconds=4.0,
                   events={1.0: lambda: (ha_cluster.kill_master(0), ha_cluster.wait_for_failover())})
    statuses = {o.status for o in run.outcomes}
    assert 200 in statuses and statuses <= {200, 503}, run.summary()
    assert all(o.status == 200 for o in run.outcomes if o.t > run.marks["0 done"] + 0.5)


def test_create_latencies_take_turns_and_clean_up():
    client = backend.connect(backend.embedded_url())
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    a = SessionStore(client=client, prefix=prefix, default_ttl=60)
    b = SessionStore(client=client, prefix=f"{prefix}-b", default_ttl=60)
    first, second = create_latencies(a, b, n=5)
    assert len(first) == len(second) == 5 and all(ms > 0 for ms in first + second)
    assert list(client.scan_iter(match=f"{prefix}*")) == []


def test_without_redis_server_the_notebook_says_how_to_install_it(monkeypatch, capsys):
    from lessons import cluster_demo

    monkeypatch.setattr(cluster_demo.shutil, "which", lambda name: None)
    assert cluster_demo.start_or_skip() is None
    out = capsys.readouterr().out
    assert "apt-get install redis-server" in out and "brew install redis" in out
