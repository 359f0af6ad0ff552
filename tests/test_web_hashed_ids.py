"""Defect 1: ``/sessions``, ``DELETE /sessions/{id}`` and ``/logout-all`` behind a
``SessionStore(hash_ids=True)`` work exactly as behind a plain store, on both backends.

Before the fix, the app listed sessions by their stored hash and deleted by hashing it again:
``DELETE`` answered 200 but the other device stayed logged in, no entry was ``current``, and
ending your own session did nothing.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from pytest import FixtureRequest

from lessons.backend import Client
from lessons.store import SessionStore
from lessons.web import TestClient, create_app, session_handle

TTL = 60
ALICE = {"username": "alice", "password": "wonderland"}
BOB = {"username": "bob", "password": "builder"}


@pytest.fixture(params=[True, False], ids=["hashed", "plain"])
def store(request: FixtureRequest, client: Client, prefix: str) -> SessionStore:
    return SessionStore(client=client, prefix=prefix, default_ttl=TTL, hash_ids=request.param)


@pytest.fixture
def app(store: SessionStore) -> FastAPI:
    return create_app(store)


def logged_in(app: FastAPI, creds: dict[str, str] = ALICE) -> TestClient:
    c = TestClient(app, base_url="https://testserver")
    assert c.post("/login", json=creds).status_code == 200
    return c


def handle(store: SessionStore, c: TestClient) -> str:
    return session_handle(store.keys.stored_id(c.cookies["session_id"]))


def test_sessions_marks_the_callers_entry_current(app: FastAPI, store: SessionStore) -> None:
    laptop, phone = logged_in(app), logged_in(app)
    for me in (laptop, phone):
        items = me.get("/sessions").json()["sessions"]
        assert {i["id"] for i in items} == {handle(store, laptop), handle(store, phone)}
        assert [i["id"] for i in items if i["current"]] == [handle(store, me)]


def test_ending_the_other_devices_session_logs_it_out(
    app: FastAPI, store: SessionStore, client: Client
) -> None:
    laptop, phone = logged_in(app), logged_in(app)
    bob = logged_in(app, BOB)
    r = laptop.delete(f"/sessions/{handle(store, phone)}")
    assert r.status_code == 200 and r.json()["current"] is False
    assert phone.get("/me").status_code == 401
    assert client.exists(store.key(phone.cookies["session_id"])) == 0
    assert laptop.get("/me").status_code == 200 and bob.get("/me").status_code == 200
    assert [i["current"] for i in laptop.get("/sessions").json()["sessions"]] == [True]


def test_ending_my_own_session_logs_me_out(app: FastAPI, store: SessionStore, client: Client) -> None:
    laptop = logged_in(app)
    token = laptop.cookies["session_id"]
    r = laptop.delete(f"/sessions/{handle(store, laptop)}")
    assert r.status_code == 200 and r.json()["current"] is True
    assert "max-age=0" in r.headers["set-cookie"].lower()
    assert client.exists(store.key(token)) == 0
    assert (
        TestClient(app, base_url="https://testserver")
        .get("/me", headers={"Cookie": f"session_id={token}"})
        .status_code
        == 401
    )


def test_logout_all_and_no_token_or_stored_id_in_answers(app: FastAPI, store: SessionStore) -> None:
    laptop, phone = logged_in(app), logged_in(app)
    secrets_ = [laptop.cookies["session_id"], phone.cookies["session_id"]]
    secrets_ += [store.keys.stored_id(t) for t in secrets_]
    r = laptop.get("/sessions")
    for value in secrets_:
        assert value not in r.text
    r = phone.post("/logout-all")
    assert r.status_code == 200 and r.json()["ended"] == 2
    assert laptop.get("/me").status_code == 401 and phone.get("/me").status_code == 401


def test_a_token_or_a_stored_id_is_not_a_handle(app: FastAPI, store: SessionStore) -> None:
    laptop, phone = logged_in(app), logged_in(app)
    token = phone.cookies["session_id"]
    for guess in [token, store.keys.stored_id(token), session_handle(token) if store.hash_ids else "0" * 16]:
        assert laptop.delete(f"/sessions/{guess}").status_code == 404
    assert phone.get("/me").status_code == 200
