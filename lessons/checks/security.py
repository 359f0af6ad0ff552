"""Checks for notebook 04's "Your turn" cells (security).

    check_safe_login(safe_login);        # safe_login(store, incoming_id, user) -> new session ID
    check_host_cookie(header);           # a Set-Cookie header for the session cookie
    check_guess_seconds(guess_seconds);  # guess_seconds(bits, guesses_per_second, live_sessions)
    check_find_immortal(find_immortal);  # find_immortal(client, prefix) -> session IDs
    check_token_handle(key_for);         # key_for(token) -> the hashed stored ID

The checks that need Redis work under a key prefix of their own inside this learner's namespace
(``course:{learner}:04:check-…``) and delete it afterwards. Each prints one ``✓``/``✗`` line per
property and a verdict (``lessons.checks.Report``) and returns True only if every check passed; an
exception raised by the learner's code is a ``✗`` line.
"""

from __future__ import annotations

import math
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .. import backend
from ..classroom import namespace
from ..keys import is_valid_session_id
from ..security.browser import BrowserModel, parse_set_cookie
from ..security.growth import plant_immortal_sessions
from ..security.guessing import expected_guess_seconds, format_duration
from ..security.leaks import token_handle
from ..store import SessionStore
from . import Report

__all__ = ["check_find_immortal", "check_guess_seconds", "check_host_cookie", "check_safe_login",
           "check_token_handle"]


@contextmanager
def _store() -> Iterator[SessionStore]:
    """A ``SessionStore`` (60 s TTL) under a fresh prefix in this learner's namespace; every key
    under that prefix (sessions and indexes) is deleted afterwards."""
    client = backend.connect(backend.redis_url())
    prefix = namespace("04", f"check-{uuid.uuid4().hex[:8]}")
    try:
        yield SessionStore(client=client, prefix=prefix, default_ttl=60)
    finally:
        backend.delete_prefix(client, prefix)
        client.close()


def check_safe_login(safe_login: Callable[[SessionStore, str | None, dict[str, Any]], object]) -> bool:
    """``safe_login(store, incoming_id, user) -> new_id``: the incoming (planted) ID dies, the new
    one is fresh, well formed and holds the user; it also works without an incoming ID."""
    report = Report()
    with _store() as store, report.guard():
        planted = store.create({"cart": []})
        new_id = safe_login(store, planted, {"user_id": "alice", "username": "alice"})
        valid = is_valid_session_id(new_id)
        report.check(valid and new_id != planted,
                     "returns a new ID, not the one the browser arrived with", new_id)
        report.check(valid, "the new ID is a well-formed 43-character token", new_id)
        session = store.get(new_id) if isinstance(new_id, str) and valid else None
        report.check(session is not None and session.get("username") == "alice",
                     "the new session holds the user", session)
        report.check(store.get(planted) is None, "the planted ID no longer authenticates")
        none_id = safe_login(store, None, {"user_id": "bob", "username": "bob"})
        fresh = store.get(none_id) if isinstance(none_id, str) and is_valid_session_id(none_id) else None
        report.check(fresh is not None and fresh.get("username") == "bob",
                     "works when the browser arrived without a session", none_id)
    return report.finish()


def check_host_cookie(header: str) -> bool:
    """A ``Set-Cookie`` header for the session: ``__Host-`` prefix, accepted by a browser from
    https://app.example.com, HttpOnly, SameSite=Lax or Strict. No Redis."""
    report = Report()
    try:
        cookie = parse_set_cookie(header)
    except (ValueError, AttributeError):
        report.check(False, "is a Set-Cookie header (name=value; attributes)", header)
        return report.finish()
    with report.guard():
        reason = BrowserModel.rejection(cookie, "https://app.example.com/login")
        report.check(cookie.name.startswith("__Host-"), "the name starts with __Host-", cookie.name)
        report.check(reason is None, "a browser accepts it from https://app.example.com", reason)
        report.check(cookie.httponly, "HttpOnly (page scripts cannot read it)")
        report.check(cookie.samesite in ("Lax", "Strict"), "SameSite=Lax or Strict", cookie.samesite)
    return report.finish()


def check_guess_seconds(guess_seconds: Callable[[int, float, int], object]) -> bool:
    """``guess_seconds(bits, guesses_per_second, live_sessions)`` against the OWASP formula
    ``(2**bits + 1) / (2 * guesses_per_second * live_sessions)``, in three cases. No Redis."""
    report = Report()
    for bits, rate, live in [(64, 1e4, 100_000), (128, 1e9, 1_000_000), (16, 1.0, 1)]:
        want = expected_guess_seconds(bits, rate, live)
        text = f"{bits} bits, {rate:g} guesses/s, {live} live sessions -> {format_duration(want)}"
        try:
            got = guess_seconds(bits, rate, live)
        except Exception as exc:  # the learner's error is a ✗ line, not a traceback
            report.check(False, text, f"your code raised {type(exc).__name__}: {exc}")
            continue
        right = isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=1e-6)
        report.check(right, text, got)
    return report.finish()


def check_find_immortal(find_immortal: Callable[[Any, str], object]) -> bool:
    """``find_immortal(client, prefix) -> list of session IDs`` whose keys have no TTL.

    Set-up: 3 sessions with a TTL (and their users' indexes), 2 keys written with a plain SET and
    1 session PERSISTed (``plant_immortal_sessions``); then the learner's function runs once.
    """
    report = Report()
    with _store() as store, report.guard():
        mortal = [store.create({"user_id": i}) for i in range(3)]
        immortal = plant_immortal_sessions(store, n_without_ex=2, n_persisted=1)
        found = find_immortal(store.r, store.prefix)
        report.check(isinstance(found, list), "returns a list", type(found).__name__)
        items = list(found) if isinstance(found, (list, tuple, set)) else []
        report.check(set(immortal) <= set(items),
                     "finds every session without a TTL (SET without EX, PERSIST)",
                     f"{len(set(immortal) & set(items))} of {len(immortal)}")
        keys = [f for f in items if ":" in str(f)]
        report.check(bool(items) and not keys, "returns session IDs, not key names",
                     keys[0] if keys else None)
        report.check(bool(items) and not set(mortal) & set(items),
                     "leaves out sessions that have a TTL")
        report.check(bool(items) and not any("by-user" in str(f) for f in items),
                     "leaves out the per-user index")
        report.check(bool(items) and len(items) == len(set(items)), "no duplicates")
    return report.finish()


def check_token_handle(key_for: Callable[[str], object]) -> bool:
    """``key_for(token) -> handle``: a key-name part that does not leak the token and is what a
    ``SessionStore(hash_ids=True)`` stores (``token_handle``: SHA-256 of the token, hex). No Redis."""
    report = Report()
    tokens = [secrets.token_urlsafe(32) for _ in range(50)]
    with report.guard():
        handles = [key_for(t) for t in tokens]
        report.check(all(isinstance(h, str) for h in handles), "returns a str",
                     type(handles[0]).__name__)
        report.check([key_for(t) for t in tokens] == handles,
                     "the same token always gives the same handle")
        report.check(len(set(map(str, handles))) == len(tokens), "different tokens give different handles")
        report.check(all(t not in str(h) for t, h in zip(tokens, handles)),
                     "the handle does not contain the token")
        report.check(handles == [token_handle(t) for t in tokens],
                     "matches SessionStore(hash_ids=True)'s stored ID (SHA-256 of the token, hex)",
                     handles[0])
    return report.finish()
