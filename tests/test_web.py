"""``lessons.web``: the FastAPI session app, on both backends.

Every test asserts what a client sees (status codes, cookies, JSON) and what is left in Redis,
and counts Redis round trips where the docstring of ``lessons.web`` promises a number.
"""

from __future__ import annotations

import hashlib
import re
import time
from http.cookies import Morsel, SimpleCookie
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.requests import Request

from lessons import web
from lessons.backend import Client
from lessons.memory_store import MemoryStore
from lessons.processes import free_port
from lessons.roundtrips import RoundTrips
from lessons.store import SessionStore, is_valid_session_id
from lessons.web import (
    STORE_UNAVAILABLE,
    TestClient,
    create_app,
    hash_password,
    session_handle,
    verify_password,
)

PER_NODE = (
    "a pipeline, or requests to keys in two slots, cost one request per node on a cluster, so "
    "single-server round-trip counts differ (tests/test_rediscluster_store.py checks the cluster's)"
)

TTL = 60
ALICE = {"username": "alice", "password": "wonderland"}
BOB = {"username": "bob", "password": "builder"}


# -- fixtures and helpers ------------------------------------------------------------------------
@pytest.fixture
def store(counted_client: tuple[Client, RoundTrips], prefix: str) -> SessionStore:
    return SessionStore(client=counted_client[0], prefix=prefix, default_ttl=TTL)


@pytest.fixture
def app(store: SessionStore) -> FastAPI:
    return create_app(store)


def https(app: FastAPI) -> TestClient:
    """A client on https://testserver, so the Secure cookie is sent back."""
    return TestClient(app, base_url="https://testserver")


def login(app: FastAPI, creds: dict[str, str] = ALICE) -> TestClient:
    c = https(app)
    r = c.post("/login", json=creds)
    assert r.status_code == 200, r.text
    return c


def set_cookies(response: httpx.Response) -> list[SimpleCookie]:
    cookies = []
    for header in response.headers.get_list("set-cookie"):
        jar = SimpleCookie()
        jar.load(header)
        cookies.append(jar)
    return cookies


def the_cookie(response: httpx.Response, name: str = "session_id") -> Morsel[str]:
    (jar,) = set_cookies(response)
    return jar[name]


def cookie_header(value: str, name: str = "session_id") -> dict[str, str]:
    return {"Cookie": f"{name}={value}"}


def session_keys(client: Client, prefix: str) -> list[str]:
    return sorted(client.scan_iter(match=f"{prefix}:*"))


# -- login and the cookie -------------------------------------------------------------------------
def test_login_sets_a_hardened_cookie_and_one_session_in_redis(
    app: FastAPI, client: Client, prefix: str
) -> None:
    c = https(app)
    r = c.post("/login", json=ALICE)
    assert r.status_code == 200
    assert r.json() == {"message": "Logged in", "user": {"user_id": 1, "username": "alice", "role": "admin"}}
    raw = r.headers["set-cookie"]
    attrs = {part.strip().split("=")[0].lower() for part in raw.split(";")[1:]}
    assert attrs == {"httponly", "secure", "samesite", "path", "max-age"}  # no Domain, no Expires
    morsel = the_cookie(r)
    assert is_valid_session_id(morsel.value)
    assert morsel["httponly"] is True and morsel["secure"] is True
    assert morsel["samesite"].lower() == "lax"
    assert morsel["path"] == "/"
    assert morsel["max-age"] == str(TTL)
    assert session_keys(client, prefix) == [f"{prefix}:{morsel.value}"]
    assert 0 < client.ttl(f"{prefix}:{morsel.value}") <= TTL
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "creds",
    [
        {"username": "alice", "password": "WONDERLAND"},
        {"username": "alice", "password": "wonderland "},
        {"username": "mallory", "password": "wonderland"},
        {"username": "bob", "password": "wonderland"},
    ],
)
@pytest.mark.cluster_unsupported(PER_NODE)
def test_wrong_credentials_get_401_no_cookie_no_session(
    app: FastAPI, client: Client, prefix: str, trips: RoundTrips, creds: dict[str, str]
) -> None:
    c = https(app)
    with trips.measure() as m:
        r = c.post("/login", json=creds)
    assert r.status_code == 401
    assert "set-cookie" not in r.headers
    assert m.count == 2  # the throttle check, then the failure is counted; no session written
    assert session_keys(client, prefix) == []


@pytest.mark.parametrize(
    "body",
    [
        {"username": "alice"},
        {"password": "wonderland"},
        {"username": 1, "password": "wonderland"},
        {"username": "alice", "password": None},
        {"username": "", "password": "wonderland"},
        {"username": "alice", "password": "x" * 5000},
        {"username": "alice", "password": "wonderland", "role": "admin"},
        ["alice", "wonderland"],
        "alice:wonderland",
    ],
)
def test_malformed_login_bodies_get_422(app: FastAPI, client: Client, prefix: str, body: Any) -> None:
    r = https(app).post("/login", json=body)
    assert r.status_code == 422
    assert "set-cookie" not in r.headers
    assert session_keys(client, prefix) == []


@pytest.mark.parametrize("content", [b"", b"not json", b"{", b"\xff\xfe"])
def test_login_bodies_that_are_not_json_get_422(app: FastAPI, content: bytes) -> None:
    r = https(app).post("/login", content=content, headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert "set-cookie" not in r.headers


def test_passwords_are_kept_only_as_salted_scrypt_hashes() -> None:
    a, b = hash_password("wonderland"), hash_password("wonderland")
    assert a.salt != b.salt and a.digest != b.digest  # salted: same password, different hashes
    assert len(a.digest) == 32 and b"wonderland" not in a.digest
    assert verify_password("wonderland", a) and not verify_password("wonderland!", a)


def test_users_mapping_plain_and_detailed(store: SessionStore) -> None:
    app = create_app(store, {"carol": "s3cret", "dave": {"password": "pw", "user_id": 7}})
    c = https(app)
    assert c.post("/login", json={"username": "alice", "password": "wonderland"}).status_code == 401
    assert c.post("/login", json={"username": "carol", "password": "s3cret"}).json()["user"] == {
        "user_id": "carol",
        "username": "carol",
    }
    assert c.get("/me").json() == {"user": {"user_id": "carol", "username": "carol"}}
    assert c.post("/login", json={"username": "dave", "password": "pw"}).json()["user"]["user_id"] == 7


# -- /me: sliding TTL in one round trip; 401 for everything else ---------------------------------
def test_me_returns_the_user_and_slides_the_ttl_in_one_round_trip(
    app: FastAPI, client: Client, prefix: str, trips: RoundTrips
) -> None:
    c = login(app)
    sid = c.cookies["session_id"]
    key = f"{prefix}:{sid}"
    client.expire(key, 5)
    assert client.ttl(key) <= 5
    with trips.measure() as m:
        r = c.get("/me")
    assert r.status_code == 200
    assert r.json() == {"user": {"user_id": 1, "username": "alice", "role": "admin"}}
    assert m.count == 1
    assert client.ttl(key) > TTL - 5  # slid back to the idle timeout
    morsel = the_cookie(r)  # the browser's copy slides too
    assert morsel.value == sid and morsel["max-age"] == str(TTL)


def test_me_without_a_cookie_is_401_without_redis(app: FastAPI, trips: RoundTrips) -> None:
    with trips.measure() as m:
        r = https(app).get("/me")
    assert r.status_code == 401
    assert r.json() == {"detail": "Not authenticated"}
    assert m.count == 0


HOSTILE_COOKIES = {
    "empty": "",
    "very long": "A" * 8000,
    "star": "*",
    "glob key": "session:*",
    "path-like": "../../etc/passwd",
    "wrong alphabet (43 chars)": "+" * 42 + "/",
    "one char short": "A" * 42,
    "one char long": "A" * 44,
    "JWT-like": "eyJhbGciOiJub25lIn0.eyJ1c2VyX2lkIjoxLCJyb2xlIjoiYWRtaW4ifQ.",
    "quoted glob": '"session:*"',
    "redis protocol": "A\\r\\nFLUSHALL\\r\\n",
    "null-ish": "null",
}


@pytest.mark.parametrize("value", list(HOSTILE_COOKIES.values()), ids=list(HOSTILE_COOKIES))
def test_hostile_cookie_values_get_401_without_any_redis_command(
    app: FastAPI, trips: RoundTrips, value: str
) -> None:
    c = https(app)
    with trips.measure() as m:
        for method, path in [
            ("GET", "/me"),
            ("GET", "/sessions"),
            ("POST", "/logout-all"),
            ("DELETE", "/sessions/0123456789abcdef"),
        ]:
            r = c.request(method, path, headers=cookie_header(value))
            assert r.status_code == 401, (method, path, r.text)
            assert r.json() == {"detail": "Not authenticated"}
    assert m.count == 0


def test_unknown_well_formed_id_gets_401_after_one_lookup(app: FastAPI, trips: RoundTrips) -> None:
    with trips.measure() as m:
        r = https(app).get("/me", headers=cookie_header("A" * 43))
    assert r.status_code == 401
    assert m.count == 1


def test_expired_session_gets_401(app: FastAPI, client: Client, prefix: str) -> None:
    c = login(app)
    client.pexpire(f"{prefix}:{c.cookies['session_id']}", 1)
    time.sleep(0.05)
    assert c.get("/me").status_code == 401


@pytest.mark.parametrize("stored", ["not json", "[1, 2]", '"alice"', '{"username": "x"}', "{"])
def test_garbage_in_redis_gets_401_not_500(app: FastAPI, client: Client, prefix: str, stored: str) -> None:
    sid = "B" * 43
    client.set(f"{prefix}:{sid}", stored, ex=TTL)
    r = https(app).get("/me", headers=cookie_header(sid))
    assert r.status_code == 401


# -- the Secure cookie over http -------------------------------------------------------------------
def test_http_base_url_never_sends_the_secure_cookie_back(app: FastAPI) -> None:
    c = TestClient(app)  # the default base_url is http://testserver
    r = c.post("/login", json=ALICE)
    assert r.status_code == 200 and the_cookie(r)["secure"]
    assert c.get("/me").status_code == 401  # the cookie jar keeps it, but only for https
    assert c.cookies.get("session_id") == the_cookie(r).value
    c2 = https(app)
    c2.cookies.set("session_id", the_cookie(r).value)
    assert c2.get("/me").status_code == 200


# -- fixation ------------------------------------------------------------------------------------
def test_login_never_adopts_a_planted_id(app: FastAPI, client: Client, prefix: str) -> None:
    planted = "P" * 43  # an ID the server never issued, chosen by an attacker
    victim = https(app)
    r = victim.post("/login", json=ALICE, headers=cookie_header(planted))
    issued = the_cookie(r).value
    assert issued != planted and is_valid_session_id(issued)
    assert session_keys(client, prefix) == [f"{prefix}:{issued}"]
    assert https(app).get("/me", headers=cookie_header(planted)).status_code == 401


@pytest.mark.cluster_unsupported(PER_NODE)
def test_login_deletes_the_session_it_arrived_with(
    app: FastAPI, client: Client, prefix: str, trips: RoundTrips
) -> None:
    attacker = login(app, BOB)  # the attacker's own, real session ...
    planted = attacker.cookies["session_id"]
    victim = https(app)
    with trips.measure() as m:
        r = victim.post("/login", json=ALICE, headers=cookie_header(planted))  # ... planted
    assert m.count == 4  # throttle check, delete the old session (GETDEL, ZREM), create
    issued = the_cookie(r).value
    assert issued != planted
    assert client.exists(f"{prefix}:{planted}") == 0
    assert https(app).get("/me", headers=cookie_header(planted)).status_code == 401
    assert https(app).get("/me", headers=cookie_header(issued)).json()["user"]["username"] == "alice"


def test_relogin_issues_a_new_id_and_kills_the_old_one(app: FastAPI, client: Client, prefix: str) -> None:
    c = login(app)
    first = c.cookies["session_id"]
    r = c.post("/login", json=ALICE)
    second = the_cookie(r).value
    assert second != first
    assert session_keys(client, prefix) == [f"{prefix}:{second}"]


def test_a_failed_login_leaves_the_current_session_alone(app: FastAPI) -> None:
    c = login(app)
    assert c.post("/login", json={"username": "alice", "password": "typo"}).status_code == 401
    assert c.get("/me").status_code == 200


# -- logout --------------------------------------------------------------------------------------
def test_logout_revokes_server_side_and_clears_the_cookie(
    app: FastAPI, client: Client, prefix: str, trips: RoundTrips
) -> None:
    c = login(app)
    stolen = c.cookies["session_id"]
    with trips.measure() as m:
        r = c.post("/logout")
    assert r.status_code == 200 and r.json() == {"message": "Logged out"}
    assert m.count == 2  # GETDEL, then ZREM of the index entry
    morsel = the_cookie(r)
    assert morsel.value == "" and morsel["max-age"] == "0"
    assert morsel["secure"] and morsel["httponly"] and morsel["path"] == "/"
    assert session_keys(client, prefix) == []
    assert client.zcard(f"{prefix}-by-user:1") == 0
    thief = https(app)
    for method, path in [("GET", "/me"), ("GET", "/sessions"), ("POST", "/logout-all")]:
        assert thief.request(method, path, headers=cookie_header(stolen)).status_code == 401


def test_logout_without_a_session_is_harmless(app: FastAPI, trips: RoundTrips) -> None:
    with trips.measure() as m:
        r = https(app).post("/logout")
    assert r.status_code == 200 and m.count == 0
    assert the_cookie(r)["max-age"] == "0"


# -- /sessions, DELETE /sessions/{id}, /logout-all ------------------------------------------------
def test_sessions_lists_the_callers_sessions_with_opaque_handles(app: FastAPI, trips: RoundTrips) -> None:
    a1, a2, b = login(app), login(app), login(app, BOB)
    tokens = [a1.cookies["session_id"], a2.cookies["session_id"], b.cookies["session_id"]]
    with trips.measure() as m:
        r = a1.get("/sessions")
    assert r.status_code == 200
    assert m.count <= 4  # touch, then ZRANGE + pipelined GET/TTL (+ ZREM if any expired)
    items = r.json()["sessions"]
    assert len(items) == 2
    assert {i["id"] for i in items} == {session_handle(t) for t in tokens[:2]}
    assert all(re.fullmatch(r"[0-9a-f]{16}", i["id"]) for i in items)
    assert sorted(i["current"] for i in items) == [False, True]
    assert next(i for i in items if i["current"])["id"] == session_handle(tokens[0])
    for i in items:
        assert set(i) == {"id", "current", "created_at", "last_accessed", "expires_in"}
        assert 0 < i["expires_in"] <= TTL
    for token in tokens:
        assert token not in r.text and token[:16] not in r.text  # never a token
    assert len(b.get("/sessions").json()["sessions"]) == 1


def test_delete_one_of_my_sessions(app: FastAPI, client: Client, prefix: str) -> None:
    a1, a2, b = login(app), login(app), login(app, BOB)
    other = session_handle(a2.cookies["session_id"])
    r = a1.delete(f"/sessions/{other}")
    assert r.status_code == 200 and r.json() == {"message": "Session ended", "id": other, "current": False}
    assert "set-cookie" not in r.headers
    assert a2.get("/me").status_code == 401
    assert a1.get("/me").status_code == 200
    assert client.exists(f"{prefix}:{a2.cookies['session_id']}") == 0
    assert b.get("/me").status_code == 200


def test_someone_elses_or_unknown_handle_is_404(app: FastAPI) -> None:
    a, b = login(app), login(app, BOB)
    alices = session_handle(a.cookies["session_id"])
    for handle in [alices, "0" * 16, "nothing", a.cookies["session_id"]]:
        assert b.delete(f"/sessions/{handle}").status_code == 404
    assert a.get("/me").status_code == 200  # untouched


def test_deleting_my_current_session_clears_my_cookie(app: FastAPI) -> None:
    a = login(app)
    r = a.delete(f"/sessions/{session_handle(a.cookies['session_id'])}")
    assert r.status_code == 200 and r.json()["current"] is True
    assert the_cookie(r)["max-age"] == "0"
    assert a.get("/me").status_code == 401


def test_logout_all_ends_every_session_of_the_caller_only(app: FastAPI, client: Client, prefix: str) -> None:
    alices = [login(app) for _ in range(3)]
    b = login(app, BOB)
    r = alices[0].post("/logout-all")
    assert r.status_code == 200 and r.json() == {"message": "Logged out everywhere", "ended": 3}
    assert the_cookie(r)["max-age"] == "0"
    for token in [c.cookies.get("session_id") for c in alices[1:]]:
        assert https(app).get("/me", headers=cookie_header(token)).status_code == 401
    assert b.get("/me").status_code == 200
    assert client.exists(f"{prefix}-by-user:1") == 0
    assert session_keys(client, prefix) == [f"{prefix}:{b.cookies['session_id']}"]


@pytest.mark.parametrize(
    "method,path",
    [("GET", "/sessions"), ("POST", "/logout-all"), ("DELETE", "/sessions/0123456789abcdef"), ("GET", "/me")],
)
def test_session_endpoints_need_a_session(app: FastAPI, method: str, path: str) -> None:
    assert https(app).request(method, path).status_code == 401


# -- signed cookies ------------------------------------------------------------------------------
@pytest.fixture
def signed_app(store: SessionStore) -> FastAPI:
    return create_app(store, secret_key="test-key-1")


def test_signed_cookie_round_trip(signed_app: FastAPI, client: Client, prefix: str) -> None:
    c = login(signed_app)
    value = c.cookies["session_id"]
    sid, sep, sig = value.partition(".")
    assert sep == "." and is_valid_session_id(sid) and len(sig) == 43
    assert session_keys(client, prefix) == [f"{prefix}:{sid}"]  # Redis holds the bare ID
    assert c.get("/me").status_code == 200
    assert c.get("/sessions").json()["sessions"][0]["id"] == session_handle(sid)


def test_tampered_or_unsigned_cookies_get_401_with_zero_round_trips(
    signed_app: FastAPI, store: SessionStore, trips: RoundTrips
) -> None:
    c = login(signed_app)
    value = c.cookies["session_id"]
    sid, _, sig = value.partition(".")
    other = https(create_app(store, secret_key="someone-elses-key")).post("/login", json=ALICE)
    forged = [
        sid,  # a real, live session ID, but unsigned
        f"{sid}.",
        # one character of the MAC changed (the first: the last base64url character of a 32-byte
        # MAC also carries two padding bits, so changing it can leave the bytes the same)
        f"{sid}.{'A' if sig[0] != 'A' else 'B'}{sig[1:]}",
        f"{'A' * 43}.{sig}",  # another ID with this signature
        the_cookie(other).value,  # signed with another key
        f"{sid}.{sig}.{sig}",
        "",
        "*",
    ]
    for value in forged:
        with trips.measure() as m:
            r = https(signed_app).get("/me", headers=cookie_header(value))
        assert r.status_code == 401, value
        assert m.count == 0, (value, m.commands)
    assert c.get("/me").status_code == 200  # the genuine cookie still works


def test_signing_key_rotation(store: SessionStore) -> None:
    old_app = create_app(store, secret_key="old")
    c = login(old_app)
    rotated = https(create_app(store, secret_key=["new", "old"]))
    rotated.cookies.set("session_id", c.cookies["session_id"])
    assert rotated.get("/me").status_code == 200  # still accepted during rotation
    r = rotated.post("/login", json=ALICE)
    new_value = the_cookie(r).value
    assert (
        https(create_app(store, secret_key="new")).get("/me", headers=cookie_header(new_value)).status_code
        == 200
    )
    assert (
        https(create_app(store, secret_key="new"))
        .get("/me", headers=cookie_header(c.cookies["session_id"]))
        .status_code
        == 401
    )


# -- Redis down -> 503 ---------------------------------------------------------------------------
@pytest.fixture
def down_app() -> FastAPI:
    port = free_port()  # a port nobody listens on
    store = SessionStore(redis_url=f"redis://127.0.0.1:{port}/0", prefix="unreachable")
    return create_app(store)


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("POST", "/login", ALICE),
        ("GET", "/me", None),
        ("POST", "/logout", None),
        ("GET", "/sessions", None),
        ("DELETE", "/sessions/0123456789abcdef", None),
        ("POST", "/logout-all", None),
        ("GET", "/health", None),
    ],
)
def test_redis_down_gives_503_json_without_traceback(
    down_app: FastAPI, method: str, path: str, body: dict[str, str] | None
) -> None:
    c = https(down_app)
    r = c.request(method, path, json=body, headers=cookie_header("A" * 43))
    assert r.status_code == 503
    assert r.json() == {"detail": STORE_UNAVAILABLE}
    assert "Traceback" not in r.text and "redis" not in r.text.lower()


def test_redis_down_still_answers_what_needs_no_redis(down_app: FastAPI) -> None:
    c = https(down_app)
    assert c.get("/me").status_code == 401  # no cookie: no Redis needed
    assert c.post("/login", json={}).status_code == 422
    # a login needs the throttle's counters, so even a wrong password gets 503, not 401: a 401
    # here and a 503 for the right password would tell an attacker which one was right
    assert c.post("/login", json={"username": "alice", "password": "no"}).status_code == 503


# -- the in-memory store and the module-level app ------------------------------------------------
def test_in_memory_store_serves_the_same_api() -> None:
    app = create_app(MemoryStore(default_ttl=TTL))
    a1, a2 = login(app), login(app)
    assert a1.get("/me").json()["user"]["username"] == "alice"
    items = a1.get("/sessions").json()["sessions"]
    assert len(items) == 2 and sum(i["current"] for i in items) == 1
    assert a1.post("/logout-all").json()["ended"] == 2
    assert a2.get("/me").status_code == 401


def test_app_from_env(redis_url: str, client: Client, prefix: str) -> None:
    app = web.app_from_env(
        {
            "REDIS_URL": redis_url,
            "LESSONS_SESSION_PREFIX": prefix,
            "LESSONS_SESSION_TTL": "30",
            "LESSONS_SERVER_NAME": "server-9",
        }
    )
    c = https(app)
    r = c.post("/login", json=ALICE)
    assert r.headers["x-served-by"] == "server-9"
    assert the_cookie(r)["max-age"] == "30"
    # the served app's default keeps no token in a key name (hash_ids: SHA-256 of the token)
    digest = hashlib.sha256(c.cookies["session_id"].encode()).hexdigest()
    assert session_keys(client, prefix) == [f"{prefix}:{digest}"]
    assert c.get("/health").json() == {"status": "ok", "server": "server-9"}


def test_module_level_app_is_a_fastapi_app() -> None:
    from fastapi import FastAPI

    assert isinstance(web.app, FastAPI)
    assert web.app is web.app  # built once
    with pytest.raises(AttributeError, match="no_such_thing"):
        web.no_such_thing  # noqa: B018


def test_host_prefixed_cookie_name(store: SessionStore) -> None:
    app = create_app(store, cookie_name=web.HOST_COOKIE_NAME)
    c = https(app)
    r = c.post("/login", json=ALICE)
    morsel = the_cookie(r, web.HOST_COOKIE_NAME)
    assert morsel["secure"] and morsel["path"] == "/" and not morsel["domain"]
    assert c.get("/me").status_code == 200


# -- notebook 02's quiz: the answer keys, proven ---------------------------------------------------
def test_quiz_secure_over_http_answer_key(app: FastAPI) -> None:
    from lessons.quiz import question

    assert "Secure" in (q := question("02-secure-over-http")).choices[q.answer]
    c = TestClient(app)
    assert c.post("/login", json=ALICE).status_code == 200
    assert c.get("/me").status_code == 401  # http: the Secure cookie stays in the jar
    c.base_url = "https://testserver"
    assert c.get("/me").status_code == 200  # same jar, https: sent


def test_quiz_one_round_trip_answer_key(counted_client: tuple[Client, RoundTrips], prefix: str) -> None:
    from lessons.quiz import question

    assert "GETEX" in (q := question("02-one-round-trip")).choices[q.answer]
    client, trips = counted_client
    key = f"{prefix}:abc"
    client.set(key, "data", ex=5)
    with trips.measure() as m:
        value = client.getex(key, ex=3600)
    assert value == "data" and m.count == 1 and client.ttl(key) > 3590


def test_quiz_stolen_after_logout_answer_key(app: FastAPI) -> None:
    from lessons.quiz import question

    assert "401" in (q := question("02-stolen-after-logout")).choices[q.answer]
    c = login(app)
    copy = c.cookies["session_id"]
    c.post("/logout")
    assert https(app).get("/me", headers=cookie_header(copy)).status_code == 401


# -- notebook 02's "Your turn" checker ------------------------------------------------------------
def test_check_get_session_passes_a_good_solution_and_fails_the_lessons_and_a_stub(
    counted_client: tuple[Client, RoundTrips], capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from lessons.checks.web import check_get_session

    client, trips = counted_client

    def fast(request: Request) -> Any:
        sid = request.cookies.get("session_id")
        if not is_valid_session_id(sid):
            return None
        data = client.getex(f"session:{sid}", ex=3600)
        return json.loads(data) if data else None

    def lessons(request: Request) -> Any:  # the lesson's get_session: GET then EXPIRE, no shape check
        sid = request.cookies.get("session_id")
        if not sid:
            return None
        data = client.get(f"session:{sid}")
        if data:
            client.expire(f"session:{sid}", 3600)
            return json.loads(data)
        return None

    def broken(request: Request) -> Any:
        raise RuntimeError("oops")

    def stub(request: Request) -> Any:  # the notebook's "Your turn" cell as committed
        return None

    def get_only(request: Request) -> Any:  # returns the data in one round trip but does not slide the TTL
        sid = request.cookies.get("session_id")
        data = client.get(f"session:{sid}") if is_valid_session_id(sid) else None
        return json.loads(data) if data else None

    assert check_get_session(stub, client, trips) is False
    out = capsys.readouterr().out
    assert "✓" not in out and out.count("· ") == 3 and "Not yet: 3 of 6 checks failed." in out
    assert "✗ the TTL slid back (it was 5 s) (saw 'TTL not slid back')" in out
    assert "✗ one round trip (saw '0 round trips')" in out
    assert check_get_session(get_only, client, trips) is False
    out = capsys.readouterr().out  # one real property passed: the trivial ones count now
    assert out.count("✓") == 5 and "· " not in out and "Not yet: 1 of 6 checks failed." in out
    assert check_get_session(fast, client, trips) is True
    out = capsys.readouterr().out
    assert "✗" not in out and out.count("✓") == 6 and "All checks passed." in out
    assert check_get_session(lessons, client, trips) is False
    out = capsys.readouterr().out
    assert "✗ one round trip (saw '2 round trips')" in out and "Not yet" in out
    assert check_get_session(broken, client, trips) is False
    out = capsys.readouterr().out
    assert "✗ your code raised RuntimeError: oops" in out


def test_cleared_cookie_has_a_fixed_past_expiry(app: FastAPI) -> None:
    r = login(app).post("/logout")
    assert "expires=Thu, 01 Jan 1970 00:00:00 GMT" in r.headers["set-cookie"]


@pytest.mark.cluster_unsupported(PER_NODE)
def test_round_trips_of_the_session_management_endpoints(app: FastAPI, trips: RoundTrips) -> None:
    """The numbers in lessons.web's docstring, counted."""
    a1, a2 = login(app), login(app)
    with trips.measure() as m:
        a1.delete(f"/sessions/{session_handle(a2.cookies['session_id'])}")
    assert m.count <= 6  # touch + ZRANGE + pipelined GET/TTL (+ ZREM) + GETDEL + ZREM
    login(app)
    with trips.measure() as m:
        assert a1.post("/logout-all").json()["ended"] == 2
    assert m.count == 4  # touch + WATCH/ZRANGE/MULTI..EXEC
    with trips.measure() as m:
        assert https(app).get("/health").status_code == 200
    assert m.count == 1
