"""lessons.roundtrips: round trips and their commands are recorded where redis-py packs them.

Every test runs on both backends (``redis_url``). Keys that go in one pipeline or transaction
share a hash tag, so the same tests hold when ``REDIS_URL`` is a Redis Cluster node.
"""

from __future__ import annotations

import threading

import pytest
import redis
from pytest import MonkeyPatch

from lessons.backend import Client
from lessons.checks import store as exercises
from lessons.roundtrips import RoundTrips, counting_client
from lessons.security import command_log_client

# A stored value that looks like a TTL command on the wire (RESP: an array of one bulk "TTL").
FAKE_TTL = "\r\n*1\r\n$3\r\nTTL\r\n"
# The same, after as many lines as a re-parser of the bytes of ``SET key value EX n`` would skip.
FAKE_TTL_ALIGNED = "a\r\nb\r\nc\r\nd\r\ne" + FAKE_TTL


def tagged(prefix: str, name: str) -> str:
    """A key under ``prefix`` in the hash slot of ``prefix`` (one slot per test, on a cluster)."""
    return f"{prefix}:{{{prefix}}}:{name}"


@pytest.mark.parametrize("value", [FAKE_TTL, FAKE_TTL_ALIGNED])
def test_stored_value_that_looks_like_a_command_is_not_one(
    counted_client: tuple[Client, RoundTrips], prefix: str, value: str
) -> None:
    client, trips = counted_client
    key = tagged(prefix, "v")
    with trips.measure() as m:
        client.set(key, value)
        client.expire(key, 30)
        client.set(key, value, ex=30)
        assert client.get(key) == value
    assert m.count == 4
    assert m.commands == ["SET", "EXPIRE", "SET", "GET"]
    assert not any("TTL" in c.split() for c in m.commands), m.commands
    assert m.requests[2] == [("SET", key, value, "EX", "30")]


def test_a_pipeline_is_one_round_trip_listing_its_commands(
    counted_client: tuple[Client, RoundTrips], prefix: str
) -> None:
    client, trips = counted_client
    a, b = tagged(prefix, "a"), tagged(prefix, "b")
    with trips.measure() as m:
        pipe = client.pipeline(transaction=False)
        pipe.set(a, "1", ex=30)
        pipe.set(b, FAKE_TTL, ex=30)
        pipe.get(a)
        assert pipe.execute() == [True, True, "1"]
    assert m.count == 1
    assert m.commands == ["SET SET GET"]
    assert m.requests == [[("SET", a, "1", "EX", "30"), ("SET", b, FAKE_TTL, "EX", "30"), ("GET", a)]]


def test_multi_exec_is_one_round_trip(counted_client: tuple[Client, RoundTrips], prefix: str) -> None:
    client, trips = counted_client
    key, index = tagged(prefix, "s"), tagged(prefix, "index")
    with trips.measure() as m:
        pipe = client.pipeline(transaction=True)
        pipe.set(key, "data", ex=30)
        pipe.zadd(index, {"s": 1.5})
        pipe.expire(index, 30)
        pipe.execute()
    assert m.count == 1
    assert m.commands == ["MULTI SET ZADD EXPIRE EXEC"]
    assert m.requests[0][2] == ("ZADD", index, "1.5", "s")


def test_arguments_are_recorded_and_rendered_as_log_lines(
    counted_client: tuple[Client, RoundTrips], prefix: str
) -> None:
    client, trips = counted_client
    key = tagged(prefix, "k")
    with trips.measure() as m:
        client.set(key, 'a b\r\n"c"', ex=10)
        client.execute_command("ttl", key.encode())  # type: ignore[no-untyped-call]  # lower-case name, bytes argument
    assert m.requests == [[("SET", key, 'a b\r\n"c"', "EX", "10")], [("TTL", key)]]
    assert m.commands == ["SET", "TTL"]
    assert m.log_lines() == [f'"SET" "{key}" "a b\\r\\n\\"c\\"" "EX" "10"', f'"TTL" "{key}"']
    assert m.log_lines(max_arg=5) == ['"SET" "…" "…" "EX" "10"', '"TTL" "…"']
    assert trips.log_lines() == m.log_lines()


def test_multi_word_command_names_are_split_like_redis_py_sends_them(
    counted_client: tuple[Client, RoundTrips],
) -> None:
    client, trips = counted_client
    sha = client.script_load("return 1")  # on a cluster: sent to every primary
    assert trips.count >= 1
    assert trips.commands == ["SCRIPT"] * trips.count
    assert trips.requests == [[("SCRIPT", "LOAD", "return 1")]] * trips.count
    with trips.measure() as m:
        assert client.evalsha(sha, 0) == 1
    assert m.requests == [[("EVALSHA", sha, "0")]]


def test_measure_counts_only_its_block(counted_client: tuple[Client, RoundTrips], prefix: str) -> None:
    client, trips = counted_client
    key = tagged(prefix, "k")
    client.set(key, "before", ex=30)
    with trips.measure() as m:
        client.get(key)
    client.delete(key)
    assert (m.count, m.commands, m.requests) == (1, ["GET"], [[("GET", key)]])
    assert trips.count == 3 and trips.commands == ["SET", "GET", "DEL"]
    trips.reset()
    assert (trips.count, trips.commands, trips.requests) == (0, [], [])


def test_a_command_that_fails_to_pack_leaves_nothing_behind(
    counted_client: tuple[Client, RoundTrips], prefix: str
) -> None:
    client, trips = counted_client
    key = tagged(prefix, "k")
    with pytest.raises(redis.DataError, match="Invalid input of type"):
        client.set(key, True, ex=30)
    assert client.get(key) is None
    assert trips.commands == ["GET"] and trips.requests == [[("GET", key)]]


def test_threads_counting_concurrently_get_the_right_total(
    counted_client: tuple[Client, RoundTrips], prefix: str
) -> None:
    client, trips = counted_client
    key = tagged(prefix, "k")
    client.set(key, FAKE_TTL, ex=30)
    threads_n, each = 8, 25
    barrier = threading.Barrier(threads_n)

    def work() -> None:
        barrier.wait()  # all at once: the pool opens new connections while others count
        for _ in range(each):
            assert client.get(key) == FAKE_TTL

    with trips.measure() as m:
        threads = [threading.Thread(target=work) for _ in range(threads_n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    # Exactly one GET per call: no connection handshake (CLIENT SETINFO…) counted, no TTL.
    assert m.count == threads_n * each
    assert m.commands == ["GET"] * (threads_n * each)


def test_the_command_log_is_a_view_of_the_same_record(redis_url: str, prefix: str) -> None:
    logged, log = command_log_client(redis_url)
    try:
        key = tagged(prefix, "k")
        logged.set(key, FAKE_TTL, ex=10)
        assert log.commands == [["SET", key, FAKE_TTL, "EX", "10"]]
        assert log.lines == [f'"SET" "{key}" "\\r\\n*1\\r\\n$3\\r\\nTTL\\r\\n" "EX" "10"']
        assert log.short(max_arg=5) == ['"SET" "…" "…" "EX" "10"']
        assert isinstance(log.trips, RoundTrips) and log.trips.count == 1
        log.clear()
        assert log.commands == [] and log.lines == []
    finally:
        logged.close()


def test_counting_client_keeps_connect_options(redis_url: str) -> None:
    client, trips = counting_client(redis_url, client_name="roundtrips-test")
    try:
        assert client.client_getname() == "roundtrips-test"
        assert trips.commands == ["CLIENT"]  # the getname; the SETNAME at connect is not counted
    finally:
        client.close()


def test_update_check_is_not_fooled_by_a_stored_value(
    redis_url: str, monkeypatch: MonkeyPatch, capsys: pytest.CaptureFixture[str], learner: str
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)

    def keep_ttl_and_note(r: Client, key: str, value: str) -> None:
        pipe = r.pipeline(transaction=False)
        pipe.set(key, value, keepttl=True)
        pipe.set(f"{key}:{{{key}}}", FAKE_TTL_ALIGNED, ex=5)  # same hash slot as key, on a cluster
        pipe.execute()

    assert exercises.check_update_keep_ttl(keep_ttl_and_note) is True
    assert "✗" not in capsys.readouterr().out

    def reads_the_ttl(r: Client, key: str, value: str) -> None:
        r.set(key, value, px=r.pttl(key))

    assert exercises.check_update_keep_ttl(reads_the_ttl) is False
    assert "✗ does not read the TTL first" in capsys.readouterr().out
