"""A session as kept by a store that does its own expiry (the in-memory, file and SQLite stores):
the record ``(expires_at, session)``, how a new one is built and how an update merges into it.

No Redis here (``SessionStore`` lets Redis keep the TTL). The input checks are
``lessons.session_value``'s.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from .errors import SessionNotFound
from .keys import UserId

__all__ = ["Clock", "dumps", "idle_ttl", "merge_update", "new_session", "now_iso", "same_user"]

#: Seconds from some fixed point (``time.monotonic``); tests pass their own to move time forward.
Clock = Callable[[], float]


def now_iso() -> str:
    """The current UTC time, ISO 8601 (what ``created_at`` / ``last_accessed`` hold)."""
    return datetime.now(timezone.utc).isoformat()


def new_session(data: dict[str, Any], ttl: int) -> dict[str, Any]:
    """The stored form of a new session: ``idle_ttl`` first, then ``data``, then timestamps."""
    now = now_iso()
    return {"idle_ttl": ttl, **data, "created_at": now, "last_accessed": now}


def idle_ttl(session: dict[str, Any], default: int) -> int:
    """The session's own idle TTL in seconds (``default`` if it has none)."""
    own = session.get("idle_ttl")
    return own if isinstance(own, int) and not isinstance(own, bool) and own > 0 else default


def same_user(session: dict[str, Any], user_id: UserId) -> bool:
    """Same value and same type: user ``1`` is not user ``"1"`` (as in ``SessionAdmin``)."""
    found = session.get("user_id")
    return found == user_id and type(found) is type(user_id)


def dumps(data: dict[str, Any]) -> str:
    """JSON for a session; ``TypeError`` (not a half-written entry) if it is not serialisable."""
    try:
        return json.dumps(data, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"session data must be JSON-serialisable: {exc}") from None


def merge_update(
    record: tuple[float, dict[str, Any]] | None,
    data: dict[str, Any],
    refresh: bool,
    now: float,
    default_ttl: int,
) -> tuple[float, dict[str, Any]]:
    """The update every local store makes: ``record`` is (expires_at, session) or None.

    Returns the new (expires_at, session): ``data`` merged in, ``last_accessed`` now, the expiry
    slid to the session's own idle TTL if ``refresh`` else kept. ``SessionNotFound`` if the
    session is gone (an update never brings one back); ``ValueError`` if ``user_id`` would change.
    """
    if record is None:
        raise SessionNotFound("session not found (never created, deleted or expired)")
    expires_at, session = record
    if "user_id" in data and data["user_id"] != session.get("user_id"):
        raise ValueError("user_id cannot change; create a new session instead")
    updated = {**session, **data, "last_accessed": now_iso()}
    return (now + idle_ttl(updated, default_ttl) if refresh else expires_at), updated
