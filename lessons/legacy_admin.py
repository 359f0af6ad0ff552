# mypy: ignore-errors
"""The course's ``SessionAdmin`` as it was before it ran on Redis Cluster (commit 42805c2),
kept unchanged below this note so that notebook 06 can show where it breaks on a cluster: SCAN with a
single-node cursor, MGET over many slots, WATCH/MULTI over an index and sessions. Use
``lessons.admin`` instead.

The original docstring follows.

``SessionAdmin``: the lesson's Exercise 3 (演習3), with its flaws fixed.

What the lesson's version gets wrong, and what this one does instead:

- it uses ``json`` without importing it (a ``NameError`` on first use);
- ``key.split(':')[1]`` breaks on prefixes that contain ``:`` -> strip the prefix instead;
- SCAN may return a key more than once -> de-duplicate;
- a key can expire between SCAN and GET (TTL -2) -> skip keys whose value or TTL is gone;
- one GET and one TTL per key -> one pipelined round trip per SCAN batch;
- revoking one user's sessions scans every session -> use the per-user index that
  ``lessons.store.SessionStore`` keeps (O(that user's sessions), a constant number of round trips).

Also here: ``audit_ttl`` (session keys that would live forever), ``count_users_by_index`` and
``LastSeen`` (a sorted set of last-seen times: counting active users in one round trip).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from typing import Any

import redis

from .legacy_store import decode_session, user_of

__all__ = ["SCAN_COUNT", "LastSeen", "SessionAdmin"]

#: SCAN's COUNT hint: how many slots of the keyspace one SCAN call looks at (not a page size).
SCAN_COUNT = 1000

_GLOB = "*?[]\\"


def _check_prefix(prefix: object) -> str:
    if not isinstance(prefix, str) or not prefix or any(c in prefix for c in _GLOB):
        raise ValueError(f"prefix must be a non-empty string without glob characters: {prefix!r}")
    return prefix


def _check_user(user_id: object) -> int | str:
    if isinstance(user_id, bool) or not isinstance(user_id, (int, str)):
        raise TypeError(f"user_id must be an int or a str, not {type(user_id).__name__}")
    return user_id


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class SessionAdmin:
    """List, count and revoke sessions written by ``lessons.store.SessionStore``.

    Sessions live at ``{prefix}:{session_id}``; each user's index (a sorted set of session IDs)
    at ``{prefix}-by-user:{user_id}``, which the ``{prefix}:*`` SCAN pattern cannot match.
    """

    def __init__(self, redis_client: redis.Redis, prefix: str = "session", *,
                 scan_count: int = SCAN_COUNT, max_retries: int = 50):
        self.r = redis_client
        self.max_retries = max_retries
        self.prefix = _check_prefix(prefix)
        if isinstance(scan_count, bool) or not isinstance(scan_count, int) or scan_count <= 0:
            raise ValueError(f"scan_count must be a positive int, not {scan_count!r}")
        self.scan_count = scan_count

    # -- key names (the same as SessionStore's) -----------------------------------------------
    def _key(self, session_id: str) -> str:
        return f"{self.prefix}:{session_id}"

    def _session_id(self, key: str) -> str:
        """The ID in ``{prefix}:{id}``: strip the prefix (``split(':')[1]`` breaks on ``a:b``)."""
        return key[len(self.prefix) + 1:]

    def index_key(self, user_id: int | str) -> str:
        """The user's index, exactly as ``SessionStore.index_key`` names it."""
        return f"{self.prefix}-by-user:{user_id}"

    @property
    def pattern(self) -> str:
        """The SCAN MATCH pattern of session keys (index keys do not match it)."""
        return f"{self.prefix}:*"

    # -- reading -------------------------------------------------------------------------------
    def _scan(self, match: str) -> Iterator[list[str]]:
        """Batches of distinct keys matching ``match``; one SCAN round trip per batch.

        SCAN can return a key more than once (while Redis resizes its hash table), so keys
        already seen in this iteration are dropped. Empty batches are not yielded.
        """
        seen: set[str] = set()
        cursor = 0
        while True:
            cursor, keys = self.r.scan(cursor, match=match, count=self.scan_count)
            fresh = [k for k in dict.fromkeys(keys) if k not in seen]
            seen.update(fresh)
            if fresh:
                yield fresh
            if int(cursor) == 0:
                break

    def _scan_session_keys(self) -> Iterable[list[str]]:
        """Batches of distinct session keys (SCAN MATCH ``{prefix}:*``)."""
        return self._scan(self.pattern)

    def _load(self, keys: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
        """MGET of the keys + TTL of each, in one pipelined round trip.

        Returns (sessions, gone): the sessions that are still there (each with ``session_id`` and
        ``ttl``), and the keys that expired or were deleted since SCAN / ZRANGE found them.
        """
        if not keys:
            return [], []
        pipe = self.r.pipeline(transaction=False)
        pipe.mget(keys)
        for key in keys:
            pipe.ttl(key)
        values, *ttls = pipe.execute()
        sessions, gone = [], []
        for key, raw, ttl in zip(keys, values, ttls):
            if raw is None or ttl == -2:  # expired or deleted in the meantime
                gone.append(key)
                continue
            session = decode_session(raw)
            if session is None:
                continue  # not a session (someone else's value under our prefix)
            session["session_id"] = self._session_id(key)
            session["ttl"] = ttl
            sessions.append(session)
        return sessions, gone

    def list_sessions(self, user_id: int | str | None = None) -> list[dict]:
        """Live sessions, each with its data plus ``session_id`` and ``ttl`` (seconds).

        ``user_id=None``: SCAN every session key (one round trip per ``scan_count`` slots
        scanned, plus one pipelined MGET/TTL round trip per non-empty batch): O(all keys).

        With a ``user_id``: that user's index instead, O(that user's sessions), in at most three
        round trips: ZRANGE, one pipelined MGET/TTL, and a ZREM of the index entries whose session
        has expired (pruning). Only sessions whose ``user_id`` equals ``user_id`` (same type too:
        ``1`` is not ``"1"``) are listed.
        """
        if user_id is None:
            sessions: list[dict] = []
            for keys in self._scan_session_keys():
                sessions.extend(self._load(keys)[0])
            return sessions
        _check_user(user_id)
        index = self.index_key(user_id)
        ids = self.r.zrange(index, 0, -1)
        if not ids:
            return []
        found, gone = self._load([self._key(i) for i in ids])
        if gone:  # prune entries of sessions that expired (only those: never a live session)
            self.r.zrem(index, *[self._session_id(k) for k in gone])
        return [s for s in found if s.get("user_id") == user_id]

    def revoke_all_sessions(self, user_id: int | str) -> int:
        """Delete every session of ``user_id`` and its index; returns how many sessions it ended.

        Uses the per-user index: WATCH the index, ZRANGE, then MULTI / DEL sessions + index / EXEC:
        three round trips, whatever the number of sessions in Redis (counted in the tests). If a
        login or a regenerate for this user changes the index meanwhile, EXEC fails and it
        starts again, so no session created during the revoke survives it unseen.

        Sessions that are not in the index (written by something other than ``SessionStore``,
        such as the lesson's raw ``SETEX``) are not found: ``revoke_by_scan`` finds those.
        Note: user IDs ``1`` and ``"1"`` share one index (``…-by-user:1``), as in the store.
        """
        _check_user(user_id)
        index = self.index_key(user_id)
        with self.r.pipeline(transaction=True) as pipe:
            for _ in range(self.max_retries):
                try:
                    pipe.watch(index)
                    ids = pipe.zrange(index, 0, -1)
                    pipe.multi()
                    if ids:
                        pipe.delete(*[self._key(i) for i in ids])
                    pipe.delete(index)
                    replies = pipe.execute()
                    return int(replies[0]) if ids else 0
                except redis.WatchError:
                    continue
        raise RuntimeError(f"revoke gave up after {self.max_retries} conflicting logins")

    def revoke_by_scan(self, user_id: int | str) -> int:
        """The lesson's approach done right: SCAN + one MGET per batch, then DEL of the matches.

        Needs no index (it finds sessions written by anything), but costs O(all keys): one round
        trip per ``scan_count`` slots plus one per batch. Kept to compare with the index.
        """
        _check_user(user_id)
        keys = []
        for batch in self._scan_session_keys():
            for key, raw in zip(batch, self.r.mget(batch)):
                session = decode_session(raw)
                if session is not None and session.get("user_id") == user_id:
                    keys.append(key)
        deleted = 0
        for chunk in _chunks(keys, 1000):
            deleted += self.r.delete(*chunk)
        return deleted

    def get_active_users_count(self) -> int:
        """How many distinct users have at least one live session.

        SCAN of the session keys plus one MGET round trip per batch: exact, but O(all keys).
        ``count_users_by_index`` and ``LastSeen.count`` are cheaper answers to similar questions.
        """
        users: set[str] = set()
        for keys in self._scan_session_keys():
            for raw in self.r.mget(keys):
                session = decode_session(raw)  # None: expired since SCAN, or not a session
                if session is not None and user_of(session) is not None:
                    users.add(json.dumps(session["user_id"]))
        return len(users)

    def count_users_by_index(self) -> int:
        """How many users have an index (``{prefix}-by-user:*``): no value is read.

        One SCAN round trip per ``scan_count`` slots: fewer round trips than
        ``get_active_users_count`` (no MGET), but SCAN still walks the whole keyspace. An index
        lives as long as its longest-lived session, so this equals the number of users with a
        live session as long as sessions are only ended through ``SessionStore`` / this class.
        """
        return sum(len(keys) for keys in self._scan(f"{self.prefix}-by-user:*"))

    def audit_ttl(self) -> list[str]:
        """Session IDs whose keys have no TTL (they would never expire): should be empty.

        SCAN MATCH ``{prefix}:*`` plus one pipelined TTL round trip per batch. A key that has no
        TTL answers TTL -1; one that vanished meanwhile answers -2 and is not reported.
        """
        immortal: list[str] = []
        for keys in self._scan_session_keys():
            pipe = self.r.pipeline(transaction=False)
            for key in keys:
                pipe.ttl(key)
            for key, ttl in zip(keys, pipe.execute()):
                if ttl == -1:
                    immortal.append(self._session_id(key))
        return immortal

    def audit_index_ttl(self) -> list[str]:
        """User IDs (as in the key name) whose index has no TTL: should be empty too."""
        immortal: list[str] = []
        start = len(self.index_key(""))
        for keys in self._scan(f"{self.prefix}-by-user:*"):
            pipe = self.r.pipeline(transaction=False)
            for key in keys:
                pipe.ttl(key)
            immortal.extend(k[start:] for k, ttl in zip(keys, pipe.execute()) if ttl == -1)
        return immortal


class LastSeen:
    """A sorted set of last-seen times: ``{prefix}-last-seen``, member user ID, score ms.

    Counting users seen in the last ``window`` seconds is one ZCOUNT, O(log N), whatever the
    number of sessions. It answers "who was active recently", which is not quite "who has a live
    session": a user who logged out stays counted until the window passes, unless ``forget`` is
    called. The key's TTL is pushed to ``window`` on every ``touch``, so it never lives forever.
    """

    def __init__(self, redis_client: redis.Redis, prefix: str = "session", window: int = 3600):
        self.r = redis_client
        self.key = f"{_check_prefix(prefix)}-last-seen"
        if isinstance(window, bool) or not isinstance(window, int) or window <= 0:
            raise ValueError(f"window must be a positive number of seconds, not {window!r}")
        self.window = window

    def touch(self, user_id: int | str, pipe: redis.client.Pipeline | None = None,
              now_ms: int | None = None) -> None:
        """Record that ``user_id`` was seen now: ZADD + PEXPIRE, one round trip (or none if you
        pass a ``pipe`` that you execute yourself, e.g. together with the session lookup)."""
        _check_user(user_id)
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        p = pipe if pipe is not None else self.r.pipeline(transaction=False)
        p.zadd(self.key, {json.dumps(user_id): now_ms})
        p.pexpire(self.key, self.window * 1000)
        if pipe is None:
            p.execute()

    def forget(self, user_id: int | str) -> None:
        """Remove ``user_id`` (e.g. after logging it out everywhere): one ZREM."""
        self.r.zrem(self.key, json.dumps(_check_user(user_id)))

    def count(self, within: int | None = None) -> int:
        """Users seen in the last ``within`` seconds (default: the window): one ZCOUNT."""
        within = self.window if within is None else within
        since = int(time.time() * 1000) - within * 1000
        return int(self.r.zcount(self.key, since, "+inf"))

    def prune(self) -> int:
        """Drop users not seen within the window: one ZREMRANGEBYSCORE; returns how many."""
        since = int(time.time() * 1000) - self.window * 1000
        return int(self.r.zremrangebyscore(self.key, "-inf", f"({since}"))
