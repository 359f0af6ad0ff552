"""``create_app``: the FastAPI app with cookie sessions in a store (the lesson's Exercise 2).

It wires the parts together: the cookie (``cookies``), passwords (``passwords``), the login
throttle (``throttle``), the body limit (``body_limit``), error answers (``errors``), and the
routes (``auth``: login/me/logout; ``user_sessions``: the caller's sessions; ``/health`` here).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import FastAPI, Request, Response

from ..keys import KeySchema
from ..stores.memory import MemoryStore as InMemorySessionStore
from .auth import add_auth_routes
from .body_limit import DEFAULT_MAX_BODY, BodyLimit
from .context import Store, WebContext, directory_for
from .cookies import SecretKeys, SessionCookie
from .errors import install_error_handlers
from .passwords import Accounts
from .throttle import FailureCounters, LoginThrottle, MemoryCounters, RedisCounters
from .user_sessions import add_session_routes

__all__ = ["create_app"]

Middleware = Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]


def create_app(
    store: Store,
    users: Mapping[str, Any] | None = None,
    *,
    cookie_name: str = "session_id",
    secret_key: SecretKeys | None = None,
    server_name: str | None = None,
    max_failures_per_account: int = 5,
    max_failures_per_client: int = 20,
    failure_window: int = 900,
    password_threads: int = 2,
    max_body_bytes: int = DEFAULT_MAX_BODY,
) -> FastAPI:
    """A FastAPI app with cookie sessions in ``store`` (a ``SessionStore``, with or without
    ``hash_ids``, or an ``InMemorySessionStore``).

    ``users``: ``{username: password}`` or ``{username: {"password", "user_id", "role"}}``
    (``DEMO_USERS`` when None); only salted scrypt hashes are kept. ``secret_key``: sign the
    cookie (HMAC-SHA256; a list rotates keys: the first signs), so forged values are refused
    before any Redis command. ``server_name``: sent back in an ``X-Served-By`` header.
    ``max_failures_per_account`` / ``max_failures_per_client`` failed logins within
    ``failure_window`` seconds, then 429. ``password_threads``: how many scrypt checks run at
    once. ``max_body_bytes``: larger request bodies get 413.
    """
    if isinstance(password_threads, bool) or not isinstance(password_threads, int) \
            or password_threads <= 0:
        raise ValueError(f"password_threads must be a positive int, not {password_threads!r}")
    ctx = WebContext(
        store=store,
        directory=directory_for(store),
        cookie=SessionCookie(cookie_name, store.default_ttl, secret_key),
        accounts=Accounts(users),
        throttle=LoginThrottle(*_counters(store), per_account=max_failures_per_account,
                               per_client=max_failures_per_client, window=failure_window),
        password_checks=ThreadPoolExecutor(password_threads, thread_name_prefix="password-check"),
    )
    app = FastAPI(title="Redis sessions (lessons.web)")
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.middleware("http")(_common_headers(server_name))
    add_auth_routes(app, ctx)
    add_session_routes(app, ctx)
    _add_health(app, ctx, server_name)
    return app


def _counters(store: Store) -> tuple[FailureCounters, KeySchema]:
    """Failed-login counters beside the sessions: in Redis under the store's prefix, or in
    this process for the in-memory store."""
    if isinstance(store, InMemorySessionStore):
        return MemoryCounters(), KeySchema(store.prefix)
    return RedisCounters(store.r), store.keys


def _common_headers(server_name: str | None) -> Middleware:
    async def common_headers(request: Request,
                             call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Cache-Control", "no-store")  # never cache a user's data
        if server_name:
            response.headers["X-Served-By"] = server_name
        return response

    return common_headers


def _add_health(app: FastAPI, ctx: WebContext, server_name: str | None) -> None:
    @app.get("/health")
    def health() -> dict[str, Any]:
        """Readiness: one PING (none for the in-memory store)."""
        ctx.directory.ping()
        return {"status": "ok", "server": server_name}
