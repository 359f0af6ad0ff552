"""Defect 8: a TTL of 0 (or less) is an error with a clear message, never "the default".

The old in-memory store read ``ttl or default_ttl``: ``ttl=0`` silently meant an hour, and
``default_ttl=0`` made every session expire at once. The environment's ``LESSONS_SESSION_TTL``
is checked the same way, naming the variable.
"""

from __future__ import annotations

import pytest

from lessons.web import InMemorySessionStore, app_from_env


@pytest.mark.parametrize("ttl", [0, -1, -3600])
def test_in_memory_store_refuses_a_default_ttl_that_is_not_positive(ttl):
    with pytest.raises(ValueError, match=r"default_ttl must be > 0 seconds"):
        InMemorySessionStore(default_ttl=ttl)


@pytest.mark.parametrize("ttl", [0, -5])
def test_in_memory_create_refuses_ttl_zero_instead_of_using_the_default(ttl):
    store = InMemorySessionStore(default_ttl=3600)
    with pytest.raises(ValueError, match=r"ttl must be > 0 seconds"):
        store.create({"user_id": 1}, ttl=ttl)
    assert store.list_sessions() == []


@pytest.mark.parametrize("ttl", [1.5, "60", True])
def test_in_memory_ttl_must_be_a_whole_number(ttl):
    with pytest.raises(TypeError, match="whole number of seconds"):
        InMemorySessionStore(default_ttl=ttl)


def test_in_memory_sessions_keep_their_own_ttl():
    store = InMemorySessionStore(default_ttl=3600)
    sid = store.create({"user_id": 1}, ttl=30)
    assert store.get(sid, refresh=True) is not None
    assert 25 <= store.list_sessions(1)[0]["ttl"] <= 30  # slid to its own 30 s, not 3600


@pytest.mark.parametrize("kind", ["redis", "memory"])
@pytest.mark.parametrize("text", ["0", "-1", "abc", "1.5"])
def test_lessons_session_ttl_must_be_positive(redis_url, prefix, kind, text):
    env = {"REDIS_URL": redis_url, "LESSONS_SESSION_PREFIX": prefix,
           "LESSONS_SESSION_STORE": kind, "LESSONS_SESSION_TTL": text}
    with pytest.raises(ValueError, match=rf"LESSONS_SESSION_TTL must be .*{text!r}"):
        app_from_env(env)


def test_an_empty_lessons_session_ttl_means_the_default(redis_url, prefix):
    from lessons.web import TestClient

    app = app_from_env({"REDIS_URL": redis_url, "LESSONS_SESSION_PREFIX": prefix,
                        "LESSONS_SESSION_TTL": ""})
    r = TestClient(app, base_url="https://testserver").post(
        "/login", json={"username": "alice", "password": "wonderland"})
    assert r.status_code == 200 and "Max-Age=3600" in r.headers["set-cookie"]
