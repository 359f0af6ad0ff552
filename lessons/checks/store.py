"""Checks for notebook 01's "Your turn" cells (Exercise 1, the session store).

Each check runs the learner's function on Redis, under a key prefix of its own inside this
learner's namespace (``course:{learner}:01:check-…``) that it deletes afterwards, prints one
``✓``/``✗`` line per property and a verdict (``lessons.checks.Report``), and returns True only if
every check passed. A property that a stub doing nothing already has (it leaves the value alone,
creates no key, reads no TTL) is ``trivial``: it counts only once the function does something, so
a stub earns no ``✓``.

    check_refresh(my_refresh);            # my_refresh(r, key, ttl) -> bool
    check_update_keep_ttl(my_update);     # my_update(r, key, value)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .. import backend
from ..backend import Client
from ..classroom import namespace
from ..i18n import _
from ..roundtrips import RoundTrips, counting_client
from . import Report

__all__ = ["check_refresh", "check_update_keep_ttl"]

# Commands that read a key's remaining TTL (names as recorded where redis-py packs them, so a
# stored value that contains the text "TTL" is never mistaken for one).
_TTL_READS = frozenset({"TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"})


@contextmanager
def _workspace() -> Iterator[tuple[Client, RoundTrips, str]]:
    """A counting client and a fresh key prefix in this learner's namespace; cleaned up after."""
    client, trips = counting_client(backend.redis_url())
    prefix = namespace("01", f"check-{uuid.uuid4().hex[:8]}")
    try:
        yield client, trips, prefix
    finally:
        backend.delete_prefix(client, prefix + ":")
        client.close()


def _sent(m: RoundTrips) -> list[str]:
    """Every command name sent, in order."""
    return [command[0] for request in m.requests for command in request if command]


def check_refresh(refresh: Callable[[Client, str, int], object]) -> bool:
    """``refresh(r, key, ttl)`` must reset a live key's TTL with one command and return True,
    return False for a missing key without creating it, and leave the value alone."""
    report = Report()
    with _workspace() as (client, trips, prefix):
        live, missing = f"{prefix}:live", f"{prefix}:missing"
        client.set(live, "data", ex=5)
        with report.guard():
            with trips.measure() as m:
                result = refresh(client, live, 60)
            report.check(result is True or result == 1, _("returns True for a live session"), result)
            ttl = client.ttl(live)
            report.check(
                50 < ttl <= 60,
                _("resets its TTL to {ttl} s (it had {left} s left)", ttl=60, left=5),
                _("still 5 s or less: not reset") if 0 <= ttl <= 5 else f"TTL {ttl}",
            )
            report.check(
                client.get(live) == "data", _("leaves the value unchanged"), client.get(live), trivial=True
            )
            report.check(len(_sent(m)) == 1, _("sends one command (one round trip)"), _sent(m))
            result = refresh(client, missing, 60)
            report.check(result is False or result == 0, _("returns False for a missing session"), result)
            report.check(
                client.exists(missing) == 0,
                _("does not create the missing session"),
                client.get(missing),
                trivial=True,
            )
    return report.finish()


def check_update_keep_ttl(update: Callable[[Client, str, str], object]) -> bool:
    """``update(r, key, value)`` must replace the value and keep the remaining TTL, in one round
    trip, without reading the TTL first."""
    report = Report()
    with _workspace() as (client, trips, prefix):
        key = f"{prefix}:s"
        client.set(key, "old", ex=50)
        with report.guard():
            with trips.measure() as m:
                update(client, key, "new")
            value, ttl = client.get(key), client.ttl(key)
            report.check(value == "new", _("writes the new value"), value)
            if value == "new":
                report.check(45 <= ttl <= 50, _("keeps the remaining TTL (about 50 s)"), ttl)
            else:
                report.check(
                    False, _("keeps the remaining TTL (about 50 s) while writing (nothing was written yet)")
                )
            sent = _sent(m)
            report.check(
                not set(sent) & _TTL_READS, _("does not read the TTL first"), m.commands, trivial=True
            )
            report.check(m.count == 1, _("uses one round trip"), m.commands)
    return report.finish()
