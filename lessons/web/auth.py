"""``POST /login``, ``GET /me``, ``POST /logout``: logging in and out with a session cookie.

Redis round trips (single Redis; counted in ``tests/test_web.py``):

- ``POST /login`` 2 when it succeeds: the throttle check (GET + PTTL of two counters, pipelined)
  and ``store.create``; +1 (DEL) if the account had failed logins; +2 (GETDEL, ZREM) to delete
  the session the request arrived with (fixation defence: always a NEW session). A wrong
  password: 2 (check, then INCR + PEXPIRE NX of both counters) and 401 without a cookie. Over the
  limit: 1 (the check) and 429 with ``Retry-After``, without a password check. Malformed: 422.
- ``GET /me`` 1: ``store.get(sid, refresh=True)`` slides the TTL; the cookie is re-sent.
- ``POST /logout`` 2 (GETDEL, ZREM; none without a cookie): always 200, clears the cookie.

The password check (scrypt, ~50-100 ms of CPU) runs in the app's own small thread pool, not in
the pool that runs every other request's blocking Redis calls, so a flood of logins cannot
starve ``/me``. The throttle check runs in that pool too, just before the scrypt run, so
concurrent guesses cannot slip past the limit in numbers (at most one per pool thread).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ..i18n import _
from .context import WebContext
from .errors import too_many_attempts
from .passwords import Account
from .throttle import Verdict

__all__ = ["LoginBody", "add_auth_routes"]

WRONG_CREDENTIALS = "Wrong username or password"


class LoginBody(BaseModel):
    """The /login body; anything else is a 422."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


@dataclass(frozen=True)
class Attempt:
    """The outcome of a login attempt: the account if the password was right."""

    account: Account | None
    verdict: Verdict


def attempt_login(ctx: WebContext, username: str, password: str, client: str) -> Attempt:
    """Throttle check, then (if allowed) the scrypt check, then count a failure. Blocking: runs
    in ``ctx.password_checks``."""
    verdict = ctx.throttle.check(username, client)
    if not verdict.allowed:
        return Attempt(None, verdict)
    account = ctx.accounts.verify(username, password)
    if account is None:
        ctx.throttle.failed(username, client)
    return Attempt(account, verdict)


def start_session(
    ctx: WebContext, request: Request, response: Response, account: Account, verdict: Verdict
) -> None:
    """After a correct password: forget the account's failures, delete the session the request
    came with, create a new one and set its cookie."""
    ctx.throttle.succeeded(account.username, verdict)
    old = ctx.cookie.session_id(request)
    if old is not None:
        ctx.store.delete(old)  # fixation defence: the pre-login ID dies, whoever planted it
    ctx.cookie.set(response, ctx.store.create(account.public()))  # always a fresh ID


def public_user(session: dict[str, Any]) -> dict[str, Any]:
    return {k: session[k] for k in ("user_id", "username", "role") if k in session}


def add_auth_routes(app: FastAPI, ctx: WebContext) -> None:
    @app.post("/login")
    async def login(body: LoginBody, request: Request, response: Response) -> dict[str, Any]:
        client = ctx.client_address(request)  # the peer, unless it is a trusted proxy
        attempt = await asyncio.get_running_loop().run_in_executor(
            ctx.password_checks, attempt_login, ctx, body.username, body.password, client
        )
        if attempt.verdict.retry_after is not None:
            raise HTTPException(
                status_code=429,
                detail=too_many_attempts(),
                headers={"Retry-After": str(attempt.verdict.retry_after)},
            )
        if attempt.account is None:
            raise HTTPException(status_code=401, detail=_("Wrong username or password"))
        await run_in_threadpool(start_session, ctx, request, response, attempt.account, attempt.verdict)
        return {"message": _("Logged in"), "user": attempt.account.public()}

    # plain ``def``: FastAPI runs these in its thread pool (the Redis calls block)
    @app.get("/me")
    def me(request: Request, response: Response) -> dict[str, Any]:
        session_id, session = ctx.current(request)
        ctx.cookie.set(response, session_id)  # the browser's Max-Age slides with the Redis TTL
        return {"user": public_user(session)}

    @app.post("/logout")
    def logout(request: Request, response: Response) -> dict[str, Any]:
        session_id = ctx.cookie.session_id(request)
        if session_id is not None:
            ctx.store.delete(session_id)
        ctx.cookie.clear(response)
        return {"message": _("Logged out")}
