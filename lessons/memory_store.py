"""``MemoryStore``: sessions in a dict inside this process (the lesson's メモリ row).

Fast (nothing is serialised, no network) and not shared: a second process, or a second server
behind a load balancer, opens its own empty dict. It is both the ``memory`` column of notebook 00's
comparison and the in-process store of the web app (``LESSONS_SESSION_STORE=memory``), so it also
offers what the app's "your sessions" routes ask of ``SessionAdmin``: ``list_sessions``,
``revoke_all_sessions``, ``stored_id``, ``delete_stored``, ``ping``. No Redis command runs here.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

from .errors import SessionNotFound
from .keys import UserId, check_prefix, check_user_id, is_valid_session_id
from .session_records import Clock, idle_ttl, merge_update, new_session, same_user
from .session_value import check_new_data, check_ttl, check_update

__all__ = ["MemoryStore"]


class MemoryStore:
    """Sessions in a dict of this process: ``{session_id: (expires_at, session)}``.

    ``get`` returns a shallow copy; a lock makes each call atomic between threads of this
    process. Expired entries stay until ``get`` touches them or ``cleanup()`` runs. ``clock``
    (seconds, default ``time.monotonic``) lets tests move time forward without sleeping.
    ``prefix`` names nothing in Redis: it is where the web app files this store's failed-login
    counters, as it does beside a ``SessionStore``.
    """

    kind = "memory"

    def __init__(self, default_ttl: int = 3600, *, prefix: str = "memory", clock: Clock = time.monotonic):
        self.default_ttl = check_ttl("default_ttl", default_ttl)
        self.prefix = check_prefix(prefix)
        self.clock = clock
        self._data: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    @property
    def spec(self) -> str:
        """``memory:``: another process can only open a new, empty dict."""
        return "memory:"

    def _live(self, session_id: str, now: float) -> tuple[float, dict[str, Any]] | None:
        """The live entry, deleting it if it has expired (the caller holds the lock)."""
        entry = self._data.get(session_id)
        if entry is None:
            return None
        if entry[0] <= now:
            del self._data[session_id]
            return None
        return entry

    def create(self, data: dict[str, Any], ttl: int | None = None) -> str:
        """Store a copy of ``data`` (plus ``idle_ttl`` and timestamps); return a new 43-char ID.
        ``ttl`` must be > 0 seconds (``None``: ``default_ttl``)."""
        check_new_data(data)
        ttl = self.default_ttl if ttl is None else check_ttl("ttl", ttl)
        session = new_session(data, ttl)
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self._data[session_id] = (self.clock() + ttl, session)
        return session_id

    def get(self, session_id: str, refresh: bool = False) -> dict[str, Any] | None:
        """A copy of the session, or None; ``refresh=True`` slides it to its own idle TTL."""
        if not is_valid_session_id(session_id):
            return None
        with self._lock:
            now = self.clock()
            entry = self._live(session_id, now)
            if entry is None:
                return None
            session = entry[1]
            if refresh:
                self._data[session_id] = (now + idle_ttl(session, self.default_ttl), session)
            return dict(session)

    def update(self, session_id: str, data: dict[str, Any], refresh: bool = True) -> dict[str, Any]:
        """Merge ``data`` into the session and return it; ``SessionNotFound`` if it is gone."""
        check_update(data)
        if not is_valid_session_id(session_id):
            raise SessionNotFound("malformed session ID")
        with self._lock:
            now = self.clock()
            expires_at, updated = merge_update(
                self._live(session_id, now), data, refresh, now, self.default_ttl
            )
            self._data[session_id] = (expires_at, updated)
            return dict(updated)

    def delete(self, session_id: str) -> bool:
        """Remove the session; True if it was stored."""
        with self._lock:
            return self._data.pop(session_id, None) is not None

    def refresh(self, session_id: str) -> bool:
        """Slide the session back to its own idle TTL; True if it is live."""
        return self.get(session_id, refresh=True) is not None

    def ttl(self, session_id: str) -> float | None:
        """Seconds left, or None if missing or expired."""
        with self._lock:
            entry = self._data.get(session_id)
            left = None if entry is None else entry[0] - self.clock()
            return left if left is not None and left > 0 else None

    def cleanup(self) -> int:
        """Remove every expired entry (one pass over the dict); return how many."""
        with self._lock:
            now = self.clock()
            dead = [sid for sid, (expires_at, _) in self._data.items() if expires_at <= now]
            for sid in dead:
                del self._data[sid]
            return len(dead)

    def stored_count(self) -> int:
        """Entries in the dict, expired ones included."""
        return len(self._data)

    def close(self) -> None:
        """Forget every session."""
        with self._lock:
            self._data.clear()

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
        """Live sessions (of ``user_id``; ``1`` is not ``"1"``), oldest first, each a copy of its
        data plus ``session_id`` and ``ttl`` (whole seconds left, rounded as Redis's TTL)."""
        if user_id is not None:
            check_user_id(user_id)
        with self._lock:
            now = self.clock()
            return [
                {**session, "session_id": sid, "ttl": round(expires_at - now)}
                for sid, (expires_at, session) in self._data.items()
                if expires_at > now and (user_id is None or same_user(session, user_id))
            ]

    def revoke_all_sessions(self, user_id: UserId) -> int:
        """End every live session of ``user_id``; returns how many were ended."""
        check_user_id(user_id)
        with self._lock:
            now = self.clock()
            doomed = [
                sid
                for sid, (expires_at, session) in self._data.items()
                if expires_at > now and same_user(session, user_id)
            ]
            for sid in doomed:
                del self._data[sid]
        return len(doomed)
