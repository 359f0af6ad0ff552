"""``SessionStore``: the lesson's Exercise 1 (演習1), with its flaws fixed.

A session is a JSON object stored as a string at ``{prefix}:{session_id}``, with a TTL, exactly as
in the lesson (``hash_ids=True`` stores it under SHA-256 of the ID instead). What changed, and why:

- Malformed IDs (anything but 43 URL-safe characters) are answered without touching Redis.
- ``create`` checks its input (``ttl=0`` is an error, not "the default"), uses UTC timestamps and
  writes with ``SET … EX … NX``. Each session keeps its own idle TTL (``idle_ttl``, the first
  field of the stored JSON): ``refresh`` and ``update`` slide it back to that, not to
  ``default_ttl`` as the lesson does. A sliding read is one ``GETEX`` with the TTL the store
  expects: it remembers each session's idle TTL and deadline (which never change), and corrects
  the TTL with one more command the first time it meets a session with a TTL of its own.
- ``update`` is atomic (WATCH/MULTI with retries): concurrent writers lose nothing, and a deleted or
  expired session is never brought back. ``refresh=False`` keeps the TTL with ``KEEPTTL``.
- ``absolute_ttl`` caps a session's whole life, however often it is refreshed (OWASP: idle and
  absolute timeouts together).
- A per-user index (a sorted set, ``lessons.keys.KeySchema.index_key``) lets ``SessionAdmin``
  find one user's sessions without scanning them all. Written before the session, it outlives
  every session it lists; an entry's score (epoch ms) is a time when its session is surely gone.

Every atomic step touches one key (or keys of one slot), and the one script (``regenerate``'s
take-out) gets its key through ``KEYS``, so the same code runs on one Redis and on Redis Cluster.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import redis

from . import backend
from .backoff import Backoff
from .errors import SessionNotFound
from .keys import KeySchema, UserId, is_valid_session_id
from .scripts import TAKE_LUA, Script
from .session_value import (
    capped_ttl_ms,
    check_new_data,
    check_ttl,
    check_update,
    decode_session,
    encode_session,
    lifetime_of,
    user_of,
)

__all__ = ["SessionNotFound", "SessionStore", "is_valid_session_id"]

#: How much longer than the session that slides it a per-user index is kept alive (a factor),
#: so that its TTL needs extending at most once per idle period.
INDEX_LIFETIME_FACTOR = 2

#: How many sessions a store remembers (``_Known``; the oldest is forgotten first).
_MEMORY = 100_000


@dataclass(slots=True)
class _Known:
    """What a store has learned about one session. Its idle TTL and deadline never change while
    it lives, so the store can slide its TTL to the right value without reading it first."""

    idle_ms: int  #: the session's own idle TTL
    deadline_ms: int | None  #: its absolute deadline (epoch ms), if the store has ``absolute_ttl``
    index_until_ms: int = 0  #: before this time its user's index certainly still exists

    def ttl_ms(self, now_ms: int) -> int:
        """The TTL a refresh at ``now_ms`` gives the session (<= 0: past its deadline)."""
        return capped_ttl_ms(self.idle_ms, self.deadline_ms, now_ms)


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def _now_ms() -> int:
    return int(time.time() * 1000)


class SessionStore:
    """Server-side sessions in Redis: ``create`` / ``get`` / ``update`` / ``delete`` / ``refresh``.

    ``redis_url=None`` means ``lessons.backend.redis_url()``; pass ``client=`` to share a client
    (a ``redis.Redis`` or a ``redis.cluster.RedisCluster``). ``default_ttl`` is the idle timeout
    in seconds (sliding); ``absolute_ttl`` (seconds, optional) is a hard limit on a session's
    whole life that no refresh can extend. ``hash_ids=True`` keys each session by SHA-256 of its
    ID, so nothing usable leaks through SCAN, MONITOR or a dump.
    """

    def __init__(
        self,
        redis_url: str | None = None,
        prefix: str = "session",
        default_ttl: int = 3600,
        *,
        client: backend.Client | None = None,
        absolute_ttl: int | None = None,
        hash_ids: bool = False,
        backoff: Backoff | None = None,
    ):
        self.keys = KeySchema(prefix, hash_ids=hash_ids)
        self.r = client if client is not None else backend.connect(redis_url)
        self.default_ttl = check_ttl("default_ttl", default_ttl)
        self.absolute_ttl = None if absolute_ttl is None else check_ttl("absolute_ttl", absolute_ttl)
        self.backoff = backoff or Backoff()  # how update waits and retries after a conflict
        self._take = Script(self.r, TAKE_LUA)
        self._known: OrderedDict[str, _Known] = OrderedDict()  # stored ID -> what it learned

    @property
    def prefix(self) -> str:
        return self.keys.prefix

    @property
    def hash_ids(self) -> bool:
        return self.keys.hash_ids

    def key(self, session_id: str) -> str:
        """The Redis key of a session: ``{prefix}:{session_id}`` (or its hash). No Redis."""
        return self.keys.session_key(session_id)

    # -- helpers -----------------------------------------------------------------------------
    def _idle_ms(self, session: dict[str, Any]) -> int:
        """The session's own idle TTL in ms now, capped by its absolute deadline (may be <= 0)."""
        return capped_ttl_ms(*lifetime_of(session, self.default_ttl * 1000), _now_ms())

    def _live(self, raw: object) -> dict[str, Any] | None:
        session = decode_session(raw)
        if session is None or self._idle_ms(session) <= 0:
            return None
        return session

    def _learn(self, stored_id: str, session: dict[str, Any]) -> _Known:
        """Remember the session's idle TTL and deadline (no Redis); the oldest memory goes first."""
        known = self._known.get(stored_id)
        if known is None:
            known = self._known[stored_id] = _Known(*lifetime_of(session, self.default_ttl * 1000))
            if len(self._known) > _MEMORY:
                self._known.popitem(last=False)
        return known

    def _forget(self, stored_id: str, key: str) -> None:
        """A session past its absolute deadline: DEL it (one round trip) and forget it."""
        self.r.delete(key)
        self._known.pop(stored_id, None)

    def _index_commands(
        self, pipe: backend.Pipeline, user: UserId, stored_id: str, ttl_ms: int, new: bool = False
    ) -> int:
        """Queue: score ``stored_id`` now + ``INDEX_LIFETIME_FACTOR`` x ``ttl_ms`` in the user's
        index (ZADD NX if new, else GT) and keep the index alive as long. Returns that time (ms)."""
        index = self.keys.index_key(user)
        life = INDEX_LIFETIME_FACTOR * ttl_ms
        until = _now_ms() + life
        pipe.zadd(index, {stored_id: until}, nx=new, gt=not new)
        pipe.pexpire(index, life, nx=True)  # a new index gets a TTL ...
        pipe.pexpire(index, life, gt=True)  # ... an existing one never shrinks
        return until

    def _keep_index_alive(
        self, stored_id: str, session: dict[str, Any], ttl_ms: int, slide_key: str | None = None
    ) -> None:
        """After sliding a session to ``ttl_ms``: make sure its user's index outlives it; with
        ``slide_key``, also PEXPIRE that key to ``ttl_ms`` (a sliding read's correction).

        Usually nothing to do (no round trip): the entry's score and the index's TTL were set
        twice the idle TTL ahead when this store last wrote them. Otherwise one pipelined round
        trip (ZADD GT, raising the score, + PEXPIRE NX + PEXPIRE GT on the index key, which also
        puts back an entry that went missing; then the PEXPIRE of ``slide_key``).
        """
        user = user_of(session)
        known = self._learn(stored_id, session)
        extend = user is not None and _now_ms() + ttl_ms > known.index_until_ms
        if not extend and slide_key is None:
            return
        pipe = self.r.pipeline(transaction=False)
        if extend and user is not None:
            known.index_until_ms = self._index_commands(pipe, user, stored_id, ttl_ms)
        if slide_key is not None:
            pipe.pexpire(slide_key, ttl_ms)
        pipe.execute()

    #: False in a subclass whose ``_set_new`` must send the SET itself (e.g. followed by WAIT).
    _set_in_index_pipeline = True

    def _set_new(self, key: str, payload: str, ttl: int) -> bool:
        """Write a new session: ``SET key payload EX ttl NX``, one round trip; True if written."""
        return bool(self.r.set(key, payload, ex=ttl, nx=True))

    def _one_server(self, *keys: str) -> bool:
        """True if one server holds all ``keys``: always on a single Redis; on a cluster, if the
        client's slot map puts them on one node (no round trip)."""
        locate = getattr(self.r, "get_node_from_key", None)
        if not callable(locate):
            return True
        return len({locate(key).name for key in keys}) == 1

    # -- the lesson's API ----------------------------------------------------------------------
    def create(self, data: dict[str, Any], ttl: int | None = None) -> str:
        """Create a session and return its ID (43 characters, 256 random bits).

        ``SET {prefix}:{id} json EX ttl NX``: one round trip. With a ``user_id`` in ``data`` the
        same pipeline first adds the ID to that user's index (ZADD NX, PEXPIRE NX, PEXPIRE GT):
        still one round trip on one Redis; on a cluster (the index on another node) the index
        pipeline first, the SET after its reply: two. No session ever exists without its index
        entry, and the entry's score (2 x ttl ahead) tells a revoke or a listing that runs between
        the two steps (Redis may run it even inside one pipeline) to keep it.
        """
        check_new_data(data)
        ttl = self.default_ttl if ttl is None else check_ttl("ttl", ttl)
        if self.absolute_ttl is not None:
            ttl = min(ttl, self.absolute_ttl)
        user = user_of(data)
        now = _now_iso()
        session: dict[str, Any] = {"idle_ttl": ttl}
        if self.absolute_ttl is not None:
            session["absolute_deadline_ms"] = _now_ms() + self.absolute_ttl * 1000
        session.update(data)
        session.update(created_at=now, last_accessed=now)
        payload = encode_session(session)
        for _round in range(3):  # a collision of 256-bit IDs will not happen; NX makes sure anyway
            session_id = secrets.token_urlsafe(32)
            stored = self.keys.stored_id(session_id)
            key = self.keys.key_of(stored)
            until = 0
            if user is None:
                created = self._set_new(key, payload, ttl)
            elif self._one_server(key, self.keys.index_key(user)) and self._set_in_index_pipeline:
                pipe = self.r.pipeline(transaction=False)
                until = self._index_commands(pipe, user, stored, ttl * 1000, new=True)
                pipe.set(key, payload, ex=ttl, nx=True)
                created = pipe.execute()[-1]
            else:  # another cluster node: the index entry first, then the session (in order)
                pipe = self.r.pipeline(transaction=False)
                until = self._index_commands(pipe, user, stored, ttl * 1000, new=True)
                pipe.execute()
                created = self._set_new(key, payload, ttl)
            if created:
                self._learn(stored, session).index_until_ms = until
                return session_id
        raise RuntimeError("could not allocate a unique session ID")  # pragma: no cover

    def get(self, session_id: str, refresh: bool = False) -> dict[str, Any] | None:
        """The session's data, or None if it does not exist or is not valid JSON.

        ``refresh=False``: one GET. ``refresh=True``: one ``GETEX key PX ttl`` that reads the value
        and slides its TTL to the session's own idle TTL, capped by its absolute deadline. Both
        live in the value, which GETEX cannot read first: the store sends what it learned of the
        session earlier (else ``default_ttl``), and the first time a session's own TTL differs it
        corrects it in a second, pipelined round trip (PEXPIRE; DEL past the deadline). About once
        per idle period that pipeline also extends the user's index. Malformed IDs: no round trip.
        """
        if not is_valid_session_id(session_id):
            return None
        stored = self.keys.stored_id(session_id)
        key = self.keys.key_of(stored)
        if not refresh:
            return self._live(self.r.get(key))
        # the hot path of every request: one GETEX, one JSON decode, no other work
        now = _now_ms()
        known = self._known.get(stored)
        sent = self.default_ttl * 1000 if known is None else known.ttl_ms(now)
        if sent <= 0:  # past its absolute deadline: no need to read it
            self._forget(stored, key)
            return None
        session = decode_session(self.r.getex(key, px=sent))
        if session is None:  # gone (logged out elsewhere, expired) or not a session
            self._known.pop(stored, None)
            return None
        if known is None:
            known = self._learn(stored, session)
            ttl_ms = known.ttl_ms(now)
            if ttl_ms <= 0:
                self._forget(stored, key)
                return None
            if ttl_ms != sent:  # its own idle TTL, or its deadline is near: put the TTL right
                self._keep_index_alive(stored, session, ttl_ms, slide_key=key)
                return session
        else:
            ttl_ms = sent
        if "user_id" in session and now + ttl_ms > known.index_until_ms:
            self._keep_index_alive(stored, session, ttl_ms)
        return session

    def update(self, session_id: str, data: dict[str, Any], refresh: bool = True) -> dict[str, Any]:
        """Merge ``data`` into the session atomically and return the new session.

        WATCH, GET, then MULTI / SET / EXEC: three round trips when nobody else writes the session
        meanwhile. If someone does, EXEC is refused and, after a random back-off (``backoff``), all
        three run again on fresh data; only after ``backoff.seconds`` (10 s) of conflicts does it give
        up (``RetryLimitExceeded``). ``refresh=True`` resets the TTL to the session's own idle TTL
        (capped by its absolute deadline); ``refresh=False`` keeps it (``SET … KEEPTTL``, plus
        ``PEXPIRE … NX`` so a key without a TTL gets one). Raises ``SessionNotFound`` if the session
        is gone: an update never brings back a deleted or expired session.
        """
        check_update(data)
        if not is_valid_session_id(session_id):
            raise SessionNotFound("malformed session ID")
        key = self.key(session_id)
        with self.r.pipeline(transaction=True) as pipe:
            for _ in self.backoff.attempts("update"):  # sleeps between, or RetryLimitExceeded
                try:
                    pipe.watch(key)
                    current = self._live(pipe.get(key))
                    if current is None:
                        raise SessionNotFound("session not found (never created, deleted or expired)")
                    if "user_id" in data and data["user_id"] != current.get("user_id"):
                        raise ValueError("user_id cannot change; create a new session instead")
                    updated = {**current, **data, "last_accessed": _now_iso()}
                    payload = encode_session(updated)
                    ttl_ms = max(self._idle_ms(current), 1)
                    pipe.multi()
                    if refresh:
                        pipe.set(key, payload, px=ttl_ms)
                    else:
                        pipe.set(key, payload, keepttl=True)
                        pipe.pexpire(key, ttl_ms, nx=True)  # a PERSISTed session gets a TTL again
                    pipe.execute()
                    break
                except redis.WatchError:
                    continue
        if refresh:
            self._keep_index_alive(self.keys.stored_id(session_id), updated, ttl_ms)
        return updated

    def delete(self, session_id: str) -> bool:
        """Delete the session (and its index entry); True if it existed.

        GETDEL (one round trip), then a ZREM of its index entry if it had a user (a second).
        Malformed IDs: False, no round trip.
        """
        if not is_valid_session_id(session_id):
            return False
        return self.delete_stored(self.keys.stored_id(session_id))

    def delete_stored(self, stored_id: str) -> bool:
        """``delete`` by the name a session is stored under: the ``session_id`` handles that
        ``SessionAdmin.list_sessions`` returns (the ID itself, or its hash with ``hash_ids``)."""
        if not self.keys.is_stored_id(stored_id):
            return False
        raw = self.r.getdel(self.keys.key_of(stored_id))
        self._known.pop(stored_id, None)
        if raw is None:
            return False
        session = decode_session(raw)
        user = None if session is None else user_of(session)
        if user is not None:
            self.r.zrem(self.keys.index_key(user), stored_id)
        return True

    def refresh(self, session_id: str) -> bool:
        """Slide the TTL back to the session's idle TTL (capped by ``absolute_ttl``); True if
        it exists. One GETEX round trip, as ``get(refresh=True)`` (rarely two); no EXISTS
        first (the lesson's EXISTS + EXPIRE is two round trips and racy)."""
        return self.get(session_id, refresh=True) is not None

    # -- additions ------------------------------------------------------------------------------
    def regenerate(self, session_id: str) -> str:
        """Give the session a new ID (same data, same remaining TTL) and kill the old ID: the
        defence against session fixation, whenever privilege changes (login). Three round trips,
        each touching one slot: take the old session out (GET + PTTL + DEL in one script), add the
        new ID to the user's index as ``create`` does (and drop the old one), SET the new session
        with the remaining TTL. Raises ``SessionNotFound`` if the old session is gone."""
        if not is_valid_session_id(session_id):
            raise SessionNotFound("malformed session ID")
        old_stored = self.keys.stored_id(session_id)
        taken = self._take(keys=[self.keys.key_of(old_stored)], args=[])
        self._known.pop(old_stored, None)
        current = None if not taken else self._live(taken[0])
        pttl = int(taken[1]) if taken else -2
        if current is None or pttl <= 0:
            raise SessionNotFound("session not found (never created, deleted or expired)")
        current["last_accessed"] = _now_iso()
        payload = encode_session(current)
        user = user_of(current)
        until = 0
        for _round in range(3):
            new_id = secrets.token_urlsafe(32)
            new_stored = self.keys.stored_id(new_id)
            if user is not None:
                pipe = self.r.pipeline(transaction=False)
                until = self._index_commands(pipe, user, new_stored, pttl, new=True)
                pipe.zrem(self.keys.index_key(user), old_stored)
                pipe.execute()
            if self.r.set(self.keys.key_of(new_stored), payload, px=pttl, nx=True):
                self._learn(new_stored, current).index_until_ms = until
                return new_id
        raise RuntimeError("could not allocate a unique session ID")  # pragma: no cover
