"""SessionStore, SessionAdmin and LastSeen on a real Redis Cluster: values, TTLs, round trips.

Runs on the cluster that ``$REDIS_URL`` points at when it is a cluster node (CI's cluster pass),
else on a 3-master cluster this module starts from ``redis-server`` (skipped, saying how to
install it, when there is none). Round trips are counted per request: on a cluster a pipeline
is one request per node it touches (redis-py writes them all, then reads the replies).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from redis.cluster import RedisCluster

from lessons import backend
from lessons.admin import LastSeen, SessionAdmin, keys_without_ttl
from lessons.rediscluster.local import INSTALL_HINT, local_cluster
from lessons.roundtrips import RoundTrips, counting_client
from lessons.store import SessionStore

TTL = 60


@pytest.fixture(scope="module")
def cluster_url() -> Iterator[str]:
    url = os.environ.get("REDIS_URL")
    if url and backend.is_cluster(url):
        yield url
        return
    if shutil.which("redis-server") is None:
        pytest.skip(INSTALL_HINT)
    with local_cluster(masters=3, progress=False) as cluster:
        yield cluster.url


@pytest.fixture
def rc(cluster_url: str) -> Iterator[RedisCluster]:
    client = backend.connect(cluster_url)
    assert isinstance(client, RedisCluster)
    yield client
    client.close()


@pytest.fixture
def prefix(rc: RedisCluster) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    immortal = keys_without_ttl(rc, f"{name}*")
    backend.delete_prefix(rc, name)
    assert not immortal, f"keys without a TTL were left behind: {immortal}"


@pytest.fixture
def counted(cluster_url: str, prefix: str) -> Iterator[tuple[SessionStore, RoundTrips]]:
    client, trips = counting_client(cluster_url)
    yield SessionStore(client=client, prefix=prefix, default_ttl=TTL), trips
    client.close()


@pytest.fixture
def store(rc: RedisCluster, prefix: str) -> SessionStore:
    return SessionStore(client=rc, prefix=prefix, default_ttl=TTL)


def node_of(rc: RedisCluster, key: str) -> str:
    return str(rc.get_node_from_key(key).name)


def test_sessions_spread_over_every_master(rc: RedisCluster, store: SessionStore) -> None:
    sids = [store.create({"n": n}) for n in range(30)]
    nodes = {node_of(rc, store.key(s)) for s in sids}
    assert len(nodes) == len(rc.get_primaries()) == 3


def test_round_trips_per_operation(rc: RedisCluster, counted: tuple[SessionStore, RoundTrips]) -> None:
    store, trips = counted
    with trips.measure() as m:
        anon = store.create({"cart": []})
    assert m.commands == ["SET"]
    for _ in range(6):
        with trips.measure() as m:
            sid = store.create({"user_id": 1})
        same_node = node_of(rc, store.key(sid)) == node_of(rc, store.keys.index_key(1))
        assert m.count == (1 if same_node else 2) and m.count <= 2
        assert " ".join(m.commands) == "ZADD PEXPIRE PEXPIRE SET"  # index entry first
    for action, most in (
        (lambda: store.get(sid), 1),
        (lambda: store.get(sid, refresh=True), 1),
        (lambda: store.refresh(sid), 1),
        (lambda: store.update(sid, {"role": "admin"}), 3),
        (lambda: store.update(sid, {"role": "x"}, refresh=False), 3),
        (lambda: store.delete(anon), 1),
    ):
        with trips.measure() as m:
            action()
        assert m.count == most, m.commands
    with trips.measure() as m:
        new = store.regenerate(sid)
    assert m.commands == [
        "EVAL" if m.commands[0] == "EVAL" else "EVALSHA",
        "ZADD PEXPIRE PEXPIRE ZREM",
        "SET",
    ]
    with trips.measure() as m:
        assert store.delete(new) is True
    assert m.commands == ["GETDEL", "ZREM"]


def test_a_script_costs_one_round_trip_on_each_node_the_first_time_too(
    rc: RedisCluster, counted: tuple[SessionStore, RoundTrips]
) -> None:
    """regenerate's take-out script: EVAL the first time each node runs it (no NOSCRIPT round
    trip), EVALSHA after that."""
    store, trips = counted
    for first in ("EVAL", "EVALSHA"):
        by_node: dict[str, str] = {}
        while len(by_node) < 3:
            sid = store.create({"user_id": 2})
            by_node.setdefault(node_of(rc, store.key(sid)), sid)
        for sid in by_node.values():
            with trips.measure() as m:
                store.regenerate(sid)
            assert m.commands[0] == first


def test_sliding_reads_are_one_getex_on_every_node(
    rc: RedisCluster, counted: tuple[SessionStore, RoundTrips]
) -> None:
    store, trips = counted
    for _ in range(9):
        sid = store.create({"user_id": 2}, ttl=50)  # its own TTL, known to the store that made it
        rc.pexpire(store.key(sid), 40_000)  # 10 s of it used up
        started = time.monotonic()
        with trips.measure() as m:
            session = store.get(sid, refresh=True)
            assert session is not None and session["user_id"] == 2
        left_ms = rc.pttl(store.key(sid))
        since_ms = (time.monotonic() - started) * 1000  # bounds measured, not assumed
        assert m.commands == ["GETEX"] and 50_000 - since_ms - 2 <= left_ms <= 50_000  # slid back


def test_admin_lists_counts_audits_and_revokes_across_nodes(
    rc: RedisCluster, store: SessionStore, prefix: str
) -> None:
    admin = SessionAdmin(rc, prefix)
    alice = [store.create({"user_id": 1}) for _ in range(12)]
    while len({node_of(rc, store.key(s)) for s in alice}) < 3:  # 12 random IDs miss a node 2% of runs
        alice.append(store.create({"user_id": 1}))
    bob = [store.create({"user_id": 2}) for _ in range(3)]
    anon = store.create({"cart": []})
    assert sorted(s["session_id"] for s in admin.list_sessions()) == sorted([*alice, *bob, anon])
    assert sorted(s["session_id"] for s in admin.list_sessions(1)) == sorted(alice)
    assert admin.get_active_users_count() == 2 == admin.count_users_by_index()
    rc.persist(store.key(bob[0]))  # planted: a session that would never expire
    assert admin.audit_ttl() == [bob[0]] and admin.audit_index_ttl() == []
    rc.expire(store.key(bob[0]), TTL)
    assert admin.revoke_all_sessions(1) == len(alice)
    assert rc.exists(*[store.key(s) for s in alice]) == 0
    assert rc.exists(store.keys.index_key(1)) == 0
    assert [store.get(s) is not None for s in [*bob, anon]] == [True] * 4
    assert admin.revoke_by_scan(2) == 3


def test_listing_and_revoking_cost_one_request_per_node_at_most(
    rc: RedisCluster, store: SessionStore, cluster_url: str, prefix: str
) -> None:
    client, trips = counting_client(cluster_url)
    admin = SessionAdmin(client, prefix)
    sids = [store.create({"user_id": 1}) for _ in range(20)]
    nodes = len({node_of(rc, store.key(s)) for s in sids})
    with trips.measure() as m:
        assert len(admin.list_sessions(1)) == 20
    assert m.commands[0] == "ZRANGE" and m.count == 1 + nodes  # + one GET/TTL pipeline per node
    with trips.measure() as m:
        assert admin.revoke_all_sessions(1) == 20
    assert m.commands[0] == "ZRANGE" and m.commands[-1] == "ZREM" and m.count == 2 + nodes
    assert sum(c.split().count("DEL") for c in m.commands) == 20
    client.close()


def test_hashed_ids_on_a_cluster(rc: RedisCluster, prefix: str) -> None:
    store = SessionStore(client=rc, prefix=prefix, default_ttl=TTL, hash_ids=True)
    admin = SessionAdmin.for_store(store)
    sids = [store.create({"user_id": 7}) for _ in range(6)]
    listed = {s["session_id"] for s in admin.list_sessions(7)}
    assert listed == {store.keys.stored_id(s) for s in sids} and not listed & set(sids)
    assert not any(s in k for k in rc.scan_iter(match=f"{prefix}*") for s in sids)
    new = store.regenerate(sids[0])
    session = store.get(new)
    assert store.get(sids[0]) is None and session is not None and session["user_id"] == 7
    assert store.delete_stored(store.keys.stored_id(new)) is True
    assert admin.revoke_all_sessions(7) == 5


def test_absolute_ttl_caps_sliding_on_a_cluster(rc: RedisCluster, prefix: str) -> None:
    """Sliding reads until the session is gone: every TTL they left is capped by the 2 s
    deadline (not slid to the 60 s idle TTL), and the end came no earlier than the deadline.
    No assertion depends on how fast the reads are; the loop's deadline is a hang guard."""
    store = SessionStore(client=rc, prefix=prefix, default_ttl=TTL, absolute_ttl=2)
    created_after_ms = int(time.time() * 1000)  # the store's clock, in whole ms
    sid = store.create({"user_id": 3})
    ttls, hang_guard = [], time.monotonic() + 120
    while store.get(sid, refresh=True) is not None:
        ttls.append(rc.pttl(store.key(sid)))
        assert time.monotonic() < hang_guard, "the session outlived its absolute deadline"
        time.sleep(0.05)
    assert time.time() * 1000 >= created_after_ms + 2000
    assert all(ttl <= 2000 for ttl in ttls), ttls
    assert store.refresh(sid) is False and rc.exists(store.key(sid)) == 0


def test_last_seen_on_a_cluster(rc: RedisCluster, prefix: str) -> None:
    seen = LastSeen(rc, prefix, window=TTL)
    for user in (1, 2, "2"):
        seen.touch(user)
    seen.touch(9, now_ms=int(time.time() * 1000) - (TTL + 5) * 1000)
    assert seen.count() == 3 and seen.prune() == 1
    seen.forget(1)
    assert seen.count() == 2 and 0 < rc.ttl(seen.key) <= TTL


def test_update_keeps_its_atomicity_on_a_cluster(rc: RedisCluster, store: SessionStore) -> None:
    sid = store.create({"user_id": 1})

    def bump(field: str) -> None:
        for n in range(20):
            store.update(sid, {field: n})

    threads = [threading.Thread(target=bump, args=(f"f{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    session = store.get(sid)
    assert session is not None
    assert {k: v for k, v in session.items() if k.startswith("f")} == {"f0": 19, "f1": 19, "f2": 19}


def test_the_course_code_before_the_cluster_issue_fails_there(rc: RedisCluster, prefix: str) -> None:
    """What notebook 06 shows: the old store's MULTI over two slots, its sliding script building
    a key from the value, the old admin's MGET and DEL over many slots."""
    from lessons.keys import KeySchema
    from lessons.rediscluster.pitfalls import old_create, old_list_sessions, old_revoke, old_sliding_read

    keys = KeySchema(prefix)
    with pytest.raises(redis.exceptions.CrossSlotTransactionError, match="slot"):
        old_create(rc, keys, {"user_id": 1})
    new = SessionStore(client=rc, prefix=prefix, default_ttl=TTL)
    sid = new.create({"user_id": 1})
    while node_of(rc, new.key(sid)) == node_of(rc, new.keys.index_key(1)):
        sid = new.create({"user_id": 1})  # on the index's node the script happens to work
    with pytest.raises(redis.ResponseError, match="non local key"):  # a key it does not serve
        old_sliding_read(rc, keys, sid)
    new.create({"user_id": 1})
    with pytest.raises(redis.exceptions.RedisClusterException, match="same key slot"):  # refused
        old_list_sessions(rc, keys, 1)
    with pytest.raises(redis.exceptions.RedisClusterException, match="same key slot"):
        old_revoke(rc, keys, 1)
