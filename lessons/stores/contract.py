"""What the four session stores share: their interface and the lesson's table (the input checks
are ``lessons.session_value``'s, the record helpers of the local stores ``lessons.session_records``).

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

from typing import Any, Protocol

__all__ = ["KINDS", "LESSON_TABLE", "ComparedStore"]

#: The four kinds, in the lesson's order.
KINDS = ("memory", "file", "sqlite", "redis")

#: The lesson's table, row by row: (kind, 方式, メリット, デメリット).
LESSON_TABLE = (
    ("memory", "メモリ", "高速 (fast)", "スケールしない (does not scale)"),
    ("file", "ファイル", "シンプル (simple)", "共有できない (cannot be shared)"),
    ("sqlite", "DB", "永続化 (durable)", "遅い (slow)"),
    ("redis", "Redis", "高速+共有 (fast + shared)", "運用コスト (operating cost)"),
)


class ComparedStore(Protocol):
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
