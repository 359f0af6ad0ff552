"""``SessionAdmin``: the lesson's Exercise 3 (演習3), with its flaws fixed.

What the lesson's version gets wrong, and what this one does instead:

- it uses ``json`` without importing it (a ``NameError`` on first use);
- ``key.split(':')[1]`` breaks on prefixes that contain ``:`` -> strip the prefix instead;
- SCAN may return a key more than once -> de-duplicate;
- a key can expire between SCAN and GET (TTL -2) -> skip keys whose value or TTL is gone;
- one GET and one TTL per key -> one pipelined round trip per SCAN batch;
- revoking one user's sessions scans every session -> use the per-user index that
  ``lessons.store.SessionStore`` keeps (O(that user's sessions), a constant number of round trips).
  An index entry is removed only when its session is certainly gone (deleted by this revoke, or
  past the time its score gives): a login writes the entry before the session, so an entry whose
  session is not there yet may belong to a login running right now, and must stay listed.

Also here: ``audit_ttl`` (session keys that would live forever; ``keys_without_ttl`` for any
pattern), ``count_users_by_index`` and ``LastSeen`` (a sorted set of last-seen times: counting
active users in one round trip).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any, cast

from .backend import Client, Pipeline
from .keys import KeySchema, UserId, check_prefix, check_user_id, encode_user
from .session_value import decode_session, user_of

__all__ = ["SCAN_COUNT", "LastSeen", "SessionAdmin", "keys_without_ttl", "scan_batches"]

#: SCAN's COUNT hint: about how many keys one SCAN call gathers before it answers (Redis visits whole
#: buckets of its hash table until it has about that many; MATCH filters afterwards), not a page size.
SCAN_COUNT = 1000


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _surely_gone(entries: Iterable[tuple[str, float]], missing: set[str]) -> list[str]:
    """The index entries (member, score) that may be removed: their session is ``missing`` and
    the score, the time after which the store guarantees that the session has expired, has
    passed. A missing session whose score is still ahead may be one that a login is creating
    right now (its entry is written first), so its entry stays."""
    now_ms = time.time() * 1000
    return [member for member, score in entries if member in missing and score < now_ms]


def _is_cluster(client: Client) -> bool:
    """True for a ``redis.cluster.RedisCluster`` (or a wrapper around one)."""
    return callable(getattr(client, "get_primaries", None))


def scan_batches(client: Client, match: str, count: int = SCAN_COUNT) -> Iterator[list[str]]:
    """Batches of distinct keys matching ``match``: one SCAN round trip per batch (``count`` is
    SCAN's COUNT hint).

    SCAN can return a key more than once (while Redis resizes its hash table), so keys
    already seen in this iteration are dropped. Empty batches are not yielded. On a cluster,
    redis-py's ``scan_iter`` walks every primary in turn.
    """
    seen: set[str] = set()
    if _is_cluster(client):
        batch: list[str] = []
        for key in client.scan_iter(match=match, count=count):
            if key not in seen:
                seen.add(key)
                batch.append(key)
            if len(batch) >= count:
                yield batch
                batch = []
        if batch:
            yield batch
        return
    cursor = 0
    while True:
        cursor, keys = cast("tuple[int, list[str]]", client.scan(cursor, match=match, count=count))
        fresh = [k for k in dict.fromkeys(keys) if k not in seen]
        seen.update(fresh)
        if fresh:
            yield fresh
        if int(cursor) == 0:
            break


def keys_without_ttl(client: Client, match: str, count: int = SCAN_COUNT) -> list[str]:
    """Keys matching ``match`` that have no TTL (TTL -1: they would never expire), in SCAN order.

    ``scan_batches`` plus one pipelined TTL round trip per batch. A key that vanished meanwhile
    answers TTL -2 and is not reported.
    """
    immortal: list[str] = []
    for keys in scan_batches(client, match, count):
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.ttl(key)
        immortal.extend(k for k, ttl in zip(keys, pipe.execute()) if ttl == -1)
    return immortal


class SessionAdmin:
    """List, count and revoke sessions written by ``lessons.store.SessionStore``.

    Key names come from ``lessons.keys.KeySchema``: sessions at ``{prefix}:{stored id}``, each
    user's index (a sorted set of stored IDs) at ``{prefix}-by-user:{user id as JSON}``, which the
    ``{prefix}:*`` SCAN pattern cannot match. ``session_id`` in what it lists is the stored ID: the
    token itself, or its SHA-256 for a ``hash_ids=True`` store (pass ``hash_ids=True`` here too,
    or use ``SessionAdmin.for_store(store)``); ``SessionStore.delete_stored`` ends a session by it.
    Works the same on a single Redis and on Redis Cluster (per-key steps, SCAN on every primary).
    """

    def __init__(
        self,
        redis_client: Client,
        prefix: str = "session",
        *,
        hash_ids: bool = False,
        scan_count: int = SCAN_COUNT,
    ):
        self.r = redis_client
        self.keys = KeySchema(check_prefix(prefix), hash_ids=hash_ids)
        if isinstance(scan_count, bool) or not isinstance(scan_count, int) or scan_count <= 0:
            raise ValueError(f"scan_count must be a positive int, not {scan_count!r}")
        self.scan_count = scan_count

    @classmethod
    def for_store(cls, store: Any, **kwargs: Any) -> SessionAdmin:
        """The admin of ``store``'s sessions: same client, prefix and ID hashing."""
        return cls(store.r, store.keys.prefix, hash_ids=store.keys.hash_ids, **kwargs)

    @property
    def prefix(self) -> str:
        return self.keys.prefix

    @property
    def pattern(self) -> str:
        """The SCAN MATCH pattern of session keys (index keys do not match it)."""
        return self.keys.session_pattern

    def index_key(self, user_id: UserId) -> str:
        """The user's index, exactly as the store names it."""
        return self.keys.index_key(user_id)

    # -- reading -------------------------------------------------------------------------------
    def _scan(self, match: str) -> Iterator[list[str]]:
        """Batches of distinct keys matching ``match`` (``scan_batches``)."""
        return scan_batches(self.r, match, self.scan_count)

    def _scan_session_keys(self) -> Iterator[list[str]]:
        """Batches of distinct session keys (SCAN MATCH ``{prefix}:*``)."""
        return self._scan(self.pattern)

    def _values(self, keys: list[str], with_ttl: bool = False) -> list[Any]:
        """GET (and TTL) of each key in one pipelined round trip (one per node on a cluster).

        Per-key commands, not MGET: the keys of a cluster live in many slots.
        """
        pipe = self.r.pipeline(transaction=False)
        for key in keys:
            pipe.get(key)
            if with_ttl:
                pipe.ttl(key)
        replies = pipe.execute()
        if with_ttl:
            return list(zip(replies[0::2], replies[1::2]))
        return list(replies)

    def _load(self, keys: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
        """GET + TTL of the keys in one pipelined round trip.

        Returns (sessions, gone): the sessions that are still there (each with ``session_id`` and
        ``ttl``), and the keys that expired or were deleted since SCAN / ZRANGE found them.
        """
        if not keys:
            return [], []
        sessions, gone = [], []
        for key, (raw, ttl) in zip(keys, self._values(keys, with_ttl=True)):
            if raw is None or ttl == -2:  # expired or deleted in the meantime
                gone.append(key)
                continue
            session = decode_session(raw)
            if session is None:
                continue  # not a session (someone else's value under our prefix)
            session["session_id"] = self.keys.stored_id_of(key)
            session["ttl"] = ttl
            sessions.append(session)
        return sessions, gone

    def list_sessions(self, user_id: UserId | None = None) -> list[dict[str, Any]]:
        """Live sessions, each with its data plus ``session_id`` (the stored ID) and ``ttl`` (s).

        ``user_id=None``: SCAN every session key (one round trip per ``scan_count`` slots
        scanned, plus one pipelined GET/TTL round trip per non-empty batch): O(all keys).

        With a ``user_id``: that user's index instead, O(that user's sessions), in at most three
        round trips: ZRANGE (WITHSCORES), one pipelined GET/TTL, and a ZREM that prunes the entries
        whose session is missing and whose score (the time by which it has certainly expired) has
        passed. A missing session with a score still ahead keeps its entry: a login may be about
        to write it. Only sessions whose ``user_id`` equals ``user_id`` (same type too: ``1`` is
        not ``"1"``) are listed.
        """
        if user_id is None:
            sessions: list[dict[str, Any]] = []
            for keys in self._scan_session_keys():
                sessions.extend(self._load(keys)[0])
            return sessions
        index = self.keys.index_key(check_user_id(user_id))
        entries = cast("list[tuple[str, float]]", self.r.zrange(index, 0, -1, withscores=True))
        if not entries:
            return []
        found, gone = self._load([self.keys.key_of(member) for member, _ in entries])
        prune = _surely_gone(entries, {self.keys.stored_id_of(k) for k in gone})
        if prune:
            self.r.zrem(index, *prune)
        return [s for s in found if s.get("user_id") == user_id and type(s["user_id"]) is type(user_id)]

    def revoke_all_sessions(self, user_id: UserId) -> int:
        """Delete every session of ``user_id``; returns how many sessions it ended.

        Three round trips, whatever the number of sessions in Redis, and no retry: ZRANGE the
        index (WITHSCORES), DEL each listed session (one pipeline), then ZREM the entries whose
        session that DEL deleted, and those of sessions certainly expired (missing, score passed).
        The store writes a session's index entry before the session itself, so every session that
        existed when the revoke started is in the index and is ended. A login that runs at the
        same time may keep its new session (the revoke may read the index, or DEL, before the
        session is written), but never loses its entry: an entry whose DEL found nothing and whose
        score is ahead stays. So that session stays listed, and the next revoke ends it.

        Sessions that are not in the index (written by something other than ``SessionStore``,
        such as the lesson's raw ``SETEX``) are not found: ``revoke_by_scan`` finds those.
        """
        index = self.keys.index_key(check_user_id(user_id))
        entries = cast("list[tuple[str, float]]", self.r.zrange(index, 0, -1, withscores=True))
        if not entries:
            return 0
        existed = self._delete_each([self.keys.key_of(member) for member, _ in entries])
        deleted = [member for (member, _), hit in zip(entries, existed) if hit]
        missing = {member for (member, _), hit in zip(entries, existed) if not hit}
        remove = deleted + _surely_gone(entries, missing)
        if remove:
            self.r.zrem(index, *remove)
        return len(deleted)

    def _delete_each(self, keys: list[str]) -> list[bool]:
        """DEL each key, pipelined (one round trip; one per node on a cluster): for each key,
        whether it existed. The one place this class deletes sessions: a subclass that deletes
        differently (e.g. waits for replicas) overrides this."""
        pipe = self.r.pipeline(transaction=False)
        for key in keys:
            pipe.delete(key)
        return [int(n) > 0 for n in pipe.execute()]

    def _delete(self, keys: list[str]) -> int:
        """DEL each key (``_delete_each``): how many existed."""
        return sum(self._delete_each(keys))

    def revoke_by_scan(self, user_id: UserId) -> int:
        """The lesson's approach done right: SCAN + one pipelined GET per batch, then DEL.

        Needs no index (it finds sessions written by anything), but costs O(all keys): one round
        trip per ``scan_count`` slots plus one per batch. Kept to compare with the index.
        """
        check_user_id(user_id)
        keys = []
        for batch in self._scan_session_keys():
            for key, raw in zip(batch, self._values(batch)):
                session = decode_session(raw)
                if session is not None and session.get("user_id") == user_id:
                    keys.append(key)
        return sum(self._delete(chunk) for chunk in _chunks(keys, 1000))

    def get_active_users_count(self) -> int:
        """How many distinct users have at least one live session.

        SCAN of the session keys plus one pipelined GET round trip per batch: exact, but
        O(all keys). ``count_users_by_index`` and ``LastSeen.count`` are cheaper answers to
        similar questions.
        """
        users: set[str] = set()
        for keys in self._scan_session_keys():
            for raw in self._values(keys):
                session = decode_session(raw)  # None: expired since SCAN, or not a session
                user = None if session is None else user_of(session)
                if user is not None:
                    users.add(encode_user(user))
        return len(users)

    def count_users_by_index(self) -> int:
        """How many users have an index (``{prefix}-by-user:*``): no value is read.

        One SCAN round trip per ``scan_count`` slots: fewer round trips than
        ``get_active_users_count`` (no GETs), but SCAN still walks the whole keyspace. An index
        lives at least as long as its longest-lived session, and up to twice its idle TTL
        longer, so this can count a user whose last session just ended.
        """
        return sum(len(keys) for keys in self._scan(self.keys.index_pattern))

    def audit_ttl(self) -> list[str]:
        """Stored IDs of sessions whose keys have no TTL (they would never expire): should be
        empty. A key that vanished meanwhile answers TTL -2 and is not reported."""
        immortal = keys_without_ttl(self.r, self.pattern, self.scan_count)
        return [self.keys.stored_id_of(k) for k in immortal]

    def audit_index_ttl(self) -> list[str]:
        """User IDs (as in the key name: JSON) whose index has no TTL: should be empty too."""
        start = len(self.keys.index_prefix)
        immortal = keys_without_ttl(self.r, self.keys.index_pattern, self.scan_count)
        return [k[start:] for k in immortal]


class LastSeen:
    """A sorted set of last-seen times: ``{prefix}-last-seen``, member user ID, score ms.

    Counting users seen in the last ``window`` seconds is one ZCOUNT, O(log N), whatever the
    number of sessions. It answers "who was active recently", which is not quite "who has a live
    session": a user who logged out stays counted until the window passes, unless ``forget`` is
    called. The key's TTL is pushed to ``window`` on every ``touch``, so it never lives forever.
    """

    def __init__(self, redis_client: Client, prefix: str = "session", window: int = 3600):
        self.r = redis_client
        self.key = KeySchema(prefix).last_seen_key
        if isinstance(window, bool) or not isinstance(window, int) or window <= 0:
            raise ValueError(f"window must be a positive number of seconds, not {window!r}")
        self.window = window

    def touch(self, user_id: int | str, pipe: Pipeline | None = None, now_ms: int | None = None) -> None:
        """Record that ``user_id`` was seen now: ZADD + PEXPIRE, one round trip (or none if you
        pass a ``pipe`` that you execute yourself, e.g. together with the session lookup)."""
        check_user_id(user_id)
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        p = pipe if pipe is not None else self.r.pipeline(transaction=False)
        p.zadd(self.key, {encode_user(user_id): now_ms})
        p.pexpire(self.key, self.window * 1000)
        if pipe is None:
            p.execute()

    def forget(self, user_id: int | str) -> None:
        """Remove ``user_id`` (e.g. after logging it out everywhere): one ZREM."""
        self.r.zrem(self.key, encode_user(user_id))

    def count(self, within: int | None = None) -> int:
        """Users seen in the last ``within`` seconds (default: the window): one ZCOUNT."""
        within = self.window if within is None else within
        since = int(time.time() * 1000) - within * 1000
        return int(self.r.zcount(self.key, since, "+inf"))

    def prune(self) -> int:
        """Drop users not seen within the window: one ZREMRANGEBYSCORE; returns how many."""
        since = int(time.time() * 1000) - self.window * 1000
        return int(self.r.zremrangebyscore(self.key, "-inf", f"({since}"))
