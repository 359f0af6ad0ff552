# mypy: ignore-errors
"""The course's ``SessionStore`` as it was before it ran on Redis Cluster (commit 42805c2),
kept unchanged below this note so that notebook 06 can show where it breaks on a cluster: one
MULTI over a session and its index (two slots), and a sliding script that builds the index key
from the session's value (a key the script was not given). Use ``lessons.store`` instead.

The original docstring follows.

``SessionStore``: the lesson's Exercise 1 (演習1), with its flaws fixed.

A session is a JSON object stored as a string at ``{prefix}:{session_id}``, with a TTL, exactly as
in the lesson. What changed, and why:

- Malformed IDs (anything but 43 URL-safe characters) are answered without touching Redis.
- ``create`` checks its input (``ttl=0`` is an error, not "the default"), uses UTC timestamps and
  writes with ``SET … EX … NX`` in one round trip (a MULTI pipeline when it also indexes the user).
- ``update`` is atomic (WATCH/MULTI with retries): concurrent writers lose nothing, and a deleted or
  expired session is never brought back. ``refresh=False`` keeps the TTL with ``KEEPTTL`` instead of
  reading TTL and writing it back.
- ``absolute_ttl`` caps a session's whole life, however often it is refreshed (OWASP: idle and
  absolute timeouts together).
- A per-user index (a sorted set at ``{prefix}-by-user:{user_id}``, a name that the ``{prefix}:*``
  SCAN pattern cannot match) lets ``SessionAdmin`` find one user's sessions without scanning all.
  The index always has a TTL at least as long as its longest-lived session, so the sliding paths
  (``refresh`` and ``get(refresh=True)``) extend it too: that is why they run as one small Lua
  script (one EVALSHA round trip) rather than a bare EXPIRE or GETEX, which could not.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from datetime import datetime, timezone
from typing import Any

import redis

from . import backend

__all__ = ["SESSION_ID_PATTERN", "SessionNotFound", "SessionStore", "is_valid_session_id"]

#: ``secrets.token_urlsafe(32)``: 32 random bytes, base64url without padding = 43 characters.
SESSION_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")

#: Fields the store writes into every session; ``update`` may not set them.
META_FIELDS = ("created_at", "last_accessed", "absolute_deadline_ms")


class SessionNotFound(ValueError):
    """The session does not exist (never created, deleted, expired, or a malformed ID)."""


def is_valid_session_id(session_id: object) -> bool:
    """True if ``session_id`` could have come from ``secrets.token_urlsafe(32)``. No Redis command."""
    return isinstance(session_id, str) and SESSION_ID_PATTERN.fullmatch(session_id) is not None


def decode_session(raw: str | None) -> dict | None:
    """A stored value as a dict, or None if it is missing or not a JSON object."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def user_of(session: dict) -> int | str | None:
    """The session's ``user_id`` if it is an int or a str (what the per-user index accepts)."""
    user = session.get("user_id")
    return user if isinstance(user, (int, str)) and not isinstance(user, bool) else None


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number of seconds, not {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0 seconds (got {value}); a session without a TTL "
                         "would live forever")
    return value


# The sliding paths: look the session up, extend its TTL (capped by its absolute deadline) and
# make sure its user's index lives at least as long. Returns the value, or false.
# KEYS[1] session key; ARGV[1] idle TTL in ms; ARGV[2] now in ms; ARGV[3] index key prefix;
# ARGV[4] session id (the index member).
_TOUCH_LUA = """
local value = redis.call('GET', KEYS[1])
if not value then return false end
local ok, session = pcall(cjson.decode, value)
if not ok or type(session) ~= 'table' then return value end
local ttl = tonumber(ARGV[1])
local deadline = tonumber(session['absolute_deadline_ms'])
if deadline then ttl = math.min(ttl, deadline - tonumber(ARGV[2])) end
local user = session['user_id']
local index = false
if type(user) == 'number' then index = ARGV[3] .. string.format('%d', user)
elseif type(user) == 'string' then index = ARGV[3] .. user end
if ttl <= 0 then
  redis.call('DEL', KEYS[1])
  if index then redis.call('ZREM', index, ARGV[4]) end
  return false
end
redis.call('PEXPIRE', KEYS[1], ttl)
if index then
  local index_ttl = redis.call('PTTL', index)
  if index_ttl == -2 then
    redis.call('ZADD', index, tonumber(ARGV[2]), ARGV[4])
    redis.call('PEXPIRE', index, ttl)
  elseif index_ttl < ttl then
    redis.call('PEXPIRE', index, ttl)
  end
end
return value
"""

# Delete a session and its index entry. KEYS[1] session key; ARGV[1] index key prefix;
# ARGV[2] session id. Returns 1 if the session existed.
_DELETE_LUA = """
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
redis.call('DEL', KEYS[1])
local ok, session = pcall(cjson.decode, value)
if ok and type(session) == 'table' then
  local user = session['user_id']
  local index = false
  if type(user) == 'number' then index = ARGV[1] .. string.format('%d', user)
  elseif type(user) == 'string' then index = ARGV[1] .. user end
  if index then redis.call('ZREM', index, ARGV[2]) end
end
return 1
"""


class _Script:
    """A Lua script that costs one round trip, the first call included.

    The first call sends the source with EVAL (which also caches it on the server); later calls
    send only its SHA1 with EVALSHA. If the server forgot it (restart, SCRIPT FLUSH), EVALSHA
    answers NOSCRIPT and the call falls back to EVAL once. (redis-py's ``register_script`` would
    spend three round trips on a first call: EVALSHA, SCRIPT LOAD, EVALSHA.)
    """

    def __init__(self, client: redis.Redis, source: str):
        self.client, self.source = client, source
        self.sha = hashlib.sha1(source.encode()).hexdigest()
        self.loaded = False

    def __call__(self, keys: list[str], args: list[Any]) -> Any:
        if self.loaded:
            try:
                return self.client.evalsha(self.sha, len(keys), *keys, *args)
            except redis.exceptions.NoScriptError:
                pass
        result = self.client.eval(self.source, len(keys), *keys, *args)
        self.loaded = True
        return result


class SessionStore:
    """Server-side sessions in Redis: ``create`` / ``get`` / ``update`` / ``delete`` / ``refresh``.

    ``redis_url=None`` means ``lessons.backend.redis_url()``; pass ``client=`` to share a client.
    ``default_ttl`` is the idle timeout in seconds (sliding); ``absolute_ttl`` (seconds, optional)
    is a hard limit on a session's whole life that no refresh can extend.
    """

    def __init__(
        self,
        redis_url: str | None = None,
        prefix: str = "session",
        default_ttl: int = 3600,
        *,
        client: redis.Redis | None = None,
        absolute_ttl: int | None = None,
        max_retries: int = 50,
    ):
        if not isinstance(prefix, str) or not prefix or any(c in prefix for c in "*?[]\\"):
            raise ValueError(f"prefix must be a non-empty string without glob characters: {prefix!r}")
        self.r = client if client is not None else backend.connect(redis_url)
        self.prefix = prefix
        self.default_ttl = _positive_int("default_ttl", default_ttl)
        self.absolute_ttl = None if absolute_ttl is None else _positive_int("absolute_ttl", absolute_ttl)
        self.max_retries = max_retries
        self._touch = _Script(self.r, _TOUCH_LUA)
        self._delete = _Script(self.r, _DELETE_LUA)

    # -- key names ---------------------------------------------------------------------------
    def stored_id(self, session_id: str) -> str:
        """The name a session is stored under: the ID itself here (a subclass may hash it)."""
        return session_id

    def _key(self, session_id: str) -> str:
        return f"{self.prefix}:{self.stored_id(session_id)}"

    @property
    def index_prefix(self) -> str:
        """Per-user index keys start with this; ``{prefix}:*`` cannot match them."""
        return f"{self.prefix}-by-user:"

    def index_key(self, user_id: int | str) -> str:
        """The sorted set of one user's session IDs (score: creation time in ms)."""
        return f"{self.index_prefix}{user_id}"

    # -- helpers -----------------------------------------------------------------------------
    _decode = staticmethod(decode_session)
    _user_of = staticmethod(user_of)

    def _capped_ms(self, session: dict, ttl_ms: int) -> int:
        """``ttl_ms`` shortened so that it ends no later than the absolute deadline (may be <= 0)."""
        deadline = session.get("absolute_deadline_ms")
        if isinstance(deadline, (int, float)) and not isinstance(deadline, bool):
            return min(ttl_ms, int(deadline) - _now_ms())
        return ttl_ms

    def _expired_by_deadline(self, session: dict) -> bool:
        return self._capped_ms(session, 1) <= 0

    @staticmethod
    def _dumps(data: dict) -> str:
        try:
            return json.dumps(data, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"session data must be JSON-serialisable: {exc}") from None

    # -- the lesson's API ----------------------------------------------------------------------
    def create(self, data: dict, ttl: int | None = None) -> str:
        """Create a session and return its ID (43 characters, 256 random bits).

        ``SET {prefix}:{id} json EX ttl NX``: one round trip. With a ``user_id`` in ``data`` the
        same MULTI/EXEC round trip also adds the ID to that user's index (ZADD) and extends the
        index's TTL (PEXPIRE NX + PEXPIRE GT).
        """
        if not isinstance(data, dict):
            raise TypeError(f"session data must be a dict, not {type(data).__name__}")
        ttl = self.default_ttl if ttl is None else _positive_int("ttl", ttl)
        if self.absolute_ttl is not None:
            ttl = min(ttl, self.absolute_ttl)
        user = data.get("user_id")
        if user is not None and self._user_of(data) is None:
            raise TypeError(f"user_id must be an int or a str, not {type(user).__name__}")
        now = _now_iso()
        session = {**data, "created_at": now, "last_accessed": now}
        if self.absolute_ttl is not None:
            session["absolute_deadline_ms"] = _now_ms() + self.absolute_ttl * 1000
        payload = self._dumps(session)
        for _ in range(3):  # a collision of 256-bit IDs will not happen; NX makes sure anyway
            session_id = secrets.token_urlsafe(32)
            if user is None:
                created = self.r.set(self._key(session_id), payload, ex=ttl, nx=True)
            else:
                index = self.index_key(user)
                pipe = self.r.pipeline(transaction=True)
                pipe.set(self._key(session_id), payload, ex=ttl, nx=True)
                pipe.zadd(index, {self.stored_id(session_id): _now_ms()})
                pipe.expire(index, ttl, nx=True)  # a new index gets a TTL ...
                pipe.expire(index, ttl, gt=True)  # ... an existing one never shrinks
                created = pipe.execute()[0]
            if created:
                return session_id
        raise RuntimeError("could not allocate a unique session ID")  # pragma: no cover

    def get(self, session_id: str, refresh: bool = False) -> dict | None:
        """The session's data, or None if it does not exist or is not valid JSON.

        ``refresh=False``: one GET. ``refresh=True``: one EVALSHA round trip that GETs the value
        and slides its TTL back to ``default_ttl`` (capped by ``absolute_ttl``), extending the
        user's index with it. Malformed IDs: no round trip.
        """
        if not is_valid_session_id(session_id):
            return None
        key = self._key(session_id)
        if refresh:
            raw = self._touch(keys=[key], args=[self.default_ttl * 1000, _now_ms(),
                                                self.index_prefix, self.stored_id(session_id)])
        else:
            raw = self.r.get(key)
        session = self._decode(raw)
        if session is None or self._expired_by_deadline(session):
            return None
        return session

    def update(self, session_id: str, data: dict, refresh: bool = True) -> dict:
        """Merge ``data`` into the session atomically and return the new session.

        WATCH, GET, then MULTI / SET / EXEC: three round trips when nobody else writes the
        session meanwhile; if someone does, EXEC fails and it retries. ``refresh=True`` resets the
        TTL to ``default_ttl`` (capped by ``absolute_ttl``); ``refresh=False`` keeps it
        (``SET … KEEPTTL``, plus ``PEXPIRE … NX`` so a key without a TTL gets one). Raises
        ``SessionNotFound`` if the session is gone: an update never brings back a deleted or expired session.
        """
        if not isinstance(data, dict):
            raise TypeError(f"session data must be a dict, not {type(data).__name__}")
        if not is_valid_session_id(session_id):
            raise SessionNotFound("malformed session ID")
        for name in META_FIELDS:
            if name in data:
                raise ValueError(f"{name!r} is managed by the store and cannot be updated")
        key = self._key(session_id)
        with self.r.pipeline(transaction=True) as pipe:
            for _ in range(self.max_retries):
                try:
                    pipe.watch(key)
                    current = self._decode(pipe.get(key))
                    if current is None or self._expired_by_deadline(current):
                        raise SessionNotFound("session not found (never created, deleted or expired)")
                    if "user_id" in data and data["user_id"] != current.get("user_id"):
                        raise ValueError("user_id cannot change; create a new session instead")
                    updated = {**current, **data, "last_accessed": _now_iso()}
                    payload = self._dumps(updated)
                    pipe.multi()
                    if refresh:
                        ttl_ms = self._capped_ms(current, self.default_ttl * 1000)
                        pipe.set(key, payload, px=max(ttl_ms, 1))
                        user = self._user_of(current)
                        if user is not None:
                            pipe.pexpire(self.index_key(user), max(ttl_ms, 1), gt=True)
                    else:
                        pipe.set(key, payload, keepttl=True)
                        # a session someone made immortal (PERSIST) gets a TTL again
                        pipe.pexpire(key, max(self._capped_ms(current, self.default_ttl * 1000), 1),
                                     nx=True)
                    pipe.execute()
                    return updated
                except redis.WatchError:
                    continue
        raise RuntimeError(f"update gave up after {self.max_retries} conflicting writes")

    def delete(self, session_id: str) -> bool:
        """Delete the session (and its index entry); True if it existed.

        One EVALSHA round trip (GET, DEL, ZREM). Malformed IDs: False, no round trip.
        """
        if not is_valid_session_id(session_id):
            return False
        return bool(self._delete(keys=[self._key(session_id)],
                                 args=[self.index_prefix, self.stored_id(session_id)]))

    def refresh(self, session_id: str) -> bool:
        """Slide the TTL back to ``default_ttl`` (capped by ``absolute_ttl``); True if it exists.

        One EVALSHA round trip: the EXPIRE, plus extending the user's index so it outlives the
        session. No EXISTS first (the lesson's EXISTS + EXPIRE is two round trips and racy).
        """
        if not is_valid_session_id(session_id):
            return False
        raw = self._touch(keys=[self._key(session_id)],
                          args=[self.default_ttl * 1000, _now_ms(), self.index_prefix,
                                self.stored_id(session_id)])
        return raw is not None

    # -- additions ------------------------------------------------------------------------------
    def regenerate(self, session_id: str) -> str:
        """Give the session a new ID (same data, same remaining TTL) and kill the old ID.

        The defence against session fixation: call it whenever privilege changes (login).
        WATCH, GET, PTTL, then MULTI (SET new PX NX, DEL old, index ZREM/ZADD) EXEC: four round
        trips. Raises ``SessionNotFound`` if the old session is gone.
        """
        if not is_valid_session_id(session_id):
            raise SessionNotFound("malformed session ID")
        old_key = self._key(session_id)
        with self.r.pipeline(transaction=True) as pipe:
            for _ in range(self.max_retries):
                try:
                    pipe.watch(old_key)
                    current = self._decode(pipe.get(old_key))
                    pttl = pipe.pttl(old_key)
                    if current is None or pttl <= 0 or self._expired_by_deadline(current):
                        raise SessionNotFound("session not found (never created, deleted or expired)")
                    current["last_accessed"] = _now_iso()
                    new_id = secrets.token_urlsafe(32)
                    pipe.multi()
                    pipe.set(self._key(new_id), self._dumps(current), px=pttl, nx=True)
                    pipe.delete(old_key)
                    user = self._user_of(current)
                    if user is not None:
                        index = self.index_key(user)
                        pipe.zrem(index, self.stored_id(session_id))
                        pipe.zadd(index, {self.stored_id(new_id): _now_ms()})
                        pipe.pexpire(index, pttl, nx=True)
                        pipe.pexpire(index, pttl, gt=True)
                    if pipe.execute()[0]:
                        return new_id
                except redis.WatchError:
                    continue
        raise RuntimeError(f"regenerate gave up after {self.max_retries} conflicting writes")
