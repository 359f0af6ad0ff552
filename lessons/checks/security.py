"""Checks for notebook 04's "Your turn" cells (security).

    check_safe_login(safe_login);        # safe_login(store, incoming_id, user) -> new session ID
    check_host_cookie(header);           # a Set-Cookie header for the session cookie
    check_touch(touch);                  # touch(client, key, now_ms) -> alive? (idle + absolute)
    check_find_immortal(find_immortal);  # find_immortal(client, prefix) -> session IDs

The checks that need Redis work under a key prefix of their own inside this learner's namespace
(``course:{learner}:04:check-…``) and delete it afterwards. Each prints one ``✓``/``✗`` line per
property and a verdict (``lessons.checks.Report``) and returns True only if every check passed; an
exception raised by the learner's code is a ``✗`` line. A property that an empty stub already has
is marked ``trivial`` (it counts only once something else works), so a stub earns no ``✓``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .. import backend
from ..classroom import namespace
from ..i18n import _
from ..keys import is_valid_session_id
from ..security.browser import BrowserModel, parse_set_cookie
from ..security.growth import plant_immortal_sessions
from ..store import SessionStore
from . import Report

__all__ = ["check_find_immortal", "check_host_cookie", "check_safe_login", "check_touch"]


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
        report.check(
            valid and new_id != planted, _("returns a new ID, not the one the browser arrived with"), new_id
        )
        report.check(valid, _("the new ID is a well-formed {n}-character token", n=43), new_id)
        session = store.get(new_id) if isinstance(new_id, str) and valid else None
        report.check(
            session is not None and session.get("username") == "alice",
            _("the new session holds the user"),
            session,
        )
        report.check(store.get(planted) is None, _("the planted ID no longer authenticates"))
        none_id = safe_login(store, None, {"user_id": "bob", "username": "bob"})
        fresh = store.get(none_id) if isinstance(none_id, str) and is_valid_session_id(none_id) else None
        report.check(
            fresh is not None and fresh.get("username") == "bob",
            _("works when the browser arrived without a session"),
            none_id,
        )
    return report.finish()


def check_host_cookie(header: str) -> bool:
    """A ``Set-Cookie`` header for the session: ``__Host-`` prefix, accepted by a browser from
    https://app.example.com, HttpOnly, SameSite=Lax or Strict. No Redis."""
    report = Report()
    try:
        cookie = parse_set_cookie(header)
    except (ValueError, AttributeError):
        report.check(False, _("is a Set-Cookie header (name=value; attributes)"), header)
        return report.finish()
    with report.guard():
        reason = BrowserModel.rejection(cookie, "https://app.example.com/login")
        report.check(cookie.name.startswith("__Host-"), _("the name starts with __Host-"), cookie.name)
        report.check(
            reason is None,
            _("a browser accepts it from {origin}", origin="https://app.example.com"),
            reason,
            trivial=True,
        )  # the stub's plain "session_id=…; Path=/" is accepted too
        report.check(cookie.httponly, _("HttpOnly (page scripts cannot read it)"))
        report.check(cookie.samesite in ("Lax", "Strict"), _("SameSite=Lax or Strict"), cookie.samesite)
    return report.finish()


#: A made-up "now" (epoch ms) for check_touch: the learner's code gets the clock as an argument,
#: so every case is exact, with no sleeping and no dependence on the machine's speed.
_NOW_MS = 1_700_000_000_000
_IDLE_TTL = 600  # seconds: each test session's own idle TTL (10 minutes)


def _ttl_words(pttl_ms: int) -> str:
    """A PTTL in words that do not change with the machine's speed: the check's own TTLs (2 s,
    5 s, 5 min, 10 min) tick down while it runs, so it names a range or whole minutes."""
    if pttl_ms == -2:
        return _("key gone")
    if pttl_ms == -1:
        return _("no TTL")
    for limit in (2, 5):
        if pttl_ms <= limit * 1000:
            return _("TTL {limit} s or less", limit=limit)
    if pttl_ms < 60_000:
        return _("TTL under a minute")
    return _("TTL about {minutes} min", minutes=round(pttl_ms / 60_000))


def _answered(answer: object, value: bool) -> bool:
    """``answer`` is ``value`` as a bool or an int (redis-py answers PEXPIRE with True or 1)."""
    return isinstance(answer, int) and bool(answer) is value


def check_touch(touch: Callable[[Any, str, int], object]) -> bool:
    """``touch(client, key, now_ms) -> bool``: the per-request step of a session with an idle and
    an absolute timeout. The session at ``key`` is JSON with ``idle_ttl`` (seconds) and
    ``absolute_deadline_ms`` (epoch ms), as ``SessionStore(absolute_ttl=…)`` writes it.

    Four sessions under a prefix of the check's own, each with a TTL set by PEXPIRE to play the
    time that passed; ``now_ms`` is a fixed made-up clock. Expected: an active session slides back
    to its idle TTL (10 min); one 2 s before its deadline gets at most 2 s; one past its deadline
    is deleted (False); a missing one answers False and writes nothing (trivial: a stub that
    returns False does that).
    """
    report = Report()
    with _store() as store, report.guard():
        client = store.r

        def session(name: str, deadline_in_ms: int, pttl_ms: int) -> str:
            key = f"{store.prefix}:{name}"
            value = {
                "user_id": "alice",
                "idle_ttl": _IDLE_TTL,
                "absolute_deadline_ms": _NOW_MS + deadline_in_ms,
            }
            client.set(key, json.dumps(value), px=pttl_ms)
            return key

        active = session("active", deadline_in_ms=3_600_000, pttl_ms=5_000)  # 5 s of idle time left
        late = session("late", deadline_in_ms=2_000, pttl_ms=300_000)  # 2 s before its deadline
        past = session("past", deadline_in_ms=-1, pttl_ms=300_000)  # its deadline has passed
        missing = f"{store.prefix}:missing"

        answer = touch(client, active, _NOW_MS)
        left = client.pttl(active)
        report.check(
            _answered(answer, True) and _IDLE_TTL * 500 < left <= _IDLE_TTL * 1000,
            _(
                "an active session: True, and its TTL slides back to its idle TTL ({minutes} min)",
                minutes=_IDLE_TTL // 60,
            ),
            _("answer {answer!r}, {ttl}", answer=answer, ttl=_ttl_words(left)),
        )
        answer = touch(client, late, _NOW_MS)
        left = client.pttl(late)
        report.check(
            _answered(answer, True) and 0 < left <= 2_000,
            _("{s} s before its absolute deadline: True, and a TTL of at most those {s} s", s=2),
            _("answer {answer!r}, {ttl}", answer=answer, ttl=_ttl_words(left)),
        )
        answer = touch(client, past, _NOW_MS)
        report.check(
            _answered(answer, False) and client.exists(past) == 0,
            _("past its absolute deadline: False, and the session is deleted from Redis"),
            _("answer {answer!r}, key still there", answer=answer)
            if client.exists(past)
            else _("answer {answer!r}, key gone", answer=answer),
        )
        answer = touch(client, missing, _NOW_MS)
        report.check(
            _answered(answer, False) and client.exists(missing) == 0,
            _("no session at the key: False, and no key written"),
            answer,
            trivial=True,
        )
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
        report.check(
            isinstance(found, list), _("returns a list"), type(found).__name__, trivial=True
        )  # a stub that returns [] does
        items = list(found) if isinstance(found, (list, tuple, set)) else []
        report.check(
            set(immortal) <= set(items),
            _("finds every session without a TTL (SET without EX, PERSIST)"),
            _("{found} of {total}", found=len(set(immortal) & set(items)), total=len(immortal)),
        )
        keys = [f for f in items if ":" in str(f)]
        report.check(
            bool(items) and not keys, _("returns session IDs, not key names"), keys[0] if keys else None
        )
        report.check(bool(items) and not set(mortal) & set(items), _("leaves out sessions that have a TTL"))
        report.check(
            bool(items) and not any("by-user" in str(f) for f in items), _("leaves out the per-user index")
        )
        report.check(bool(items) and len(items) == len(set(items)), _("no duplicates"))
    return report.finish()
