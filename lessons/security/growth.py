"""Unbounded growth (セッション無限増加 → TTL 必須): keys without a TTL, and what piles up.

``plant_immortal_sessions`` makes session keys that never expire, the two ways it happens in real
code; ``find_immortal_keys`` finds them; ``growth_experiment`` counts keys while a workload writes
sessions with and without a TTL; ``server_memory_facts`` says what the server does when memory
runs out. Key names come from ``lessons.keys.KeySchema``.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from dataclasses import dataclass, field

import redis

from ..admin import keys_without_ttl
from ..backend import Client
from ..keys import KeySchema
from ..store import SessionStore

__all__ = [
    "GrowthRun",
    "count_keys",
    "find_immortal_keys",
    "growth_experiment",
    "plant_immortal_sessions",
    "server_memory_facts",
]


def plant_immortal_sessions(store: SessionStore, n_without_ex: int = 2, n_persisted: int = 1) -> list[str]:
    """Plant session keys with no TTL, the two ways it happens in real code; returns their IDs.

    ``SET key value`` without ``EX`` (a hand-written write path that forgot the TTL) and
    ``PERSIST`` on a live session (someone "fixing" a user who kept being logged out). One
    pipelined round trip (the SETs and PERSISTs), plus one per persisted session for its
    ``create``. Key names are ``store.key(id)``.
    """
    ids = []
    pipe = store.r.pipeline(transaction=False)
    for _ in range(n_without_ex):
        session_id = secrets.token_urlsafe(32)
        pipe.set(store.key(session_id), json.dumps({"user_id": "ghost", "username": "ghost"}))
        ids.append(session_id)
    for _ in range(n_persisted):
        session_id = store.create({"note": "persisted by hand"})
        pipe.persist(store.key(session_id))
        ids.append(session_id)
    pipe.execute()
    return ids


def find_immortal_keys(client: Client, match: str) -> list[str]:
    """Keys matching ``match`` whose TTL is -1 (no expiry), sorted: ``admin.keys_without_ttl``
    (SCAN + one pipelined TTL round trip per batch of keys)."""
    return sorted(keys_without_ttl(client, match))


def count_keys(client: Client, match: str) -> int:
    """How many keys match ``match`` (SCAN, one round trip per 1 000 keys; never KEYS or DBSIZE)."""
    return len(set(client.scan_iter(match=match, count=1000)))


@dataclass
class GrowthRun:
    """Key counts sampled while a workload creates sessions with and without a TTL."""

    per_tick: int
    tick: float
    ttl: int
    seconds: list[float] = field(default_factory=list)
    with_ttl: list[int] = field(default_factory=list)
    without_ttl: list[int] = field(default_factory=list)

    @property
    def created(self) -> int:
        """Sessions created in each variant."""
        return self.per_tick * len(self.seconds)

    def steady_state_bound(self) -> int:
        """The most sessions that can be alive with a TTL: one TTL's worth of ticks, plus one."""
        return self.per_tick * (math.ceil(self.ttl / self.tick) + 1)


def growth_experiment(
    client: Client, prefix: str, *, ticks: int = 25, per_tick: int = 10, tick: float = 0.1, ttl: int = 1
) -> GrowthRun:
    """Create ``per_tick`` sessions every ``tick`` seconds under two key schemas, for ``ticks``
    ticks: ``KeySchema(f"{prefix}-ttl")`` with ``SET … EX ttl``, ``KeySchema(f"{prefix}-immortal")``
    with a plain ``SET``.

    Each batch is one pipelined round trip; after it, the sessions of each schema are counted with
    SCAN. Sleeps ``ticks * tick`` seconds in total (batches are at least ``tick`` apart, so at most
    ``steady_state_bound()`` keys with a TTL can be alive at once). The immortal keys are left for
    the caller to delete (``backend.delete_prefix(client, prefix)``).
    """
    mortal, immortal = KeySchema(f"{prefix}-ttl"), KeySchema(f"{prefix}-immortal")
    run = GrowthRun(per_tick=per_tick, tick=tick, ttl=ttl)
    payload = json.dumps({"user_id": "load", "username": "load"})
    start = time.monotonic()
    for _ in range(ticks):
        pipe = client.pipeline(transaction=False)
        for _ in range(per_tick):
            session_id = secrets.token_urlsafe(32)
            pipe.set(mortal.session_key(session_id), payload, ex=ttl)
            pipe.set(immortal.session_key(session_id), payload)
        pipe.execute()
        run.seconds.append(time.monotonic() - start)
        run.with_ttl.append(count_keys(client, mortal.session_pattern))
        run.without_ttl.append(count_keys(client, immortal.session_pattern))
        time.sleep(tick)  # a fixed pause, so batches are always at least ``tick`` apart
    return run


def _not_available(command: str, exc: redis.ResponseError) -> str:
    """Why ``command`` failed, in the course's words: refused by an ACL (a ``NOPERM`` error), or
    not offered at all (an unknown, renamed or disabled command). The server's own error text
    is never shown: it differs between servers and versions."""
    if isinstance(exc, redis.exceptions.NoPermissionError):
        return f"{command} is not available here (this server does not allow it to this user)"
    return f"{command} is not available here (this server does not offer {command})"


def server_memory_facts(client: Client, sample_key: str | None = None) -> list[str]:
    """``maxmemory`` / ``maxmemory-policy`` (CONFIG GET, one round trip) and a key's size (MEMORY
    USAGE, one more), each as one line; a backend that lacks the command or forbids it gets a
    fixed one-line explanation (the same words whatever the server's error message says)."""
    lines = []
    try:
        config = client.config_get("maxmemory*")
        lines.append(
            f"maxmemory = {config.get('maxmemory')} bytes (0 = no limit), "
            f"maxmemory-policy = {config.get('maxmemory-policy')}"
        )
    except redis.ResponseError as exc:
        lines.append(
            f"{_not_available('CONFIG GET', exc)}: ask whoever runs the Redis what maxmemory-policy it uses."
        )
    if sample_key is not None:
        try:
            usage = client.memory_usage(sample_key)
            lines.append(
                f"MEMORY USAGE of one session key: {usage} bytes"
                if usage is not None
                else f"MEMORY USAGE: there is no key {sample_key!r}"
            )
        except redis.ResponseError as exc:
            lines.append(f"{_not_available('MEMORY USAGE', exc)}.")
    return lines
