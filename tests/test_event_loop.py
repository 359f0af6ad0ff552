"""``lessons.event_loop``: blocking calls in ``async def`` endpoints serialise requests; ``def``
endpoints and awaited waits overlap (notebook 02's measurement).

No assertion here compares a duration with an upper limit: overlap is shown with a ``Meeting``
(each wait ends when all the requests are waiting together, so "they overlapped" is a count, not
a time), and a duration is only ever checked against a lower bound that no machine can beat.
Patience values are hang guards: a correct run never waits them out, except where a test says
that waiting alone is the point."""

from __future__ import annotations

import json
import threading
import time

import pytest

from lessons.event_loop import Meeting, blocking_demo_app, slow_client, time_concurrent_requests
from lessons.store import SessionStore
from lessons.web import TestClient, create_app

DELAY, N = 0.05, 8
HANG_GUARD = 120.0  # seconds a Meeting waits for the others; reached only if the code is wrong


def test_a_blocking_call_in_async_def_serves_requests_one_at_a_time() -> None:
    # Each request waits at the meeting for the other 7 for DELAY seconds; while it waits, it
    # blocks the event loop, so no other request can ever join it, however fast the machine.
    meeting = Meeting(N, patience=DELAY)
    seconds = time_concurrent_requests(
        blocking_demo_app(DELAY, meeting=meeting), "/async-blocking", N, warmup=0
    )
    assert (meeting.waits, meeting.most) == (N, 1)
    assert seconds >= N * DELAY * 0.9  # each waited out its patience alone (a lower bound)


@pytest.mark.parametrize("path", ["/def", "/async-await"])
def test_def_and_awaited_waits_overlap(path: str) -> None:
    meeting = Meeting(N, patience=HANG_GUARD)
    time_concurrent_requests(blocking_demo_app(DELAY, meeting=meeting), path, N, warmup=0)
    assert (meeting.waits, meeting.most) == (N, N)  # all N were waiting at the same moment


def test_the_same_meeting_tells_the_blocking_endpoint_apart() -> None:
    """The check above can fail: with the patience of the /def test, the blocking endpoint is
    never joined (each request waits alone), so ``most`` stays 1."""
    meeting = Meeting(2, patience=DELAY)
    time_concurrent_requests(blocking_demo_app(DELAY, meeting=meeting), "/async-blocking", 2, warmup=0)
    assert meeting.most == 1
    meeting = Meeting(2, patience=HANG_GUARD)
    time_concurrent_requests(blocking_demo_app(DELAY, meeting=meeting), "/def", 2, warmup=0)
    assert meeting.most == 2


def test_a_meeting_counts_who_waits_together_and_refuses_nonsense() -> None:
    alone = Meeting(2, patience=DELAY)
    alone.wait()  # nobody joins: gives up after its patience
    assert (alone.waits, alone.most, alone.met) == (1, 1, False)
    meeting = Meeting(2, patience=HANG_GUARD)
    threads = [threading.Thread(target=meeting.wait) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    meeting.wait()  # after the meeting: goes straight on
    assert (meeting.waits, meeting.most, meeting.met) == (3, 2, True)
    for n, patience in ((0, 1), (2, 0), (2, 601)):
        with pytest.raises(ValueError, match="n must be"):
            Meeting(n, patience)


def test_failed_requests_raise_instead_of_being_timed() -> None:
    with pytest.raises(RuntimeError, match="404"):
        time_concurrent_requests(blocking_demo_app(DELAY), "/nowhere", 2)


@pytest.mark.parametrize("bad", [0, -1, 6])
def test_demo_delay_is_bounded(bad: int) -> None:
    with pytest.raises(ValueError, match="delay must be between 0 and 5 seconds"):
        blocking_demo_app(bad)


def test_request_count_is_bounded() -> None:
    with pytest.raises(ValueError, match=r"n must be 1\.\.200"):
        time_concurrent_requests(blocking_demo_app(DELAY), "/def", 0)


def test_slow_client_waits_per_round_trip_not_per_connection(redis_url: str, prefix: str) -> None:
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


def test_the_lessons_web_me_overlaps_on_a_slow_redis(redis_url: str, prefix: str) -> None:
    """The notebook's claim about ``lessons.web``: /me waits for its own round trip only, so the
    round trips of N concurrent /me requests are all in flight at the same moment."""
    if not redis_url.startswith("redis://"):
        pytest.skip("slow_client supports redis:// URLs only")
    store = SessionStore(redis_url=redis_url, prefix=prefix)
    login = TestClient(create_app(store), base_url="https://testserver").post(
        "/login", json={"username": "alice", "password": "wonderland"}
    )
    sid = login.cookies["session_id"]
    meeting = Meeting(N, patience=HANG_GUARD)
    far = slow_client(0.1, redis_url, meeting=meeting)
    far_app = create_app(SessionStore(client=far, prefix=prefix))
    time_concurrent_requests(far_app, "/me", N, {"Cookie": f"session_id={sid}"}, warmup=0)
    assert meeting.most == N  # every /me was waiting for Redis at once: none waited for another
    raw = store.r.get(store.key(sid))
    assert raw is not None and json.loads(raw)["username"] == "alice"
    far.close()


def test_slow_client_rejects_other_schemes() -> None:
    with pytest.raises(ValueError, match="redis:// URLs only"):
        slow_client(0.1, "unix:///tmp/redis.sock")
