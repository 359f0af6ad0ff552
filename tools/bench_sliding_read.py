"""Benchmark: the store's sliding read against a raw GETEX on the same key.

    python tools/bench_sliding_read.py [--url redis://127.0.0.1:6379/0] [--n 20000] [--rounds 5]

Both run on one connection, one request at a time (what a web request does): the sliding read is
``SessionStore.get(sid, refresh=True)`` (one EVALSHA: GET, own idle TTL and absolute cap read
from the value, PEXPIRE; plus JSON decoding in Python), the baseline ``GETEX key PX ttl`` (the
value is returned undecoded). Rounds alternate between the two; the median round of each counts.
Prints both rates and their ratio. Without --url (and without REDIS_URL) it uses the embedded
fakeredis server.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from lessons import backend
from lessons.store import SessionStore


def rate(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=None)
    parser.add_argument("--n", type=int, default=2000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    if args.url:
        os.environ["REDIS_URL"] = args.url
    client = backend.connect()
    store = SessionStore(client=client, prefix="bench-sliding", default_ttl=1800, absolute_ttl=28800)
    sid = store.create({"user_id": 1234567890123456789, "username": "alice", "role": "admin",
                        "cart": [1, 2, 3]})
    key = store.key(sid)
    try:
        store.get(sid, refresh=True)  # load the script
        stores, getexes = [], []
        for _ in range(args.rounds):  # short alternating rounds: a busy machine hits both alike
            stores.append(rate(lambda: store.get(sid, refresh=True), args.n))
            getexes.append(rate(lambda: client.getex(key, px=1_800_000), args.n))
        best_store, best_getex = statistics.median(stores), statistics.median(getexes)
        print(backend.describe(client))
        print(f"{args.rounds} alternating rounds of {args.n} calls each; medians:")
        print(f"get(refresh=True): {best_store:9.0f} /s")
        print(f"raw GETEX:         {best_getex:9.0f} /s")
        print(f"ratio:             {best_store / best_getex:9.2f}x")
    finally:
        store.delete(sid)
        client.close()


if __name__ == "__main__":
    main()
