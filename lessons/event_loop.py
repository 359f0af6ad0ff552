"""Why ``async def`` endpoints that call a blocking Redis client stall every request: a measurement.

FastAPI runs an ``async def`` endpoint **on the event loop**. While it waits inside a blocking
call (the synchronous redis-py client waiting for Redis's reply, or ``time.sleep``), the loop
cannot switch to any other request of that process: concurrent requests are served one after
the other. A plain ``def`` endpoint runs in a worker thread (anyio's thread pool, 40 threads by
default), so the loop stays free and the blocking waits overlap. ``lessons.web`` declares its
Redis-bound endpoints with plain ``def``; the other cure is an asyncio client
(``redis.asyncio``) awaited from ``async def``.

    app = blocking_demo_app(delay=0.1)
    time_concurrent_requests(app, "/async-blocking", n=10)   # >= 1.0 s: one request at a time
    time_concurrent_requests(app, "/def", n=10)              # ~ 0.1 s: the waits overlap

    far = slow_client(0.05)      # a redis-py client 50 ms away from Redis (per round trip)

Durations depend on the machine and its load. ``Meeting`` shows the same thing without a clock:
each wait ends as soon as ``n`` requests are waiting at the same time, and ``most`` says how many
ever were, so a result is a count that no load can change:

    meeting = Meeting(10, patience=0.1)
    time_concurrent_requests(blocking_demo_app(0.1, meeting=meeting), "/async-blocking", 10)
    meeting.most                 # 1: the loop is blocked, so no second request ever waits
    meeting = Meeting(10, patience=60)
    time_concurrent_requests(blocking_demo_app(0.1, meeting=meeting), "/def", 10)
    meeting.most                 # 10: all ten were waiting at once (no sleep at all)

Nothing here touches Redis except the client ``slow_client`` returns, and only through the
commands its caller sends.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import redis
from fastapi import FastAPI

from . import backend

__all__ = ["Meeting", "blocking_demo_app", "slow_client", "time_concurrent_requests"]


class Meeting:
    """A meeting point that counts how many callers wait at the same time.

    Each ``wait()`` (a blocking call, for threads) or ``await arrive()`` (for coroutines: it gives
    the event loop back while it waits) returns as soon as ``n`` callers are waiting together, or
    after ``patience`` seconds if they never are (a caller that gives up stops counting as
    waiting). Once ``n`` have met (``met``), later callers go straight on. ``most`` is the
    largest number of callers that were ever waiting at once, ``waits`` how many calls there were.
    """

    def __init__(self, n: int, patience: float):
        if n < 1 or not 0 < patience <= 600:
            raise ValueError(f"n must be >= 1 and patience 0..600 s, not {n} and {patience}")
        self.n, self.patience = n, patience
        self.most = self.waits = self._waiting = 0
        self.met = False
        self._cond = threading.Condition()

    def _enter(self) -> bool:
        """Count one more caller (under the lock); True if it has to wait for others."""
        self.waits += 1
        if self.met:
            return False
        self._waiting += 1
        self.most = max(self.most, self._waiting)
        if self._waiting >= self.n:
            self.met = True
            self._cond.notify_all()
            return False
        return True

    def wait(self) -> None:
        """Block until ``n`` callers wait together (or ``patience`` seconds have passed)."""
        with self._cond:
            if self._enter():
                self._cond.wait_for(lambda: self.met, self.patience)
                self._waiting -= 1

    async def arrive(self) -> None:
        """Like ``wait()``, but awaited: the event loop serves others meanwhile."""
        with self._cond:
            if not self._enter():
                return
        deadline = time.monotonic() + self.patience
        while not self.met and time.monotonic() < deadline:
            await asyncio.sleep(0.001)
        with self._cond:
            self._waiting -= 1


def blocking_demo_app(delay: float, *, meeting: Meeting | None = None) -> FastAPI:
    """A FastAPI app with three endpoints that each wait ``delay`` seconds, differently.

    - ``GET /async-blocking``: ``async def`` + ``time.sleep`` (a blocking call on the event loop,
      like the lesson's ``async def`` endpoints calling synchronous redis-py);
    - ``GET /def``: plain ``def`` + ``time.sleep`` (FastAPI runs it in the thread pool, like
      ``lessons.web``'s endpoints);
    - ``GET /async-await``: ``async def`` + ``await asyncio.sleep`` (what an asyncio client such
      as ``redis.asyncio`` does: the loop serves others while this one waits).

    With a ``meeting``, each wait is the meeting's instead (``meeting.wait()``, blocking, in the
    first two; ``await meeting.arrive()`` in the third): ``meeting.most`` then tells how many
    requests of the endpoint were waiting at the same time.
    """
    if not 0 < delay <= 5:
        raise ValueError(f"delay must be between 0 and 5 seconds, not {delay!r}")
    app = FastAPI()

    def block() -> None:
        if meeting is not None:
            meeting.wait()
        else:
            time.sleep(delay)

    @app.get("/async-blocking")
    async def async_blocking() -> dict[str, str]:
        block()  # blocks the event loop: no other request moves meanwhile
        return {"endpoint": "async def + time.sleep"}

    @app.get("/def")
    def plain_def() -> dict[str, str]:
        block()  # blocks one worker thread only
        return {"endpoint": "def + time.sleep"}

    @app.get("/async-await")
    async def async_await() -> dict[str, str]:
        # gives the loop back while waiting
        await (meeting.arrive() if meeting is not None else asyncio.sleep(delay))
        return {"endpoint": "async def + await asyncio.sleep"}

    return app


async def _gather(client: httpx.AsyncClient, path: str, n: int, headers: Mapping[str, str]) -> None:
    responses = await asyncio.gather(*(client.get(path, headers=dict(headers)) for _ in range(n)))
    bad = [r.status_code for r in responses if r.status_code != 200]
    if bad:
        raise RuntimeError(f"{len(bad)} of {n} requests to {path} did not answer 200: {bad[:5]}")


async def _timed(app: Any, path: str, n: int, headers: Mapping[str, str], warmup: int) -> float:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        if warmup:
            await _gather(client, path, warmup, headers)  # untimed: first-call setup
        start = time.perf_counter()
        await _gather(client, path, n, headers)
        return time.perf_counter() - start


def time_concurrent_requests(
    app: Any, path: str, n: int = 10, headers: Mapping[str, str] | None = None, *, warmup: int = 1
) -> float:
    """Seconds until ``n`` concurrent ``GET path`` requests to ``app`` have all been answered.

    The requests start together on one event loop, like ``n`` browsers hitting one server
    process (``httpx.ASGITransport``: in-process, no network; base URL ``https://testserver``).
    First, untimed, ``warmup`` concurrent requests (opening Redis connections, loading scripts,
    FastAPI's first-call setup). Raises ``RuntimeError`` if any answer is not 200. Runs its own
    event loop in a worker thread, so it works inside a notebook, whose kernel already runs one.
    """
    if not 1 <= n <= 200 or not 0 <= warmup <= 200:
        raise ValueError(f"n must be 1..200 and warmup 0..200, not {n} and {warmup}")
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _timed(app, path, n, headers or {}, warmup)).result()


class _SlowConnection(redis.Connection):
    """A redis-py connection that waits ``delay`` seconds (or at ``meeting``) before sending each
    request (not during its connection handshake, so that only the commands being measured pay)."""

    delay: float = 0.0
    meeting: Meeting | None = None
    _handshaking = False

    def on_connect_check_health(self, *args: Any, **kwargs: Any) -> None:
        self._handshaking = True
        try:
            super().on_connect_check_health(*args, **kwargs)
        finally:
            self._handshaking = False

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if self._handshaking:
            pass
        elif self.meeting is not None:
            self.meeting.wait()
        else:
            time.sleep(self.delay)  # inside the synchronous call, like network latency
        super().send_packed_command(command, check_health)  # type: ignore[no-untyped-call]  # redis-py: unannotated


def slow_client(delay: float, url: str | None = None, *, meeting: Meeting | None = None) -> redis.Redis:
    """A ``decode_responses=True`` client for ``url`` (default: the course's Redis) that waits
    ``delay`` seconds before every round trip: a stand-in for a Redis far away (another region,
    a congested network). Commands, pipelines and scripts run unchanged; each request written to
    the socket costs ``delay`` more (opening a connection does not). With a ``meeting``, each
    request waits at it instead (``meeting.most``: how many round trips were waiting at once).
    Plain TCP URLs only (``redis://``)."""
    if not 0 <= delay <= 5:
        raise ValueError(f"delay must be between 0 and 5 seconds, not {delay!r}")
    url = url or backend.redis_url()
    if not url.startswith("redis://"):
        raise ValueError("slow_client supports redis:// URLs only")
    connection_class = type("SlowConnection", (_SlowConnection,), {"delay": delay, "meeting": meeting})
    return redis.Redis.from_url(url, decode_responses=True, connection_class=connection_class)
