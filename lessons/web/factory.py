"""``create_app``: the FastAPI app with cookie sessions in a store (the lesson's Exercise 2).

It wires the parts together: the cookie (``cookies``), passwords (``passwords``), the login
throttle (``throttle``), the body limit (``body_limit``), error answers (``errors``), and the
routes (``auth``: login/me/logout; ``user_sessions``: the caller's sessions; ``/health`` here).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..keys import KeySchema
from ..memory_store import MemoryStore
from .auth import add_auth_routes
from .body_limit import DEFAULT_MAX_BODY, BodyLimit
from .client_address import TrustedProxies
from .context import AppStore, WebContext, directory_for
from .cookies import SecretKeys, SessionCookie
from .errors import install_error_handlers
from .passwords import Accounts
from .throttle import FailureCounters, LoginThrottle, MemoryCounters, RedisCounters
from .user_sessions import add_session_routes

__all__ = ["create_app"]


def create_app(
    store: AppStore,
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
    trusted_proxies: str | Iterable[str] | None = None,
) -> FastAPI:
    """A FastAPI app with cookie sessions in ``store`` (a ``SessionStore``, with or without
    ``hash_ids``, or a ``MemoryStore``).

    ``users``: ``{username: password}`` or ``{username: {"password", "user_id", "role"}}``
    (``DEMO_USERS`` when None); only salted scrypt hashes are kept. ``secret_key``: sign the
    cookie (HMAC-SHA256; a list rotates keys: the first signs), so forged values are refused
    before any Redis command. ``server_name``: sent back in an ``X-Served-By`` header.
    ``max_failures_per_account`` / ``max_failures_per_client`` failed logins within
    ``failure_window`` seconds, then 429. ``password_threads``: how many scrypt checks run at
    once. ``max_body_bytes``: larger request bodies get 413. ``trusted_proxies``: the reverse
    proxies (IP addresses, CIDR networks) whose ``X-Forwarded-For`` names the client for the
    per-client limit (``client_address``); default: none, the TCP peer is the client.
    """
    if isinstance(password_threads, bool) or not isinstance(password_threads, int) or password_threads <= 0:
        raise ValueError(f"password_threads must be a positive int, not {password_threads!r}")
    ctx = WebContext(
        store=store,
        directory=directory_for(store),
        cookie=SessionCookie(cookie_name, store.default_ttl, secret_key),
        accounts=Accounts(users),
        throttle=LoginThrottle(
            *_counters(store),
            per_account=max_failures_per_account,
            per_client=max_failures_per_client,
            window=failure_window,
        ),
        password_checks=ThreadPoolExecutor(password_threads, thread_name_prefix="password-check"),
        proxies=TrustedProxies(trusted_proxies),
    )
    app = FastAPI(title="Redis sessions (lessons.web)")
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(CommonHeaders, server_name=server_name)
    add_auth_routes(app, ctx)
    add_session_routes(app, ctx)
    _add_health(app, ctx, server_name)
    return app


def _counters(store: AppStore) -> tuple[FailureCounters, KeySchema]:
    """Failed-login counters beside the sessions: in Redis under the store's prefix, or in
    this process for the in-memory store."""
    if isinstance(store, MemoryStore):
        return MemoryCounters(), KeySchema(store.prefix)
    return RedisCounters(store.r), store.keys


class CommonHeaders:
    """``Cache-Control: no-store`` (never cache a user's data) and ``X-Served-By`` on every
    answer. Plain ASGI, not ``BaseHTTPMiddleware``: when a client goes away in the middle of
    its request body no response is sent, and that is not an error (``BaseHTTPMiddleware``
    raised "No response returned." and uvicorn logged two tracebacks per aborted upload)."""

    def __init__(self, app: ASGIApp, server_name: str | None = None):
        self.app, self.server_name = app, server_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Cache-Control", "no-store")
                if self.server_name:
                    headers["X-Served-By"] = self.server_name
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _add_health(app: FastAPI, ctx: WebContext, server_name: str | None) -> None:
    @app.get("/health")
    def health() -> dict[str, Any]:
        """Readiness: one PING (none for the in-memory store)."""
        ctx.directory.ping()
        return {"status": "ok", "server": server_name}
