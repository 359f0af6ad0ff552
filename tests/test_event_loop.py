"""``lessons.event_loop``: blocking calls in ``async def`` endpoints serialise requests; ``def``
endpoints and awaited waits overlap (notebook 02's measurement)."""

from __future__ import annotations

import json
import time

import pytest

from lessons.event_loop import blocking_demo_app, slow_client, time_concurrent_requests
from lessons.store import SessionStore
from lessons.web import TestClient, create_app

DELAY, N = 0.05, 8


def test_a_blocking_call_in_async_def_serves_requests_one_at_a_time():
    app = blocking_demo_app(DELAY)
    seconds = time_concurrent_requests(app, "/async-blocking", N, warmup=0)
    assert seconds >= N * DELAY  # a lower bound that no machine can beat


@pytest.mark.parametrize("path", ["/def", "/async-await"])
def test_def_and_awaited_waits_overlap(path):
    app = blocking_demo_app(DELAY)
    assert time_concurrent_requests(app, path, N) < N * DELAY / 2


def test_failed_requests_raise_instead_of_being_timed():
    with pytest.raises(RuntimeError, match="404"):
        time_concurrent_requests(blocking_demo_app(DELAY), "/nowhere", 2)


@pytest.mark.parametrize("bad", [0, -1, 6])
def test_demo_delay_is_bounded(bad):
    with pytest.raises(ValueError):
        blocking_demo_app(bad)


def test_request_count_is_bounded():
    with pytest.raises(ValueError):
        time_concurrent_requests(blocking_demo_app(DELAY), "/def", 0)


def test_slow_client_waits_per_round_trip_not_per_connection(redis_url, prefix):
    if not redis_url.startswith("redis://"):
        pytest.skip("slow_client supports redis:// URLs only")
    far = slow_client(0.1, redis_url)
    far.ping()  # connects (not delayed) and sends one command (delayed)
    start = time.perf_counter()
    far.set(f"{prefix}:k", "v", ex=5)
    assert far.get(f"{prefix}:k") == "v"  # decode_responses=True
    assert time.perf_counter() - start >= 0.2  # two round trips
    far.delete(f"{prefix}:k")
    far.close()


def test_the_lessons_web_me_overlaps_on_a_slow_redis(redis_url, prefix):
    """The notebook's claim about ``lessons.web``: /me waits for its own round trip only."""
    if not redis_url.startswith("redis://"):
        pytest.skip("slow_client supports redis:// URLs only")
    store = SessionStore(redis_url=redis_url, prefix=prefix)
    login = TestClient(create_app(store), base_url="https://testserver").post(
        "/login", json={"username": "alice", "password": "wonderland"})
    sid = login.cookies["session_id"]
    far_app = create_app(SessionStore(client=slow_client(0.1, redis_url), prefix=prefix))
    seconds = time_concurrent_requests(far_app, "/me", N, {"Cookie": f"session_id={sid}"},
                                       warmup=N)
    assert seconds < N * 0.1 / 2
    assert json.loads(store.r.get(store.key(sid)))["username"] == "alice"


def test_slow_client_rejects_other_schemes():
    with pytest.raises(ValueError):
        slow_client(0.1, "unix:///tmp/redis.sock")
