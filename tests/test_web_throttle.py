"""Defect 6: failed logins are throttled per account and per client, with counters in Redis.

Before the fix, 40 clients could guess ~30 passwords a second for ever, and the scrypt checks
ran in the same thread pool as every other request. Now: at most 5 failures per account and 20
per client address within 15 minutes, then 429 with ``Retry-After`` and no scrypt run; the
counters are keys under the store's prefix, with TTLs; a correct password clears the account's.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import pytest
from fastapi import FastAPI
from pytest import MonkeyPatch

from lessons.backend import Client
from lessons.memory_store import MemoryStore
from lessons.roundtrips import RoundTrips
from lessons.store import SessionStore
from lessons.web import TestClient, create_app

PER_NODE = (
    "a pipeline, or requests to keys in two slots, cost one request per node on a cluster, so "
    "single-server round-trip counts differ (tests/test_rediscluster_store.py checks the cluster's)"
)

ALICE = {"username": "alice", "password": "wonderland"}
WRONG = {"username": "alice", "password": "guess"}
WINDOW = 900


@pytest.fixture
def store(counted_client: tuple[Client, RoundTrips], prefix: str) -> SessionStore:
    return SessionStore(client=counted_client[0], prefix=prefix, default_ttl=60)


@pytest.fixture
def app(store: SessionStore) -> FastAPI:
    return create_app(store)


@pytest.fixture
def scrypt_calls(monkeypatch: MonkeyPatch) -> list[str]:
    """Thread names of the scrypt runs from now on (hashlib.scrypt, counted)."""
    calls: list[str] = []
    real = hashlib.scrypt

    def counted(*args: Any, **kwargs: Any) -> bytes:
        calls.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counted)
    return calls


def https(app: FastAPI) -> TestClient:
    return TestClient(app, base_url="https://testserver")


def fail(c: TestClient, times: int, username: str = "alice") -> None:
    for _ in range(times):
        r = c.post("/login", json={"username": username, "password": "guess"})
        assert r.status_code == 401, r.text


def test_the_sixth_failure_gets_429_with_retry_after(app: FastAPI) -> None:
    c = https(app)
    fail(c, 5)
    r = c.post("/login", json=WRONG)
    assert r.status_code == 429
    assert r.json() == {"detail": "Too many failed logins; try again later"}
    assert WINDOW - 5 <= int(r.headers["retry-after"]) <= WINDOW
    assert "set-cookie" not in r.headers
    # while the account is locked, even the right password waits (else the 429 would leak it)
    assert c.post("/login", json=ALICE).status_code == 429
    assert (
        https(app).post("/login", json={"username": "bob", "password": "builder"}).status_code == 200
    )  # another account is not affected


def test_counters_are_keys_under_the_prefix_with_ttls(
    app: FastAPI, store: SessionStore, client: Client, prefix: str
) -> None:
    fail(https(app), 2)
    account = store.keys.login_failures_key("account", "alice")
    by_client = store.keys.login_failures_key("client", "testclient")  # TestClient's address
    assert client.get(account) == "2" and client.get(by_client) == "2"
    for key in (account, by_client):
        assert key.startswith(prefix) and "alice" not in key and "testclient" not in key
        assert 0 < client.pttl(key) <= WINDOW * 1000
    assert sorted(client.scan_iter(match=f"{prefix}-login-failures:*")) == sorted([account, by_client])


def test_the_window_starts_at_the_first_failure(app: FastAPI, store: SessionStore, client: Client) -> None:
    c = https(app)
    fail(c, 1)
    account = store.keys.login_failures_key("account", "alice")
    client.pexpire(account, 3000)
    fail(c, 4)  # more failures do not extend the window
    assert client.pttl(account) <= 3000
    r = c.post("/login", json=WRONG)
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 3  # not 900


@pytest.mark.cluster_unsupported(PER_NODE)
def test_a_correct_password_clears_the_account_counter(
    app: FastAPI, store: SessionStore, client: Client, trips: RoundTrips
) -> None:
    c = https(app)
    fail(c, 4)
    with trips.measure() as m:
        assert c.post("/login", json=ALICE).status_code == 200
    assert m.count == 3  # check, DEL of the account counter, create
    assert client.exists(store.key(c.cookies["session_id"])) == 1
    assert client.exists(store.keys.login_failures_key("account", "alice")) == 0
    assert client.get(store.keys.login_failures_key("client", "testclient")) == "4"
    fail(c, 5)  # five more allowed
    assert c.post("/login", json=WRONG).status_code == 429


def test_the_per_client_limit_spans_accounts(store: SessionStore) -> None:
    app = create_app(store, max_failures_per_client=3)
    c = https(app)
    for name in ("alice", "bob", "carol"):
        fail(c, 1, name)
    r = c.post("/login", json={"username": "dave", "password": "guess"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > WINDOW - 5


@pytest.mark.cluster_unsupported(PER_NODE)
def test_a_throttled_attempt_costs_no_scrypt_and_one_round_trip(
    app: FastAPI, scrypt_calls: list[str], trips: RoundTrips
) -> None:
    c = https(app)
    with trips.measure() as m:
        fail(c, 5)
    assert len(scrypt_calls) == 5 and m.count == 10  # each failure: check + count
    with trips.measure() as m:
        for _ in range(10):
            assert c.post("/login", json=WRONG).status_code == 429
    assert len(scrypt_calls) == 5  # no password check at all
    assert m.count == 10  # one round trip each: the check


def test_password_checks_run_in_their_own_small_pool(app: FastAPI, scrypt_calls: list[str]) -> None:
    c = https(app)
    assert c.post("/login", json=ALICE).status_code == 200
    fail(c, 1)
    assert len(scrypt_calls) == 2
    assert all(name.startswith("password-check") for name in scrypt_calls), scrypt_calls


def test_unknown_accounts_are_throttled_alike(app: FastAPI) -> None:
    c = https(app)
    fail(c, 5, "mallory")
    assert c.post("/login", json={"username": "mallory", "password": "x"}).status_code == 429


def test_the_in_memory_store_is_throttled_too() -> None:
    app = create_app(MemoryStore(default_ttl=60), max_failures_per_account=2)
    c = https(app)
    fail(c, 2)
    r = c.post("/login", json=WRONG)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > WINDOW - 5


@pytest.mark.parametrize(
    "option,named",
    [
        ("max_failures_per_account", "per_account"),
        ("max_failures_per_client", "per_client"),
        ("failure_window", "window"),
        ("password_threads", "password_threads"),
    ],
)
@pytest.mark.parametrize("value", [0, -1, True])
def test_throttle_options_must_be_positive(option: str, named: str, value: Any) -> None:
    with pytest.raises(ValueError, match=named):
        create_app(MemoryStore(), {}, **{option: value})
