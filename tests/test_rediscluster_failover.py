"""lessons.rediscluster (failover, designs, demo) and lessons.checks.rediscluster.

The pure parts run without Redis; the rest on a 3-master + 3-replica cluster this module starts
from ``redis-server`` (skipped, saying how to install it, when there is none). The failover
tests kill masters, so each uses its own master index and they run in file order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from pytest import MonkeyPatch
from redis.cluster import RedisCluster

from lessons import backend
from lessons.rediscluster.demo import cut_replication, loss_experiment, reader_sessions
from lessons.rediscluster.failover import (
    LoadRun,
    NotReplicated,
    Outcome,
    ReplicatedStore,
    create_latencies,
    describe_run,
    invariants,
    latency_line,
    lost_sessions,
    plot_timeline,
    run_load,
)
from lessons.rediscluster.local import LocalRedisCluster
from lessons.store import SessionStore

USERS = {"alice": "wonderland", "bob": "builder"}


def synthetic_run(*extra: Outcome) -> LoadRun:
    outcomes = [
        Outcome(0.1, "login", 200, 5.0, "a" * 43),
        Outcome(0.2, "me", 200, 1.0),
        Outcome(1.0, "login", 503, 300.0),
        Outcome(1.5, "me", 503, 100.0),
        Outcome(2.0, "login", 200, 5.0, "b" * 43),
        *extra,
    ]
    return LoadRun(sorted(outcomes, key=lambda o: o.t), 2.5, {"0": 0.9, "0 done": 1.7})


def test_load_run_summaries() -> None:
    run = synthetic_run(Outcome(0.3, "me", 200, 2.0, group="r1"))
    assert run.summary() == {"login": {200: 2, 503: 1}, "me": {200: 2, 503: 1}}
    assert run.by_group() == {"": {200: 3, 503: 2}, "r1": {200: 1}}
    assert [o.t for o in run.failures()] == [1.0, 1.5]
    assert run.failure_window() == (1.0, 1.6)
    assert [o.session for o in run.logins(0.5)] == ["b" * 43]
    assert LoadRun([], 1.0).failure_window() is None


# Every outcome a failover can have: the invariants read the same; the description says which.
OUTCOMES = {
    "nothing failed": [Outcome(0.1, "login", 200, 5.0, "a" * 43), Outcome(1.0, "me", 200, 2100.0)],
    "503s": [Outcome(0.1, "login", 200, 5.0), Outcome(1.0, "me", 503, 300.0)],
    "a session lost": [Outcome(0.1, "login", 200, 5.0), Outcome(1.0, "me", 401, 3.0, group="r")],
}


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_every_outcome_is_described_and_the_invariants_read_the_same(outcome: str) -> None:
    run = LoadRun(OUTCOMES[outcome], 3.0, {"0": 0.9, "0 done": 2.9})
    assert invariants(run) == [
        "requests answered 500 (an error the app did not handle): 0",
        "answers that named another user than the one who asked: 0",
        "answers other than 200, 401 (no session) and 503 (try again): none",
    ]
    text = "\n".join(describe_run(run, lost=0))
    assert text.startswith(
        "master 0 was killed 0.90 s into the load; the event ended (replica serving its slots) 2.00 s later"
    )
    assert ("No request failed in this run" in text) == (outcome == "nothing failed")
    assert ("1 requests were answered 503" in text) == (outcome == "503s")
    assert ("1 calls of /me were answered 401" in text) == (outcome == "a session lost")
    assert text.endswith("sessions of logins answered 200 before the kill that are gone now: 0")


def test_resurrections_print_one_stable_row_per_store_and_way() -> None:
    from lessons.rediscluster.demo import EndResult, Resurrections

    run = Resurrections(
        {
            ("SessionStore", "logout"): EndResult(10, 0, 10, 0, 0),
            ("ReplicatedStore", "revoke"): EndResult(0, 10, 0, 10, 10),
        },
        takeover_s=2.5,
    )
    assert run.lines() == [
        "ended by   store             answered OK  back  not replicated  back  still listed",
        "logout     SessionStore               10    10               0     0             0",
        "revoke     ReplicatedStore             0     0              10    10            10",
    ]


def test_the_invariants_show_a_500_and_another_users_session() -> None:
    run = LoadRun([Outcome(0.1, "me", 500, 1.0), Outcome(0.2, "me", 200, 1.0, foreign=True)], 1.0)
    assert invariants(run) == [
        "requests answered 500 (an error the app did not handle): 1",
        "answers that named another user than the one who asked: 1",
        "answers other than 200, 401 (no session) and 503 (try again): 500",
    ]


def test_latency_line_uses_the_course_percentile() -> None:
    assert (
        latency_line("x", [3.0, 1.0, 2.0]) == "x: median 2.00 ms, 95th percentile 2.90 ms (3 calls)"
    )  # 2 + 0.9 x (3 - 2)


def test_plot_timeline_labels_its_axes() -> None:
    import matplotlib.pyplot as plt

    fig = plot_timeline(
        synthetic_run(Outcome(0.3, "me", 200, 2.0, group="/me, session on master 1")),
        "title",
        marks={"0": "killed", "missing": "x"},
    )
    top, bottom = fig.axes
    assert "time" in bottom.get_xlabel() and "(s)" in bottom.get_xlabel()
    assert "per 250 ms" in bottom.get_xlabel() and fig.get_suptitle() == "title"
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["log in, then /me", "/me, session on master 1"]
    assert [t.get_text() for t in top.texts] == ["killed"] and len(bottom.texts) == 0
    heights = [sum(p.get_height() for p in ax.patches) for ax in fig.axes]
    assert heights == [5, 1]  # every request drawn once, in its own row
    plt.close(fig)


def test_run_load_on_one_redis_answers_200_and_loses_nothing() -> None:
    from lessons.web import TestClient, create_app

    store = SessionStore(
        client=backend.connect(backend.embedded_url()), prefix=f"test-{uuid.uuid4().hex[:10]}", default_ttl=60
    )
    marks: list[str] = []
    app = create_app(store, users=USERS)
    with TestClient(app, base_url="https://testserver") as client:
        cookie = client.post("/login", json={"username": "bob", "password": "builder"}).cookies["session_id"]
    run = run_load(
        app,
        USERS,
        seconds=2.0,
        me_per_login=2,
        readers={"bob's reader": ("bob", cookie)},
        events={0.3: lambda: marks.append("ran")},
    )
    try:
        assert marks == ["ran"] and set(run.marks) == {"0", "0 done"}
        assert {o.status for o in run.outcomes} == {200} and run.foreign() == []
        logins = run.logins()
        assert logins and all(o.session for o in logins)
        assert lost_sessions(logins, store) == []
        assert {o.endpoint for o in run.outcomes} == {"login", "me"}
        assert run.groups() == ["", "bob's reader"] and run.by_group()["bob's reader"][200] > 0
    finally:
        backend.delete_prefix(store.r, store.prefix)


def test_not_replicated_is_a_connection_error() -> None:
    assert issubclass(NotReplicated, redis.ConnectionError)  # so the web app answers 503


# -- on a real cluster with replicas ---------------------------------------------------------------
@pytest.fixture
def prefix(ha_rc: RedisCluster) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    backend.delete_prefix(ha_rc, name)


def test_demo_helpers(ha_cluster: LocalRedisCluster, ha_rc: RedisCluster, prefix: str) -> None:
    from lessons.rediscluster.demo import moved_error, per_master, scan_one_node, slot_ranges

    assert slot_ranges(ha_cluster) == [
        "master 0: slots     0 –  5460",
        "master 1: slots  5461 – 10921",
        "master 2: slots 10922 – 16383",
    ]
    for name in ("bob", "carol", "alice"):  # slots 1769, 8303, 15036: masters 0, 1, 2
        ha_rc.set(f"{prefix}:{{session:{name}}}", "{}", ex=60)
    assert moved_error(ha_cluster, f"{prefix}:{{session:bob}}") == "'{}'"
    carol = f"{prefix}:{{session:carol}}"  # the MOVED reply, rebuilt from the slot map
    assert moved_error(ha_cluster, carol) == f"MOVED 8303 {ha_rc.get_node_from_key(carol).name}"
    assert scan_one_node(ha_cluster, f"{prefix}:*") == 1
    assert per_master(ha_rc, [f"{prefix}:{{session:{n}}}" for n in ("bob", "carol", "alice")]) == [1, 1, 1]


def test_designs_are_measured_side_by_side(ha_cluster: LocalRedisCluster, prefix: str) -> None:
    from lessons.rediscluster.designs import format_rows, measure

    rows = {r.design: r for r in measure(ha_cluster.url, prefix, users=20, per_user=2, heavy=60)}
    assert rows["user hash tag"].heavy_per_node == [60, 0, 0]
    assert rows["user hash tag"].create_trips == (1, 1) and rows["user hash tag"].revoke_trips == 2
    assert all(n > 0 for n in rows["course store"].heavy_per_node)
    assert rows["course store"].create_trips[1] == 2
    assert all(r.revoked == 2 for r in rows.values())
    assert sum(rows["single keys"].keys_per_node) == 40
    assert "very active user" in format_rows(list(rows.values()))


def test_the_cluster_check_passes_a_hash_tag_and_fails_the_rest(
    ha_cluster: LocalRedisCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    from lessons.checks.rediscluster import check_user_keys

    def tagged(p: str, u: int) -> list[str]:
        return [f"{p}:{{user:{u}}}:{n}" for n in ("index", "cart", "profile")]

    assert check_user_keys(tagged, ha_cluster.url) is True
    assert check_user_keys(lambda p, u: [f"{p}:{n}:{u}" for n in ("a", "b", "c")], ha_cluster.url) is False
    assert "✗ one MULTI writes all three" in capsys.readouterr().out
    assert check_user_keys(lambda p, u: [f"{p}:{{all}}:{n}:{u}" for n in "abc"], ha_cluster.url) is False
    assert "✗ 60 users' keys spread" in capsys.readouterr().out
    # the notebook's stub returns nothing: no ✓ at all
    assert check_user_keys(lambda p, u: None, ha_cluster.url) is False
    out = capsys.readouterr().out
    assert "✓" not in out and "✗ returns 3 different key names" in out
    assert check_user_keys(lambda p, u: ["x", "y", "z"], ha_cluster.url) is False
    out = capsys.readouterr().out
    assert "✓ returns 3 different key names" in out and "✗ every name starts with the prefix" in out


def test_wait_acknowledges_then_a_cut_replica_refuses(
    ha_cluster: LocalRedisCluster, ha_rc: RedisCluster, prefix: str
) -> None:
    # a linked replica acknowledges at once; the generous timeout only matters on a busy machine
    store = ReplicatedStore(client=ha_rc, prefix=prefix, default_ttl=60, timeout_ms=2000)
    sids = [store.create({"user_id": 1}) for _ in range(10)]  # every replica acknowledges
    assert all((session := store.get(s)) is not None and session["user_id"] == 1 for s in sids)
    cut_replication(ha_cluster, 0)  # master 0's replica stops following (it is killed later)
    store.timeout_ms = 300  # a cut replica never acknowledges: this is how long each refusal takes
    master_0 = next(n for n in ha_cluster.nodes if n.role == "master").port
    refused, accepted = 0, []
    for _ in range(30):
        try:
            accepted.append(store.create({"cart": []}))
        except NotReplicated as exc:
            assert exc.done == 1
            refused += 1  # a session on master 0: no replica acknowledged it
    assert refused > 0 and len(accepted) == 30 - refused
    assert all(int(ha_rc.get_node_from_key(store.key(s)).port) != master_0 for s in accepted)


def test_sessions_acknowledged_without_wait_are_lost_with_wait_never(
    ha_cluster: LocalRedisCluster, ha_rc: RedisCluster, prefix: str
) -> None:
    plain = loss_experiment(ha_cluster, SessionStore(client=ha_rc, prefix=prefix, default_ttl=60), 1)
    assert plain.acknowledged > 0 and plain.lost and 0 < plain.takeover_s < 15
    waited = loss_experiment(
        ha_cluster, ReplicatedStore(client=ha_rc, prefix=prefix, default_ttl=60, timeout_ms=100), 2
    )
    assert waited.lost == [] and waited.refused > 0


def test_a_failover_never_answers_500_nor_another_users_session(
    ha_cluster: LocalRedisCluster, ha_rc: RedisCluster, prefix: str
) -> None:
    """The invariants of every failover; what else happened (nothing failed, 503s, a lost
    session's 401s) depends on timing, and is only counted (printed)."""
    from lessons.web import TestClient, create_app

    store = SessionStore(client=ha_rc, prefix=prefix, default_ttl=60)
    app = create_app(store, users=USERS)
    readers = reader_sessions(app, store, ha_cluster, USERS)
    assert list(readers) == [f"/me, session on master {i}" for i in range(3)]
    run = run_load(
        app,
        USERS,
        seconds=4.0,
        readers=readers,
        events={1.0: lambda: (ha_cluster.kill_master(0), ha_cluster.wait_for_failover())},
    )
    print(run.by_group())
    print("\n".join(describe_run(run)))
    assert not [o for o in run.outcomes if o.status == 500], run.by_group()
    assert run.foreign() == []
    assert {o.status for o in run.outcomes} <= {200, 401, 503}, run.by_group()
    assert run.groups() == ["", *readers] and all(200 in s for s in run.by_group().values())
    with TestClient(app, base_url="https://testserver") as client:  # after the takeover
        assert client.post("/login", json={"username": "bob", "password": "builder"}).status_code == 200
        assert client.get("/me").json()["user"]["username"] == "bob"


def test_create_latencies_take_turns_and_clean_up() -> None:
    client = backend.connect(backend.embedded_url())
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    a = SessionStore(client=client, prefix=prefix, default_ttl=60)
    b = SessionStore(client=client, prefix=f"{prefix}-b", default_ttl=60)
    first, second = create_latencies(a, b, n=5)
    assert len(first) == len(second) == 5 and all(ms > 0 for ms in first + second)
    assert list(client.scan_iter(match=f"{prefix}*")) == []


def test_without_redis_server_the_notebook_says_how_to_install_it(
    monkeypatch: MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lessons.rediscluster import demo

    monkeypatch.setattr("lessons.rediscluster.demo.shutil.which", lambda name: None)
    assert demo.start_or_skip() is None
    out = capsys.readouterr().out
    assert "apt-get install redis-server" in out and "brew install redis" in out
