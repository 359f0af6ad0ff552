"""The caller's own sessions (OWASP ASVS V3/V7): ``GET /sessions``, ``DELETE /sessions/{id}``,
``POST /logout-all``.

A session is named by an opaque handle, ``session_handle(stored_id)``: derived from the name the
session is stored under (the token, or its SHA-256 for ``SessionStore(hash_ids=True)``), so it
works for every store and never reveals a token. Round trips (single Redis):

- ``GET /sessions`` 1 + at most 3: the caller's session, then ZRANGE, pipelined GET/TTL, and ZREM
  of expired index entries. Items: ``id``, ``current``, ``created_at``, ``last_accessed``,
  ``expires_in``.
- ``DELETE /sessions/{id}`` 1 + at most 3 + 2 (GETDEL, ZREM): ends one of the caller's sessions
  (its cookie stops working at once); a handle that is not one of the caller's -> 404. Ending
  the current session clears the cookie.
- ``POST /logout-all`` 1 + 3: ends every session of the caller (``SessionAdmin``).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response

from ..i18n import _
from .context import WebContext

__all__ = ["add_session_routes", "last_seen", "session_handle"]


def session_handle(stored_id: str) -> str:
    """A 16-hex-character handle for the session stored under ``stored_id``, by SHA-256.

    ``stored_id`` is what ``SessionAdmin.list_sessions`` calls ``session_id``: the token for a
    plain store, ``store.keys.stored_id(token)`` in general. Nobody can work back from the handle
    to a token (256 random bits). No per-process secret: every server computes the same handle.
    """
    return hashlib.sha256(b"lessons.web.handle\x00" + stored_id.encode()).hexdigest()[:16]


def last_seen(session: dict[str, Any], default_idle_ttl: int, now: datetime) -> str | None:
    """When the session was last used, to the second.

    ``/me`` slides the TTL back to the idle timeout without rewriting the value (one round trip),
    so the stored ``last_accessed`` is only updated by writes. The TTL tells the rest:
    last use = now - (idle TTL - remaining TTL). With an absolute timeout capping the TTL this
    underestimates, so the later of the two is reported. The idle TTL is the session's own
    (``idle_ttl``, written by ``SessionStore``), else ``default_idle_ttl``.
    """
    stored = session.get("last_accessed")
    ttl, idle = session.get("ttl"), session.get("idle_ttl", default_idle_ttl)
    if not isinstance(ttl, int) or ttl < 0 or not isinstance(idle, int):
        return stored if isinstance(stored, str) else None
    implied = (now - timedelta(seconds=idle - ttl)).replace(microsecond=0)
    try:
        if isinstance(stored, str) and datetime.fromisoformat(stored) >= implied:
            return stored
    except ValueError:
        pass
    return implied.isoformat()


def _item(session: dict[str, Any], current_stored: str, idle_ttl: int, now: datetime) -> dict[str, Any]:
    return {
        "id": session_handle(session["session_id"]),
        "current": session["session_id"] == current_stored,
        "created_at": session.get("created_at"),
        "last_accessed": last_seen(session, idle_ttl, now),
        "expires_in": session.get("ttl"),
    }


def add_session_routes(app: FastAPI, ctx: WebContext) -> None:
    directory = ctx.directory

    @app.get("/sessions")
    def list_my_sessions(request: Request) -> dict[str, Any]:
        session_id, session = ctx.current(request)
        mine = directory.stored_id(session_id)
        now = datetime.now(timezone.utc)
        items = [
            _item(s, mine, ctx.store.default_ttl, now) for s in directory.list_sessions(session["user_id"])
        ]
        items.sort(key=lambda item: (str(item["created_at"]), item["id"]))
        return {"sessions": items}

    @app.delete("/sessions/{handle}")
    def end_session(handle: str, request: Request, response: Response) -> dict[str, Any]:
        session_id, session = ctx.current(request)
        mine = directory.stored_id(session_id)
        for s in directory.list_sessions(session["user_id"]):
            if session_handle(s["session_id"]) == handle:
                directory.delete_stored(s["session_id"])
                is_current = s["session_id"] == mine
                if is_current:
                    ctx.cookie.clear(response)
                return {"message": _("Session ended"), "id": handle, "current": is_current}
        raise HTTPException(status_code=404, detail=_("No such session"))

    @app.post("/logout-all")
    def logout_all(request: Request, response: Response) -> dict[str, Any]:
        _session_id, session = ctx.current(request)
        ended = directory.revoke_all_sessions(session["user_id"])
        ctx.cookie.clear(response)
        return {"message": _("Logged out everywhere"), "ended": ended}
