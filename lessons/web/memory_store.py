"""``InMemorySessionStore``: sessions in a dict inside one process (the lesson's "メモリ" row).

Fast, but not shared: behind a load balancer, a session created on one server is unknown to the
others; that is the point of the demo. It offers what ``lessons.web`` needs of a store, and what
it needs of ``SessionAdmin`` (``list_sessions``, ``revoke_all_sessions``, ``delete_stored``).
"""

from __future__ import annotations

import secrets
import threading
import time
from datetime import datetime, timezone
from typing import Any

from ..errors import SessionNotFound
from ..keys import UserId, is_valid_session_id

__all__ = ["InMemorySessionStore", "positive_seconds"]


def positive_seconds(name: str, value: object) -> int:
    """``value`` if it is a whole number of seconds > 0; ``TypeError``/``ValueError`` saying why.

    ``0`` is an error, not "use the default": a session that expires at once, or never, is a bug.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number of seconds, not {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0 seconds (got {value}); a session needs a lifetime")
    return value


class InMemorySessionStore:
    """Sessions in a dict of this process. Each session keeps its own idle TTL (``ttl``)."""

    prefix = "memory"

    def __init__(self, default_ttl: int = 3600):
        self.default_ttl = positive_seconds("default_ttl", default_ttl)
        # session ID -> (expiry on the monotonic clock, idle TTL, session data)
        self._data: dict[str, tuple[float, int, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def _live(self, session_id: str, now: float) -> tuple[float, int, dict[str, Any]] | None:
        item = self._data.get(session_id)
        if item is not None and item[0] <= now:
            del self._data[session_id]
            return None
        return item

    def create(self, data: dict[str, Any], ttl: int | None = None) -> str:
        """A new session with ``data``; ``ttl`` seconds (> 0) or ``default_ttl``."""
        if not isinstance(data, dict):
            raise TypeError(f"session data must be a dict, not {type(data).__name__}")
        ttl = self.default_ttl if ttl is None else positive_seconds("ttl", ttl)
        now = datetime.now(timezone.utc).isoformat()
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self._data[session_id] = (time.monotonic() + ttl, ttl,
                                      {**data, "created_at": now, "last_accessed": now})
        return session_id

    def get(self, session_id: str, refresh: bool = False) -> dict[str, Any] | None:
        """The session (a copy), sliding its idle TTL with ``refresh``; None if gone."""
        if not is_valid_session_id(session_id):
            return None
        with self._lock:
            now = time.monotonic()
            item = self._live(session_id, now)
            if item is None:
                return None
            if refresh:
                self._data[session_id] = (now + item[1], item[1], item[2])
            return dict(item[2])

    def update(self, session_id: str, data: dict[str, Any], refresh: bool = True) -> dict[str, Any]:
        """Merge ``data`` into the session; ``SessionNotFound`` if it is gone."""
        with self._lock:
            now = time.monotonic()
            item = self._live(session_id, now) if is_valid_session_id(session_id) else None
            if item is None:
                raise SessionNotFound("session not found (never created, deleted or expired)")
            session = {**item[2], **data,
                       "last_accessed": datetime.now(timezone.utc).isoformat()}
            self._data[session_id] = (now + item[1] if refresh else item[0], item[1], session)
            return dict(session)

    def delete(self, session_id: str) -> bool:
        """True if the session existed."""
        with self._lock:
            return self._data.pop(session_id, None) is not None

    # -- what SessionAdmin offers for a Redis store --------------------------------------------
    def stored_id(self, session_id: str) -> str:
        """The name a session is kept under: the ID itself (nothing is hashed here)."""
        return session_id

    def delete_stored(self, stored_id: str) -> bool:
        """``delete`` by the ``session_id`` that ``list_sessions`` gives."""
        return self.delete(stored_id)

    def ping(self) -> None:
        """Nothing to reach: the sessions are in this process."""

    def list_sessions(self, user_id: UserId | None = None) -> list[dict[str, Any]]:
        """Live sessions (of ``user_id``), each with ``session_id`` and ``ttl`` (seconds)."""
        now = time.monotonic()
        with self._lock:
            return [{**s, "session_id": sid, "ttl": int(expiry - now)}
                    for sid, (expiry, _, s) in list(self._data.items())
                    if expiry > now and (user_id is None or _same_user(s, user_id))]

    def revoke_all_sessions(self, user_id: UserId) -> int:
        """End every session of ``user_id``; how many there were."""
        with self._lock:
            doomed = [sid for sid, (_, _, s) in self._data.items() if _same_user(s, user_id)]
            for sid in doomed:
                del self._data[sid]
        return len(doomed)


def _same_user(session: dict[str, Any], user_id: UserId) -> bool:
    """Same value and same type: user ``1`` is not user ``"1"`` (as in ``SessionAdmin``)."""
    found = session.get("user_id")
    return found == user_id and type(found) is type(user_id)
