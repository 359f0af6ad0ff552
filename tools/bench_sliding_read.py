"""Benchmark: the store's sliding read against a raw GETEX on the same key.

    python tools/bench_sliding_read.py [--url redis://127.0.0.1:6379/0] [--n 20000]

Both run on one connection, one request at a time (what a web request does): the sliding read is
``SessionStore.get(sid, refresh=True)`` (one ``GETEX key PX ttl`` with the TTL the store expects,
the JSON decoded and the session's own idle TTL and absolute cap checked in Python), the baseline
a raw ``GETEX key PX ttl`` (the value returned undecoded). The two alternate call by call (which
one goes first alternates too), so that a busy machine slows both alike; each call is timed and
the medians count. Prints both median times, the rates they mean and the ratio of the rates.
Without --url (and without REDIS_URL) it uses the embedded fakeredis server.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from lessons import backend
from lessons.store import SessionStore


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", default=None)
    parser.add_argument("--n", type=int, default=20000, help="calls of each (after 1000 warm-up calls)")
    args = parser.parse_args()
    if args.url:
        os.environ["REDIS_URL"] = args.url
    client = backend.connect()
    store = SessionStore(client=client, prefix="bench-sliding", default_ttl=1800, absolute_ttl=28800)
    sid = store.create(
        {"user_id": 1234567890123456789, "username": "alice", "role": "admin", "cart": [1, 2, 3]}
    )
    key = store.key(sid)

    def sliding_read() -> object:
        return store.get(sid, refresh=True)

    def raw_getex() -> object:
        return client.getex(key, px=1_800_000)

    try:
        for _ in range(1000):  # warm up: connection, caches
            sliding_read(), raw_getex()
        reads: list[float] = []
        getexes: list[float] = []
        for i in range(args.n):
            if i % 2:
                reads.append(timed(sliding_read))
                getexes.append(timed(raw_getex))
            else:
                getexes.append(timed(raw_getex))
                reads.append(timed(sliding_read))
        read, getex = statistics.median(reads), statistics.median(getexes)
        print(backend.describe(client))
        print(f"{args.n} calls of each, alternating; median time per call (and the rate it means):")
        print(f"get(refresh=True): {read * 1e6:7.1f} µs ({1 / read:6.0f} /s)")
        print(f"raw GETEX:         {getex * 1e6:7.1f} µs ({1 / getex:6.0f} /s)")
        print(f"ratio of rates:    {getex / read:7.2f}x")
    finally:
        store.delete(sid)
        client.close()


if __name__ == "__main__":
    main()
