"""Session writes that a failover cannot undo: ``ReplicatedStore`` and ``ReplicatedAdmin``.

Redis replicates asynchronously: a master answers OK before its replicas have the write, so a
failover can lose it. For a new session that means a user logged out; for a DELETE it means a
session that was ended (logout, ``DELETE /sessions/{id}``, "log out everywhere", the old ID of a
``regenerate``) comes back to life. ``WAIT n timeout`` after a write tells how many replicas
have it. Here every such write is followed by WAIT on the same connection, in one pipeline:

    store = ReplicatedStore(client=rc, prefix="session", replicas=1, timeout_ms=100)
    store.create(...) / store.delete(sid) / store.delete_stored(stored) / store.regenerate(sid)
    store.admin().revoke_all_sessions(user_id)       # a ReplicatedAdmin

When fewer replicas acknowledge within ``timeout_ms`` they raise ``NotReplicated`` (a
``redis.ConnectionError``, so the web app answers 503): the master did the write, but the caller
must not report success, because a failover now could undo it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, cast

import redis
from redis.client import Pipeline as NodePipeline
from redis.cluster import RedisCluster

from .admin import SessionAdmin
from .backend import Client
from .errors import SessionNotFound
from .keys import is_valid_session_id
from .scripts import TAKE_LUA
from .session_value import decode_session, encode_session, user_of
from .store import SessionStore, _now_iso

__all__ = ["NotReplicated", "ReplicatedAdmin", "ReplicatedStore"]


class NotReplicated(redis.exceptions.ConnectionError):
    """``WAIT`` timed out: fewer replicas than required acknowledged a write. The master did
    the write (``done``: how many sessions it created or ended), but a failover now could undo
    it: a created session could vanish, an ended one come back. A ``redis.ConnectionError``, so
    the web app answers 503 ("try again") instead of a success that may not stick."""

    def __init__(self, what: str, acknowledged: int, required: int, timeout_ms: int, done: int = 0):
        super().__init__(
            f"{what}, but {acknowledged} of {required} replicas confirmed it within "
            f"{timeout_ms} ms: a failover now could undo it"
        )
        self.acknowledged, self.required, self.done = acknowledged, required, done


def _node_of(client: Client, key: str) -> redis.Redis:
    """The plain client of the node serving ``key`` (the client itself on one Redis)."""
    locate = getattr(client, "get_node_from_key", None)
    if not callable(locate):
        return cast(redis.Redis, client)
    return cast(RedisCluster, client).get_redis_connection(locate(key))


def _refresh_slots(client: Client) -> None:
    """Ask a cluster client to read the slot map again (one CLUSTER SLOTS); nothing on one Redis."""
    manager = getattr(client, "nodes_manager", None)
    if manager is not None:
        try:
            manager.initialize()
        except redis.RedisError:
            pass  # no node answers now: the next command tries again


def _then_wait(
    client: Client, key: str, queue: Callable[[NodePipeline], object], replicas: int, timeout_ms: int
) -> tuple[list[Any], int]:
    """The commands ``queue`` adds to a pipeline, then ``WAIT replicas timeout_ms``, on one
    connection to the node serving ``key`` (WAIT counts the replicas that have the writes of
    its own connection; ``RedisCluster.wait`` would go to another node): one round trip.
    Returns (the commands' replies, how many replicas acknowledged). On a cluster, a MOVED
    reply (the slot moved: a failover) refreshes the client's slot map and the pipeline is
    sent once more; an unreachable node refreshes it too, and the error is raised."""
    for attempt in range(2):
        pipe = _node_of(client, key).pipeline(transaction=False)
        queue(pipe)
        pipe.wait(replicas, timeout_ms)
        try:
            *replies, acknowledged = pipe.execute()
            return replies, int(acknowledged)
        except (redis.exceptions.MovedError, redis.ConnectionError) as exc:
            _refresh_slots(client)
            if attempt or not isinstance(exc, redis.exceptions.MovedError):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


class ReplicatedStore(SessionStore):
    """``SessionStore`` whose writes return once ``replicas`` replicas have them, or raise
    ``NotReplicated`` after ``timeout_ms``.

    Each write and its ``WAIT`` go in one pipeline on one connection to the node serving the
    session key: one round trip (``_then_wait``).

    - ``create``: ``SET … NX`` + WAIT; with a user, the index pipeline goes first (two round
      trips on one Redis too). Not acknowledged: raises, and the ID is never handed out.
    - ``delete`` / ``delete_stored``: ``GETDEL`` + WAIT, then ZREM of the index entry (two round
      trips). Not acknowledged: the master has ended the session, but its replica may still
      have it; the index entry is kept (so a revoke or a listing still finds the session if a
      failover brings it back) and ``NotReplicated`` is raised (``done``: 1 if it existed).
      A session that was already gone is acknowledged as soon as the replicas have everything
      this connection wrote before.
    - ``regenerate``: the take-out script (GET + PTTL + DEL) + WAIT; not acknowledged: raises
      and creates no new ID (the session is over: log in again). Then the index step and the
      new session's SET + WAIT, as ``SessionStore.regenerate`` does them (three round trips).
    """

    _set_in_index_pipeline = False

    def __init__(self, *args: Any, replicas: int = 1, timeout_ms: int = 100, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.replicas, self.timeout_ms = replicas, timeout_ms

    def _node_client(self, key: str) -> Any:
        """The plain client of the node serving ``key`` (the client itself on one Redis)."""
        return _node_of(self.r, key)

    def _replicated(self, key: str, queue: Callable[[NodePipeline], object]) -> tuple[list[Any], int]:
        return _then_wait(self.r, key, queue, self.replicas, self.timeout_ms)

    def _set_new(self, key: str, payload: str, ttl: int) -> bool:
        """``SET key payload EX ttl NX`` then ``WAIT``: one round trip, one connection."""
        (created,), acknowledged = self._replicated(key, lambda pipe: pipe.set(key, payload, ex=ttl, nx=True))
        if created and acknowledged < self.replicas:
            raise NotReplicated(
                "the session was created on its master", acknowledged, self.replicas, self.timeout_ms, done=1
            )
        return bool(created)

    def delete_stored(self, stored_id: str) -> bool:
        if not self.keys.is_stored_id(stored_id):
            return False
        key = self.keys.key_of(stored_id)
        (raw,), acknowledged = self._replicated(key, lambda pipe: pipe.getdel(key))
        self._known.pop(stored_id, None)
        if acknowledged < self.replicas:
            raise NotReplicated(
                "the session was ended on its master"
                if raw is not None
                else "the session was not found on its master",
                acknowledged,
                self.replicas,
                self.timeout_ms,
                done=int(raw is not None),
            )
        session = None if raw is None else decode_session(raw)
        user = None if session is None else user_of(session)
        if user is not None:
            self.r.zrem(self.keys.index_key(user), stored_id)
        return raw is not None

    def regenerate(self, session_id: str) -> str:
        if not is_valid_session_id(session_id):
            raise SessionNotFound("malformed session ID")
        old_stored = self.keys.stored_id(session_id)
        old_key = self.keys.key_of(old_stored)
        (taken,), acknowledged = self._replicated(old_key, lambda pipe: pipe.eval(TAKE_LUA, 1, old_key))
        self._known.pop(old_stored, None)
        current = None if not taken else self._live(taken[0])
        pttl = int(taken[1]) if taken else -2
        if taken and acknowledged < self.replicas:
            raise NotReplicated(
                "the old session ID was ended on its master (and no new one was made)",
                acknowledged,
                self.replicas,
                self.timeout_ms,
                done=1,
            )
        if current is None or pttl <= 0:
            raise SessionNotFound("session not found (never created, deleted or expired)")
        current["last_accessed"] = _now_iso()
        payload = encode_session(current)
        user = user_of(current)
        for _ in range(3):
            new_id = secrets.token_urlsafe(32)
            new_stored = self.keys.stored_id(new_id)
            until = 0
            if user is not None:
                pipe = self.r.pipeline(transaction=False)
                until = self._index_commands(pipe, user, new_stored, pttl, new=True)
                pipe.zrem(self.keys.index_key(user), old_stored)
                pipe.execute()
            if self._set_new_px(self.keys.key_of(new_stored), payload, pttl):
                self._learn(new_stored, current).index_until_ms = until
                return new_id
        raise RuntimeError("could not allocate a unique session ID")  # pragma: no cover

    def _set_new_px(self, key: str, payload: str, ttl_ms: int) -> bool:
        """``_set_new`` with a TTL in milliseconds (regenerate keeps the remaining TTL)."""
        (created,), acknowledged = self._replicated(
            key, lambda pipe: pipe.set(key, payload, px=ttl_ms, nx=True)
        )
        if created and acknowledged < self.replicas:
            raise NotReplicated(
                "the new session was created on its master",
                acknowledged,
                self.replicas,
                self.timeout_ms,
                done=1,
            )
        return bool(created)

    def admin(self) -> ReplicatedAdmin:
        """The ``ReplicatedAdmin`` of this store's sessions (same client, keys and WAIT)."""
        return ReplicatedAdmin.for_store(self)


class ReplicatedAdmin(SessionAdmin):
    """``SessionAdmin`` whose revokes (``revoke_all_sessions``, ``revoke_by_scan``) return once
    ``replicas`` replicas have the DELs: per node, one pipeline of DELs + ``WAIT`` on one
    connection (one round trip per node, as ``SessionAdmin``'s pipelined DEL; it overrides the
    admin's one deleting step, ``_delete_each``). When a node's
    replicas do not acknowledge within ``timeout_ms``, raises ``NotReplicated`` (``done``: how
    many sessions the masters ended) before the index entries are removed, so a second revoke,
    or a listing, still finds every session that a failover may bring back."""

    def __init__(
        self,
        redis_client: Client,
        prefix: str = "session",
        *,
        replicas: int = 1,
        timeout_ms: int = 100,
        **kwargs: Any,
    ):
        super().__init__(redis_client, prefix, **kwargs)
        self.replicas, self.timeout_ms = replicas, timeout_ms

    @classmethod
    def for_store(cls, store: Any, **kwargs: Any) -> ReplicatedAdmin:
        """The admin of ``store``'s sessions; a ``ReplicatedStore``'s WAIT settings too."""
        for name in ("replicas", "timeout_ms"):
            if hasattr(store, name):
                kwargs.setdefault(name, getattr(store, name))
        return cls(store.r, store.keys.prefix, hash_ids=store.keys.hash_ids, **kwargs)

    def _delete_each(self, keys: list[str]) -> list[bool]:
        """DEL each key + WAIT, one pipeline per node: for each key, whether it existed. Raises
        ``NotReplicated`` (after every node ran) if any node's replicas did not acknowledge."""
        by_node: dict[str, list[int]] = {}
        locate = getattr(self.r, "get_node_from_key", None)
        for i, key in enumerate(keys):
            by_node.setdefault(locate(key).name if callable(locate) else "", []).append(i)
        existed, short = [False] * len(keys), []
        for positions in by_node.values():
            group = [keys[i] for i in positions]

            def queue(pipe: NodePipeline, group: list[str] = group) -> None:
                for key in group:
                    pipe.delete(key)

            deleted, acknowledged = _then_wait(self.r, group[0], queue, self.replicas, self.timeout_ms)
            for i, n in zip(positions, deleted):
                existed[i] = int(n) > 0
            if acknowledged < self.replicas:
                short.append(acknowledged)
        if short:
            raise NotReplicated(
                f"{sum(existed)} sessions were ended on their masters",
                min(short),
                self.replicas,
                self.timeout_ms,
                done=sum(existed),
            )
        return existed

    def _delete(self, keys: list[str]) -> int:
        """``_delete_each``: how many existed."""
        return sum(self._delete_each(keys))
