"""Checks for notebook 03's "Your turn" cell (Exercise 3, session administration).

The check runs the learner's function on Redis, under a key prefix of its own inside this
learner's namespace (``course:{learner}:03:check-…``) that it deletes afterwards, prints one
``✓``/``✗`` line per property and a verdict (``lessons.checks.Report``), and returns True only if
every check passed.

    check_live_session_ids(live_session_ids);   # live_session_ids(client, prefix, user_id)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from .. import backend
from ..backend import Client
from ..bench import populate
from ..classroom import namespace
from ..roundtrips import counting_client
from ..store import SessionStore
from . import Report

__all__ = ["check_live_session_ids"]

#: Commands that walk the keyspace instead of reading the index.
_SCANS = frozenset({"SCAN", "KEYS"})


def check_live_session_ids(
        live_session_ids: Callable[[Client, str, Any], object]) -> bool:
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
        mine = [store.create({"user_id": 7, "username": "grace"}) for _ in range(3)]
        theirs = [store.create({"user_id": 8, "username": "alan"}) for _ in range(2)]
        client.delete(store.key(mine[0]))  # gone, but its index entry stays behind
        live = sorted(mine[1:])
        with report.guard():
            with trips.measure() as m:
                got = live_session_ids(client, prefix, 7)
            report.check(isinstance(got, list), "returns a list of session IDs",
                         type(got).__name__)
            ids = list(got) if isinstance(got, (list, tuple, set)) else []
            right = sorted(ids) == live
            report.check(right, "returns exactly user 7's 2 live sessions",
                         None if right else f"{len(ids)} IDs: {len(set(ids) & set(live))} of "
                         f"them live sessions of user 7, {len(set(ids) & set(theirs))} of "
                         f"user 8, {int(mine[0] in ids)} of the deleted one")
            scanned = [c for c in m.commands if c.split()[0] in _SCANS]
            report.check(right and not scanned, "finds them through the index, without SCAN "
                         "or KEYS", scanned[0] if scanned else None)
            report.check(right and m.count <= 2, "in at most 2 round trips", m.count)
            nobody = live_session_ids(client, prefix, 9)
            report.check(nobody == [], "returns [] for a user without sessions", nobody)
    finally:
        backend.delete_prefix(client, prefix)
        client.close()
    return report.finish()
