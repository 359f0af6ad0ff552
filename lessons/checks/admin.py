"""Checks for notebook 03's two "Your turn" cells (Exercise 3, session administration).

The check runs the learner's function on Redis, under a key prefix of its own inside this
learner's namespace (``course:{learner}:03:check-…``) that it deletes afterwards, prints one
``✓``/``✗`` line per property and a verdict (``lessons.checks.Report``), and returns True only if
every check passed.

    check_live_session_ids(live_session_ids);   # live_session_ids(client, prefix, user_id)
    check_lock_out(lock_out, login);            # lock_out(store, user_id), login(store, user_id)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from .. import backend
from ..admin import SessionAdmin
from ..backend import Client
from ..bench import populate
from ..classroom import namespace
from ..i18n import _
from ..interleave import pause_after, pause_before
from ..roundtrips import counting_client
from ..store import SessionStore
from . import Report

__all__ = ["check_live_session_ids", "check_lock_out", "disabled_key"]

#: Commands that walk the keyspace instead of reading the index.
_SCANS = frozenset({"SCAN", "KEYS"})


def check_live_session_ids(live_session_ids: Callable[[Client, str, Any], object]) -> bool:
    """``live_session_ids(client, prefix, user_id)`` must return the IDs of that user's live
    sessions, read from the index ``{prefix}-by-user:{user_id}``, in at most two round trips,
    without SCAN or KEYS, leaving out index entries whose session is gone.

    Set-up (its own prefix, 300 sessions of other users, user 7 with 3 sessions of which one is
    deleted behind the index's back, user 8 with 2): about 10 round trips, then the learner's
    function runs twice (user 7, and user 9 who has no sessions).
    """
    report = Report()
    client, trips = counting_client(backend.redis_url())
    prefix = namespace("03", f"check-{uuid.uuid4().hex[:8]}")
    try:
        store = SessionStore(client=client, prefix=prefix, default_ttl=60)
        populate(client, prefix, 300, ttl=60)
        mine = [store.create({"user_id": 7, "username": "grace"}) for _n in range(3)]
        theirs = [store.create({"user_id": 8, "username": "alan"}) for _n in range(2)]
        client.delete(store.key(mine[0]))  # gone, but its index entry stays behind
        live = sorted(mine[1:])
        with report.guard():
            with trips.measure() as m:
                got = live_session_ids(client, prefix, 7)
            report.check(
                isinstance(got, list), _("returns a list of session IDs"), type(got).__name__, trivial=True
            )
            ids = list(got) if isinstance(got, (list, tuple, set)) else []
            right = sorted(ids) == live
            report.check(
                right,
                _("returns exactly user {user}'s {n} live sessions", user=7, n=2),
                None
                if right
                else _(
                    "{ids} IDs: {mine} of them live sessions of user 7, "
                    "{theirs} of user 8, {deleted} of the deleted one",
                    ids=len(ids),
                    mine=len(set(ids) & set(live)),
                    theirs=len(set(ids) & set(theirs)),
                    deleted=int(mine[0] in ids),
                ),
            )
            scanned = [c for c in m.commands if c.split()[0] in _SCANS]
            report.check(
                right and not scanned,
                _("finds them through the index, without SCAN or KEYS"),
                scanned[0] if scanned else None,
            )
            report.check(right and m.count <= 2, _("in at most {n} round trips", n=2), m.count)
            nobody = live_session_ids(client, prefix, 9)
            report.check(nobody == [], _("returns [] for a user without sessions"), nobody, trivial=True)
    finally:
        backend.delete_prefix(client, prefix)
        client.close()
    return report.finish()


def disabled_key(prefix: str, user_id: object) -> str:
    """The key that marks an account disabled: ``{prefix}-disabled:{user_id}`` (the ``-`` keeps
    it out of the session pattern ``{prefix}:*``). No Redis."""
    return f"{prefix}-disabled:{user_id}"


def _live_sessions_of(client: Client, prefix: str, user_id: int) -> int:
    """How many live sessions of ``user_id`` exist under ``prefix``, found by SCAN (not the
    index, so a session written without its index entry is counted too)."""
    return sum(s.get("user_id") == user_id for s in SessionAdmin(client, prefix).list_sessions())


def _answer(value: object) -> str:
    """What a login answered, in words (never a token)."""
    return _("a session ID") if isinstance(value, str) else repr(value)


def _paused(stand_in: Any) -> bool:
    return bool(stand_in.pauses)


def check_lock_out(
    lock_out: Callable[[SessionStore, int], object], login: Callable[[SessionStore, int], object]
) -> bool:
    """``lock_out(store, user_id)`` must mark the account disabled (``disabled_key``, with a
    TTL) and then end all its sessions; ``login(store, user_id)`` must return a new session ID,
    or None for a disabled account, checking again after creating the session (and deleting it
    if the account was disabled meanwhile). Both use ``store.r`` for every command.

    Two races are staged with ``lessons.interleave``: a login paused between its account check
    and its ``store.create`` while ``lock_out`` runs (the check-then-create window), and a whole
    login run right after the first command of ``lock_out`` (a lock-out that revokes before it
    disables lets that login through). After each, no session of that account may be alive.
    Set-up and verification: a few round trips per property, on a prefix of its own.
    """
    report = Report()
    client = backend.connect(backend.redis_url())
    prefix = namespace("03", f"check-{uuid.uuid4().hex[:8]}")
    store = SessionStore(client=client, prefix=prefix, default_ttl=60)
    try:
        with report.guard():
            sid = login(store, 1)
            works = isinstance(sid, str) and (store.get(sid) or {}).get("user_id") == 1
            report.check(
                works,
                _("login gives an account in good standing a live session"),
                None if sid is None else _("login answered {answer}", answer=_answer(sid)),
            )
            mine = [store.create({"user_id": 2}) for _n in range(2)]
            other = store.create({"user_id": 3})
            lock_out(store, 2)
            alive = sum(store.get(s) is not None for s in mine)
            report.check(
                alive == 0,
                _("lock_out ends every session of the account"),
                _("{alive} of {n} still alive", alive=alive, n=2),
            )
            ttl = client.ttl(disabled_key(prefix, 2))
            report.check(
                ttl > 0,
                _("lock_out marks the account disabled: disabled_key(prefix, user_id), with a TTL"),
                {-2: _("no such key"), -1: _("a key without a TTL")}.get(ttl, ttl),
            )
            report.check(
                store.get(other) is not None,
                _("lock_out leaves other accounts alone"),
                _("another account's session was ended"),
                trivial=True,
            )
            before = _live_sessions_of(client, prefix, 2)
            refused = login(store, 2)
            report.check(
                refused is None and _live_sessions_of(client, prefix, 2) == before,
                _("login refuses a disabled account (None, no new session)"),
                _("login answered {answer}", answer=_answer(refused)),
                trivial=True,
            )

            # a login paused between its account check and its create, while lock_out runs
            racing = pause_before(client, "zadd", lambda: lock_out(store, 4))
            got = login(SessionStore(client=racing, prefix=prefix, default_ttl=60), 4)
            left = _live_sessions_of(client, prefix, 4)
            report.check(
                works and _paused(racing) and got is None and left == 0,
                _(
                    "race 1, lock_out runs while a login is between its check and "
                    "its create: the login answers None, no session survives"
                ),
                _("login answered {answer}, {left} session(s) alive", answer=_answer(got), left=left)
                if _paused(racing)
                else _("login never reached store.create"),
            )

            # a whole login right after lock_out's first command
            answers: list[object] = []
            inside = pause_after(client, "*", lambda: answers.append(login(store, 5)))
            lock_out(SessionStore(client=inside, prefix=prefix, default_ttl=60), 5)
            left = _live_sessions_of(client, prefix, 5)
            report.check(
                works and _paused(inside) and left == 0,
                _(
                    "race 2, a login runs in the middle of lock_out: no session "
                    "survives (disable first, then revoke)"
                ),
                _("{left} session(s) alive after lock_out", left=left)
                if _paused(inside)
                else _("lock_out sent no command through store.r"),
            )
    finally:
        backend.delete_prefix(client, prefix)
        client.close()
    return report.finish()
