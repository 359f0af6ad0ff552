"""A login flood against a real server: ``python -m coursetools.loadtest``.

Starts ``uvicorn`` (``--app``, an app factory; default: ``lessons.web``'s ``app_from_env``) on a
free 127.0.0.1 port against ``REDIS_URL`` (else the embedded server of this process), under a
key prefix of its own that it deletes afterwards. Then, for ``--seconds``:

1. one logged-in client (in a process of its own) calls ``GET /me`` back to back, alone: the
   latency at rest;
2. the same, while ``--guessers`` clients POST wrong passwords for one account as fast as the
   server answers: the latency under attack, and how many guesses got a real answer (401,
   i.e. a password was checked) before the throttle's 429s.

It prints p50/p99 of ``/me`` in both phases and the guesses. A measurement, not a test: the
numbers depend on the machine, and the embedded Redis is Python (slower than a real one).
Bounded: at most ``--seconds`` per phase; the server is stopped by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from lessons import backend
from lessons.percentile import percentile
from lessons.processes import free_port, spawn, stop, wait_until_ready
from lessons.store import SessionStore
from lessons.web.factory import create_app

ALICE = {"username": "alice", "password": "wonderland"}


def unthrottled_app() -> FastAPI:
    """The fixed app with limits no flood reaches: shows the separate password pool alone."""
    store = SessionStore(
        redis_url=os.environ.get("REDIS_URL") or None,
        prefix=os.environ.get("LESSONS_SESSION_PREFIX", "session"),
    )
    return create_app(store, max_failures_per_account=10**9, max_failures_per_client=10**9)


@dataclass
class Phase:
    me_ms: list[float] = field(default_factory=list)
    guesses: dict[int, int] = field(default_factory=dict)
    first_429: float | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        p50, p99 = (percentile(self.me_ms, q) if self.me_ms else 0.0 for q in (50, 99))
        text = f"/me n={len(self.me_ms)} p50={p50:.1f} ms p99={p99:.1f} ms"
        if self.guesses:
            checked = self.guesses.get(401, 0)
            text += (
                f" | guesses answered: {dict(sorted(self.guesses.items()))}, "
                f"checked (401) {checked} = {checked / self.seconds:.1f}/s"
            )
            if self.first_429 is not None:
                text += f", first 429 after {self.first_429:.2f} s"
        return text


def probe_me(base: str, cookies: dict[str, str], seconds: float) -> list[float]:
    """``GET /me`` back to back for ``seconds``; the latencies in ms. Runs in a process of its
    own, so that the guessers' client work does not delay it."""
    latencies: list[float] = []
    with httpx.Client(base_url=base, cookies=cookies, timeout=60) as client:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            start = time.perf_counter()
            r = client.get("/me")
            latencies.append((time.perf_counter() - start) * 1000)
            if r.status_code != 200:
                raise RuntimeError(f"/me answered {r.status_code}")
    return latencies


async def _guess_loop(client: httpx.AsyncClient, done: asyncio.Event, started: float, phase: Phase) -> None:
    n = 0
    while not done.is_set():
        n += 1
        r = await client.post("/login", json={"username": "alice", "password": f"guess{n}"})
        phase.guesses[r.status_code] = phase.guesses.get(r.status_code, 0) + 1
        if r.status_code == 429 and phase.first_429 is None:
            phase.first_429 = time.monotonic() - started


async def _attack(base: str, guessers: int, probe: Any, phase: Phase) -> None:
    """Guess passwords until the ``/me`` probe (an ``AsyncResult``) has finished."""
    done = asyncio.Event()
    limits = httpx.Limits(max_connections=guessers)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        started = time.monotonic()
        tasks = [asyncio.create_task(_guess_loop(client, done, started, phase)) for _ in range(guessers)]
        while not probe.ready():
            await asyncio.sleep(0.05)
        done.set()
        phase.seconds = time.monotonic() - started
        await asyncio.gather(*tasks)


def measure(base: str, seconds: float, guessers: int) -> tuple[Phase, Phase]:
    r = httpx.post(f"{base}/login", json=ALICE)
    r.raise_for_status()
    cookies = {"session_id": r.cookies["session_id"]}
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        rest = Phase(me_ms=pool.apply(probe_me, (base, cookies, seconds)), seconds=seconds)
        attack = Phase()
        probe = pool.apply_async(probe_me, (base, cookies, seconds))
        asyncio.run(_attack(base, guessers, probe, attack))
        attack.me_ms = probe.get(timeout=120)
    return rest, attack


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m coursetools.loadtest", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--app", default="lessons.web.config:app_from_env", help="an app factory, module:function"
    )
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--guessers", type=int, default=40)
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= 30 or not 0 < args.guessers <= 100:
        parser.error("keep it bounded: --seconds in (0, 30], --guessers in (0, 100]")
    url = backend.redis_url()
    prefix = f"loadtest-{uuid.uuid4().hex[:8]}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "REDIS_URL": url, "LESSONS_SESSION_PREFIX": prefix}
    process = spawn(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            args.app,
            "--no-proxy-headers",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        log_path=None,
    )
    try:
        wait_until_ready(process, f"{base}/health", timeout=30)
        rest, attack = measure(base, args.seconds, args.guessers)
    finally:
        stop(process)
        client = backend.connect(url)
        backend.delete_prefix(client, prefix)
        client.close()
    where = "embedded fakeredis" if backend.is_embedded() else "real Redis"
    print(f"app {args.app} on {where}, {args.guessers} guessers, {args.seconds:g} s per phase")
    print(f"  at rest:      {rest.summary()}")
    print(f"  under attack: {attack.summary()}")


if __name__ == "__main__":
    main()
