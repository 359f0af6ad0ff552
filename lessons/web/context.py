"""What the routes of one app share: the store, its directory, the cookie, the login machinery.

``SessionDirectory`` is what the "your sessions" routes need besides the store: list, end and
revoke a user's sessions by their STORED ID (the token, or its SHA-256 for a
``SessionStore(hash_ids=True)``). ``RedisDirectory`` provides it with ``SessionAdmin.for_store``
and ``SessionStore.delete_stored``; ``MemoryStore`` provides it itself.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from fastapi import HTTPException, Request

from ..admin import SessionAdmin
from ..keys import UserId
from ..memory_store import MemoryStore
from ..store import SessionStore
from .client_address import TrustedProxies
from .cookies import SessionCookie
from .errors import not_authenticated
from .passwords import Accounts
from .throttle import LoginThrottle

__all__ = ["AppStore", "RedisDirectory", "SessionDirectory", "WebContext", "directory_for"]

#: The stores ``create_app`` accepts.
AppStore = SessionStore | MemoryStore


class SessionDirectory(Protocol):
    """Find and end sessions by stored ID (what ``GET``/``DELETE /sessions`` work with)."""

    def stored_id(self, session_id: str) -> str: ...

    def list_sessions(self, user_id: UserId | None = None) -> list[dict[str, Any]]: ...

    def delete_stored(self, stored_id: str) -> bool: ...

    def revoke_all_sessions(self, user_id: UserId) -> int: ...

    def ping(self) -> None: ...


class RedisDirectory:
    """The directory of a ``SessionStore``: ``SessionAdmin.for_store`` plus ``delete_stored``.

    ``list_sessions(user)``: at most 3 round trips (ZRANGE, pipelined GET/TTL, ZREM of expired
    entries); ``delete_stored``: 2 (GETDEL, ZREM); ``revoke_all_sessions``: 3; ``ping``: 1.
    """

    def __init__(self, store: SessionStore):
        self.store = store
        # a store that knows its own admin (``ReplicatedStore``: revokes that WAIT) supplies it
        make_admin = getattr(store, "admin", None)
        self.admin: SessionAdmin = make_admin() if callable(make_admin) else SessionAdmin.for_store(store)

    def stored_id(self, session_id: str) -> str:
        return self.store.keys.stored_id(session_id)

    def list_sessions(self, user_id: UserId | None = None) -> list[dict[str, Any]]:
        return self.admin.list_sessions(user_id)

    def delete_stored(self, stored_id: str) -> bool:
        return self.store.delete_stored(stored_id)

    def revoke_all_sessions(self, user_id: UserId) -> int:
        return self.admin.revoke_all_sessions(user_id)

    def ping(self) -> None:
        self.store.r.ping()


def directory_for(store: AppStore) -> SessionDirectory:
    """The store's directory (the in-memory store is its own)."""
    return store if isinstance(store, MemoryStore) else RedisDirectory(store)


@dataclass(frozen=True)
class WebContext:
    """Everything one app's routes use; built by ``create_app``."""

    store: AppStore
    directory: SessionDirectory
    cookie: SessionCookie
    accounts: Accounts
    throttle: LoginThrottle
    password_checks: ThreadPoolExecutor  # scrypt runs here, not in the request thread pool
    proxies: TrustedProxies = field(default_factory=TrustedProxies)  # default: trust nobody

    def client_address(self, request: Request) -> str:
        """Who sent ``request``, for the per-client login limit: the peer, or behind a trusted
        proxy the right-most ``X-Forwarded-For`` address that is no trusted proxy (no Redis)."""
        peer = request.client.host if request.client is not None else None
        return self.proxies.client(peer, request.headers.getlist("x-forwarded-for"))

    def current(self, request: Request) -> tuple[str, dict[str, Any]]:
        """(session ID, session) of the caller's valid session, sliding its TTL: one round trip
        (none for a missing, malformed or forged cookie). Else 401."""
        session_id = self.cookie.session_id(request)
        if session_id is None:
            raise HTTPException(status_code=401, detail=not_authenticated())
        session = self.store.get(session_id, refresh=True)
        if session is None or "user_id" not in session:
            raise HTTPException(status_code=401, detail=not_authenticated())
        return session_id, session
