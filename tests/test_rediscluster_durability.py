"""Issue 16, item 4: a logout, a "log out everywhere" or a regenerate must not be undone by a
failover without the caller knowing (``lessons.replicated``).

On a 3-master + 3-replica cluster of this module's own (``ha_cluster``). A "cut" replica
(``cut_replication``, as a network partition) never gets the master's later writes: a session
that the master deleted is still on the replica, and comes back if the replica is promoted.
``SessionStore`` answers such a delete "done"; ``ReplicatedStore`` / ``ReplicatedAdmin`` send
``WAIT`` after it and raise ``NotReplicated`` instead. Each test that cuts a replica heals it
afterwards; only the last test kills a master.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from redis.cluster import RedisCluster

from lessons import backend
from lessons.rediscluster.demo import cut_replication, heal_replication, resurrection_experiment
from lessons.rediscluster.local import LocalRedisCluster, Node
from lessons.replicated import NotReplicated, ReplicatedAdmin, ReplicatedStore
from lessons.store import SessionStore
from lessons.web.errors import NOT_CONFIRMED

USERS = {"alice": "wonderland"}


@pytest.fixture
def prefix(ha_rc: RedisCluster) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    backend.delete_prefix(ha_rc, name)


@pytest.fixture
def cut_master_0(ha_cluster: LocalRedisCluster) -> Iterator[None]:
    """Master 0's replica cut off for the test, and caught up again afterwards."""
    cut_replication(ha_cluster, 0)
    try:
        yield
    finally:
        heal_replication(ha_cluster, 0)


def master(cluster: LocalRedisCluster, index: int) -> Node:
    return [n for n in cluster.nodes if n.role == "master"][index]


def on_replica(cluster: LocalRedisCluster, index: int, key: str) -> bool:
    """Does master ``index``'s replica hold ``key``? (READONLY: a replica answers reads.)"""
    replica = next(n for n in cluster.nodes if n.master == master(cluster, index).index)
    with replica.connect() as r:
        r.execute_command("READONLY")
        return bool(r.exists(key))


def sessions_on(
    store: SessionStore, cluster: LocalRedisCluster, index: int, n: int, user_id: object = 1
) -> list[str]:
    """``n`` sessions of ``user_id`` whose keys live on master ``index`` (others are deleted)."""
    port = master(cluster, index).port
    sids: list[str] = []
    assert isinstance(store.r, RedisCluster)
    while len(sids) < n:
        sid = store.create({"user_id": user_id})
        if int(store.r.get_node_from_key(store.key(sid)).port) == port:
            sids.append(sid)
        else:
            store.delete(sid)
    return sids


def test_with_the_replicas_linked_every_end_is_confirmed(
    ha_cluster: LocalRedisCluster, ha_rc: RedisCluster, prefix: str
) -> None:
    store = ReplicatedStore(client=ha_rc, prefix=prefix, default_ttl=60)
    logout, revoked = sessions_on(store, ha_cluster, 0, 2, "u1"), sessions_on(store, ha_cluster, 0, 3, "u2")
    fixed = sessions_on(store, ha_cluster, 0, 1, "u3")[0]
    assert all(on_replica(ha_cluster, 0, store.key(s)) for s in logout + revoked + [fixed])
    assert store.delete(logout[0]) is True and store.delete(logout[0]) is False
    assert store.delete_stored(store.keys.stored_id(logout[1])) is True
    assert store.admin().revoke_all_sessions("u2") == 3
    new_id = store.regenerate(fixed)
    session = store.get(new_id)
    assert session is not None and session["user_id"] == "u3" and store.get(fixed) is None
    assert not any(on_replica(ha_cluster, 0, store.key(s)) for s in logout + revoked + [fixed])
    assert [s["session_id"] for s in store.admin().list_sessions("u3")] == [new_id]


def test_a_logout_no_replica_confirmed_raises_not_replicated(
    ha_cluster: LocalRedisCluster, ha_rc: RedisCluster, prefix: str
) -> None:
    store = ReplicatedStore(client=ha_rc, prefix=prefix, default_ttl=60, timeout_ms=50)
    sid, other = sessions_on(store, ha_cluster, 0, 2, "u1")
    cut_replication(ha_cluster, 0)
    try:
        with pytest.raises(NotReplicated, match="a failover now could undo it") as raised:
            store.delete(sid)
        assert raised.value.done == 1 and raised.value.acknowledged == 0
        assert "could undo it" in str(raised.value)
        with pytest.raises(NotReplicated, match="a failover now could undo it"):
            store.delete_stored(store.keys.stored_id(other))  # DELETE /sessions/{id}
        assert store.get(sid) is None and on_replica(ha_cluster, 0, store.key(sid))  # would come back
        assert ha_rc.zscore(store.keys.index_key("u1"), sid) is not None  # entry kept: not confirmed
    finally:
        heal_replication(ha_cluster, 0)
    assert store.delete(sid) is False  # confirmed now: the replica has the DEL
    assert not on_replica(ha_cluster, 0, store.key(sid))


def test_the_app_answers_503_to_a_logout_no_replica_confirmed(
    ha_cluster: LocalRedisCluster, ha_rc: RedisCluster, prefix: str
) -> None:
    from lessons.web import TestClient, create_app

    store = ReplicatedStore(client=ha_rc, prefix=prefix, default_ttl=60, timeout_ms=50)
    app = create_app(store, users=USERS)
    port = master(ha_cluster, 0).port
    with (
        TestClient(app, base_url="https://testserver") as one,
        TestClient(app, base_url="https://testserver") as two,
    ):
        for client in (one, two):  # each logs in until its session lives on master 0
            while True:
                client.cookies.clear()
                login = client.post("/login", json={"username": "alice", "password": "wonderland"})
                assert login.status_code == 200
                sid = client.cookies["session_id"]
                if int(ha_rc.get_node_from_key(store.key(sid)).port) == port:
                    break
        handle = next(s["id"] for s in one.get("/sessions").json()["sessions"] if s["current"])
        cut_replication(ha_cluster, 0)
        try:
            ended = one.delete(f"/sessions/{handle}")
            logout = two.post("/logout")
        finally:
            heal_replication(ha_cluster, 0)
    assert (ended.status_code, logout.status_code) == (503, 503)  # not "Session ended" / "Logged out"
    assert logout.json() == {"detail": NOT_CONFIRMED}  # says the logout may not stick
    assert logout.headers["retry-after"] == "1"
    assert "set-cookie" not in logout.headers  # the browser keeps its cookie: it may try again


def test_log_out_everywhere_through_the_app_waits_for_a_replica(
    ha_cluster: LocalRedisCluster, ha_rc: RedisCluster, prefix: str
) -> None:
    from lessons.web import TestClient, create_app

    store = ReplicatedStore(client=ha_rc, prefix=prefix, default_ttl=60, timeout_ms=50)
    app = create_app(store, users=USERS)
    with TestClient(app, base_url="https://testserver") as client:
        assert client.post("/login", json={"username": "alice", "password": "wonderland"}).status_code == 200
        for node in range(3):
            cut_replication(ha_cluster, node)
        try:
            everywhere = client.post("/logout-all")
        finally:
            for node in range(3):
                heal_replication(ha_cluster, node)
    assert everywhere.status_code == 503
    assert everywhere.json() == {"detail": NOT_CONFIRMED}


def test_a_revoke_no_replica_confirmed_raises_and_keeps_the_index(
    ha_cluster: LocalRedisCluster, ha_rc: RedisCluster, prefix: str
) -> None:
    store = ReplicatedStore(client=ha_rc, prefix=prefix, default_ttl=60, timeout_ms=50)
    admin = ReplicatedAdmin.for_store(store)
    assert (admin.replicas, admin.timeout_ms) == (1, 50)
    sids = sessions_on(store, ha_cluster, 0, 4, "u1")
    cut_replication(ha_cluster, 0)
    try:
        with pytest.raises(NotReplicated, match="a failover now could undo it") as raised:
            admin.revoke_all_sessions("u1")
        assert raised.value.done == 4
        assert all(store.get(s) is None and on_replica(ha_cluster, 0, store.key(s)) for s in sids)
        index = ha_rc.zrange(store.keys.index_key("u1"), 0, -1)
        assert set(index) == {store.keys.stored_id(s) for s in sids}  # a second revoke finds them
    finally:
        heal_replication(ha_cluster, 0)
    assert admin.revoke_all_sessions("u1") == 0  # nothing left on the master; confirmed
    assert not any(on_replica(ha_cluster, 0, store.key(s)) for s in sids)


def test_a_regenerate_no_replica_confirmed_raises_and_gives_no_new_id(
    ha_cluster: LocalRedisCluster, ha_rc: RedisCluster, prefix: str
) -> None:
    store = ReplicatedStore(client=ha_rc, prefix=prefix, default_ttl=60, timeout_ms=50)
    (sid,) = sessions_on(store, ha_cluster, 0, 1, "u1")
    cut_replication(ha_cluster, 0)
    try:
        with pytest.raises(NotReplicated, match="a failover now could undo it") as raised:
            store.regenerate(sid)  # the planted ID's death is not certain: fail closed
        assert raised.value.done == 1
        assert store.get(sid) is None and on_replica(ha_cluster, 0, store.key(sid))
        assert store.admin().list_sessions("u1") == []
    finally:
        heal_replication(ha_cluster, 0)


def test_ended_sessions_come_back_after_a_failover_only_when_the_caller_was_told(
    ha_cluster: LocalRedisCluster, ha_rc: RedisCluster, prefix: str
) -> None:
    stores = {
        "plain": SessionStore(client=ha_rc, prefix=prefix, default_ttl=60),
        "wait": ReplicatedStore(client=ha_rc, prefix=prefix, default_ttl=60, timeout_ms=50),
    }
    run = resurrection_experiment(ha_cluster, stores, master=2, per_user=5)
    print("\n".join(run.lines()))
    for how in ("logout", "revoke", "regenerate"):
        plain, wait = run.results[("plain", how)], run.results[("wait", how)]
        # SessionStore: "done", and every one of them alive again, unlisted (a revoke misses it)
        assert (plain.answered_ok, plain.back_after_ok, plain.listed) == (5, 5, 0), how
        # ReplicatedStore: never "done" while its replica is cut off; what came back stays listed
        assert (wait.answered_ok, wait.back_after_ok, wait.not_replicated) == (0, 0, 5), how
        assert wait.listed == wait.back_after_refused == 5, how
