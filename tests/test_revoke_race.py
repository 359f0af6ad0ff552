"""Issue 16, item 5: a login racing a revoke (or a listing) must never hide a session.

``create`` (and ``regenerate``, which also makes a new session) writes the user's index entry,
then the session. Before the fix, a ``revoke_all_sessions`` or a ``list_sessions(user)`` that
read the index between those two steps found the session missing and removed its entry, so the
session, written a moment later, lived on unlisted, and every later revoke missed it.

Here the project's ``lessons.interleave`` stops the login at EVERY point of its command sequence
(before its first command, after each command it sends or queues, pipelines without MULTI split
exactly there) and runs the revoke, or the listing, right then. Whatever the point, afterwards
every live session of the user (found by SCAN, which needs no index) is listed by
``list_sessions(user)`` and ended by the next ``revoke_all_sessions``; and a racing revoke always
ends the sessions that existed before the login began.

Backends: the embedded one, the real Redis at ``$REDIS_URL`` (a single Redis, or a cluster in
CI's cluster pass), and a 3-master + 3-replica Redis Cluster this module starts from
``redis-server`` (the ``ha_cluster`` fixture; run in the pass that runs the embedded tests).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest import FixtureRequest

from lessons import backend
from lessons.admin import SessionAdmin, keys_without_ttl
from lessons.errors import SessionNotFound
from lessons.interleave import pause_after, pause_before, recording
from lessons.replicated import ReplicatedStore
from lessons.store import SessionStore

USER = 42
TTL = 60


@pytest.fixture(params=["embedded", "real", "cluster"])
def target(request: FixtureRequest) -> Iterator[tuple[str, Any, str]]:
    """(backend name, client, a key prefix owned by this test); at teardown every key under the
    prefix must have a TTL, then all of them are deleted."""
    url = os.environ.get("REDIS_URL", "")
    if request.param != "real" and os.environ.get("COURSE_SKIP_EMBEDDED") == "1":
        pytest.skip("COURSE_SKIP_EMBEDDED=1: this variant ran in the embedded pass")
    if request.param == "cluster":
        if url and backend.is_cluster(url):
            pytest.skip("REDIS_URL is a Redis Cluster: the 'real' variant runs on it")
        client = request.getfixturevalue("ha_cluster").client()
    elif request.param == "real":
        if not url:
            pytest.skip("REDIS_URL is not set: no real Redis to test against")
        client = backend.connect(url)
    else:
        client = backend.connect(backend.embedded_url())
    prefix = f"test-race-{uuid.uuid4().hex[:10]}"
    try:
        yield request.param, client, prefix
        immortal = keys_without_ttl(client, f"{prefix}*")
        assert not immortal, f"keys without a TTL were left behind: {immortal}"
    finally:
        backend.delete_prefix(client, prefix)
        client.close()


def make_store(kind: str, where: str, client: Any, prefix: str) -> SessionStore:
    """A fresh store of ``kind``: plain, hash_ids, or ReplicatedStore (SET + WAIT after the
    index: two round trips; one replica on the started cluster, none on a single Redis)."""
    if kind == "wait":
        if where == "embedded":
            pytest.skip("the embedded server has no WAIT")
        return ReplicatedStore(
            client=client,
            prefix=prefix,
            default_ttl=TTL,
            replicas=1 if where == "cluster" else 0,
            timeout_ms=2000,
        )
    return SessionStore(client=client, prefix=prefix, default_ttl=TTL, hash_ids=kind == "hashed")


def live_sessions(admin: SessionAdmin) -> set[str]:
    """The user's live sessions, found by SCAN: the truth, needing no index."""
    return {s["session_id"] for s in admin.list_sessions() if s.get("user_id") == USER}


def points(login: Callable[[Any], object], client: Any) -> int:
    """How many commands ``login(stand-in)`` calls (a dry run on a recording stand-in)."""
    seen = recording(client)
    login(seen)
    return len(seen.log)


@pytest.mark.parametrize("kind", ["plain", "hashed", "wait"])
@pytest.mark.parametrize("operation", ["create", "regenerate"])
@pytest.mark.parametrize("racer", ["revoke", "list"])
def test_a_login_at_any_point_of_a_revoke_or_listing_stays_listed_and_revocable(
    target: tuple[str, Any, str], kind: str, operation: str, racer: str
) -> None:
    where, client, prefix = target
    plain = make_store(kind, where, client, prefix)
    admin = SessionAdmin.for_store(plain)

    def login(stand_in: Any) -> object:
        store = make_store(kind, where, stand_in, prefix)  # a fresh store: nothing learned yet
        if operation == "create":
            return store.create({"user_id": USER, "username": "alice"})
        old = plain.create({"user_id": USER, "username": "alice"})
        try:
            return store.regenerate(old)
        except SessionNotFound:  # the revoke ended the old session first: no new one
            assert racer == "revoke"
            return None

    racing = admin.revoke_all_sessions if racer == "revoke" else admin.list_sessions

    count = points(login, client)
    assert count >= 4  # at least: index entry (ZADD, 2 x PEXPIRE) and SET
    admin.revoke_all_sessions(USER)
    failures = []
    # k < count: before the k-th command; k == count: after the last one
    for k in range(count + 1):
        before = plain.create({"user_id": USER, "username": "alice"})  # listed, to be revoked
        before_stored = plain.keys.stored_id(before)
        if k < count:
            stand_in = pause_before(client, "*", lambda: racing(USER), skip=k)
        else:
            stand_in = pause_after(client, "*", lambda: racing(USER), skip=count - 1)
        login(stand_in)
        assert any(line.startswith("(paused") for line in stand_in.log), stand_in.log
        where_paused = " → ".join(stand_in.log)
        live = live_sessions(admin)
        listed = {s["session_id"] for s in admin.list_sessions(USER)}
        if racer == "revoke" and before_stored in live:
            failures.append(f"{where_paused}: a session older than the revoke survived it")
        if live != listed:
            failures.append(f"{where_paused}: {len(live - listed)} live session(s) not listed")
        ended = admin.revoke_all_sessions(USER)
        left = live_sessions(admin)
        if left or ended != len(live):
            failures.append(
                f"{where_paused}: the next revoke ended {ended} of {len(live)}, {len(left)} still alive"
            )
        admin.revoke_by_scan(USER)  # each point starts clean, even after a failure
    assert not failures, "\n".join(failures)
