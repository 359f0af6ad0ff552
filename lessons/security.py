"""Security: the lesson's セキュリティ考慮事項 table, each row as an attack and then a defence.

| 項目 (threat)            | 対策 (the lesson's answer) | what this module gives the notebook                       |
|--------------------------|----------------------------|-----------------------------------------------------------|
| セッション固定 fixation    | ログイン時に ID 再生成      | ``vulnerable_app``: keeps the pre-login ID / adopts IDs   |
| セッションハイジャック      | HTTPS、HttpOnly Cookie     | ``BrowserModel``: Secure / HttpOnly / SameSite / __Host-  |
| 不正なセッション forgery    | 署名、暗号化               | ``client_side_session_app``; ``expected_guess_seconds``   |
| セッション無限増加 growth   | TTL 必須                   | ``plant_immortal_sessions``, ``growth_experiment``        |
| (keys that leak tokens)   |                            | ``command_log_client``, ``HashedKeySessionStore``         |

The vulnerable apps are **deliberately wrong** and exist only to be attacked in a notebook. The
course's real code is ``lessons.store.SessionStore`` and ``lessons.web.create_app``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlsplit

import redis
from fastapi import FastAPI, HTTPException, Request, Response
from pydantic import BaseModel

from . import backend
from .store import SessionStore, is_valid_session_id

__all__ = [
    "DEMO_USERS",
    "test_client",
    "logged_in_as",
    "plant_cookie",
    "replay_client",
    "vulnerable_app",
    "client_side_session_app",
    "forge_client_side_cookie",
    "SetCookie",
    "parse_set_cookie",
    "BrowserModel",
    "ID_SCHEMES",
    "expected_guess_seconds",
    "format_duration",
    "guessing_table",
    "plant_immortal_sessions",
    "find_immortal_keys",
    "count_keys",
    "GrowthRun",
    "growth_experiment",
    "server_memory_facts",
    "CommandLog",
    "command_log_client",
    "export_snapshot",
    "token_handle",
    "HashedKeySessionStore",
    "check_safe_login",
    "check_host_cookie",
    "check_guess_seconds",
    "check_find_immortal",
    "check_token_handle",
]

#: The accounts of the demo apps (the same passwords as ``lessons.web.DEMO_USERS``).
DEMO_USERS: dict[str, str] = {"alice": "wonderland", "mallory": "evil-but-registered"}


# ------------------------------------------------------------------------------------------------
# HTTP clients
# ------------------------------------------------------------------------------------------------
def test_client(app: FastAPI, base_url: str = "https://testserver", **kwargs: Any):
    """FastAPI's ``TestClient`` (an httpx client that calls the app in-process).

    ``base_url`` is https by default: the session cookie is ``Secure``, and httpx, like a browser,
    never sends a Secure cookie to an ``http://`` URL. Starlette warns (once, at import) that it
    would prefer the ``httpx2`` package; that note is about packaging, not about this course, so it
    is silenced here.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    return TestClient(app, base_url=base_url, **kwargs)


test_client.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def plant_cookie(http: Any, name: str, value: str) -> None:
    """Put a cookie into a client's jar as if the server at its ``base_url`` had set it.

    This is how the notebook plays "the attacker got this value into that browser" (a cookie
    tossed from a sibling subdomain, an XSS, a shared computer) or "the attacker copied the
    stolen value into their own browser". http.cookiejar files a dotless host such as
    ``testserver`` under ``testserver.local``; using the same domain means a later
    ``Set-Cookie`` from the app replaces this cookie instead of sitting beside it.
    """
    host = http.base_url.host
    http.cookies.set(name, value, domain=host if "." in host else f"{host}.local", path="/")


def replay_client(app: FastAPI, cookie_value: str, cookie_name: str = "session_id",
                  base_url: str = "https://testserver") -> Any:
    """The attacker's client: it sends a stolen cookie value with every request, as a raw
    ``Cookie`` header. Unlike a browser it ignores ``Max-Age`` and anything the server sets, so
    a 401 it gets means the *server* refused the session."""
    return test_client(app, base_url=base_url, headers={"Cookie": f"{cookie_name}={cookie_value}"})


def _find_username(value: Any) -> str | None:
    if isinstance(value, dict):
        if isinstance(value.get("username"), str):
            return value["username"]
        for item in value.values():
            found = _find_username(item)
            if found:
                return found
    return None


def logged_in_as(http: Any, path: str = "/me") -> str | None:
    """Who the server thinks this client is: the ``username`` in ``GET /me``, or None if not 200."""
    response = http.get(path)
    if response.status_code != 200:
        return None
    return _find_username(response.json())


# ------------------------------------------------------------------------------------------------
# 1. Session fixation: a deliberately vulnerable app
# ------------------------------------------------------------------------------------------------
class _Credentials(BaseModel):
    username: str
    password: str


def _check_password(users: Mapping[str, str], username: str, password: str) -> bool:
    expected = users.get(username)
    return expected is not None and hmac.compare_digest(expected.encode(), password.encode())


def vulnerable_app(
    client: redis.Redis,
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

    Sessions are JSON at ``{prefix}:{id}`` with ``SET … EX ttl`` (one round trip per request).
    The cookie has every attribute (HttpOnly, Secure, SameSite=Lax): they do not stop fixation.
    """
    users = DEMO_USERS if users is None else dict(users)
    app = FastAPI(title="DELIBERATELY VULNERABLE: session fixation")

    def key(session_id: str) -> str:
        return f"{prefix}:{session_id}"

    def set_cookie(response: Response, session_id: str) -> None:
        response.set_cookie(cookie_name, session_id, max_age=ttl, path="/", secure=True,
                            httponly=True, samesite="lax")

    def known(session_id: str | None) -> bool:
        return bool(session_id) and len(session_id) <= 256 and client.exists(key(session_id)) == 1

    @app.get("/visit")
    def visit(request: Request, response: Response) -> dict:
        session_id = request.cookies.get(cookie_name)
        if known(session_id):
            return {"message": "Welcome back", "new_session": False}
        if session_id and adopt_unknown_ids and len(session_id) <= 256:
            pass  # BUG 2: an ID we never issued becomes a session
        else:
            session_id = secrets.token_urlsafe(32)
        client.set(key(session_id), json.dumps({"cart": []}), ex=ttl)
        set_cookie(response, session_id)
        return {"message": "Welcome", "new_session": True}

    @app.post("/login")
    def login(body: _Credentials, request: Request, response: Response) -> dict:
        if not _check_password(users, body.username, body.password):
            raise HTTPException(status_code=401, detail="Wrong username or password")
        session_id = request.cookies.get(cookie_name)
        keep = known(session_id) or (adopt_unknown_ids and bool(session_id)
                                     and len(session_id) <= 256)
        if not keep:
            session_id = secrets.token_urlsafe(32)
        # BUG 1: when the browser arrived with a session, it is upgraded in place: same ID.
        user = {"user_id": body.username, "username": body.username}
        client.set(key(session_id), json.dumps(user), ex=ttl)
        set_cookie(response, session_id)
        return {"message": "Logged in", "user": user}

    @app.get("/me")
    def me(request: Request) -> dict:
        session_id = request.cookies.get(cookie_name)
        raw = client.get(key(session_id)) if session_id and len(session_id) <= 256 else None
        session = json.loads(raw) if raw else None
        if not session or "username" not in session:
            raise HTTPException(status_code=401, detail="Not authenticated")
        return {"user": session}

    @app.post("/logout")
    def logout(request: Request, response: Response) -> dict:
        session_id = request.cookies.get(cookie_name)
        if session_id and len(session_id) <= 256:
            client.delete(key(session_id))
        response.delete_cookie(cookie_name, path="/", secure=True, httponly=True, samesite="lax")
        return {"message": "Logged out"}

    return app


# ------------------------------------------------------------------------------------------------
# 3. Forged sessions: a deliberately vulnerable client-side session
# ------------------------------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def client_side_session_app(users: Mapping[str, str] | None = None,
                            cookie_name: str = "session") -> FastAPI:
    """A DELIBERATELY VULNERABLE app that keeps the session *in the cookie*, unsigned.

    ``POST /login`` sets ``session=base64url(JSON {"username": …})``; ``GET /me`` believes
    whatever JSON the cookie holds. No Redis at all: nothing on the server to check against.
    """
    users = DEMO_USERS if users is None else dict(users)
    app = FastAPI(title="DELIBERATELY VULNERABLE: unsigned client-side session")

    @app.post("/login")
    def login(body: _Credentials, response: Response) -> dict:
        if not _check_password(users, body.username, body.password):
            raise HTTPException(status_code=401, detail="Wrong username or password")
        user = {"username": body.username}
        response.set_cookie(cookie_name, _b64(json.dumps(user).encode()), path="/",
                            secure=True, httponly=True, samesite="lax")
        return {"message": "Logged in", "user": user}

    @app.get("/me")
    def me(request: Request) -> dict:
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


# ------------------------------------------------------------------------------------------------
# 2. Hijacking: what a browser does with each cookie attribute (a model, in Python)
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SetCookie:
    """One ``Set-Cookie`` header, parsed (attribute names are case-insensitive)."""

    name: str
    value: str
    secure: bool = False
    httponly: bool = False
    samesite: str | None = None  # "Strict" | "Lax" | "None" | None (not given)
    path: str | None = None
    domain: str | None = None
    max_age: int | None = None

    def header(self) -> str:
        parts = [f"{self.name}={self.value}"]
        if self.domain is not None:
            parts.append(f"Domain={self.domain}")
        if self.path is not None:
            parts.append(f"Path={self.path}")
        if self.max_age is not None:
            parts.append(f"Max-Age={self.max_age}")
        if self.secure:
            parts.append("Secure")
        if self.httponly:
            parts.append("HttpOnly")
        if self.samesite is not None:
            parts.append(f"SameSite={self.samesite}")
        return "; ".join(parts)


def parse_set_cookie(header: str) -> SetCookie:
    """Parse one ``Set-Cookie`` header value (RFC 6265 syntax, no validation of the value)."""
    first, *attrs = [part.strip() for part in header.split(";")]
    name, sep, value = first.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"not a Set-Cookie header: {header!r}")
    fields: dict[str, Any] = {}
    for attr in attrs:
        if not attr:
            continue
        key, _, val = attr.partition("=")
        key = key.strip().lower()
        if key == "secure":
            fields["secure"] = True
        elif key == "httponly":
            fields["httponly"] = True
        elif key == "samesite":
            fields["samesite"] = val.strip().capitalize()
        elif key == "path":
            fields["path"] = val.strip()
        elif key == "domain":
            fields["domain"] = val.strip().lstrip(".").lower()
        elif key == "max-age":
            fields["max_age"] = int(val.strip())
    return SetCookie(name.strip(), value.strip(), **fields)


def _site(url: str) -> tuple[str, str]:
    """(scheme, registrable domain), modelled as the host's last two labels.

    Real browsers use the Public Suffix List (``example.co.uk`` has three labels); two labels is
    enough for the hosts in the notebook. Schemeful same-site: http and https differ.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme, ".".join(host.split(".")[-2:])


class BrowserModel:
    """What a browser does with cookies, written as Python rules (RFC 6265bis), not a browser.

    ``store(header, set_by)`` accepts or rejects a ``Set-Cookie`` the way a current browser does;
    ``cookies_for(url, …)`` says which stored cookies a request would carry, and why the others are
    left out; ``document_cookie(url)`` is what page scripts can read (``document.cookie``).
    """

    def __init__(self, samesite_default: str = "Lax"):
        #: cookies without SameSite are treated as Lax by Chromium-based browsers (2020 onwards)
        self.samesite_default = samesite_default
        self.jar: list[tuple[SetCookie, str]] = []  # (cookie, host it applies to / domain)

    @staticmethod
    def rejection(cookie: SetCookie, set_by: str) -> str | None:
        """Why a browser would refuse this Set-Cookie from ``set_by`` (None: accepted)."""
        parts = urlsplit(set_by)
        host = (parts.hostname or "").lower()
        https = parts.scheme == "https"
        if cookie.secure and not https:
            return "Secure cookies can only be set by https pages"
        if cookie.name.startswith("__Secure-") and not (cookie.secure and https):
            return "__Secure- needs Secure, set from https"
        if cookie.name.startswith("__Host-"):
            if not (cookie.secure and https):
                return "__Host- needs Secure, set from https"
            if cookie.domain is not None:
                return "__Host- forbids a Domain attribute (host-only cookie)"
            if cookie.path != "/":
                return "__Host- needs Path=/"
        if cookie.samesite == "None" and not cookie.secure:
            return "SameSite=None needs Secure"
        if cookie.domain is not None and not (host == cookie.domain
                                              or host.endswith("." + cookie.domain)):
            return f"{host} cannot set a cookie for Domain={cookie.domain}"
        return None

    def store(self, header: str | SetCookie, set_by: str) -> str | None:
        """Store the cookie as a browser would; returns the rejection reason, or None if stored."""
        cookie = parse_set_cookie(header) if isinstance(header, str) else header
        reason = self.rejection(cookie, set_by)
        if reason is None:
            scope = cookie.domain or (urlsplit(set_by).hostname or "").lower()
            self.jar = [(c, s) for c, s in self.jar if not (c.name == cookie.name and s == scope)]
            self.jar.append((cookie, scope))
        return reason

    def decide(self, cookie: SetCookie, scope: str, url: str, *, initiator: str | None = None,
               method: str = "GET", top_level: bool = True) -> tuple[bool, str]:
        """(sent?, why) for one cookie on a request to ``url``.

        ``initiator``: the page that caused the request (None: the user typed the URL or used a
        bookmark). ``top_level``: a navigation (link, form submit) rather than a script's
        fetch, an ``<img>`` or an ``<iframe>``.
        """
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        host_only = cookie.domain is None
        if (host_only and host != scope) or (not host_only and not (
                host == scope or host.endswith("." + scope))):
            return False, "another host"
        if cookie.secure and parts.scheme != "https":
            return False, "Secure: not sent over http"
        cross_site = initiator is not None and _site(initiator) != _site(url)
        if not cross_site:
            return True, "same-site"
        samesite = cookie.samesite or self.samesite_default
        if samesite == "Strict":
            return False, "SameSite=Strict: cross-site"
        if samesite == "Lax":
            if top_level and method.upper() in ("GET", "HEAD"):
                return True, "SameSite=Lax: cross-site top-level GET"
            return False, f"SameSite=Lax: cross-site {method.upper()}" + (
                "" if top_level else " subresource")
        return True, "SameSite=None: sent everywhere"

    def cookies_for(self, url: str, **request: Any) -> dict[str, str]:
        """The ``Cookie`` header a request to ``url`` would carry, as {name: value}."""
        return {c.name: c.value for c, scope in self.jar
                if self.decide(c, scope, url, **request)[0]}

    def document_cookie(self, url: str) -> dict[str, str]:
        """What ``document.cookie`` shows a script on a page at ``url``: HttpOnly cookies never."""
        return {c.name: c.value for c, scope in self.jar
                if not c.httponly and self.decide(c, scope, url)[0]}


# ------------------------------------------------------------------------------------------------
# 3. What signing adds: the expected time to guess a live session ID
# ------------------------------------------------------------------------------------------------
#: (name, bits of randomness) for the ID schemes compared in the notebook.
ID_SCHEMES: list[tuple[str, int]] = [
    ("secrets.token_urlsafe(32) (this course)", 256),
    ("UUID4 (uuid.uuid4())", 122),
    ("OWASP minimum entropy", 64),
]

SECONDS_PER_YEAR = 365.25 * 24 * 3600
AGE_OF_UNIVERSE_YEARS = 13.8e9


def expected_guess_seconds(bits: int, guesses_per_second: float, live_sessions: int) -> float:
    """Expected seconds until a random guess hits *some* live session.

    OWASP Session Management Cheat Sheet: ``(2**B + 1) / (2 * A * S)`` with B bits of entropy,
    A guesses per second and S live sessions (each guess hits with probability S / 2**B).
    """
    if bits <= 0 or guesses_per_second <= 0 or live_sessions <= 0:
        raise ValueError("bits, guesses_per_second and live_sessions must all be > 0")
    return (2 ** bits + 1) / (2 * guesses_per_second * live_sessions)


def format_duration(seconds: float) -> str:
    """A duration a person can read: seconds, minutes, hours, days or years (3 significant digits)."""
    for unit, size in (("years", SECONDS_PER_YEAR), ("days", 86400), ("hours", 3600),
                       ("minutes", 60)):
        if seconds >= size:
            value = seconds / size
            return f"{value:.3g} {unit}" if value < 1e6 else f"{value:.2e} {unit}"
    return f"{seconds:.3g} seconds"


def guessing_table(guesses_per_second: float, live_sessions: int,
                   schemes: Iterable[tuple[str, int]] = ID_SCHEMES) -> list[dict[str, Any]]:
    """One row per ID scheme: bits, expected time to a first hit, and that in ages of the universe."""
    rows = []
    for name, bits in schemes:
        seconds = expected_guess_seconds(bits, guesses_per_second, live_sessions)
        rows.append({"scheme": name, "bits": bits, "seconds": seconds,
                     "time": format_duration(seconds),
                     "universe_ages": seconds / SECONDS_PER_YEAR / AGE_OF_UNIVERSE_YEARS})
    return rows


# ------------------------------------------------------------------------------------------------
# 4. Unbounded growth: immortal keys, and how many keys a workload leaves behind
# ------------------------------------------------------------------------------------------------
def plant_immortal_sessions(store: SessionStore, n_without_ex: int = 2,
                            n_persisted: int = 1) -> list[str]:
    """Plant session keys with no TTL, the two ways it happens in real code; returns their IDs.

    ``SET key value`` without ``EX`` (a hand-written write path that forgot the TTL) and
    ``PERSIST`` on a live session (someone "fixing" a user who kept being logged out). One
    pipelined round trip, plus one per persisted session for its ``create``.
    """
    r = store.r
    ids = []
    pipe = r.pipeline(transaction=False)
    for _ in range(n_without_ex):
        session_id = secrets.token_urlsafe(32)
        pipe.set(store._key(session_id), json.dumps({"user_id": "ghost", "username": "ghost"}))
        ids.append(session_id)
    for _ in range(n_persisted):
        session_id = store.create({"note": "persisted by hand"})
        pipe.persist(store._key(session_id))
        ids.append(session_id)
    pipe.execute()
    return ids


def find_immortal_keys(client: redis.Redis, match: str) -> list[str]:
    """Keys matching ``match`` whose TTL is -1 (no expiry): SCAN + one pipelined TTL per batch."""
    found = []
    cursor = 0
    while True:
        cursor, keys = client.scan(cursor, match=match, count=1000)
        if keys:
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.ttl(key)
            found += [k for k, ttl in zip(keys, pipe.execute()) if ttl == -1]
        if cursor == 0:
            break
    return sorted(set(found))


def count_keys(client: redis.Redis, match: str) -> int:
    """How many keys match ``match`` (SCAN, one round trip per 1 000 keys; never KEYS or DBSIZE)."""
    return len(set(client.scan_iter(match=match, count=1000)))


@dataclass
class GrowthRun:
    """Key counts sampled while a workload creates sessions with and without a TTL."""

    per_tick: int
    tick: float
    ttl: int
    seconds: list[float] = field(default_factory=list)
    with_ttl: list[int] = field(default_factory=list)
    without_ttl: list[int] = field(default_factory=list)

    @property
    def created(self) -> int:
        """Sessions created in each variant."""
        return self.per_tick * len(self.seconds)

    def steady_state_bound(self) -> int:
        """The most sessions that can be alive with a TTL: one TTL's worth of ticks, plus one."""
        return self.per_tick * (math.ceil(self.ttl / self.tick) + 1)


def growth_experiment(client: redis.Redis, prefix: str, *, ticks: int = 25, per_tick: int = 10,
                      tick: float = 0.1, ttl: int = 1) -> GrowthRun:
    """Create ``per_tick`` sessions every ``tick`` seconds under two prefixes, for ``ticks`` ticks:
    ``{prefix}-ttl:`` with ``SET … EX ttl``, ``{prefix}-immortal:`` with a plain ``SET``.

    After each batch the keys under each prefix are counted with SCAN. Sleeps
    ``ticks * tick`` seconds in total (batches are at least ``tick`` apart, so at most
    ``steady_state_bound()`` keys with a TTL can be alive at once). The immortal keys are left for the caller to delete.
    """
    run = GrowthRun(per_tick=per_tick, tick=tick, ttl=ttl)
    payload = json.dumps({"user_id": "load", "username": "load"})
    start = time.monotonic()
    for i in range(ticks):
        pipe = client.pipeline(transaction=False)
        for _ in range(per_tick):
            session_id = secrets.token_urlsafe(32)
            pipe.set(f"{prefix}-ttl:{session_id}", payload, ex=ttl)
            pipe.set(f"{prefix}-immortal:{session_id}", payload)
        pipe.execute()
        run.seconds.append(time.monotonic() - start)
        run.with_ttl.append(count_keys(client, f"{prefix}-ttl:*"))
        run.without_ttl.append(count_keys(client, f"{prefix}-immortal:*"))
        time.sleep(tick)  # a fixed pause, so batches are always at least ``tick`` apart
    return run


def server_memory_facts(client: redis.Redis, sample_key: str | None = None) -> list[str]:
    """``maxmemory`` / ``maxmemory-policy`` (CONFIG GET) and a key's size (MEMORY USAGE), each as
    one line; a backend that lacks the command or forbids it gets a one-line explanation."""
    lines = []
    try:
        config = client.config_get("maxmemory*")
        lines.append(f"maxmemory = {config.get('maxmemory')} bytes (0 = no limit), "
                     f"maxmemory-policy = {config.get('maxmemory-policy')}")
    except redis.ResponseError as exc:
        lines.append(f"CONFIG GET is not available here ({str(exc).split(',')[0]}): "
                     "ask whoever runs the Redis what maxmemory-policy it uses.")
    if sample_key is not None:
        try:
            lines.append(f"MEMORY USAGE of one session key: {client.memory_usage(sample_key)} bytes")
        except redis.ResponseError as exc:
            lines.append(f"MEMORY USAGE is not available here ({str(exc).split(',')[0]}).")
    return lines


# ------------------------------------------------------------------------------------------------
# 5. Keys that leak tokens
# ------------------------------------------------------------------------------------------------
def _parse_resp_commands(packed: bytes) -> list[list[str]]:
    """The commands in what redis-py sends (RESP arrays of bulk strings)."""
    commands = []
    i = 0
    while i < len(packed):
        if packed[i:i + 1] != b"*":
            break
        end = packed.index(b"\r\n", i)
        count = int(packed[i + 1:end])
        i = end + 2
        args = []
        for _ in range(count):
            end = packed.index(b"\r\n", i)
            length = int(packed[i + 1:end])
            i = end + 2
            args.append(packed[i:i + length].decode("utf-8", errors="replace"))
            i += length + 2
        commands.append(args)
    return commands


@dataclass
class CommandLog:
    """Every command a client sent, with its arguments, printed the way ``MONITOR`` shows them."""

    commands: list[list[str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, commands: list[list[str]]) -> None:
        with self._lock:
            self.commands.extend(commands)

    def clear(self) -> None:
        with self._lock:
            self.commands.clear()

    @property
    def lines(self) -> list[str]:
        """``"SET" "session:…" "{…}" "EX" "3600"``: one line per command, every argument."""
        return self.short(max_arg=None)

    def short(self, max_arg: int | None = 80) -> list[str]:
        """The log with arguments longer than ``max_arg`` (Lua scripts, JSON values) as ``"…"``."""
        with self._lock:
            commands = [list(c) for c in self.commands]
        return [" ".join('"…"' if max_arg is not None and len(a) > max_arg
                         else json.dumps(a, ensure_ascii=False) for a in args)
                for args in commands]


def command_log_client(url: str | None = None, **kwargs: Any) -> tuple[redis.Redis, CommandLog]:
    """A client like ``backend.connect(url)`` that logs each command with its arguments.

    This is what ``MONITOR`` would show an operator (or a log shipper) for this client, without
    running ``MONITOR`` on a shared server: the log is taken in the client, before sending.
    """
    log = CommandLog()

    class LoggingConnection(redis.Connection):
        def send_packed_command(self, command, check_health=True):  # type: ignore[override]
            chunks = command if isinstance(command, (list, tuple)) else [command]
            log.record(_parse_resp_commands(b"".join(bytes(c) for c in chunks)))
            return super().send_packed_command(command, check_health)

    client = backend.connect(url, connection_class=LoggingConnection, **kwargs)
    client.ping()  # connect now, so the handshake does not land in the log
    log.clear()
    return client, log


def export_snapshot(client: redis.Redis, match: str) -> str:
    """A JSON backup of the keys matching ``match`` ({key: {"type", "ttl", "value"}}), like the
    dumps that backup scripts and support tickets carry around (an RDB or AOF file holds the same
    names). SCAN, then two pipelined round trips: TYPE + TTL of every key, then its value."""
    keys = sorted(set(client.scan_iter(match=match, count=1000)))
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.type(key)
        pipe.ttl(key)
    replies = pipe.execute()
    types, ttls = replies[0::2], replies[1::2]
    readers = {"string": lambda p, k: p.get(k), "hash": lambda p, k: p.hgetall(k),
               "zset": lambda p, k: p.zrange(k, 0, -1, withscores=True),
               "set": lambda p, k: p.smembers(k), "list": lambda p, k: p.lrange(k, 0, -1)}
    pipe = client.pipeline(transaction=False)
    for key, kind in zip(keys, types):
        readers.get(kind, lambda p, k: p.exists(k))(pipe, key)
    values = pipe.execute()
    snapshot = {k: {"type": t, "ttl": ttl, "value": sorted(v) if isinstance(v, set) else v}
                for k, t, ttl, v in zip(keys, types, ttls, values)}
    return json.dumps(snapshot, indent=1, ensure_ascii=False)


def token_handle(token: str) -> str:
    """base64url(SHA-256(token)) without padding: 43 characters, the key name for ``token``.

    A plain (unsalted, fast) hash is enough here, unlike for passwords: the token has 256 random
    bits, so nobody can search for the token that gives a handle.
    """
    return _b64(hashlib.sha256(token.encode("utf-8")).digest())


class HashedKeySessionStore(SessionStore):
    """``SessionStore`` that names each session by a hash of its token: ``{prefix}:{sha256(token)}``.

    The token (the cookie value) never appears in Redis: not in key names, not in the per-user
    index, not in SCAN, MONITOR, SLOWLOG or an RDB/AOF file. Give it the token and it hashes it
    (one SHA-256, about a microsecond) before the same commands ``SessionStore`` sends, so every
    round-trip count is unchanged. ``SessionAdmin`` works on it as is; the ``session_id`` it
    lists is the **handle** (the hash), which cannot be used as a cookie: end one session by
    handle with ``revoke_handle``.
    """

    def handle(self, token: str) -> str:
        """The key-name part for ``token``."""
        return token_handle(token)

    def stored_id(self, session_id: str) -> str:
        """Sessions are stored (key name and index member) under the token's hash."""
        return token_handle(session_id)

    def revoke_handle(self, handle: str) -> bool:
        """End one session given its handle (what an admin listing shows); True if it existed.

        One EVALSHA round trip, like ``delete``; a malformed handle costs none.
        """
        if not is_valid_session_id(handle):
            return False
        return bool(self._delete(keys=[f"{self.prefix}:{handle}"], args=[self.index_prefix, handle]))


# ------------------------------------------------------------------------------------------------
# "Your turn" checks: each runs the learner's code against Redis and prints what passed
# ------------------------------------------------------------------------------------------------
def _report(results: list[tuple[str, bool]]) -> None:
    """Print one PASS/FAIL line per check, then the verdict."""
    for name, ok in results:
        print(f"{'PASS' if ok else 'FAIL'}: {name}")
    passed = all(ok for _, ok in results)
    print("All checks passed." if passed else "Not yet: see the FAIL lines above.")


def check_safe_login(safe_login: Callable[[SessionStore, str | None, dict], str],
                     url: str | None = None, prefix: str = "course04-check-login") -> None:
    """Check ``safe_login(store, incoming_id, user) -> new_id``: the incoming (planted) ID dies,
    the new one is fresh, well formed and holds the user."""
    client = backend.connect(url)
    store = SessionStore(client=client, prefix=prefix, default_ttl=60)
    try:
        planted = store.create({"cart": []})
        try:
            new_id = safe_login(store, planted, {"user_id": "alice", "username": "alice"})
            none_id = safe_login(store, None, {"user_id": "bob", "username": "bob"})
        except Exception as exc:  # a learner's bug: report it, don't raise
            print(f"FAIL: safe_login raised {type(exc).__name__}: {exc}")
            return
        session = store.get(new_id) if is_valid_session_id(new_id) else None
        _report([
            ("returns a new ID, not the one the browser arrived with", new_id != planted),
            ("the new ID is a well-formed 43-character token", is_valid_session_id(new_id)),
            ("the new session holds the user", bool(session) and session.get("username") == "alice"),
            ("the planted ID no longer authenticates", store.get(planted) is None),
            ("works when the browser arrived without a session", is_valid_session_id(none_id)
             and (store.get(none_id) or {}).get("username") == "bob"),
        ])
    finally:
        backend.delete_prefix(client, prefix)
        client.close()


def check_host_cookie(header: str) -> None:
    """Check a ``Set-Cookie`` header for the session: ``__Host-`` prefix, HttpOnly, SameSite."""
    try:
        cookie = parse_set_cookie(header)
    except ValueError as exc:
        print(f"FAIL: {exc}")
        return
    reason = BrowserModel.rejection(cookie, "https://app.example.com/login")
    _report([
        ("the name starts with __Host-", cookie.name.startswith("__Host-")),
        (f"a browser accepts it from https://app.example.com ({reason or 'accepted'})",
         reason is None),
        ("HttpOnly (page scripts cannot read it)", cookie.httponly),
        ("SameSite=Lax or Strict", cookie.samesite in ("Lax", "Strict")),
    ])


def check_guess_seconds(fn: Callable[[int, float, int], float]) -> None:
    """Check ``fn(bits, guesses_per_second, live_sessions)`` against the OWASP formula."""
    cases = [(64, 1e4, 100_000), (128, 1e9, 1_000_000), (16, 1.0, 1)]
    results = []
    for bits, rate, live in cases:
        try:
            got = float(fn(bits, rate, live))
        except Exception as exc:  # a learner's bug: report it, don't raise
            got = float("nan")
            print(f"  {bits} bits raised {type(exc).__name__}: {exc}")
        want = expected_guess_seconds(bits, rate, live)
        results.append((f"{bits} bits, {rate:g} guesses/s, {live} live sessions -> "
                        f"{format_duration(want)}", math.isclose(got, want, rel_tol=1e-6)))
    _report(results)


def check_find_immortal(find_immortal: Callable[[redis.Redis, str], list[str]],
                        url: str | None = None, prefix: str = "course04-check-immortal") -> None:
    """Check ``find_immortal(client, prefix) -> list of session IDs`` whose keys have no TTL."""
    client = backend.connect(url)
    store = SessionStore(client=client, prefix=prefix, default_ttl=60)
    try:
        mortal = [store.create({"user_id": i}) for i in range(3)]
        immortal = plant_immortal_sessions(store, n_without_ex=2, n_persisted=1)
        found = find_immortal(client, prefix)
        found_set = set(found) if isinstance(found, (list, tuple, set)) else set()
        _report([
            ("returns a list", isinstance(found, list)),
            ("finds every session without a TTL (SET without EX, PERSIST)",
             set(immortal) <= found_set),
            ("returns session IDs, not key names", not any(":" in str(f) for f in found_set)),
            ("leaves out sessions that have a TTL", not (set(mortal) & found_set)),
            ("leaves out the per-user index", not any("by-user" in str(f) for f in found_set)),
            ("no duplicates", isinstance(found, list) and len(found) == len(found_set)),
        ])
    finally:
        backend.delete_prefix(client, prefix)
        client.close()


def check_token_handle(fn: Callable[[str], str]) -> None:
    """Check ``fn(token) -> handle`` as a key name that does not leak the token."""
    tokens = [secrets.token_urlsafe(32) for _ in range(50)]
    handles = [fn(t) for t in tokens]
    _report([
        ("returns a str", all(isinstance(h, str) for h in handles)),
        ("the same token always gives the same handle", [fn(t) for t in tokens] == handles),
        ("different tokens give different handles", len(set(handles)) == len(tokens)),
        ("the handle does not contain the token", all(t not in h for t, h in zip(tokens, handles))),
        ("the handle is not usable as the token (it is not the token)",
         all(h != t for t, h in zip(tokens, handles))),
        ("matches lessons.security.token_handle (base64url SHA-256, no padding)",
         handles == [token_handle(t) for t in tokens]),
    ])
