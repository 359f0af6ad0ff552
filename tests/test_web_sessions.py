"""Users see and end their own sessions (OWASP ASVS V3/V7): ``GET /sessions``,
``DELETE /sessions/{id}``, ``POST /logout-all`` of ``lessons.web``, on both backends.

Two logged-in clients per user (a laptop and a phone), each a ``TestClient`` on
``https://testserver`` so the Secure cookie is sent back. Asserted: status codes, what each
client sees, that no response ever carries a session token, what is left in Redis, and that the
round trips do not grow with the number of other sessions in Redis.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI

from lessons import bench
from lessons.admin import SessionAdmin
from lessons.backend import Client
from lessons.roundtrips import RoundTrips
from lessons.store import SessionStore
from lessons.web import TestClient, create_app, session_handle

PER_NODE = (
    "a pipeline, or requests to keys in two slots, cost one request per node on a cluster, so "
    "single-server round-trip counts differ (tests/test_rediscluster_store.py checks the cluster's)"
)

TTL = 60
ALICE = {"username": "alice", "password": "wonderland"}  # user_id 1 in DEMO_USERS
BOB = {"username": "bob", "password": "builder"}  # user_id 2


@pytest.fixture
def store(counted_client: tuple[Client, RoundTrips], prefix: str) -> SessionStore:
    return SessionStore(client=counted_client[0], prefix=prefix, default_ttl=TTL)


@pytest.fixture
def app(store: SessionStore) -> FastAPI:
    return create_app(store)


def logged_in(app: FastAPI, creds: dict[str, str] = ALICE) -> TestClient:
    c = TestClient(app, base_url="https://testserver")
    r = c.post("/login", json=creds)
    assert r.status_code == 200, r.text
    return c


def token(c: TestClient) -> str:
    value: str = c.cookies["session_id"]
    return value


def my_sessions(c: TestClient) -> list[dict[str, Any]]:
    r = c.get("/sessions")
    assert r.status_code == 200, r.text
    return cast("list[dict[str, Any]]", r.json()["sessions"])


def assert_no_token(response: httpx.Response, tokens: Iterable[str]) -> None:
    """Neither the body nor any header except the caller's own Set-Cookie holds a token."""
    headers = {k: v for k, v in response.headers.items() if k.lower() != "set-cookie"}
    for t in tokens:
        assert t not in response.text and t[:12] not in response.text
        assert not any(t in v for v in headers.values())


# -- two clients, one user -------------------------------------------------------------------------
def test_two_clients_see_the_same_sessions_each_marked_current_on_its_own(app: FastAPI) -> None:
    laptop, phone = logged_in(app), logged_in(app)
    seen_by_laptop, seen_by_phone = my_sessions(laptop), my_sessions(phone)
    handles = {session_handle(token(laptop)), session_handle(token(phone))}
    assert {s["id"] for s in seen_by_laptop} == handles == {s["id"] for s in seen_by_phone}
    assert [s["id"] for s in seen_by_laptop if s["current"]] == [session_handle(token(laptop))]
    assert [s["id"] for s in seen_by_phone if s["current"]] == [session_handle(token(phone))]
    for s in seen_by_laptop:
        assert re.fullmatch(r"[0-9a-f]{16}", s["id"])
        assert s["created_at"] and s["last_accessed"] and 0 < s["expires_in"] <= TTL


def test_the_laptop_ends_the_phone_session_then_the_phone_ends_everything(
    app: FastAPI, client: Client, prefix: str
) -> None:
    laptop, phone = logged_in(app), logged_in(app)
    bob = logged_in(app, BOB)
    phone_token = token(phone)
    r = laptop.delete(f"/sessions/{session_handle(phone_token)}")
    assert r.status_code == 200 and r.json()["current"] is False
    assert phone.get("/me").status_code == 401
    assert client.exists(f"{prefix}:{phone_token}") == 0
    assert [s["current"] for s in my_sessions(laptop)] == [True]
    # the phone logs in again, then logs out everywhere
    phone = logged_in(app)
    r = phone.post("/logout-all")
    assert r.status_code == 200 and r.json()["ended"] == 2
    assert laptop.get("/me").status_code == 401 and phone.get("/me").status_code == 401
    assert laptop.get("/sessions").status_code == 401
    assert bob.get("/me").status_code == 200 and len(my_sessions(bob)) == 1
    assert client.exists(f"{prefix}-by-user:1") == 0
    assert SessionAdmin(client, prefix).list_sessions(1) == []


def test_nobody_can_end_someone_elses_session(app: FastAPI) -> None:
    alice, bob = logged_in(app), logged_in(app, BOB)
    for handle in [session_handle(token(alice)), token(alice), token(alice)[:16]]:
        r = bob.delete(f"/sessions/{handle}")
        assert r.status_code == 404
        assert_no_token(r, [token(alice), token(bob)])
    assert alice.get("/me").status_code == 200
    assert len(my_sessions(alice)) == 1


# -- never a token -----------------------------------------------------------------------------------
def test_no_session_endpoint_response_contains_a_token(app: FastAPI, store: SessionStore) -> None:
    laptop, phone = logged_in(app), logged_in(app)
    bob = logged_in(app, BOB)
    tokens = [token(laptop), token(phone), token(bob)]
    # a session regenerated behind the scenes: its old and new IDs are tokens too
    extra = store.create({"user_id": 1, "username": "alice"})
    regenerated = store.regenerate(extra)
    tokens += [extra, regenerated]
    r = laptop.get("/sessions")
    assert len(r.json()["sessions"]) == 3
    assert session_handle(regenerated) in r.text and session_handle(extra) not in r.text
    assert_no_token(r, tokens)
    r = laptop.delete(f"/sessions/{session_handle(regenerated)}")
    assert r.status_code == 200
    assert_no_token(r, tokens)
    r = phone.post("/logout-all")
    assert r.status_code == 200
    assert_no_token(r, tokens)
    assert_no_token(bob.get("/sessions"), tokens)


# -- expiry and the index ------------------------------------------------------------------------------
def test_expired_sessions_are_not_listed_and_their_index_entries_go(
    app: FastAPI, store: SessionStore, client: Client, prefix: str
) -> None:
    import time

    laptop = logged_in(app)
    brief = store.create({"user_id": 1, "username": "alice"}, ttl=1)
    assert len(my_sessions(laptop)) == 2
    deadline = time.monotonic() + 4
    while client.exists(f"{prefix}:{brief}") and time.monotonic() < deadline:
        time.sleep(0.05)
    items = my_sessions(laptop)
    assert [s["id"] for s in items] == [session_handle(token(laptop))]
    # its entry goes once its score (a time by which the session has surely expired) has passed
    score = client.zscore(f"{prefix}-by-user:1", brief) or 0
    while time.time() * 1000 <= score:
        time.sleep((score - time.time() * 1000) / 1000 + 0.01)
    assert len(my_sessions(laptop)) == 1
    assert client.zrange(f"{prefix}-by-user:1", 0, -1) == [token(laptop)]  # pruned
    assert laptop.delete(f"/sessions/{session_handle(brief)}").status_code == 404


# -- cost does not grow with other users' sessions ---------------------------------------------------------
@pytest.mark.cluster_unsupported(PER_NODE)
def test_round_trips_do_not_grow_with_other_sessions(
    app: FastAPI, store: SessionStore, trips: RoundTrips, client: Client, prefix: str
) -> None:
    counts = []
    for population in (0, 2000):
        bench.populate(client, prefix, population, ttl=TTL)
        laptop, phone = logged_in(app), logged_in(app)
        with trips.measure() as listing:
            assert len(my_sessions(laptop)) == 2
        with trips.measure() as ending:
            assert laptop.delete(f"/sessions/{session_handle(token(phone))}").status_code == 200
        phone = logged_in(app)
        with trips.measure() as everything:
            assert phone.post("/logout-all").json()["ended"] == 2
        counts.append((listing.count, ending.count, everything.count))
        for m in (listing, ending, everything):
            assert not any(c.startswith("SCAN") for c in m.commands), m.commands
    assert counts[0] == counts[1]
    listing_trips, ending_trips, everything_trips = counts[0]
    assert listing_trips <= 4 and ending_trips <= 6 and everything_trips == 4  # 1 (touch) + 3 (revoke)


@pytest.mark.parametrize(
    "method,path", [("GET", "/sessions"), ("POST", "/logout-all"), ("DELETE", "/sessions/0123456789abcdef")]
)
def test_a_logged_out_client_gets_401(app: FastAPI, method: str, path: str) -> None:
    c = logged_in(app)
    assert c.post("/logout").status_code == 200
    assert c.request(method, path).status_code == 401
