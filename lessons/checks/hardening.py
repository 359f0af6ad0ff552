"""Checks for notebook 05's "Your turn" cell (hardening): a login-throttle rule.

    check_login_throttle(record_failure, is_locked)
    # record_failure(r, key, window) -> the number of failures in the current window
    # is_locked(r, key, limit) -> True once the counter at ``key`` has reached ``limit``

The rule is a fixed window: the first failure creates the counter with a TTL of ``window``
seconds, later failures add one without extending that TTL, and the account is locked while the
counter is at the limit. The check runs the learner's functions on Redis under a key prefix of
its own inside this learner's namespace (``course:{learner}:05:check-…``) and deletes it
afterwards. It never sleeps: it moves time with ``PEXPIRE`` (a shorter TTL is "later in the
window", ``PEXPIRE key 0`` deletes the key as the end of the window would).

Each property prints one ``✓``/``✗`` line (``lessons.checks.Report``); properties that a stub
doing nothing already has (not locked without failures, no key without a TTL) are ``trivial``, so
a stub earns no ``✓``. Returns True only if every check passed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .. import backend
from ..admin import keys_without_ttl
from ..backend import Client
from ..classroom import namespace
from ..i18n import _
from . import Report

__all__ = ["check_login_throttle"]

WINDOW = 60  # seconds: the window the check passes to record_failure
LIMIT = 5  # failures: the limit the check passes to is_locked
LATER_MS = 5000  # "55 s later": the TTL the check leaves before a second failure


@contextmanager
def _workspace() -> Iterator[tuple[Client, str]]:
    """A client and a fresh key prefix in this learner's namespace; every key under it is
    deleted afterwards."""
    client = backend.connect(backend.redis_url())
    prefix = namespace("05", f"check-{uuid.uuid4().hex[:8]}")
    try:
        yield client, prefix
    finally:
        backend.delete_prefix(client, prefix + ":")
        client.close()


def _stored(client: Client, key: str) -> object:
    """The counter's value as Redis holds it (GET), or what else is there instead."""
    kind = str(client.type(key))  # decode_responses: already a str
    return client.get(key) if kind == "string" else _("a key of type {kind}", kind=kind)


def _in_window(pttl: int, window_ms: int) -> bool:
    """A TTL that a failure just set to ``window_ms`` (the lower half allows for a slow run)."""
    return window_ms // 2 < pttl <= window_ms


def _ttl_seen(pttl: int) -> str:
    """What a check says it saw of a TTL, the same on every run: PTTL -2 (no key) and -1 (no TTL)
    as they are, a running TTL in whole seconds (the milliseconds tick while the check runs)."""
    return f"PTTL {pttl}" if pttl < 0 else _("TTL about {seconds} s", seconds=round(pttl / 1000))


def check_login_throttle(
    record_failure: Callable[[Client, str, int], object], is_locked: Callable[[Client, str, int], object]
) -> bool:
    """Run ``record_failure(r, key, window)`` and ``is_locked(r, key, limit)`` on Redis.

    record_failure: returns 1, 2, 3; the first failure sets a TTL of ``window`` (PTTL); a later
    one leaves a shortened TTL alone; GET gives the count; after the window (PEXPIRE 0) the next
    failure starts again at 1 with a full window. is_locked (on counters the check writes with
    SET … EX): locked at and above the limit, not below, not for a missing key (which it must not
    create). Both together: locked after the 5th failure and not before, unlocked after the
    window. Last, every key under the check's prefix has a TTL (SCAN + PTTL).
    """
    report = Report()
    window_ms = WINDOW * 1000
    with _workspace() as (client, prefix):
        key = f"{prefix}:account:alice"
        with report.guard():
            counts = [record_failure(client, key, WINDOW)]
            first_ttl = client.pttl(key)
            client.pexpire(key, LATER_MS)  # 55 s later: 5 s of the window left
            counts.append(record_failure(client, key, WINDOW))
            later_ttl = client.pttl(key)
            counts.append(record_failure(client, key, WINDOW))
            report.check(counts == [1, 2, 3], _("record_failure returns the count: 1, 2, 3"), counts)
            report.check(
                _in_window(first_ttl, window_ms),
                _("the first failure starts a {window} s window (TTL {window} s)", window=WINDOW),
                _ttl_seen(first_ttl),
            )
            report.check(
                0 < later_ttl <= LATER_MS,
                _("a later failure does not extend the window ({s} s left stays {s} s)", s=LATER_MS // 1000),
                _ttl_seen(later_ttl),
            )
            stored = _stored(client, key)
            report.check(stored == "3", _("the counter in Redis holds {n} after {n} failures", n=3), stored)
            client.pexpire(key, 0)  # the window ends: Redis deletes the key
            again = record_failure(client, key, WINDOW)
            again_ttl = client.pttl(key)
            report.check(
                again == 1 and _in_window(again_ttl, window_ms),
                _("after the window, a failure counts 1 again, in a new {window} s window", window=WINDOW),
                _("returned {again!r}, {ttl}", again=again, ttl=_ttl_seen(again_ttl)),
            )

        with report.guard():
            states = {}
            for failures in (4, LIMIT, 7):
                name = f"{prefix}:account:n{failures}"
                client.set(name, failures, ex=WINDOW)
                states[failures] = bool(is_locked(client, name, LIMIT))
            report.check(states[LIMIT], _("is_locked: locked at the limit ({n} failures)", n=LIMIT))
            report.check(states[7], _("is_locked: locked above the limit ({n} failures)", n=7))
            report.check(
                not states[4], _("is_locked: not locked below the limit ({n} failures)", n=4), trivial=True
            )
            nobody = f"{prefix}:account:nobody"
            free = bool(is_locked(client, nobody, LIMIT))
            report.check(
                not free and not client.exists(nobody),
                _("is_locked: no failures, not locked, and no key written"),
                trivial=True,
            )

        with report.guard():
            both = f"{prefix}:account:bob"
            locked_after = []
            for _failure in range(LIMIT):
                record_failure(client, both, WINDOW)
                locked_after.append(bool(is_locked(client, both, LIMIT)))
            expected = [False] * (LIMIT - 1) + [True]
            report.check(
                locked_after == expected,
                _("together: locked after the {n}th failure, not before", n=LIMIT),
                _("locked after each failure: {states}", states=locked_after),
            )
            client.pexpire(both, 0)  # the window ends
            report.check(
                not is_locked(client, both, LIMIT),
                _("together: unlocked once the window has passed"),
                trivial=True,
            )

        with report.guard():
            no_ttl = keys_without_ttl(client, f"{prefix}:*")
            report.check(not no_ttl, _("every key written has a TTL"), no_ttl[:3] or None, trivial=True)
    return report.finish()
