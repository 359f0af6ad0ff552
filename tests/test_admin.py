"""``lessons.admin`` (SessionAdmin, LastSeen) on both backends (``lessons.bench``: test_bench.py).

What is asserted: which sessions are listed, counted and revoked, what is left in Redis (values,
index entries, TTLs), and how many round trips the index-based operations cost (counted).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest
from redis.cluster import RedisCluster

from lessons import bench
from lessons.admin import LastSeen, SessionAdmin
from lessons.backend import Client
from lessons.interleave import pause_after
from lessons.quiz import question
from lessons.roundtrips import RoundTrips, counting_client
from lessons.store import SessionStore

TTL = 60

#: Why some tests are skipped on a Redis Cluster (the store's and the admin's behaviour there is
#: checked by tests/test_rediscluster_store.py).
PER_NODE = (
    "a pipeline is one request per node it touches, so the single-server round-trip "
    "count differs; tests/test_rediscluster_store.py checks the cluster's counts"
)
NODE_SCAN = (
    "SCAN's cursor belongs to one node (redis-py's cluster scan returns a cursor per "
    "node); SessionAdmin uses scan_iter there, tested by tests/test_rediscluster_store.py"
)


@pytest.fixture
def store(client: Client, prefix: str) -> SessionStore:
    return SessionStore(client=client, prefix=prefix, default_ttl=TTL)


@pytest.fixture
def admin(client: Client, prefix: str) -> SessionAdmin:
    return SessionAdmin(client, prefix)


@pytest.fixture
def counted(redis_url: str, prefix: str) -> Iterator[tuple[SessionAdmin, RoundTrips]]:
    """(SessionAdmin on a round-trip-counting client, trips)."""
    client, trips = counting_client(redis_url)
    yield SessionAdmin(client, prefix), trips
    client.close()


def ids(sessions: list[dict[str, Any]]) -> list[str]:
    return sorted(s["session_id"] for s in sessions)


def index_members(client: Client, store: SessionStore, user: int | str) -> list[str]:
    return sorted(cast("list[str]", client.zrange(store.keys.index_key(user), 0, -1)))


def wait_until_gone(client: Client, keys: list[str]) -> None:
    """Wait until keys with a short TTL have expired (Redis expires them: no time limit needed;
    each round sleeps as long as the longest TTL left)."""
    while client.exists(*keys):
        assert all(client.pttl(k) != -1 for k in keys), "a key without a TTL never expires"
        time.sleep(max([client.pttl(k) for k in keys] + [10]) / 1000)


def wait_until_passed(epoch_ms: float) -> None:
    """Sleep until the clock has passed ``epoch_ms`` (an index entry's score)."""
    while time.time() * 1000 <= epoch_ms:
        time.sleep((epoch_ms - time.time() * 1000) / 1000 + 0.01)


# -- listing -------------------------------------------------------------------------------------
def test_list_all_and_by_user(store: SessionStore, admin: SessionAdmin) -> None:
    a1 = store.create({"user_id": 1, "username": "alice"})
    a2 = store.create({"user_id": 1, "username": "alice"})
    b = store.create({"user_id": 2, "username": "bob"})
    anon = store.create({"cart": ["apple"]})
    everything = admin.list_sessions()
    assert ids(everything) == sorted([a1, a2, b, anon])
    for s in everything:
        assert 0 < s["ttl"] <= TTL
        assert {"created_at", "last_accessed", "session_id", "ttl"} <= set(s)
    assert ids(admin.list_sessions(1)) == sorted([a1, a2])
    assert [s["username"] for s in admin.list_sessions(2)] == ["bob"]
    assert admin.list_sessions(3) == []


@pytest.mark.cluster_unsupported(PER_NODE)
def test_listing_by_user_takes_at_most_three_round_trips(
    store: SessionStore, counted: tuple[SessionAdmin, RoundTrips]
) -> None:
    counted_admin, trips = counted
    mine = [store.create({"user_id": 1}) for _ in range(4)]
    bench.populate(store.r, store.prefix, 300, ttl=TTL)
    with trips.measure() as m:
        listed = counted_admin.list_sessions(1)
    assert ids(listed) == sorted(mine)
    assert m.count == 2  # ZRANGE, then one pipeline (GET + TTL each); no ZREM: nothing expired
    assert m.commands[0] == "ZRANGE" and not any(c.startswith("SCAN") for c in m.commands)


def test_user_1_and_user_string_1_are_kept_apart(
    store: SessionStore, admin: SessionAdmin, client: Client
) -> None:
    """Defect: user IDs 1 and "1" shared the index key …-by-user:1, so user "1"'s logout-all
    logged user 1 out. Now each has its own index; listing or revoking one leaves the other."""
    sid = store.create({"user_id": 7})
    text = store.create({"user_id": "7"})
    assert ids(admin.list_sessions("7")) == [text]
    assert index_members(client, store, 7) == [sid]
    assert admin.revoke_all_sessions("7") == 1
    assert ids(admin.list_sessions(7)) == [sid] and store.get(sid) is not None


def test_non_session_values_under_the_prefix_are_skipped(
    store: SessionStore, admin: SessionAdmin, client: Client, prefix: str
) -> None:
    sid = store.create({"user_id": 1})
    client.set(f"{prefix}:{secrets.token_urlsafe(32)}", "not json", ex=TTL)
    client.set(f"{prefix}:{secrets.token_urlsafe(32)}", json.dumps([1, 2]), ex=TTL)
    assert ids(admin.list_sessions()) == [sid]
    assert admin.get_active_users_count() == 1


# -- the index follows the store -------------------------------------------------------------------
def test_index_follows_create_regenerate_and_delete(
    store: SessionStore, admin: SessionAdmin, client: Client
) -> None:
    old = store.create({"user_id": 1, "username": "alice"})
    other = store.create({"user_id": 1, "username": "alice"})
    assert index_members(client, store, 1) == sorted([old, other])
    new = store.regenerate(old)
    assert index_members(client, store, 1) == sorted([new, other])
    assert ids(admin.list_sessions(1)) == sorted([new, other])
    assert store.delete(other) is True
    assert index_members(client, store, 1) == [new]
    assert admin.revoke_all_sessions(1) == 1
    assert store.get(new) is None
    assert client.exists(store.keys.index_key(1)) == 0


def test_index_disappears_with_the_last_deleted_session(store: SessionStore, client: Client) -> None:
    sid = store.create({"user_id": 5})
    store.delete(sid)
    assert client.exists(store.keys.index_key(5)) == 0


@pytest.mark.parametrize("touch", ["refresh", "get_refresh", "update", "regenerate"])
def test_index_always_outlives_its_sessions(
    store: SessionStore, client: Client, prefix: str, touch: str
) -> None:
    short = SessionStore(client=client, prefix=prefix, default_ttl=300)
    sid = store.create({"user_id": 1}, ttl=20)
    if touch == "refresh":
        short.refresh(sid)
    elif touch == "get_refresh":
        short.get(sid, refresh=True)
    elif touch == "update":
        short.update(sid, {"role": "admin"})
    else:
        sid = short.regenerate(sid)
    # first the session, then the index (two slots on a cluster): the index has had longer to
    # run down when it is read, so this is stricter than reading both at one instant
    session_pttl = client.pttl(store.key(sid))
    read_at_ms = time.time() * 1000
    index_pttl = client.pttl(store.keys.index_key(1))
    assert session_pttl > 0 and index_pttl >= session_pttl
    # the entry's score is a time (epoch ms) after the session's expiry, by a margin
    score = client.zscore(store.keys.index_key(1), sid)
    assert score is not None and score >= read_at_ms + session_pttl


def test_an_entrys_score_is_twice_the_ttl_ahead_and_a_sliding_read_raises_it(
    store: SessionStore, client: Client
) -> None:
    before = int(time.time() * 1000)  # the store's clock, in whole ms
    sid = store.create({"user_id": 1}, ttl=20)
    after = int(time.time() * 1000)
    index = store.keys.index_key(1)
    first = client.zscore(index, sid)
    assert first is not None and before + 40_000 <= first <= after + 40_000
    other_server = SessionStore(client=client, prefix=store.prefix, default_ttl=TTL)
    before = int(time.time() * 1000)
    other_server.get(sid, refresh=True)  # it has not met this session: it extends the index
    score = client.zscore(index, sid)
    assert score is not None and score >= max(first, before + 40_000)
    store.r.zadd(index, {sid: first + 10**9})  # a higher score is never lowered (ZADD GT)
    SessionStore(client=client, prefix=store.prefix).get(sid, refresh=True)
    assert client.zscore(index, sid) == first + 10**9


# -- expiry: neither listed nor counted ----------------------------------------------------------
def test_expired_sessions_are_neither_listed_nor_counted(
    store: SessionStore, admin: SessionAdmin, client: Client, prefix: str
) -> None:
    brief = store.create({"user_id": 1, "username": "alice"}, ttl=1)
    alice_stays = store.create({"user_id": 1, "username": "alice"})
    gone_user = store.create({"user_id": 3, "username": "carol"}, ttl=1)
    bob = store.create({"user_id": 2, "username": "bob"})
    assert admin.get_active_users_count() == 3
    wait_until_gone(client, [f"{prefix}:{brief}", f"{prefix}:{gone_user}"])
    assert ids(admin.list_sessions()) == sorted([alice_stays, bob])
    assert ids(admin.list_sessions(1)) == [alice_stays]
    assert admin.list_sessions(3) == []
    assert admin.get_active_users_count() == 2
    # an entry goes once its score, the time by which its session has surely expired, has passed
    # (until then, a missing session could be one that a login is writing right now)
    brief_score = client.zscore(store.keys.index_key(1), brief)
    assert brief_score is not None
    wait_until_passed(max(brief_score, client.zscore(store.keys.index_key(3), gone_user) or 0))
    assert ids(admin.list_sessions(1)) == [alice_stays] and admin.list_sessions(3) == []
    assert index_members(client, store, 1) == [alice_stays]  # pruned
    assert client.exists(store.keys.index_key(3)) == 0  # pruned (or expired) with carol
    assert admin.count_users_by_index() == 2
    assert admin.revoke_all_sessions(1) == 1


def test_a_key_that_vanishes_between_get_and_ttl_is_not_listed(
    store: SessionStore, client: Client, prefix: str
) -> None:
    """A session expiring between the read of its value and its TTL (the pipeline without MULTI
    is split right after the GET): the TTL answers -2, and the session is not listed."""
    sid = store.create({"user_id": 1})
    vanish = pause_after(client, "get", lambda: client.delete(store.key(sid)))
    admin = SessionAdmin(vanish, prefix)
    assert admin.list_sessions(1) == []
    replies = [cast("list[Any]", reply) for reply in vanish.replies("execute")]
    ((value, ttl),) = [reply for reply in replies if len(reply) == 2]
    assert json.loads(value)["user_id"] == 1 and ttl == -2  # read, then gone
    assert vanish.log[:3] == ["ZRANGE", "GET", "(paused after GET: someone else acts)"]


def test_the_lessons_ttl_minus_two_is_what_expires_after_get_simulates(
    client: Client, store: SessionStore, prefix: str
) -> None:
    sid = store.create({"user_id": 1})
    wrapped = bench.ExpiresAfterGet(client)
    key = f"{prefix}:{sid}"
    assert json.loads(wrapped.get(key))["user_id"] == 1
    assert wrapped.ttl(key) == -2


# -- revoking ------------------------------------------------------------------------------------
def test_revoke_touches_only_that_user(
    store: SessionStore, admin: SessionAdmin, client: Client, prefix: str
) -> None:
    alice = [store.create({"user_id": 1, "username": "alice"}) for _ in range(3)]
    bob = [store.create({"user_id": 2, "username": "bob"}) for _ in range(2)]
    eleven = store.create({"user_id": 11, "username": "user eleven"})
    as_string = store.create({"user_id": "alice", "username": "alice-by-name"})
    anon = store.create({"cart": []})
    before = {sid: client.get(f"{prefix}:{sid}") for sid in [*bob, eleven, as_string, anon]}
    assert admin.revoke_all_sessions(1) == 3
    assert all(store.get(sid) is None for sid in alice)
    assert client.exists(store.keys.index_key(1)) == 0
    for sid, value in before.items():
        assert client.get(f"{prefix}:{sid}") == value
        assert 0 < client.ttl(f"{prefix}:{sid}") <= TTL
    assert index_members(client, store, 2) == sorted(bob)
    assert index_members(client, store, 11) == [eleven]
    assert admin.revoke_all_sessions(1) == 0  # nothing left: harmless


@pytest.mark.cluster_unsupported(PER_NODE)
@pytest.mark.parametrize("mine", [0, 1, 5, 50])
def test_revoke_takes_three_round_trips_whatever_the_numbers(
    store: SessionStore, counted: tuple[SessionAdmin, RoundTrips], client: Client, prefix: str, mine: int
) -> None:
    counted_admin, trips = counted
    sids = [store.create({"user_id": 1}) for _ in range(mine)]
    bench.populate(client, prefix, 500, ttl=TTL)
    with trips.measure() as m:
        assert counted_admin.revoke_all_sessions(1) == mine
    if mine:  # ZRANGE, the DELs in one pipeline, the ZREM of the entries whose session it deleted
        assert m.commands == ["ZRANGE", " ".join(["DEL"] * mine), "ZREM"]
    else:
        assert m.commands == ["ZRANGE"]
    assert client.exists(*[f"{prefix}:{s}" for s in sids] or [f"{prefix}:none"]) == 0
    assert client.exists(store.keys.index_key(1)) == 0


def test_a_login_racing_a_revoke_keeps_its_session_and_its_index_entry(
    store: SessionStore, client: Client, prefix: str
) -> None:
    """A session created for the user after the revoke read the index survives it (it did not
    exist when the revoke started), and stays listed, so the next revoke ends it."""
    first = store.create({"user_id": 1})
    raced: list[str] = []

    class RacingClient(bench._Wrapper):
        def zrange(self, *args: Any, **kwargs: Any) -> Any:
            result = client.zrange(*args, **kwargs)
            if not raced:  # another server logs the user in right now
                raced.append(store.create({"user_id": 1}))
            return result

    assert SessionAdmin(cast(Client, RacingClient(client)), prefix).revoke_all_sessions(1) == 1
    assert store.get(first) is None and store.get(raced[0]) is not None
    assert index_members(client, store, 1) == [raced[0]]
    assert SessionAdmin(client, prefix).revoke_all_sessions(1) == 1


@pytest.mark.parametrize("session", ["live", "missing, score ahead", "missing, score passed"])
def test_an_entry_goes_only_when_its_session_surely_has(
    store: SessionStore, admin: SessionAdmin, client: Client, session: str
) -> None:
    """Revoke and listing remove an index entry when that revoke deleted the session, or when
    the session is missing and the entry's score has passed; an entry whose session is missing
    but whose score is ahead (a login between its ZADD and its SET) stays."""
    index = store.keys.index_key(1)
    other = store.create({"user_id": 1})
    sid = store.create({"user_id": 1})
    if session != "live":
        client.delete(store.key(sid))  # as if the SET had not run yet (or the key had expired)
    if session == "missing, score passed":
        client.zadd(index, {sid: time.time() * 1000 - 1}, xx=True)
    listed = ids(admin.list_sessions(1))
    assert listed == (sorted([sid, other]) if session == "live" else [other])
    kept = session == "missing, score ahead"
    assert index_members(client, store, 1) == sorted([sid, other] if session == "live" or kept else [other])
    assert admin.revoke_all_sessions(1) == (2 if session == "live" else 1)
    assert index_members(client, store, 1) == ([sid] if kept else [])
    if kept:  # the login's SET arrives now: the session is listed, and the next revoke ends it
        client.set(store.key(sid), json.dumps({"idle_ttl": TTL, "user_id": 1}), ex=TTL)
        assert ids(admin.list_sessions(1)) == [sid]
        assert admin.revoke_all_sessions(1) == 1 and client.exists(store.key(sid)) == 0


def test_revoke_never_gives_up_under_concurrent_logins(redis_url: str, prefix: str) -> None:
    """Defect: with WATCH/retry, 4 threads logging the same user in made revoke give up after
    50 conflicts (up to 11 s, then /logout-all answered 500). Now: no retry (ZRANGE, the DELs,
    ZREM: three round trips on one Redis, one DEL pipeline per node on a cluster), every session
    that existed when it started is gone, and the ones that raced it keep their index entries."""
    import threading

    from lessons.backend import connect

    c = connect(redis_url, max_connections=8)
    store = SessionStore(client=c, prefix=prefix, default_ttl=TTL)
    before = [store.create({"user_id": 1}) for _ in range(20)]
    stop = threading.Event()

    def login_loop() -> None:
        while not stop.is_set():
            store.create({"user_id": 1})

    threads = [threading.Thread(target=login_loop) for _ in range(4)]
    for t in threads:
        t.start()
    counted_client, trips = counting_client(redis_url)
    try:
        time.sleep(0.05)
        with trips.measure() as m:
            ended = SessionAdmin(counted_client, prefix).revoke_all_sessions(1)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert m.commands[0] == "ZRANGE" and m.commands[-1] == "ZREM", m.commands
    assert all(set(cmd.split()) == {"DEL"} for cmd in m.commands[1:-1]), m.commands
    assert m.count == 3 or isinstance(c, RedisCluster)
    assert ended >= len(before)
    assert all(store.get(sid) is None for sid in before)
    left = SessionAdmin(c, prefix).list_sessions(1)
    assert {s["session_id"] for s in left} <= set(c.zrange(store.keys.index_key(1), 0, -1))
    counted_client.close()
    c.close()


def test_revoke_by_scan_finds_unindexed_sessions(
    store: SessionStore, admin: SessionAdmin, client: Client, prefix: str
) -> None:
    indexed = store.create({"user_id": 1})
    raw = secrets.token_urlsafe(32)  # written the lesson's way: no index entry
    client.set(f"{prefix}:{raw}", json.dumps({"user_id": 1}), ex=TTL)
    other = store.create({"user_id": 2})
    assert admin.revoke_by_scan(1) == 2
    assert store.get(indexed) is None and store.get(raw) is None
    assert store.get(other) is not None


@pytest.mark.parametrize("bad", [None, True, 1.5, ["1"]])
def test_bad_user_ids_are_type_errors(admin: SessionAdmin, bad: Any) -> None:
    with pytest.raises(TypeError, match="user_id must be an int or a str"):
        admin.revoke_all_sessions(bad)


@pytest.mark.parametrize("bad", ["", "a*", "x?", "[x]", None, 5])
def test_bad_prefixes_are_refused(client: Client, bad: Any) -> None:
    with pytest.raises(ValueError, match="prefix"):
        SessionAdmin(client, bad)


# -- prefixes with a colon and SCAN duplicates -------------------------------------------------
def test_prefixes_with_colons(client: Client, prefix: str) -> None:
    nested = f"{prefix}:shop:session"
    store = SessionStore(client=client, prefix=nested, default_ttl=TTL)
    admin = SessionAdmin(client, nested)
    sids = [store.create({"user_id": 1}) for _ in range(2)]
    key = f"{nested}:{sids[0]}"
    assert key.split(":")[1] != sids[0]  # the lesson's split picks the wrong piece
    assert ids(admin.list_sessions()) == sorted(sids)
    assert ids(admin.list_sessions(1)) == sorted(sids)
    assert admin.audit_ttl() == []
    assert admin.revoke_all_sessions(1) == 2
    assert list(client.scan_iter(match=f"{nested}*")) == []


@pytest.mark.cluster_unsupported(NODE_SCAN)
def test_scan_duplicates_are_removed(store: SessionStore, client: Client, prefix: str) -> None:
    a = [store.create({"user_id": 1}) for _ in range(3)]
    b = store.create({"user_id": 2})
    dup = bench.DuplicatingScan(client)
    cursor, keys = dup.scan(0, match=f"{prefix}:*", count=1000)
    while int(cursor):
        cursor, more = dup.scan(cursor, match=f"{prefix}:*", count=1000)
        keys += more
    assert len(keys) == 2 * len(set(keys))  # the wrapper really does duplicate
    admin = SessionAdmin(cast(Client, dup), prefix)
    assert ids(admin.list_sessions()) == sorted([*a, b])
    assert admin.get_active_users_count() == 2
    assert admin.count_users_by_index() == 2
    assert admin.revoke_by_scan(1) == 3
    assert ids(admin.list_sessions()) == [b]


def test_scan_batches_with_a_small_count_still_find_everything(
    store: SessionStore, client: Client, prefix: str
) -> None:
    sids = {store.create({"user_id": n % 4}) for n in range(57)}
    admin = SessionAdmin(client, prefix, scan_count=5)
    assert set(ids(admin.list_sessions())) == sids
    assert admin.get_active_users_count() == 4


# -- counting ------------------------------------------------------------------------------------
def test_active_users_count_by_scan_and_by_index_agree(
    store: SessionStore, admin: SessionAdmin, client: Client, prefix: str
) -> None:
    for user in (1, 1, 2, "carol", 3):
        store.create({"user_id": user})
    store.create({"cart": []})  # anonymous: not a user
    bench.populate(client, prefix, 40, per_user=10, ttl=TTL)
    assert admin.get_active_users_count() == 4 + 4
    assert admin.count_users_by_index() == 4 + 4


def test_last_seen_counts_recent_users_in_one_round_trip(redis_url: str, prefix: str) -> None:
    client, trips = counting_client(redis_url)
    try:
        seen = LastSeen(client, prefix, window=60)
        for user in (1, 2, 2, "2", 3):
            seen.touch(user)
        long_ago = int(time.time() * 1000) - 3_600_000
        seen.touch(4, now_ms=long_ago)
        with trips.measure() as m:
            assert seen.count() == 4  # 1, 2, "2", 3; not 4 (an hour ago)
        assert m.count == 1 and m.commands == ["ZCOUNT"]
        assert seen.count(within=7200) == 5
        assert 0 < client.ttl(seen.key) <= 60
        seen.forget(2)
        assert seen.count() == 3
        assert seen.prune() == 1
        assert client.zcard(seen.key) == 3
        assert not seen.key.startswith(f"{prefix}:")  # never matched by the session pattern
    finally:
        client.close()


def test_last_seen_rejects_bad_arguments(client: Client, prefix: str) -> None:
    with pytest.raises(ValueError, match="window must be a positive number of seconds"):
        LastSeen(client, prefix, window=0)
    with pytest.raises(TypeError, match="user_id must be an int or a str"):
        LastSeen(client, prefix).touch(None)  # type: ignore[arg-type]  # wrong on purpose


# -- audit_ttl -----------------------------------------------------------------------------------
def test_audit_ttl_finds_planted_immortal_sessions_and_nothing_else(
    store: SessionStore, admin: SessionAdmin, client: Client, prefix: str
) -> None:
    normal = [store.create({"user_id": 1}) for _ in range(3)]
    planted = secrets.token_urlsafe(32)
    client.set(f"{prefix}:{planted}", json.dumps({"user_id": 9}))  # SET without EX
    persisted = store.create({"user_id": 2})
    client.persist(f"{prefix}:{persisted}")  # PERSIST removes a TTL
    client.set(f"{prefix}-other:{secrets.token_urlsafe(32)}", "x")  # not under {prefix}:
    try:
        assert sorted(admin.audit_ttl()) == sorted([planted, persisted])
        assert not set(admin.audit_ttl()) & set(normal)
        client.persist(store.keys.index_key(1))
        assert admin.audit_index_ttl() == ["1"]
    finally:  # give them a TTL again, so the prefix fixture's no-immortal-key check passes
        for key in client.scan_iter(match=f"{prefix}*"):
            client.expire(key, TTL)
    assert admin.audit_ttl() == [] and admin.audit_index_ttl() == []


def test_audit_ttl_costs_one_pipeline_per_scan_batch(
    store: SessionStore, counted: tuple[SessionAdmin, RoundTrips], client: Client, prefix: str
) -> None:
    counted_admin, trips = counted
    bench.populate(client, prefix, 30, ttl=TTL)
    with trips.measure() as m:
        assert counted_admin.audit_ttl() == []
    scans = [c for c in m.commands if c == "SCAN"]
    pipelines = [c for c in m.commands if c.startswith("TTL")]
    assert len(scans) >= 1 and len(pipelines) <= len(scans)
    assert sum(c.split().count("TTL") for c in pipelines) == 30


# -- the quiz answer keys --------------------------------------------------------------------------
def test_quiz_split_colon_answer_key(client: Client, prefix: str) -> None:
    q = question("admin-split-colon")
    store = SessionStore(client=client, prefix=f"{prefix}-shop:session", default_ttl=TTL)
    sid = store.create({"user_id": 1})
    (key,) = client.scan_iter(match=f"{prefix}-shop:session:*")
    got = key.split(":")[1]
    assert got != sid and q.choices[q.answer].startswith(repr(got))


@pytest.mark.cluster_unsupported(NODE_SCAN)
def test_quiz_scan_empty_batch_answer_key(client: Client, prefix: str) -> None:
    """A SCAN call can return no keys with a non-zero cursor: the iteration is not over."""
    q = question("admin-scan-empty-batch")
    for n in range(200):
        client.set(f"{prefix}-noise:{n}", "x", ex=TTL)
    client.set(f"{prefix}:needle", "x", ex=TTL)
    cursor, empty_but_not_done, found = 0, 0, []
    while True:
        cursor, keys = client.scan(cursor, match=f"{prefix}:*", count=10)
        found += keys
        if not keys and cursor != 0:
            empty_but_not_done += 1
        if cursor == 0:
            break
    assert empty_but_not_done > 0 and found == [f"{prefix}:needle"]
    assert "keep" in q.choices[q.answer].lower()


@pytest.mark.cluster_unsupported(PER_NODE)
def test_quiz_index_round_trips_answer_key(
    store: SessionStore, counted: tuple[SessionAdmin, RoundTrips], client: Client, prefix: str
) -> None:
    q = question("admin-index-round-trips")
    counted_admin, trips = counted
    counts = []
    for population in (100, 1000):
        bench.populate(client, prefix, population, ttl=TTL)
        for _ in range(5):
            store.create({"user_id": 1})
        with trips.measure() as m:
            counted_admin.revoke_all_sessions(1)
        counts.append(m.count)
    assert counts == [3, 3]
    assert "3" in q.choices[q.answer]


def test_quiz_duplicates_answer_key(store: SessionStore, client: Client, prefix: str) -> None:
    q = question("admin-scan-duplicates")
    store.create({"user_id": 1})
    admin = SessionAdmin(cast(Client, bench.DuplicatingScan(client)), prefix)
    assert len(admin.list_sessions()) == 1
    assert "de-duplicate" in q.choices[q.answer].lower()
