"""The app's error answers: short JSON ``{"detail": …}``, never a traceback, never the request.

- 401 ``NOT_AUTHENTICATED``: no valid session (raised by the routes).
- 413: a body over the limit (``lessons.web.body_limit``).
- 422: a malformed body, as field locations and messages only. FastAPI's default answer echoes
  each wrong field's ``input`` (the submitted password, or a 10 MB body) back to the client.
- 429 ``TOO_MANY_ATTEMPTS`` with ``Retry-After``: login throttled (``lessons.web.throttle``).
- 503 ``STORE_UNAVAILABLE`` with ``Retry-After: 1``: Redis is unreachable.
- 503 ``NOT_CONFIRMED`` with ``Retry-After: 1``: a ``ReplicatedStore`` wrote a login or a logout
  on the master, but no replica confirmed it in time, so a failover could undo it.

Languages: the human-readable texts (``detail``, and the routes' ``message``) follow the course's
language at the time of the request (``lessons.i18n``: ``set_language``, which the Japanese
notebooks call, or ``$COURSE_LANG``); in English they are the constants below, byte for byte.
Status codes, headers, JSON keys and 422's field types never change with the language.
"""

from __future__ import annotations

from typing import Any

import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ..i18n import _
from ..replicated import NotReplicated

__all__ = [
    "NOT_AUTHENTICATED",
    "NOT_CONFIRMED",
    "STORE_UNAVAILABLE",
    "TOO_MANY_ATTEMPTS",
    "install_error_handlers",
    "not_authenticated",
    "too_many_attempts",
    "validation_details",
]

NOT_AUTHENTICATED = "Not authenticated"
STORE_UNAVAILABLE = "Session store unavailable; try again shortly"
TOO_MANY_ATTEMPTS = "Too many failed logins; try again later"
NOT_CONFIRMED = "No replica confirmed this change in time, so it may not stick; try again"
NO_STORE = {"Cache-Control": "no-store"}


def not_authenticated() -> str:
    """``NOT_AUTHENTICATED`` in the current language."""
    return _("Not authenticated")


def too_many_attempts() -> str:
    """``TOO_MANY_ATTEMPTS`` in the current language."""
    return _("Too many failed logins; try again later")


def validation_details(errors: Any) -> list[dict[str, Any]]:
    """Each error's location, message and type: no ``input``, no ``ctx`` (they echo values)."""
    details = []
    for error in errors:
        details.append(
            {
                "loc": [part if isinstance(part, (int, str)) else str(part) for part in error.get("loc", ())],
                "msg": str(error.get("msg", "invalid")),
                "type": str(error.get("type", "value_error")),
            }
        )
    return details


async def _validation_failed(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": validation_details(exc.errors())}, status_code=422, headers=NO_STORE)


async def _store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": _("Session store unavailable; try again shortly")},
        status_code=503,
        headers={"Retry-After": "1", **NO_STORE},
    )


async def _not_confirmed(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": _("No replica confirmed this change in time, so it may not stick; try again")},
        status_code=503,
        headers={"Retry-After": "1", **NO_STORE},
    )


def install_error_handlers(app: FastAPI) -> None:
    """422 without the request's values; an unconfirmed replicated write or a Redis error -> 503."""
    app.add_exception_handler(RequestValidationError, _validation_failed)
    app.add_exception_handler(NotReplicated, _not_confirmed)  # before RedisError: its subclass
    app.add_exception_handler(redis.RedisError, _store_unavailable)
