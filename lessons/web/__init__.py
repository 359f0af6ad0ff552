"""FastAPI sessions backed by Redis: the lesson's Exercise 2 (演習2), with its flaws fixed.

``create_app(store, users=None, *, cookie_name="session_id", secret_key=None, server_name=None)``
returns a FastAPI app; ``uvicorn lessons.web:app --no-proxy-headers`` runs one built from the
environment (``app_from_env``; one worker, or a shared Redis: see ``lessons.web.serve``; why
``--no-proxy-headers``: ``lessons.web.client_address``).

Endpoints (round trips in the modules named):

- ``POST /login``, ``GET /me``, ``POST /logout`` (``auth``): JSON ``{"username", "password"}``;
  401 and no cookie if wrong, 422 if malformed (locations and messages only, never the values),
  413 over 16 KiB, 429 with ``Retry-After`` after too many failures (``throttle``). Always a NEW
  session; the one the request arrived with is deleted (fixation defence).
- ``GET /sessions``, ``DELETE /sessions/{id}``, ``POST /logout-all`` (``user_sessions``): the
  caller's sessions, named by opaque handles (``session_handle``), never by a token.
- ``GET /health``: one PING (none for the in-memory store).

``/me`` and the session endpoints need a valid session, else 401; a missing, malformed or forged
cookie costs **no** Redis command. Redis unreachable -> 503 ``{"detail": "..."}``, no traceback.

Modules: ``factory`` (create_app), ``auth`` (login, me, logout), ``user_sessions`` (the caller's
sessions), ``cookies`` (attributes, itsdangerous signing), ``passwords`` (scrypt, accounts),
``throttle`` (failed-login counters), ``client_address`` (the client behind trusted proxies),
``body_limit`` (413), ``errors`` (error answers), ``context`` (what routes share), ``config``
(``app_from_env``), ``serve`` (``lessons.web:app``). The in-memory store the app also accepts is
``lessons.memory_store.MemoryStore``; a login-flood measurement is ``coursetools.loadtest``.
"""

from __future__ import annotations

import threading
import warnings
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from .config import app_from_env
from .cookies import HOST_COOKIE_NAME
from .errors import NOT_AUTHENTICATED, STORE_UNAVAILABLE, TOO_MANY_ATTEMPTS
from .factory import create_app
from .passwords import DEMO_USERS, hash_password, verify_password
from .user_sessions import session_handle

if TYPE_CHECKING:  # at run time, imported on first use (see __getattr__)
    from fastapi.testclient import TestClient

__all__ = [
    "DEMO_USERS",
    "HOST_COOKIE_NAME",
    "NOT_AUTHENTICATED",
    "STORE_UNAVAILABLE",
    "TOO_MANY_ATTEMPTS",
    "TestClient",
    "app_from_env",
    "create_app",
    "hash_password",
    "session_handle",
    "verify_password",
]

_app: FastAPI | None = None
_app_lock = threading.Lock()


def _test_client_class() -> type:
    """FastAPI's ``TestClient``, imported without Starlette's packaging notice.

    Some Starlette releases prefer the ``httpx2`` package for the test client and, when only
    ``httpx`` is installed, warn once at import (on stderr). The client works the same with
    either; the notice would only clutter notebook outputs. Every warning category is ignored,
    for this one import only (as ``lessons.security.clients`` does): what a release warns about
    here, and in which words, is about packaging, not about this course.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient as client_class
    return client_class


def __getattr__(name: str) -> Any:
    """``lessons.web.app`` is built on first access (so importing this package connects
    nothing); ``lessons.web.TestClient`` is FastAPI's, imported on first access."""
    global _app
    if name == "TestClient":
        return _test_client_class()
    if name == "app":
        with _app_lock:
            if _app is None:
                from .serve import served_app

                _app = served_app()
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
