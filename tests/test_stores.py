"""lessons.stores: the four stores' shared contract, expiry and cleanup, and who can share.

Local stores (memory, file, SQLite) get an injected clock that the tests move forward; the Redis
store runs on both backends and waits out short TTLs in real time (a few seconds in all). A TTL
is checked against bounds measured around the calls that set and read it (``assert_ttl``), so a
slow or busy machine widens the bounds instead of failing the test.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
from pytest import FixtureRequest

from lessons import backend, stores
from lessons.admin import keys_without_ttl
from lessons.checks.stores import check_cleanup_sql
from lessons.quiz import question
from lessons.store import SessionNotFound, is_valid_session_id

STORE_PARAMS = ["memory", "file", "sqlite", "redis-embedded", "redis-real"]


class FakeClock:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def tmpdir_own() -> Iterator[str]:
    """A temporary directory, removed at the end."""
    path = tempfile.mkdtemp(prefix="test-stores-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


class Harness:
    """A store under test plus ``advance(seconds)``: fake time for local stores, sleep for Redis."""

    def __init__(self, store: stores.ComparedStore, clock: FakeClock | None) -> None:
        self.store, self.clock = store, clock

    @property
    def is_redis(self) -> bool:
        return self.store.kind == "redis"

    def advance(self, seconds: float) -> None:
        if self.clock is None:
            time.sleep(seconds)
        else:
            self.clock.now += seconds

    def now(self) -> float:
        """The store's time: the fake clock, or (Redis) real time, in seconds."""
        return time.monotonic() if self.clock is None else self.clock.now

    def assert_ttl(self, sid: str, full: float, set_between: tuple[float, float]) -> None:
        """``sid``'s TTL is what is left of ``full`` seconds set at some moment between the two
        ``now()`` readings ``set_between``: the bounds come from ``now()`` read around the TTL
        call, exact with the fake clock (1 ms of rounding for Redis's PTTL)."""
        before = self.now()
        ttl = self.store.ttl(sid)
        after = self.now()
        assert ttl is not None, f"{sid} has no TTL (gone?)"
        low, high = full - (after - set_between[0]), full - (before - set_between[1])
        assert low - 0.002 <= ttl <= high + 0.002, (ttl, low, high)


@pytest.fixture(params=STORE_PARAMS)
def h(request: FixtureRequest, tmpdir_own: str) -> Iterator[Harness]:
    kind = request.param
    clock = FakeClock()  # for the local stores; Redis keeps its own time
    store: stores.ComparedStore
    if kind == "memory":
        store = stores.MemoryStore(default_ttl=100, clock=clock)
    elif kind == "file":
        store = stores.FileStore(os.path.join(tmpdir_own, "files"), default_ttl=100, clock=clock)
    elif kind == "sqlite":
        store = stores.SqliteStore(os.path.join(tmpdir_own, "s.db"), default_ttl=100, clock=clock)
    else:
        url = request.getfixturevalue("real_redis_url") if kind == "redis-real" else backend.embedded_url()
        prefix = f"test-{uuid.uuid4().hex[:10]}"
        store = stores.RedisStore(url, prefix=prefix, default_ttl=100)
    yield Harness(store, None if kind.startswith("redis") else clock)
    if isinstance(store, stores.RedisStore):
        r = backend.connect(store.url)
        immortal = keys_without_ttl(r, f"{store.prefix}*")
        backend.delete_prefix(r, store.prefix)
        r.close()
        assert not immortal, f"keys without a TTL were left behind: {immortal}"
    store.close()


# -- the shared contract --------------------------------------------------------------------------
def test_create_then_get(h: Harness) -> None:
    started = h.now()
    sid = h.store.create({"user_id": 1, "username": "alice"})
    created = (started, h.now())
    assert is_valid_session_id(sid)
    session = h.store.get(sid)
    assert session is not None
    assert session["user_id"] == 1 and session["username"] == "alice"
    assert session["created_at"] == session["last_accessed"]
    assert h.store.stored_count() == 1
    h.assert_ttl(sid, 100, created)


def test_unknown_and_malformed_ids(h: Harness) -> None:
    unknown = "A" * 43
    for sid in (unknown, "short", "../../etc/passwd", "x" * 44):
        assert h.store.get(sid) is None
        assert h.store.delete(sid) is False
        assert h.store.refresh(sid) is False
        assert h.store.ttl(sid) is None
        with pytest.raises(SessionNotFound, match=r"session not found|malformed session ID"):
            h.store.update(sid, {"role": "admin"})
    assert h.store.stored_count() == 0


def test_bad_input_is_refused(h: Harness) -> None:
    with pytest.raises(TypeError, match="session data must be a dict, not list"):
        h.store.create(["not", "a", "dict"])  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(ValueError, match=r"ttl must be > 0 seconds \(got 0\)"):
        h.store.create({"user_id": 1}, ttl=0)  # 0 is an error, not "use the default"
    with pytest.raises(TypeError, match="whole number of seconds"):
        h.store.create({"user_id": 1}, ttl=1.5)  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(TypeError, match="user_id must be an int or a str"):
        h.store.create({"user_id": 1.5})
    with pytest.raises(ValueError, match="managed by the store"):
        h.store.create({"created_at": "yesterday"})
    assert h.store.stored_count() == 0
    sid = h.store.create({"user_id": 1})
    with pytest.raises(ValueError, match="managed by the store"):
        h.store.update(sid, {"created_at": "yesterday"})
    with pytest.raises(TypeError, match="session data must be a dict, not str"):
        h.store.update(sid, "role=admin")  # type: ignore[arg-type]  # wrong on purpose


def test_update_merges_and_returns_the_new_session(h: Harness) -> None:
    sid = h.store.create({"user_id": 1, "username": "alice"})
    updated = h.store.update(sid, {"role": "admin"})
    assert updated["role"] == "admin" and updated["username"] == "alice"
    session = h.store.get(sid)
    assert session is not None and session["role"] == "admin"


def test_delete_is_final(h: Harness) -> None:
    sid = h.store.create({"user_id": 1})
    assert h.store.delete(sid) is True
    assert h.store.get(sid) is None
    with pytest.raises(SessionNotFound, match="session not found"):
        h.store.update(sid, {"role": "admin"})  # no resurrection
    assert h.store.get(sid) is None
    assert h.store.delete(sid) is False
    assert h.store.stored_count() == 0


def test_sliding_calls_slide_back_to_the_sessions_own_idle_ttl(h: Harness) -> None:
    """Like SessionStore: a session created with ttl=10 slides back to 10 s, not default_ttl."""
    started = h.now()
    short = h.store.create({"user_id": 1}, ttl=10)
    refreshed = h.store.create({"user_id": 2}, ttl=10)
    read = h.store.create({"user_id": 3}, ttl=10)
    default = h.store.create({"user_id": 4})
    created = (started, h.now())
    h.assert_ttl(short, 10, created)
    h.assert_ttl(default, 100, created)
    short_session, default_session = h.store.get(short), h.store.get(default)
    assert short_session is not None and short_session["idle_ttl"] == 10
    assert default_session is not None and default_session["idle_ttl"] == 100
    h.advance(1.5)
    h.store.update(short, {"step": 1}, refresh=False)
    h.assert_ttl(short, 10, created)  # kept: still counting down from its creation (<= 8.5 s)

    def slid(call: Callable[[], Any]) -> tuple[Any, tuple[float, float]]:
        """``call()``'s result, and when it ran (it sets a TTL within that time)."""
        before = h.now()
        result = call()
        return result, (before, h.now())

    _, when = slid(lambda: h.store.update(short, {"step": 2}, refresh=True))
    h.assert_ttl(short, 10, when)  # slid back to its own 10 s
    ok, when = slid(lambda: h.store.refresh(refreshed))
    assert ok is True
    h.assert_ttl(refreshed, 10, when)
    session, when = slid(lambda: h.store.get(read, refresh=True))
    assert session["user_id"] == 3
    h.assert_ttl(read, 10, when)
    session = h.store.get(read)
    assert session is not None and session["idle_ttl"] == 10
    session, when = slid(lambda: h.store.get(default, refresh=True))
    assert session is not None
    h.assert_ttl(default, 100, when)


def test_expired_session_is_gone_for_every_call(h: Harness) -> None:
    short = h.store.create({"user_id": 1}, ttl=1)
    long = h.store.create({"user_id": 2})
    h.advance(1.5)
    assert h.store.get(short) is None
    assert h.store.ttl(short) is None
    assert h.store.refresh(short) is False
    with pytest.raises(SessionNotFound, match="session not found"):
        h.store.update(short, {"role": "admin"})
    assert h.store.get(short) is None  # the failed update did not bring it back
    session = h.store.get(long)
    assert session is not None and session["user_id"] == 2


def test_what_piles_up_without_a_cleanup_job(h: Harness) -> None:
    """Redis deletes expired keys itself; the local stores keep them until cleanup() runs."""
    for i in range(3):
        h.store.create({"user_id": i}, ttl=1)
    live = [h.store.create({"user_id": i}) for i in (10, 11)]
    h.advance(1.5)
    if h.is_redis:
        assert h.store.stored_count() == 2  # nothing piled up
        assert h.store.cleanup() == 0  # and nothing to clean
    else:
        assert h.store.stored_count() == 5  # the 3 expired sessions are still stored
        assert h.store.cleanup() == 3
    assert h.store.stored_count() == 2
    assert all(h.store.get(sid) is not None for sid in live)


def test_get_deletes_an_expired_entry_lazily(h: Harness) -> None:
    sid = h.store.create({"user_id": 1}, ttl=1)
    h.advance(1.5)
    assert h.store.get(sid) is None
    assert h.store.stored_count() == 0
    assert h.store.cleanup() == 0


# -- store-specific -------------------------------------------------------------------------------
def test_sqlite_update_never_resurrects_a_session_deleted_by_another_connection(tmpdir_own: str) -> None:
    path = os.path.join(tmpdir_own, "shared.db")
    a, b = stores.SqliteStore(path), stores.SqliteStore(path)
    try:
        sid = a.create({"user_id": 1})
        session = b.get(sid)
        assert session is not None and session["user_id"] == 1
        assert b.delete(sid) is True
        with pytest.raises(SessionNotFound, match="session not found"):
            a.update(sid, {"role": "admin"})
        assert a.get(sid) is None and a.stored_count() == 0
    finally:
        a.close()
        b.close()


def test_file_store_writes_one_json_file_per_session(tmpdir_own: str) -> None:
    directory = os.path.join(tmpdir_own, "files")
    store = stores.FileStore(directory)
    sid = store.create({"user_id": 1})
    assert sorted(os.listdir(directory)) == [f"{sid}.json"]  # no temporary files left over
    store.update(sid, {"role": "admin"})
    assert sorted(os.listdir(directory)) == [f"{sid}.json"]
    session = stores.FileStore(directory).get(sid)  # another instance reads it
    assert session is not None and session["role"] == "admin"


def test_redis_store_cleanup_sends_no_command(redis_url: str, prefix: str) -> None:
    from lessons.roundtrips import counting_client

    store = stores.RedisStore(redis_url, prefix=prefix)
    client, trips = counting_client(redis_url)
    store.r = client
    with trips.measure() as m:
        assert store.cleanup() == 0
    assert m.count == 0
    client.close()


def test_open_store_by_spec(tmpdir_own: str, redis_url: str, prefix: str) -> None:
    assert isinstance(stores.open_store("memory:"), stores.MemoryStore)
    file_store = stores.open_store(f"file:{tmpdir_own}/f")
    assert isinstance(file_store, stores.FileStore)
    sqlite_store = stores.open_store(f"sqlite:{tmpdir_own}/s.db")
    assert isinstance(sqlite_store, stores.SqliteStore)
    sqlite_store.close()
    redis_store = stores.open_store(stores.RedisStore(redis_url, prefix=prefix).spec)
    assert isinstance(redis_store, stores.RedisStore) and redis_store.prefix == prefix
    for bad in ("file:", "postgres://x", "redis:nourl", ""):
        with pytest.raises(ValueError, match="not a store spec"):
            stores.open_store(bad)


# -- the sharing experiment -----------------------------------------------------------------------
def test_a_second_process_sees_file_sqlite_and_redis_sessions_but_not_the_dict(
    tmpdir_own: str, redis_url: str, prefix: str
) -> None:
    local: list[stores.ComparedStore] = [
        stores.MemoryStore(),
        stores.FileStore(os.path.join(tmpdir_own, "files")),
        stores.SqliteStore(os.path.join(tmpdir_own, "s.db")),
    ]
    redis_store = stores.RedisStore(redis_url, prefix=prefix, default_ttl=60)
    lookups: list[tuple[stores.ComparedStore, str]] = [
        (s, s.create({"user_id": 7, "username": "alice"})) for s in [*local, redis_store]
    ]
    pid, seen = stores.other_process_sees(lookups)
    assert pid != os.getpid()
    assert seen["memory"] is None
    for kind in ("file", "sqlite", "redis"):
        session = seen[kind]
        assert session is not None and session["username"] == "alice", kind
    # The second process only read: every session is still here.
    assert all(s.get(sid) is not None for s, sid in lookups)
    local[2].close()


def test_second_process_reports_errors_clearly() -> None:
    class Bogus:
        kind, spec = "bogus", "nosuch:thing"

    with pytest.raises(RuntimeError, match="not a store spec"):
        stores.other_process_sees([(cast(stores.ComparedStore, Bogus()), "A" * 43)])


# -- benchmark helpers ----------------------------------------------------------------------------
def test_run_workload_times_every_call_and_leaves_the_store_empty() -> None:
    store = stores.MemoryStore()
    timings = stores.run_workload(store, n=30, warmup=5)
    assert set(timings) == set(stores.OPS)
    assert all(len(v) == 30 and all(t >= 0 for t in v) for v in timings.values())
    assert store.stored_count() == 0
    rows = stores.summarize({"memory": timings})
    assert [(r.kind, r.op, r.count) for r in rows] == [("memory", op, 30) for op in stores.OPS]
    assert all(r.median_us <= r.p99_us and r.ops_per_s > 0 for r in rows)


def test_summarize_takes_the_course_percentile() -> None:
    timings = {op: [i / 1e6 for i in range(100, 0, -1)] for op in stores.OPS}  # 1..100 µs, reversed
    row = stores.summarize({"memory": timings})[0]
    assert row.median_us == pytest.approx(50.5) and row.p99_us == pytest.approx(99.01)


# -- the "Your turn" checker ----------------------------------------------------------------------
def test_check_cleanup_sql_accepts_a_right_answer_and_rejects_wrong_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def right(conn: sqlite3.Connection, now: float) -> int:
        return conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,)).rowcount

    def deletes_everything(conn: sqlite3.Connection, now: float) -> int:
        return conn.execute("DELETE FROM sessions").rowcount

    def forgets_to_return(conn: sqlite3.Connection, now: float) -> None:
        conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,))

    def one_row_at_a_time(conn: sqlite3.Connection, now: float) -> int:
        ids = [row[0] for row in conn.execute("SELECT id FROM sessions WHERE expires_at <= ?", (now,))]
        for session_id in ids:
            conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
        return len(ids)

    def stub(
        conn: sqlite3.Connection, now: float
    ) -> None:  # the notebook's "Your turn" cell as the learner finds it
        return None

    assert check_cleanup_sql(stub) is False
    out = capsys.readouterr().out
    assert "✓" not in out, out  # a stub earns no pass mark
    assert "· the 2 live sessions are still readable (counts once the rest works" in out
    assert "✗ uses one SQL statement (saw '0 statements')" in out
    assert "Not yet: 3 of 4 checks failed." in out
    assert check_cleanup_sql(right) is True
    out = capsys.readouterr().out
    assert out.rstrip().endswith("All checks passed.") and "✗" not in out
    assert "✓ the 2 live sessions are still readable" in out and "·" not in out
    assert check_cleanup_sql(deletes_everything) is False
    out = capsys.readouterr().out
    assert "✗ returns how many rows it deleted (3) (saw 5)" in out
    assert "✗ deletes the 3 expired rows and only those (2 rows left) (saw '0 rows left')" in out
    assert check_cleanup_sql(forgets_to_return) is False
    out = capsys.readouterr().out
    assert "✗ returns how many rows it deleted (3) (saw 'no return value')" in out
    assert "✓ deletes the 3 expired rows" in out and "Not yet: 1 of 4 checks failed." in out
    assert "✓ the 2 live sessions are still readable" in out  # earned: another property passed
    assert check_cleanup_sql(one_row_at_a_time) is False
    assert "✗ uses one SQL statement (saw '4 statements')" in capsys.readouterr().out
    assert check_cleanup_sql(lambda conn, now: 1 / 0) is False
    out = capsys.readouterr().out
    assert "✗ your code raised ZeroDivisionError: division by zero" in out and "Traceback" not in out


# -- MemoryStore as the web app's in-process store ----------------------------------------------
def test_memory_store_lists_and_revokes_a_users_sessions_like_session_admin() -> None:
    clock = FakeClock()
    store = stores.MemoryStore(default_ttl=100, clock=clock)
    alice = [store.create({"user_id": 1, "username": "alice"}, ttl=t) for t in (30, 60)]
    text_one = store.create({"user_id": "1", "username": "one"})
    bob = store.create({"user_id": 2, "username": "bob"})
    anon = store.create({"cart": []})
    clock.now += 10
    listed = store.list_sessions(1)
    assert [(s["session_id"], s["ttl"], s["username"]) for s in listed] == [
        (alice[0], 20, "alice"),
        (alice[1], 50, "alice"),
    ]
    listed[0]["username"] = "mallory"  # a listing is a copy
    session = store.get(alice[0])
    assert session is not None and session["username"] == "alice"
    assert [s["session_id"] for s in store.list_sessions("1")] == [text_one]  # "1" is not 1
    assert [s["session_id"] for s in store.list_sessions()] == [*alice, text_one, bob, anon]
    assert store.list_sessions(99) == []
    clock.now += 25  # alice's 30 s session has expired
    assert [s["session_id"] for s in store.list_sessions(1)] == [alice[1]]
    assert store.revoke_all_sessions(1) == 1
    session = store.get(text_one)
    assert store.get(alice[1]) is None and session is not None and session["username"] == "one"
    assert store.revoke_all_sessions(1) == 0
    # end one session by the ID a listing shows (what DELETE /sessions/{id} does)
    assert store.stored_id(bob) == bob
    assert store.delete_stored(store.list_sessions(2)[0]["session_id"]) is True
    assert store.get(bob) is None and store.delete_stored(bob) is False
    store.ping()  # answers (a MemoryStore is always up)
    with pytest.raises(TypeError, match="user_id must be an int or a str"):
        store.list_sessions(1.5)  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(TypeError, match="user_id must be an int or a str"):
        store.revoke_all_sessions(None)  # type: ignore[arg-type]  # wrong on purpose


def test_memory_store_prefix_and_ttl_are_checked() -> None:
    assert stores.MemoryStore().prefix == "memory"
    assert stores.MemoryStore(prefix="web-1").prefix == "web-1"
    with pytest.raises(ValueError, match="glob"):
        stores.MemoryStore(prefix="web*")
    with pytest.raises(ValueError, match=r"default_ttl must be > 0 seconds \(got 0\)"):
        stores.MemoryStore(default_ttl=0)
    with pytest.raises(TypeError, match="default_ttl must be a whole number of seconds"):
        stores.MemoryStore(default_ttl=None)  # type: ignore[arg-type]  # wrong on purpose


def test_every_store_refuses_a_zero_default_ttl(tmpdir_own: str, redis_url: str) -> None:
    for make in (
        lambda: stores.FileStore(os.path.join(tmpdir_own, "f"), default_ttl=0),
        lambda: stores.SqliteStore(os.path.join(tmpdir_own, "s.db"), default_ttl=0),
        lambda: stores.RedisStore(redis_url, default_ttl=0),
    ):
        with pytest.raises(ValueError, match=r"default_ttl must be > 0 seconds \(got 0\)"):
            make()


def test_the_package_offers_what_notebook_00_imports() -> None:
    from lessons.stores import (  # noqa: F401
        LESSON_TABLE,
        FileStore,
        MemoryStore,
        RedisStore,
        SqliteStore,
        other_process_sees,
        run_workload,
        summarize,
    )

    assert [row[0] for row in LESSON_TABLE] == list(stores.KINDS)
    assert set(stores.__all__) <= set(dir(stores))
    assert "check_cleanup_sql" not in stores.__all__  # lessons.checks.stores has it
    assert all(getattr(stores, name) is not None for name in stores.__all__)


# -- quiz answer keys, proven ---------------------------------------------------------------------
def test_quiz_answer_keys_match_the_experiments(tmpdir_own: str, redis_url: str, prefix: str) -> None:
    # why-redis-shared: only the store reached over the network (D) is seen by another process
    # through a URL; the dict (A) is not seen at all.
    q = question("why-redis-shared")
    assert q.answer == "D" and "Redis" in q.choices["D"] and "dict" in q.choices["A"]
    memory, redis_store = stores.MemoryStore(), stores.RedisStore(redis_url, prefix=prefix)
    _, seen = stores.other_process_sees(
        [(memory, memory.create({"user_id": 1})), (redis_store, redis_store.create({"user_id": 1}))]
    )
    redis_session = seen["redis"]
    assert seen["memory"] is None and redis_session is not None and redis_session["user_id"] == 1

    # why-redis-cleanup: an expired session file stays on disk until a cleanup job runs.
    q = question("why-redis-cleanup")
    assert q.answer == "B"
    clock = FakeClock()
    files = stores.FileStore(os.path.join(tmpdir_own, "files"), default_ttl=1800, clock=clock)
    files.create({"user_id": 1})
    clock.now += 3600
    assert files.stored_count() == 1 and files.cleanup() == 1

    # why-redis-table: Redis expires keys itself (and is shared, above).
    q = question("why-redis-table")
    assert q.answer == "C" and "expires" in q.choices["C"]
    redis_store.create({"user_id": 2}, ttl=1)
    time.sleep(1.5)
    assert redis_store.stored_count() == 1  # only the default-TTL session from above is left
