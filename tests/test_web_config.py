"""Defect 8: a TTL of 0 (or less) is an error with a clear message, never "the default".

The old in-memory store read ``ttl or default_ttl``: ``ttl=0`` silently meant an hour, and
``default_ttl=0`` made every session expire at once. The environment's ``LESSONS_SESSION_TTL``
is checked the same way, naming the variable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

from lessons.backend import Client
from lessons.memory_store import MemoryStore
from lessons.web import app_from_env

if TYPE_CHECKING:
    from lessons.web import TestClient


@pytest.mark.parametrize("ttl", [0, -1, -3600])
def test_in_memory_store_refuses_a_default_ttl_that_is_not_positive(ttl: int) -> None:
    with pytest.raises(ValueError, match=r"default_ttl must be > 0 seconds"):
        MemoryStore(default_ttl=ttl)


@pytest.mark.parametrize("ttl", [0, -5])
def test_in_memory_create_refuses_ttl_zero_instead_of_using_the_default(ttl: int) -> None:
    store = MemoryStore(default_ttl=3600)
    with pytest.raises(ValueError, match=r"ttl must be > 0 seconds"):
        store.create({"user_id": 1}, ttl=ttl)
    assert store.list_sessions() == []


@pytest.mark.parametrize("ttl", [1.5, "60", True])
def test_in_memory_ttl_must_be_a_whole_number(ttl: Any) -> None:
    with pytest.raises(TypeError, match="whole number of seconds"):
        MemoryStore(default_ttl=ttl)


def test_in_memory_sessions_keep_their_own_ttl() -> None:
    store = MemoryStore(default_ttl=3600)
    sid = store.create({"user_id": 1}, ttl=30)
    assert store.get(sid, refresh=True) is not None
    assert 25 <= store.list_sessions(1)[0]["ttl"] <= 30  # slid to its own 30 s, not 3600


@pytest.mark.parametrize("kind", ["redis", "memory"])
@pytest.mark.parametrize("text", ["0", "-1", "abc", "1.5"])
def test_lessons_session_ttl_must_be_positive(redis_url: str, prefix: str, kind: str, text: str) -> None:
    env = {
        "REDIS_URL": redis_url,
        "LESSONS_SESSION_PREFIX": prefix,
        "LESSONS_SESSION_STORE": kind,
        "LESSONS_SESSION_TTL": text,
    }
    with pytest.raises(ValueError, match=rf"LESSONS_SESSION_TTL must be .*{text!r}"):
        app_from_env(env)


def test_an_empty_lessons_session_ttl_means_the_default(redis_url: str, prefix: str) -> None:
    from lessons.web import TestClient

    app = app_from_env({"REDIS_URL": redis_url, "LESSONS_SESSION_PREFIX": prefix, "LESSONS_SESSION_TTL": ""})
    r = TestClient(app, base_url="https://testserver").post(
        "/login", json={"username": "alice", "password": "wonderland"}
    )
    assert r.status_code == 200 and "Max-Age=3600" in r.headers["set-cookie"]


# -- issue 16, hole 10: every store option the notebooks recommend is reachable from the environment
def _served(redis_url: str, prefix: str, **settings: str) -> TestClient:
    from lessons.web import TestClient

    env = {"REDIS_URL": redis_url, "LESSONS_SESSION_PREFIX": prefix, **settings}
    return TestClient(app_from_env(env), base_url="https://testserver")


def _login(c: TestClient, password: str = "wonderland") -> httpx.Response:
    response: httpx.Response = c.post("/login", json={"username": "alice", "password": password})
    return response


def _session_keys(client: Client, prefix: str) -> list[str]:
    return [k for k in client.scan_iter(match=f"{prefix}:*") if len(k) > len(prefix) + 40]


@pytest.mark.parametrize(
    "setting,hashed", [(None, True), ("1", True), ("yes", True), ("0", False), ("off", False)]
)
def test_lessons_hash_ids_reaches_the_store(
    redis_url: str, client: Client, prefix: str, setting: str | None, hashed: bool
) -> None:
    import hashlib

    settings = {} if setting is None else {"LESSONS_HASH_IDS": setting}
    c = _served(redis_url, prefix, **settings)
    assert _login(c).status_code == 200
    token = c.cookies["session_id"]
    stored = hashlib.sha256(token.encode()).hexdigest() if hashed else token
    assert _session_keys(client, prefix) == [f"{prefix}:{stored}"]
    if hashed:  # the token is in no key name at all (nor in the per-user index's members)
        assert not any(token in key for key in client.scan_iter(match=f"{prefix}*"))


def test_lessons_absolute_ttl_caps_the_ttl(redis_url: str, client: Client, prefix: str) -> None:
    c = _served(redis_url, prefix, LESSONS_SESSION_TTL="600", LESSONS_ABSOLUTE_TTL="5")
    assert _login(c).status_code == 200
    assert c.get("/me").status_code == 200  # a sliding read: back to the idle TTL, capped
    [key] = _session_keys(client, prefix)
    assert 0 < client.pttl(key) <= 5000


def test_the_served_app_has_an_absolute_timeout_by_default(
    redis_url: str, client: Client, prefix: str
) -> None:
    from lessons.web.config import DEFAULT_ABSOLUTE_TTL

    c = _served(redis_url, prefix, LESSONS_SESSION_TTL=str(10 * DEFAULT_ABSOLUTE_TTL))
    assert _login(c).status_code == 200 and c.get("/me").status_code == 200
    [key] = _session_keys(client, prefix)
    assert DEFAULT_ABSOLUTE_TTL == 8 * 3600
    assert DEFAULT_ABSOLUTE_TTL - 60 < client.ttl(key) <= DEFAULT_ABSOLUTE_TTL


def test_lessons_absolute_ttl_none_turns_it_off(redis_url: str, client: Client, prefix: str) -> None:
    c = _served(redis_url, prefix, LESSONS_SESSION_TTL="40000", LESSONS_ABSOLUTE_TTL="none")
    assert _login(c).status_code == 200
    [key] = _session_keys(client, prefix)
    assert client.ttl(key) > 8 * 3600


def test_throttle_settings_reach_the_app(redis_url: str, client: Client, prefix: str) -> None:
    c = _served(redis_url, prefix, LESSONS_MAX_FAILURES_PER_ACCOUNT="2", LESSONS_FAILURE_WINDOW="120")
    assert [_login(c, "guess").status_code for _ in range(3)] == [401, 401, 429]
    counters = [k for k in client.scan_iter(match=f"{prefix}*") if k not in _session_keys(client, prefix)]
    assert counters and all(60_000 < client.pttl(k) <= 120_000 for k in counters)
    c2 = _served(redis_url, prefix + "b", LESSONS_MAX_FAILURES_PER_CLIENT="2")
    assert [c2.post("/login", json={"username": f"u{i}", "password": "x"}).status_code for i in range(3)] == [
        401,
        401,
        429,
    ]  # its keys are under prefix*: cleaned up


def test_trusted_proxies_reach_the_app(redis_url: str, prefix: str) -> None:
    from lessons.web import TestClient

    app = app_from_env(
        {
            "REDIS_URL": redis_url,
            "LESSONS_SESSION_PREFIX": prefix,
            "LESSONS_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1",
            "LESSONS_MAX_FAILURES_PER_CLIENT": "1",
        }
    )
    proxy = TestClient(app, base_url="https://testserver", client=("10.2.3.4", 1000))
    codes = [
        proxy.post(
            "/login",
            json={"username": f"u{i}", "password": "x"},
            headers={"X-Forwarded-For": f"198.51.100.{i}"},
        ).status_code
        for i in range(3)
    ]
    assert codes == [401, 401, 401]  # three clients behind the proxy, one failure each
    again = proxy.post(
        "/login", json={"username": "u9", "password": "x"}, headers={"X-Forwarded-For": "198.51.100.0"}
    )
    assert again.status_code == 429  # the first of them, at its limit of 1


def test_replicas_reach_the_store(redis_url: str, prefix: str) -> None:
    from lessons.replicated import ReplicatedStore
    from lessons.web.config import store_from_env

    env = {"REDIS_URL": redis_url, "LESSONS_SESSION_PREFIX": prefix}
    assert type(store_from_env(env)).__name__ == "SessionStore"
    store = store_from_env({**env, "LESSONS_REPLICAS": "1", "LESSONS_REPLICA_TIMEOUT_MS": "250"})
    assert isinstance(store, ReplicatedStore) and (store.replicas, store.timeout_ms) == (1, 250)
    assert store.hash_ids and store.absolute_ttl == 8 * 3600


@pytest.mark.parametrize(
    "name,value,says",
    [
        ("LESSONS_HASH_IDS", "maybe", "must be 1 or 0"),
        ("LESSONS_HASH_IDS", "2", "must be 1 or 0"),
        ("LESSONS_ABSOLUTE_TTL", "8h", "whole number of seconds"),
        ("LESSONS_ABSOLUTE_TTL", "0", "must be > 0 seconds"),
        ("LESSONS_ABSOLUTE_TTL", "-60", "must be > 0 seconds"),
        ("LESSONS_REPLICAS", "one", "whole number of replicas"),
        ("LESSONS_REPLICAS", "-1", "must be >= 0"),
        ("LESSONS_REPLICA_TIMEOUT_MS", "0", "must be >= 1"),
        ("LESSONS_MAX_FAILURES_PER_ACCOUNT", "0", "must be >= 1"),
        ("LESSONS_MAX_FAILURES_PER_CLIENT", "lots", "whole number of failed logins"),
        ("LESSONS_FAILURE_WINDOW", "15m", "whole number of seconds"),
        ("LESSONS_TRUSTED_PROXIES", "10.0.0.5, nginx", "'nginx' is not an IP address"),
        ("LESSONS_TRUSTED_PROXIES", "*", "'*' is not an IP address"),
    ],
)
def test_a_malformed_setting_is_one_line_naming_the_variable(
    redis_url: str, prefix: str, name: str, value: str, says: str
) -> None:
    from lessons.web.config import ConfigError

    with pytest.raises(ConfigError, match=f"^{name}") as caught:
        app_from_env({"REDIS_URL": redis_url, "LESSONS_SESSION_PREFIX": prefix, name: value})
    message = str(caught.value)
    assert message.startswith(name) and says in message and "\n" not in message


@pytest.mark.parametrize("name", ["LESSONS_ABSOLUTE_TTL", "LESSONS_REPLICAS"])
def test_the_memory_store_refuses_redis_only_settings(name: str) -> None:
    from lessons.web.config import ConfigError

    with pytest.raises(ConfigError, match=f"{name} needs LESSONS_SESSION_STORE=redis"):
        app_from_env({"LESSONS_SESSION_STORE": "memory", name: "60"})
