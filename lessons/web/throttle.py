"""Login throttling: failed-login counters per account and per client, kept in Redis with TTLs.

Each counter is a Redis string at ``store.keys.login_failures_key(scope, subject)`` (``scope``
``account`` or ``client``; the subject, a user name or an IP address, is hashed into the name).
A failed login runs ``INCR`` + ``EXPIRE … NX`` on both counters in one pipelined round trip, so
the first failure starts a fixed window (``window`` seconds) that later failures do not extend.
Before a password is checked, one pipelined round trip (GET + PTTL of both) tells whether either
counter is at its limit: then the app answers 429 with ``Retry-After`` (the seconds left in the
window) and spends no scrypt run. A successful login deletes the account counter (one DEL, only
if it exists), not the client's: a client guessing many accounts stays limited.

The per-account limit stops guessing one account's password from many addresses; the per-client
limit stops one address from guessing a little at every account. The client's address is the TCP
peer, or behind a proxy the app trusts, the one that proxy forwarded (``client_address``).

The price of a per-account limit: anyone can lock an account out for ``window`` seconds by
failing on purpose (notebook 05 shows it, and the usual ways to soften it).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from ..backend import Client
from ..keys import KeySchema

__all__ = ["FailureCounters", "LoginThrottle", "MemoryCounters", "RedisCounters", "Verdict"]


class FailureCounters(Protocol):
    """Where counters live: Redis (``RedisCounters``) or this process (``MemoryCounters``)."""

    def read(self, names: list[str]) -> list[tuple[int, int]]:
        """(count, ms left) of each counter; (0, 0) for a missing one."""

    def bump(self, names: list[str], window_ms: int) -> None:
        """Add one to each counter; a new counter expires after ``window_ms``."""

    def clear(self, name: str) -> None:
        """Delete one counter."""


class RedisCounters:
    """Counters in Redis. ``read``: GET + PTTL of each, pipelined: one round trip (one per node
    on a cluster). ``bump``: INCR + PEXPIRE NX of each, pipelined. ``clear``: one DEL."""

    def __init__(self, client: Client):
        self.r = client

    def read(self, names: list[str]) -> list[tuple[int, int]]:
        pipe = self.r.pipeline(transaction=False)
        for name in names:
            pipe.get(name)
            pipe.pttl(name)
        replies = pipe.execute()
        counts: list[tuple[int, int]] = []
        for raw, pttl in zip(replies[0::2], replies[1::2]):
            try:
                count = int(raw) if raw is not None else 0
            except ValueError:
                count = 0  # not a counter: someone else's value; ignore it
            counts.append((count, max(int(pttl), 0)))
        return counts

    def bump(self, names: list[str], window_ms: int) -> None:
        pipe = self.r.pipeline(transaction=False)
        for name in names:
            pipe.incr(name)
            pipe.pexpire(name, window_ms, nx=True)  # the first failure starts the window
        pipe.execute()

    def clear(self, name: str) -> None:
        self.r.delete(name)


class MemoryCounters:
    """Counters in a dict of this process (for ``MemoryStore``, which has no Redis)."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}  # name -> (count, expiry, monotonic)
        self._lock = threading.Lock()

    def read(self, names: list[str]) -> list[tuple[int, int]]:
        now = time.monotonic()
        with self._lock:
            items = [self._counts.get(name, (0, now)) for name in names]
        return [(count, int((expiry - now) * 1000)) if expiry > now else (0, 0) for count, expiry in items]

    def bump(self, names: list[str], window_ms: int) -> None:
        now = time.monotonic()
        with self._lock:
            for name in names:
                count, expiry = self._counts.get(name, (0, now))
                if expiry <= now:
                    count, expiry = 0, now + window_ms / 1000
                self._counts[name] = (count + 1, expiry)

    def clear(self, name: str) -> None:
        with self._lock:
            self._counts.pop(name, None)


@dataclass(frozen=True)
class Verdict:
    """What ``LoginThrottle.check`` found: ``retry_after`` seconds (None: go ahead)."""

    retry_after: int | None
    account_failures: int

    @property
    def allowed(self) -> bool:
        return self.retry_after is None


class LoginThrottle:
    """At most ``per_account`` failed logins per user name and ``per_client`` per client address
    within ``window`` seconds (a fixed window from the first failure)."""

    def __init__(
        self,
        counters: FailureCounters,
        keys: KeySchema,
        *,
        per_account: int = 5,
        per_client: int = 20,
        window: int = 900,
    ):
        for name, value in (("per_account", per_account), ("per_client", per_client), ("window", window)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"login throttle: {name} must be a positive int, not {value!r}")
        self.counters = counters
        self.keys = keys
        self.per_account, self.per_client, self.window = per_account, per_client, window

    def _names(self, username: str, client: str) -> list[str]:
        return [
            self.keys.login_failures_key("account", username),
            self.keys.login_failures_key("client", client),
        ]

    def check(self, username: str, client: str) -> Verdict:
        """May this client try this account's password now? One round trip."""
        (account, account_ms), (by_client, client_ms) = self.counters.read(self._names(username, client))
        waits = [
            ms
            for count, limit, ms in (
                (account, self.per_account, account_ms),
                (by_client, self.per_client, client_ms),
            )
            if count >= limit
        ]
        retry_after = max(1, math.ceil(max(waits) / 1000)) if waits else None
        return Verdict(retry_after, account)

    def failed(self, username: str, client: str) -> None:
        """Count a failed login against the account and the client: one round trip."""
        self.counters.bump(self._names(username, client), self.window * 1000)

    def succeeded(self, username: str, verdict: Verdict) -> None:
        """A correct password: forget the account's failures (one DEL, only if there were any)."""
        if verdict.account_failures:
            self.counters.clear(self.keys.login_failures_key("account", username))
