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

Nothing here touches Redis except the client ``slow_client`` returns, and only through the
commands its caller sends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import redis
from fastapi import FastAPI

from . import backend

__all__ = ["blocking_demo_app", "slow_client", "time_concurrent_requests"]


def blocking_demo_app(delay: float) -> FastAPI:
    """A FastAPI app with three endpoints that each wait ``delay`` seconds, differently.

    - ``GET /async-blocking``: ``async def`` + ``time.sleep`` (a blocking call on the event loop,
      like the lesson's ``async def`` endpoints calling synchronous redis-py);
    - ``GET /def``: plain ``def`` + ``time.sleep`` (FastAPI runs it in the thread pool, like
      ``lessons.web``'s endpoints);
    - ``GET /async-await``: ``async def`` + ``await asyncio.sleep`` (what an asyncio client such
      as ``redis.asyncio`` does: the loop serves others while this one waits).
    """
    if not 0 < delay <= 5:
        raise ValueError(f"delay must be between 0 and 5 seconds, not {delay!r}")
    app = FastAPI()

    @app.get("/async-blocking")
    async def async_blocking() -> dict[str, str]:
        time.sleep(delay)  # blocks the event loop: no other request moves meanwhile
        return {"endpoint": "async def + time.sleep"}

    @app.get("/def")
    def plain_def() -> dict[str, str]:
        time.sleep(delay)  # blocks one worker thread only
        return {"endpoint": "def + time.sleep"}

    @app.get("/async-await")
    async def async_await() -> dict[str, str]:
        await asyncio.sleep(delay)  # gives the loop back while waiting
        return {"endpoint": "async def + await asyncio.sleep"}

    return app


async def _gather(client: httpx.AsyncClient, path: str, n: int,
                  headers: Mapping[str, str]) -> None:
    responses = await asyncio.gather(*(client.get(path, headers=dict(headers))
                                       for _ in range(n)))
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


def time_concurrent_requests(app: Any, path: str, n: int = 10,
                             headers: Mapping[str, str] | None = None, *, warmup: int = 1
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
    """A redis-py connection that waits ``delay`` seconds before sending each request (not
    during its connection handshake, so that only the commands being measured pay)."""

    delay: float = 0.0
    _handshaking = False

    def on_connect_check_health(self, *args: Any, **kwargs: Any) -> None:
        self._handshaking = True
        try:
            super().on_connect_check_health(*args, **kwargs)
        finally:
            self._handshaking = False

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if not self._handshaking:
            time.sleep(self.delay)  # inside the synchronous call, like network latency
        super().send_packed_command(command, check_health)


def slow_client(delay: float, url: str | None = None) -> redis.Redis:
    """A ``decode_responses=True`` client for ``url`` (default: the course's Redis) that waits
    ``delay`` seconds before every round trip: a stand-in for a Redis far away (another region,
    a congested network). Commands, pipelines and scripts run unchanged; each request written to
    the socket costs ``delay`` more (opening a connection does not). Plain TCP URLs only
    (``redis://``)."""
    if not 0 <= delay <= 5:
        raise ValueError(f"delay must be between 0 and 5 seconds, not {delay!r}")
    url = url or backend.redis_url()
    if not url.startswith("redis://"):
        raise ValueError("slow_client supports redis:// URLs only")
    connection_class = type("SlowConnection", (_SlowConnection,), {"delay": delay})
    return redis.Redis.from_url(url, decode_responses=True, connection_class=connection_class)
