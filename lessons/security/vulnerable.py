"""DELIBERATELY VULNERABLE apps, built only to be attacked in notebook 04. Never copy them.

- ``vulnerable_app``: session fixation (login keeps the ID the browser arrived with; optionally
  adopts IDs the server never issued).
- ``client_side_session_app`` + ``forge_client_side_cookie``: an unsigned session kept in the
  cookie, and the attacker's edit of it.

The course's real code is ``lessons.store.SessionStore`` and ``lessons.web.create_app``.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from pydantic import BaseModel

from ..backend import Client
from ..keys import KeySchema

__all__ = ["VULNERABLE_APP_USERS", "client_side_session_app", "forge_client_side_cookie", "vulnerable_app"]

#: The accounts of the vulnerable apps, ``{username: password}`` in plain text (these apps are
#: naive on purpose). Not ``lessons.web.DEMO_USERS``: the attacks need ``mallory``, the attacker's
#: own registered account, beside the victim ``alice`` (same password as in ``lessons.web``).
VULNERABLE_APP_USERS: dict[str, str] = {"alice": "wonderland", "mallory": "evil-but-registered"}

#: Longest cookie value the vulnerable apps look up (anything longer is ignored).
_MAX_ID = 256


class _Credentials(BaseModel):
    username: str
    password: str


def _check_password(users: Mapping[str, str], username: str, password: str) -> bool:
    expected = users.get(username)
    return expected is not None and hmac.compare_digest(expected.encode(), password.encode())


def vulnerable_app(
    client: Client,
    prefix: str,
    users: Mapping[str, str] | None = None,
    *,
    adopt_unknown_ids: bool = False,
    ttl: int = 300,
    cookie_name: str = "session_id",
) -> FastAPI:
    """A DELIBERATELY VULNERABLE app: login keeps the session ID the browser arrived with.

    - ``GET /visit``: an anonymous visitor gets a pre-login session (a shopping cart, say).
    - ``POST /login``: checks the password, then writes the user into **the session the cookie
      already names** instead of issuing a new ID (the bug: session fixation).
    - ``adopt_unknown_ids=True`` adds a second bug ("non-strict mode", PHP's old default): an ID
      the server never issued is adopted as is, so an attacker can simply make one up.
    - ``GET /me`` / ``POST /logout`` as in the lesson.

    Sessions are JSON at ``KeySchema(prefix).key_of(id)`` = ``{prefix}:{id}`` (the lesson's
    ``session:{id}``, with whatever ID the cookie holds). Redis commands: ``/visit`` EXISTS, then
    SET … EX ttl for a new visitor; ``/login`` EXISTS + SET … EX; ``/me`` GET; ``/logout`` DEL.
    The cookie has every attribute (HttpOnly, Secure, SameSite=Lax): they do not stop fixation.
    """
    users = VULNERABLE_APP_USERS if users is None else dict(users)
    keys = KeySchema(prefix)
    app = FastAPI(title="DELIBERATELY VULNERABLE: session fixation")

    def set_cookie(response: Response, session_id: str) -> None:
        response.set_cookie(
            cookie_name, session_id, max_age=ttl, path="/", secure=True, httponly=True, samesite="lax"
        )

    def known(session_id: str | None) -> bool:
        return (
            session_id is not None
            and 0 < len(session_id) <= _MAX_ID
            and client.exists(keys.key_of(session_id)) == 1
        )

    def adoptable(session_id: str | None) -> bool:
        return adopt_unknown_ids and session_id is not None and 0 < len(session_id) <= _MAX_ID

    @app.get("/visit")
    def visit(request: Request, response: Response) -> dict[str, Any]:
        session_id = request.cookies.get(cookie_name)
        if known(session_id):
            return {"message": "Welcome back", "new_session": False}
        if session_id is None or not adoptable(session_id):  # else BUG 2: we never issued it
            session_id = secrets.token_urlsafe(32)
        client.set(keys.key_of(session_id), json.dumps({"cart": []}), ex=ttl)
        set_cookie(response, session_id)
        return {"message": "Welcome", "new_session": True}

    @app.post("/login")
    def login(body: _Credentials, request: Request, response: Response) -> dict[str, Any]:
        if not _check_password(users, body.username, body.password):
            raise HTTPException(status_code=401, detail="Wrong username or password")
        session_id = request.cookies.get(cookie_name)
        if session_id is None or not (known(session_id) or adoptable(session_id)):
            session_id = secrets.token_urlsafe(32)
        # BUG 1: when the browser arrived with a session, it is upgraded in place: same ID.
        user = {"user_id": body.username, "username": body.username}
        client.set(keys.key_of(session_id), json.dumps(user), ex=ttl)
        set_cookie(response, session_id)
        return {"message": "Logged in", "user": user}

    @app.get("/me")
    def me(request: Request) -> dict[str, Any]:
        session_id = request.cookies.get(cookie_name)
        raw = client.get(keys.key_of(session_id)) if session_id and len(session_id) <= _MAX_ID else None
        session = json.loads(raw) if raw else None
        if not isinstance(session, dict) or "username" not in session:
            raise HTTPException(status_code=401, detail="Not authenticated")
        return {"user": session}

    @app.post("/logout")
    def logout(request: Request, response: Response) -> dict[str, Any]:
        session_id = request.cookies.get(cookie_name)
        if session_id and len(session_id) <= _MAX_ID:
            client.delete(keys.key_of(session_id))
        response.delete_cookie(cookie_name, path="/", secure=True, httponly=True, samesite="lax")
        return {"message": "Logged out"}

    return app


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def client_side_session_app(users: Mapping[str, str] | None = None, cookie_name: str = "session") -> FastAPI:
    """A DELIBERATELY VULNERABLE app that keeps the session *in the cookie*, unsigned.

    ``POST /login`` sets ``session=base64url(JSON {"username": …})``; ``GET /me`` believes
    whatever JSON the cookie holds. No Redis at all: nothing on the server to check against.
    """
    users = VULNERABLE_APP_USERS if users is None else dict(users)
    app = FastAPI(title="DELIBERATELY VULNERABLE: unsigned client-side session")

    @app.post("/login")
    def login(body: _Credentials, response: Response) -> dict[str, Any]:
        if not _check_password(users, body.username, body.password):
            raise HTTPException(status_code=401, detail="Wrong username or password")
        user = {"username": body.username}
        response.set_cookie(
            cookie_name, _b64(json.dumps(user).encode()), path="/", secure=True, httponly=True, samesite="lax"
        )
        return {"message": "Logged in", "user": user}

    @app.get("/me")
    def me(request: Request) -> dict[str, Any]:
        try:
            user = json.loads(_unb64(request.cookies.get(cookie_name, "")))
        except (ValueError, TypeError):
            user = None
        if not isinstance(user, dict) or not isinstance(user.get("username"), str):
            raise HTTPException(status_code=401, detail="Not authenticated")
        return {"user": user}  # BUG: trusts the client's own claim

    return app


def forge_client_side_cookie(value: str, **changes: Any) -> str:
    """What an attacker does to an unsigned client-side cookie: decode, edit, re-encode."""
    data = json.loads(_unb64(value))
    data.update(changes)
    return _b64(json.dumps(data).encode())
