"""What the four session stores share: their interface, the lesson's table, and the input checks.

Every store answers the calls of ``lessons.store.SessionStore``, with its meanings:

    sid = store.create({"user_id": 1, "username": "alice"}, ttl=None)  # 43-char token
    store.get(sid, refresh=False) -> dict | None      # None: missing, expired, malformed ID
    store.update(sid, {"role": "admin"}, refresh=True) -> dict   # raises SessionNotFound
    store.delete(sid) -> bool
    store.refresh(sid) -> bool                        # slide the TTL back to the session's own
    store.ttl(sid) -> float | None                    # seconds left; None if missing or expired
    store.cleanup() -> int                            # the cleanup job: expired entries removed
    store.stored_count() -> int                       # entries physically stored, expired included
    store.spec                                        # how another process opens the same store
    store.close()

A session keeps its own idle TTL: ``create(data, ttl=10)`` stores ``"idle_ttl": 10`` as the
first field of the session (as ``SessionStore`` does), and every sliding call (``refresh``,
``get(refresh=True)``, ``update(refresh=True)``) slides it back to those 10 s, not to
``default_ttl``. No Redis command runs in this module.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Protocol

from ..errors import SessionNotFound
from ..keys import UserId, check_user_id
from ..session_value import META_FIELDS

__all__ = [
    "KINDS",
    "LESSON_TABLE",
    "Clock",
    "Store",
    "check_data",
    "check_ttl",
    "check_update",
    "dumps",
    "idle_ttl",
    "merge_update",
    "new_session",
    "now_iso",
    "same_user",
]

Clock = Callable[[], float]

#: The four kinds, in the lesson's order.
KINDS = ("memory", "file", "sqlite", "redis")

#: The lesson's table, row by row: (kind, 方式, メリット, デメリット).
LESSON_TABLE = (
    ("memory", "メモリ", "高速 (fast)", "スケールしない (does not scale)"),
    ("file", "ファイル", "シンプル (simple)", "共有できない (cannot be shared)"),
    ("sqlite", "DB", "永続化 (durable)", "遅い (slow)"),
    ("redis", "Redis", "高速+共有 (fast + shared)", "運用コスト (operating cost)"),
)


class Store(Protocol):
    """What the four stores have in common (see the module docstring)."""

    kind: str
    default_ttl: int

    def create(self, data: dict[str, Any], ttl: int | None = None) -> str: ...
    def get(self, session_id: str, refresh: bool = False) -> dict[str, Any] | None: ...
    def update(self, session_id: str, data: dict[str, Any], refresh: bool = True) -> dict[str, Any]: ...
    def delete(self, session_id: str) -> bool: ...
    def refresh(self, session_id: str) -> bool: ...
    def ttl(self, session_id: str) -> float | None: ...
    def cleanup(self) -> int: ...
    def stored_count(self) -> int: ...
    def close(self) -> None: ...
    @property
    def spec(self) -> str: ...


def now_iso() -> str:
    """The current UTC time, ISO 8601 (what ``created_at`` / ``last_accessed`` hold)."""
    return datetime.now(timezone.utc).isoformat()


def check_ttl(name: str, value: object) -> int:
    """``value`` if it is a whole number of seconds > 0; else ``TypeError``/``ValueError``.

    ``0`` is refused, not read as "use the default" (a flaw of the lesson's ``ttl or default``):
    a session that expires at once, or never, is a bug.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number of seconds, not {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0 seconds (got {value}); a session needs a lifetime")
    return value


def check_data(data: object) -> dict[str, Any]:
    """``data`` if it can become a new session: a dict without the store's own fields, whose
    ``user_id`` (if any) is an int or a str (what ``SessionStore`` accepts)."""
    if not isinstance(data, dict):
        raise TypeError(f"session data must be a dict, not {type(data).__name__}")
    for name in META_FIELDS:
        if name in data:
            raise ValueError(f"{name!r} is managed by the store and cannot be set")
    if data.get("user_id") is not None:
        check_user_id(data["user_id"])
    return data


def check_update(data: object) -> dict[str, Any]:
    """``data`` if it can be merged into a session (a dict without the store's own fields)."""
    if not isinstance(data, dict):
        raise TypeError(f"session data must be a dict, not {type(data).__name__}")
    for name in META_FIELDS:
        if name in data:
            raise ValueError(f"{name!r} is managed by the store and cannot be updated")
    return data


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


def merge_update(record: tuple[float, dict[str, Any]] | None, data: dict[str, Any], refresh: bool,
                 now: float, default_ttl: int) -> tuple[float, dict[str, Any]]:
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
