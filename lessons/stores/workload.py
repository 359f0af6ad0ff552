"""The benchmark of notebook 00: one workload, timed on any store, and its summary figures.

The same calls on every store: ``n`` creates, then ``n`` gets, ``n`` updates and ``n`` deletes in a
shuffled (seeded) order, each call timed alone. On a ``RedisStore`` each call costs the round trips
its docstring lists (create 1-2 with the per-user index pipelined, get 1, update 3, delete 2).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from ..percentile import percentile
from .contract import ComparedStore

__all__ = ["OPS", "OpStats", "run_workload", "summarize"]

#: The timed operations, in the order the workload runs them.
OPS = ("create", "get", "update", "delete")


def _payload(i: int) -> dict[str, Any]:
    """A small, typical session (about 150 bytes of JSON)."""
    return {
        "user_id": i % 100,
        "username": f"user{i % 100}",
        "role": "member",
        "csrf": f"{i:032x}",
        "cart": [i % 7, i % 11],
    }


def run_workload(
    store: ComparedStore, n: int = 2000, seed: int = 0, warmup: int = 50
) -> dict[str, list[float]]:
    """Time the same workload on any store: ``n`` creates, ``n`` gets, ``n`` updates, ``n`` deletes.

    Gets, updates and deletes visit the sessions in a shuffled (seeded) order. Each call is timed
    alone with ``time.perf_counter``, one at a time from one client. A few warm-up calls run first
    and are not counted. Returns seconds per call, by operation. The store is empty again after;
    ``AssertionError`` if a call lost a session.
    """
    rng = random.Random(seed)
    for i in range(warmup):
        sid = store.create(_payload(i))
        store.get(sid)
        store.update(sid, {"cart": [i]})
        store.delete(sid)
    timings: dict[str, list[float]] = {op: [] for op in OPS}
    clock = time.perf_counter
    ids = []
    for i in range(n):
        t0 = clock()
        sid = store.create(_payload(i))
        timings["create"].append(clock() - t0)
        ids.append(sid)
    for op in ("get", "update", "delete"):
        order = ids[:]
        rng.shuffle(order)
        samples = timings[op]
        for k, sid in enumerate(order):
            found: object
            t0 = clock()
            if op == "get":
                found = store.get(sid)
            elif op == "update":
                found = store.update(sid, {"cart": [k % 5]})
            else:
                found = store.delete(sid)
            samples.append(clock() - t0)
            if not found:
                raise AssertionError(f"{store.kind}: {op} lost a session during the benchmark")
    return timings


@dataclass(frozen=True)
class OpStats:
    """One store's figures for one operation (latency in microseconds, throughput in ops/s)."""

    kind: str
    op: str
    count: int
    median_us: float
    p99_us: float
    ops_per_s: float


def summarize(results: dict[str, dict[str, list[float]]]) -> list[OpStats]:
    """Median, p99 (``lessons.percentile``) and throughput (calls / total time, one client) per
    store and operation."""
    rows = []
    for kind, timings in results.items():
        for op in OPS:
            values = timings[op]
            rows.append(
                OpStats(
                    kind,
                    op,
                    len(values),
                    1e6 * percentile(values, 50),
                    1e6 * percentile(values, 99),
                    len(values) / sum(values),
                )
            )
    return rows
