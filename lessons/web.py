"""FastAPI sessions backed by Redis: the lesson's Exercise 2 (演習2), with its flaws fixed.

``create_app(store, users=None, *, cookie_name="session_id", secret_key=None)`` returns a FastAPI
app; ``uvicorn lessons.web:app`` runs one built from the environment (see ``app_from_env``).

Endpoints, and the Redis round trips each costs (counted in ``tests/test_web.py``):

- ``POST /login`` (1 round trip; 2 with an old cookie): JSON ``{"username", "password"}``; 401
  and no cookie if wrong, 422 if malformed. Always a NEW session; the session the request
  arrived with is deleted (fixation defence).
- ``GET /me`` (1): the user; slides the TTL (``store.get(sid, refresh=True)``).
- ``POST /logout`` (1; 0 without a cookie): deletes the session, clears the cookie (Max-Age=0).
- ``GET /sessions`` (1 + at most 3): the caller's live sessions: an opaque ``id`` handle (never
  the token), ``current``, ``created_at``, ``last_accessed``, ``expires_in``.
- ``DELETE /sessions/{id}`` (1 + at most 3 + 1): ends one of the caller's sessions; a handle
  that is not one of the caller's -> 404.
- ``POST /logout-all`` (1 + 3): ends every session of the caller.
- ``GET /health`` (1: PING; none for the in-memory store): readiness.

``/me``, ``/sessions``, ``DELETE /sessions/{id}`` and ``/logout-all`` need a valid session, else
401 (``/logout`` always answers 200). A missing, malformed, tampered (with ``secret_key``),
unknown or expired cookie gets 401; a malformed or tampered one costs **no** Redis command.
Redis unreachable -> 503 ``{"detail": "..."}``, no traceback.

The cookie: ``HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=<store.default_ttl>``, re-sent by
``/me`` so the browser's copy slides with the server's TTL. ``Secure`` means an ``http://`` client
never sends it back (the classic ``TestClient`` pitfall: use ``base_url="https://testserver"``).
A ``cookie_name`` starting with ``__Host-`` works as is (Secure, Path=/, no Domain).

With ``secret_key`` the cookie is ``<session id>.<HMAC-SHA256 signature>``; a list of keys allows
rotation (the first signs, any verifies).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import signal
import threading
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Sequence

import redis
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from .store import SessionStore, is_valid_session_id

__all__ = [
    "create_app",
    "app_from_env",
    "InMemorySessionStore",
    "DEMO_USERS",
    "hash_password",
    "verify_password",
    "session_handle",
    "CookieSigner",
    "HOST_COOKIE_NAME",
    "TestClient",
    "check_get_session",
]

#: The demo accounts used when ``users`` is None (the lesson's alice has user id 1).
DEMO_USERS: dict[str, dict[str, Any]] = {
    "alice": {"password": "wonderland", "user_id": 1, "role": "admin"},
    "bob": {"password": "builder", "user_id": 2, "role": "user"},
}

#: A cookie name with the ``__Host-`` prefix: browsers accept it only with Secure, Path=/ and
#: no Domain, so a sibling subdomain or an http page cannot plant or overwrite it.
HOST_COOKIE_NAME = "__Host-session_id"

#: scrypt cost: n=2**14, r=8, p=1 uses 16 MiB and ~50-100 ms per check here.
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN = 2**14, 8, 1, 32

NOT_AUTHENTICATED = "Not authenticated"
STORE_UNAVAILABLE = "Session store unavailable; try again shortly"


# -- passwords --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PasswordHash:
    """A salted scrypt hash; the password itself is never kept."""

    salt: bytes
    digest: bytes


def hash_password(password: str, salt: bytes | None = None) -> PasswordHash:
    """scrypt(password, random 16-byte salt). No Redis."""
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R,
                            p=SCRYPT_P, dklen=SCRYPT_DKLEN)
    return PasswordHash(salt, digest)


def verify_password(password: str, stored: PasswordHash) -> bool:
    """Recompute the hash and compare in constant time (``hmac.compare_digest``)."""
    return hmac.compare_digest(hash_password(password, stored.salt).digest, stored.digest)


@dataclass(frozen=True)
class _Account:
    username: str
    user_id: int | str
    role: str | None
    password: PasswordHash

    def public(self) -> dict[str, Any]:
        user: dict[str, Any] = {"user_id": self.user_id, "username": self.username}
        if self.role is not None:
            user["role"] = self.role
        return user


def _accounts(users: Mapping[str, Any] | None) -> dict[str, _Account]:
    """``{username: password}`` or ``{username: {"password", "user_id"?, "role"?}}`` -> hashed.

    A plain password string means ``user_id`` = the username.
    """
    accounts = {}
    for username, spec in (DEMO_USERS if users is None else users).items():
        if isinstance(spec, str):
            spec = {"password": spec}
        if not isinstance(spec, Mapping) or not isinstance(spec.get("password"), str):
            raise TypeError(f"user {username!r}: give a password string or a dict with 'password'")
        user_id = spec.get("user_id", username)
        if isinstance(user_id, bool) or not isinstance(user_id, (int, str)):
            raise TypeError(f"user {username!r}: user_id must be an int or a str")
        accounts[username] = _Account(username, user_id, spec.get("role"),
                                      hash_password(spec["password"]))
    return accounts


# -- signed cookies -----------------------------------------------------------------------------
def _as_bytes(key: str | bytes) -> bytes:
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, bytes) or not key:
        raise TypeError("a secret key must be a non-empty str or bytes")
    return key


class CookieSigner:
    """``<id>.<base64url HMAC-SHA256(key, id)>``; the first key signs, every key verifies."""

    SEPARATOR = "."

    def __init__(self, keys: str | bytes | Sequence[str | bytes]):
        if isinstance(keys, (str, bytes)):
            keys = [keys]
        self.keys = [_as_bytes(k) for k in keys]
        if not self.keys:
            raise ValueError("secret_key: give at least one key")

    @staticmethod
    def _mac(key: bytes, value: str) -> str:
        digest = hmac.new(key, b"lessons.web.cookie\x00" + value.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(self, session_id: str) -> str:
        return f"{session_id}{self.SEPARATOR}{self._mac(self.keys[0], session_id)}"

    def unsign(self, value: str) -> str | None:
        """The session ID if the signature verifies under any key, else None. No Redis."""
        session_id, sep, signature = value.rpartition(self.SEPARATOR)
        if not sep or not is_valid_session_id(session_id):
            return None
        good = False
        for key in self.keys:  # check every key, so timing does not tell which one matched
            good |= hmac.compare_digest(self._mac(key, session_id), signature)
        return session_id if good else None


# -- opaque handles for /sessions ----------------------------------------------------------------
def session_handle(session_id: str) -> str:
    """A 16-hex-character handle for a session, derived from its ID by SHA-256.

    It names the session in ``/sessions`` without revealing the token: the token has 256 random
    bits, so nobody can work back from the handle to it. It is not keyed with a per-process
    secret, so every server of a cluster computes the same handle.
    """
    return hashlib.sha256(b"lessons.web.handle\x00" + session_id.encode()).hexdigest()[:16]


# -- an in-memory store: the lesson's "メモリ" row (fast, but not shared) -----------------------
class InMemorySessionStore:
    """Sessions in a dict inside one process: what each server would have without Redis.

    Same method names as ``SessionStore`` for what the web app uses. Behind a load balancer, a
    session created on one server is unknown to the others: that is the point of the demo.
    """

    prefix = "memory"

    def __init__(self, default_ttl: int = 3600):
        self.default_ttl = default_ttl
        self._data: dict[str, tuple[float, dict]] = {}
        self._lock = threading.Lock()

    def _live(self, session_id: str) -> dict | None:
        item = self._data.get(session_id)
        if item is None:
            return None
        if item[0] <= time.monotonic():
            del self._data[session_id]
            return None
        return item[1]

    def create(self, data: dict, ttl: int | None = None) -> str:
        now = datetime.now(timezone.utc).isoformat()
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self._data[session_id] = (time.monotonic() + (ttl or self.default_ttl),
                                      {**data, "created_at": now, "last_accessed": now})
        return session_id

    def get(self, session_id: str, refresh: bool = False) -> dict | None:
        if not is_valid_session_id(session_id):
            return None
        with self._lock:
            session = self._live(session_id)
            if session is not None and refresh:
                self._data[session_id] = (time.monotonic() + self.default_ttl, session)
            return None if session is None else dict(session)

    def delete(self, session_id: str) -> bool:
        with self._lock:
            return self._data.pop(session_id, None) is not None

    def list_sessions(self, user_id: int | str | None = None) -> list[dict]:
        now = time.monotonic()
        with self._lock:
            return [{**s, "session_id": sid, "ttl": int(exp - now)}
                    for sid, (exp, s) in list(self._data.items())
                    if exp > now and (user_id is None or s.get("user_id") == user_id)]

    def revoke_all_sessions(self, user_id: int | str) -> int:
        with self._lock:
            doomed = [sid for sid, (_, s) in self._data.items() if s.get("user_id") == user_id]
            for sid in doomed:
                del self._data[sid]
        return len(doomed)


def _admin(store: Any) -> Any:
    """What lists and revokes a user's sessions: ``SessionAdmin`` over the per-user index for a
    Redis store, the store itself for the in-memory one."""
    if hasattr(store, "list_sessions"):
        return store
    from .admin import SessionAdmin

    return SessionAdmin(store.r, store.prefix)


# -- the app ----------------------------------------------------------------------------------
class LoginBody(BaseModel):
    """The /login body; anything else is a 422."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


def create_app(
    store: SessionStore | InMemorySessionStore,
    users: Mapping[str, Any] | None = None,
    *,
    cookie_name: str = "session_id",
    secret_key: str | bytes | Sequence[str | bytes] | None = None,
    server_name: str | None = None,
) -> FastAPI:
    """A FastAPI app with cookie sessions in ``store``.

    ``users``: ``{username: password}`` or ``{username: {"password", "user_id", "role"}}``
    (``DEMO_USERS`` when None); only salted scrypt hashes are kept. ``secret_key``: sign the
    cookie (HMAC-SHA256), so forged values are refused before any Redis command. ``server_name``:
    sent back in an ``X-Served-By`` header (to see which server of a cluster answered).
    """
    if not isinstance(cookie_name, str) or not cookie_name or any(c in cookie_name for c in " ;,="):
        raise ValueError(f"invalid cookie name: {cookie_name!r}")
    accounts = _accounts(users)
    dummy = hash_password(secrets.token_urlsafe(16))  # checked for unknown users: same timing
    signer = CookieSigner(secret_key) if secret_key is not None else None
    admin = _admin(store)

    app = FastAPI(title="Redis sessions (lessons.web)")
    app.state.store = store
    app.state.cookie_name = cookie_name

    # -- helpers --------------------------------------------------------------------------
    def session_id_from(request: Request) -> str | None:
        """The well-formed (and, with a key, correctly signed) session ID in the cookie. No Redis."""
        value = request.cookies.get(cookie_name)
        if not value:
            return None
        if signer is not None:
            return signer.unsign(value)
        return value if is_valid_session_id(value) else None

    def set_cookie(response: Response, session_id: str) -> None:
        value = signer.sign(session_id) if signer is not None else session_id
        response.set_cookie(cookie_name, value, max_age=store.default_ttl, path="/",
                            secure=True, httponly=True, samesite="lax")

    def clear_cookie(response: Response) -> None:
        # Max-Age=0 deletes it; the fixed past Expires is for very old browsers (Starlette's
        # delete_cookie would write the current time there)
        response.set_cookie(cookie_name, "", max_age=0, expires="Thu, 01 Jan 1970 00:00:00 GMT",
                            path="/", secure=True, httponly=True, samesite="lax")

    def current(request: Request) -> tuple[str, dict]:
        """(session ID, session) of a valid session, sliding its TTL (one round trip); else 401."""
        session_id = session_id_from(request)
        if session_id is None:
            raise HTTPException(status_code=401, detail=NOT_AUTHENTICATED)
        session = store.get(session_id, refresh=True)
        if session is None or "user_id" not in session:
            raise HTTPException(status_code=401, detail=NOT_AUTHENTICATED)
        return session_id, session

    def public_user(session: dict) -> dict[str, Any]:
        return {k: session[k] for k in ("user_id", "username", "role") if k in session}

    def handles(session_id: str, session: dict) -> list[tuple[str, dict]]:
        """(handle, session) for each live session of the caller."""
        return [(session_handle(s["session_id"]), s)
                for s in admin.list_sessions(user_id=session["user_id"])]

    # -- errors: Redis down -> 503, never a traceback ---------------------------------------
    @app.exception_handler(redis.RedisError)
    async def redis_unavailable(request: Request, exc: redis.RedisError) -> JSONResponse:
        return JSONResponse({"detail": STORE_UNAVAILABLE}, status_code=503,
                            headers={"Retry-After": "1", "Cache-Control": "no-store"})

    @app.middleware("http")
    async def no_store(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Cache-Control", "no-store")  # never cache a user's data
        if server_name:
            response.headers["X-Served-By"] = server_name
        return response

    # -- endpoints (plain ``def``: FastAPI runs them in a thread pool, Redis calls block) --------
    @app.post("/login")
    def login(body: LoginBody, request: Request, response: Response) -> dict:
        account = accounts.get(body.username)
        ok = verify_password(body.password, account.password if account else dummy)
        if account is None or not ok:
            raise HTTPException(status_code=401, detail="Wrong username or password")
        old = session_id_from(request)
        if old is not None:
            store.delete(old)  # fixation defence: the pre-login ID dies, whoever planted it
        session_id = store.create(account.public())  # always a fresh ID from the server
        set_cookie(response, session_id)
        return {"message": "Logged in", "user": account.public()}

    @app.get("/me")
    def me(request: Request, response: Response) -> dict:
        session_id, session = current(request)
        set_cookie(response, session_id)  # the browser's Max-Age slides with the Redis TTL
        return {"user": public_user(session)}

    @app.post("/logout")
    def logout(request: Request, response: Response) -> dict:
        session_id = session_id_from(request)
        if session_id is not None:
            store.delete(session_id)
        clear_cookie(response)
        return {"message": "Logged out"}

    @app.get("/sessions")
    def list_my_sessions(request: Request) -> dict:
        session_id, session = current(request)
        mine = session_handle(session_id)
        now = datetime.now(timezone.utc)
        items = []
        for handle, s in handles(session_id, session):
            items.append({
                "id": handle,
                "current": handle == mine,
                "created_at": s.get("created_at"),
                "last_accessed": _last_seen(s, store.default_ttl, now),
                "expires_in": s.get("ttl"),
            })
        items.sort(key=lambda item: (str(item["created_at"]), item["id"]))
        return {"sessions": items}

    @app.delete("/sessions/{handle}")
    def end_session(handle: str, request: Request, response: Response) -> dict:
        session_id, session = current(request)
        for h, s in handles(session_id, session):
            if h == handle:
                store.delete(s["session_id"])
                is_current = s["session_id"] == session_id
                if is_current:
                    clear_cookie(response)
                return {"message": "Session ended", "id": h, "current": is_current}
        raise HTTPException(status_code=404, detail="No such session")

    @app.post("/logout-all")
    def logout_all(request: Request, response: Response) -> dict:
        _, session = current(request)
        ended = admin.revoke_all_sessions(session["user_id"])
        clear_cookie(response)
        return {"message": "Logged out everywhere", "ended": ended}

    @app.get("/health")
    def health() -> dict:
        if hasattr(store, "r"):
            store.r.ping()
        return {"status": "ok", "server": server_name}

    return app


def _last_seen(session: dict, idle_ttl: int, now: datetime) -> str | None:
    """When the session was last used, to the second.

    ``/me`` slides the TTL back to the idle timeout without rewriting the value (one round trip),
    so the stored ``last_accessed`` is only updated by writes. The TTL tells the rest:
    last use = now - (idle timeout - remaining TTL). With an absolute timeout capping the TTL
    this underestimates, so the later of the two is reported.
    """
    stored = session.get("last_accessed")
    ttl = session.get("ttl")
    if not isinstance(ttl, int) or ttl < 0:
        return stored
    implied = (now - timedelta(seconds=idle_ttl - ttl)).replace(microsecond=0)
    try:
        if stored and datetime.fromisoformat(stored) >= implied:
            return stored
    except (TypeError, ValueError):
        pass
    return implied.isoformat()


# -- notebook 02's "Your turn" ---------------------------------------------------------------------
def _request_with_cookie(header: str | None):
    from starlette.requests import Request

    headers = [] if header is None else [(b"cookie", header.encode("latin-1"))]
    return Request({"type": "http", "method": "GET", "path": "/me", "headers": headers})


def check_get_session(get_session, client: redis.Redis, trips, prefix: str = "session") -> None:
    """Test a lesson-style ``get_session(request) -> dict | None`` on Redis and print the verdicts.

    It must return the session and slide its TTL in ONE round trip (``trips`` counts the requests
    of ``client``, the Redis client ``get_session`` uses), return None for a missing or unknown
    cookie, and answer malformed cookies with None and NO Redis command. The test session lives
    at ``{prefix}:<new token>`` with a 5 s TTL and is deleted at the end.
    """
    session_id = secrets.token_urlsafe(32)
    key = f"{prefix}:{session_id}"
    data = {"user_id": 1, "username": "alice"}
    client.set(key, json.dumps(data), ex=5)
    results: list[tuple[bool, str]] = []
    try:
        with trips.measure() as m:
            got = get_session(_request_with_cookie(f"session_id={session_id}"))
        results.append((got == data, "returns the session's data"))
        results.append((m.count == 1, f"one round trip (counted: {m.count})"))
        results.append((client.ttl(key) > 5, "the TTL slid back (it was 5 s)"))
        with trips.measure() as m:
            got = get_session(_request_with_cookie("session_id=" + "A" * 43))
        results.append((got is None, "an unknown ID gives None"))
        hostile = ["", "*", "session:*", "../../etc/passwd", "A" * 5000, "+" * 43]
        with trips.measure() as m:
            got_all = [get_session(_request_with_cookie(f"session_id={v}")) for v in hostile]
            got_all.append(get_session(_request_with_cookie(None)))
        results.append((all(g is None for g in got_all),
                        "a missing or malformed cookie gives None"))
        results.append((m.count == 0, f"... without any Redis command (counted: {m.count})"))
    except Exception as exc:  # noqa: BLE001 - report the learner's error, do not raise it
        results.append((False, f"it raised {type(exc).__name__}: {exc}"))
    finally:
        client.delete(key)
    for ok, text in results:
        print(("PASS  " if ok else "FAIL  ") + text)
    print("All checks passed." if all(ok for ok, _ in results) else "Not yet: see FAIL above.")


# -- ``uvicorn lessons.web:app`` ------------------------------------------------------------------
def app_from_env(environ: Mapping[str, str] | None = None) -> FastAPI:
    """The app ``uvicorn lessons.web:app`` serves, configured by environment variables.

    ``REDIS_URL`` (else the backend's embedded server, which then lives in this process only),
    ``LESSONS_SESSION_STORE`` (``redis``, or ``memory`` for a per-process dict),
    ``LESSONS_SESSION_PREFIX`` (``session``), ``LESSONS_SESSION_TTL`` (seconds, 3600),
    ``LESSONS_SECRET_KEY`` (sign cookies), ``LESSONS_COOKIE_NAME``, ``LESSONS_SERVER_NAME``,
    ``LESSONS_PARENT_PID`` (stop this server when that process is gone: see ``_watch_parent``).
    """
    env = os.environ if environ is None else environ
    if env.get("LESSONS_PARENT_PID"):
        _watch_parent(int(env["LESSONS_PARENT_PID"]))
    ttl = int(env.get("LESSONS_SESSION_TTL", "3600"))
    kind = env.get("LESSONS_SESSION_STORE", "redis")
    if kind == "memory":
        store: Any = InMemorySessionStore(default_ttl=ttl)
    elif kind == "redis":
        store = SessionStore(redis_url=env.get("REDIS_URL") or None,
                             prefix=env.get("LESSONS_SESSION_PREFIX", "session"), default_ttl=ttl)
    else:
        raise ValueError(f"LESSONS_SESSION_STORE must be 'redis' or 'memory', not {kind!r}")
    return create_app(store, cookie_name=env.get("LESSONS_COOKIE_NAME", "session_id"),
                      secret_key=env.get("LESSONS_SECRET_KEY") or None,
                      server_name=env.get("LESSONS_SERVER_NAME") or None)


def _watch_parent(parent_pid: int, interval: float = 0.5) -> None:
    """Send this process SIGTERM once ``parent_pid`` is no longer its parent.

    ``lessons.cluster`` stops its servers on exit, but a notebook kernel killed with SIGKILL runs
    no exit code at all; then the servers are re-parented, notice, and shut themselves down.
    """
    if os.getppid() != parent_pid:
        return  # not started by that process (or it is gone already): nothing to watch

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


_app: FastAPI | None = None
_app_lock = threading.Lock()


def _test_client_class() -> type:
    """FastAPI's ``TestClient``, imported without Starlette's httpx notice.

    Starlette 1.x prefers the ``httpx2`` package for its test client and, when only ``httpx`` is
    installed, warns once at import (a ``StarletteDeprecationWarning`` on stderr). The client
    works the same with either; the notice would only clutter notebook outputs.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette\.testclient`")
        from fastapi.testclient import TestClient as client_class
    return client_class


def __getattr__(name: str) -> Any:
    """``lessons.web.app`` is built on first access (so importing this module connects nothing);
    ``lessons.web.TestClient`` is FastAPI's, imported on first access."""
    global _app
    if name == "TestClient":
        return _test_client_class()
    if name == "app":
        with _app_lock:
            if _app is None:
                _app = app_from_env()
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
