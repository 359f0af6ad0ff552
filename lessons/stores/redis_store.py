"""``RedisStore``: ``lessons.store.SessionStore`` behind the four stores' interface (the Redis row).

Shared over TCP with every process on every machine that can reach the Redis, and Redis expires
keys itself, so there is nothing to clean up.
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..keys import is_valid_session_id
from ..store import SessionStore

__all__ = ["RedisStore"]


class RedisStore:
    """``SessionStore`` with the other stores' extras (``ttl``, ``cleanup``, ``stored_count``,
    ``spec``).

    Key names come from the store's ``KeySchema`` (``self.sessions.keys``): sessions at
    ``{prefix}:{id}`` with a Redis TTL, the per-user index at ``{prefix}-by-user:{user id}``.
    Round trips, as ``SessionStore``: create 1, get 1, get(refresh=True) 1, update 3, delete 1
    (2 with a user), ttl 1 (PTTL), stored_count 1 per SCAN batch, cleanup 0.
    """

    kind = "redis"

    def __init__(self, redis_url: str | None = None, prefix: str = "session", default_ttl: int = 3600):
        self.url = redis_url or backend.redis_url()
        self.sessions = SessionStore(self.url, prefix=prefix, default_ttl=default_ttl)
        self.r = self.sessions.r
        self.prefix = self.sessions.prefix
        self.default_ttl = self.sessions.default_ttl

    @property
    def spec(self) -> str:
        """``redis:PREFIX@URL``. The URL may hold a password: ``other_process_sees`` passes specs
        on stdin, never on the command line."""
        return f"redis:{self.prefix}@{self.url}"

    def create(self, data: dict[str, Any], ttl: int | None = None) -> str:
        """``SessionStore.create``: SET … EX NX (with a user, ZADD + PEXPIRE first, pipelined)."""
        return self.sessions.create(data, ttl)

    def get(self, session_id: str, refresh: bool = False) -> dict[str, Any] | None:
        """``SessionStore.get``: GET, or GETEX with ``refresh=True``."""
        return self.sessions.get(session_id, refresh=refresh)

    def update(self, session_id: str, data: dict[str, Any], refresh: bool = True) -> dict[str, Any]:
        """``SessionStore.update``: WATCH, GET, MULTI/SET/EXEC."""
        return self.sessions.update(session_id, data, refresh=refresh)

    def delete(self, session_id: str) -> bool:
        """``SessionStore.delete``: GETDEL (then ZREM of the index entry for a user's session)."""
        return self.sessions.delete(session_id)

    def refresh(self, session_id: str) -> bool:
        """``SessionStore.refresh``: one GETEX."""
        return self.sessions.refresh(session_id)

    def ttl(self, session_id: str) -> float | None:
        """Seconds left (one PTTL), or None if the key is gone or the ID is malformed."""
        if not is_valid_session_id(session_id):
            return None
        left = int(self.r.pttl(self.sessions.key(session_id)))
        return left / 1000 if left > 0 else None

    def cleanup(self) -> int:
        """Nothing to do: Redis deletes expired keys itself. Returns 0, sends no command."""
        return 0

    def stored_count(self) -> int:
        """Session keys that Redis still holds (SCAN MATCH ``{prefix}:*``; expired keys are gone
        and index keys do not match)."""
        return len(set(self.r.scan_iter(match=self.sessions.keys.session_pattern, count=1000)))

    def close(self) -> None:
        """Close the client's connections."""
        self.r.close()
