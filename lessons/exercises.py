"""``check_…`` helpers for the "Your turn" cells: they test the learner's code on Redis.

Each check runs the learner's function against keys under its own prefix, prints one line per
property (✓ passed / ✗ failed, with what was seen), deletes its keys, and returns True if all passed.
"""

from __future__ import annotations

import uuid
from typing import Callable

import redis

from . import backend
from .roundtrips import counting_client

__all__ = ["check_refresh", "check_update_keep_ttl"]


class _Report:
    def __init__(self) -> None:
        self.ok = True

    def line(self, passed: bool, text: str, seen: object = None) -> None:
        self.ok &= passed
        print(("✓ " if passed else "✗ ") + text + ("" if passed or seen is None else f" (saw {seen!r})"))


def _run(body: Callable[[redis.Redis, object, str, _Report], None]) -> bool:
    client, trips = counting_client(backend.redis_url())
    prefix = f"exercise-{uuid.uuid4().hex[:8]}"
    report = _Report()
    try:
        body(client, trips, prefix, report)
    except Exception as exc:  # the learner's code raised: say so, don't dump a traceback
        report.line(False, f"your function raised {type(exc).__name__}: {exc}")
    finally:
        backend.delete_prefix(client, prefix)
        client.close()
    print("All checks passed." if report.ok else "Some checks failed: fix your function and run both cells again.")
    return report.ok


def check_refresh(refresh: Callable[[redis.Redis, str, int], bool]) -> bool:
    """``refresh(r, key, ttl)`` must reset a live key's TTL in one command and return True,
    return False for a missing key without creating it, and leave the value alone."""

    def body(client, trips, prefix, report):
        live, missing = f"{prefix}:live", f"{prefix}:missing"
        client.set(live, "data", ex=5)
        with trips.measure() as m:
            result = refresh(client, live, 60)
        report.line(result is True or result == 1, "returns True for a live session", result)
        report.line(client.ttl(live) in (59, 60), "resets its TTL to 60 s", client.ttl(live))
        report.line(client.get(live) == "data", "leaves the value unchanged", client.get(live))
        report.line(m.count == 1, "uses one round trip", m.commands)
        result = refresh(client, missing, 60)
        report.line(result is False or result == 0, "returns False for a missing session", result)
        report.line(client.exists(missing) == 0, "does not create the missing session",
                    client.get(missing))

    return _run(body)


def check_update_keep_ttl(update: Callable[[redis.Redis, str, str], object]) -> bool:
    """``update(r, key, value)`` must replace the value, keep the TTL, and not read the TTL."""

    def body(client, trips, prefix, report):
        key = f"{prefix}:s"
        client.set(key, "old", ex=50)
        with trips.measure() as m:
            update(client, key, "new")
        report.line(client.get(key) == "new", "writes the new value", client.get(key))
        report.line(45 <= client.ttl(key) <= 50, "keeps the remaining TTL (about 50 s)", client.ttl(key))
        report.line(not any("TTL" in c.split() for c in m.commands), "does not read the TTL first",
                    m.commands)
        report.line(m.count == 1, "uses one round trip", m.commands)

    return _run(body)
