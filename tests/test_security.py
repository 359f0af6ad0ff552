"""``lessons.security`` and the defences of notebook 04, on both backends.

One section per row of the lesson's セキュリティ考慮事項 table: each attack is shown to work on
the deliberately vulnerable variant and to fail on the course's code (``lessons.store``,
``lessons.web``, ``lessons.admin``), asserting status codes, what is in Redis and round trips.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn, cast

import pytest
import redis
from fastapi import FastAPI
from pytest import MonkeyPatch
from redis.cluster import RedisCluster

from lessons import backend, classroom, security
from lessons.admin import SessionAdmin
from lessons.backend import Client
from lessons.checks.security import check_find_immortal, check_host_cookie, check_safe_login, check_touch
from lessons.keys import KeySchema
from lessons.roundtrips import RoundTrips
from lessons.security import (
    BrowserModel,
    client_side_session_app,
    command_log_client,
    expected_guess_seconds,
    export_snapshot,
    find_immortal_keys,
    forge_client_side_cookie,
    growth_experiment,
    logged_in_as,
    parse_set_cookie,
    plant_cookie,
    plant_immortal_sessions,
    replay_client,
    test_client,
    token_handle,
    vulnerable_app,
)
from lessons.store import SessionNotFound, SessionStore, is_valid_session_id
from lessons.web import HOST_COOKIE_NAME, create_app

if TYPE_CHECKING:
    from lessons.web import TestClient

USERS = {
    "alice": {"password": "wonderland", "user_id": "alice"},
    "mallory": {"password": "evil-but-registered", "user_id": "mallory"},
}
ALICE = {"username": "alice", "password": "wonderland"}
MALLORY = {"username": "mallory", "password": "evil-but-registered"}


@pytest.fixture
def app(store: SessionStore) -> FastAPI:
    """The course app (``store``: conftest's, idle TTL 60 s) with alice and mallory."""
    return create_app(store, USERS)


@pytest.fixture
def checks_on_backend(redis_url: str, monkeypatch: MonkeyPatch, learner: str) -> Iterator[Client]:
    """Run notebook 04's checks against the backend under test, as a learner of this test's own
    (a second test run on the same Redis has another); afterwards no check key is left."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    client = backend.connect(redis_url)
    yield client
    left = list(client.scan_iter(match=classroom.namespace("04", "check-") + "*", count=1000))
    backend.delete_prefix(client, classroom.namespace("04", "check-"))
    client.close()
    assert not left, f"a check left keys behind: {left}"


def login(app: FastAPI, creds: dict[str, str] = ALICE, **kwargs: Any) -> TestClient:
    http: TestClient = test_client(app, **kwargs)
    response = http.post("/login", json=creds)
    assert response.status_code == 200, response.text
    return http


def stolen_copy(app: FastAPI, http: TestClient, cookie_name: str = "session_id") -> TestClient:
    """The attacker's client, replaying a copy of ``http``'s session cookie on every request."""
    thief: TestClient = replay_client(app, http.cookies[cookie_name], cookie_name)
    return thief


# ------------------------------------------------------------------------------------------------
# Row 1: セッション固定 (session fixation) -> ログイン時に ID 再生成
# ------------------------------------------------------------------------------------------------
def test_fixation_succeeds_against_the_app_that_keeps_the_pre_login_id(client: Client, prefix: str) -> None:
    app = vulnerable_app(client, f"{prefix}-vuln", {"alice": "wonderland"})
    attacker, victim = test_client(app), test_client(app)
    assert attacker.get("/visit").status_code == 200
    planted = attacker.cookies["session_id"]
    plant_cookie(victim, "session_id", planted)  # planted in the victim's browser
    assert victim.post("/login", json=ALICE).status_code == 200
    assert victim.cookies["session_id"] == planted  # the bug: same ID after login
    assert logged_in_as(attacker) == "alice"


def test_fixation_succeeds_against_the_app_that_adopts_unknown_ids(client: Client, prefix: str) -> None:
    app = vulnerable_app(client, f"{prefix}-vuln", {"alice": "wonderland"}, adopt_unknown_ids=True)
    invented = "attacker-chose-this-id"
    victim, attacker = test_client(app), test_client(app)
    plant_cookie(victim, "session_id", invented)
    plant_cookie(attacker, "session_id", invented)
    assert victim.post("/login", json=ALICE).status_code == 200
    assert client.exists(KeySchema(f"{prefix}-vuln").key_of(invented)) == 1
    assert logged_in_as(attacker) == "alice"


def test_fixation_fails_against_the_course_app(
    app: FastAPI, store: SessionStore, client: Client, prefix: str
) -> None:
    pre_login = store.create({"cart": ["book"]})  # an ID the server really issued
    for planted in (pre_login, "attacker-chose-this-id", secrets.token_urlsafe(32)):
        victim, attacker = test_client(app), test_client(app)
        plant_cookie(victim, "session_id", planted)
        plant_cookie(attacker, "session_id", planted)
        assert victim.post("/login", json=ALICE).status_code == 200
        fresh = victim.cookies["session_id"]
        assert fresh != planted and is_valid_session_id(fresh)
        assert attacker.get("/me").status_code == 401
        assert logged_in_as(attacker) is None
        assert logged_in_as(victim) == "alice"
        assert client.exists(store.keys.key_of(planted)) == 0  # never adopted; pre-login one deleted


def test_regenerate_keeps_the_data_and_kills_the_old_id(store: SessionStore) -> None:
    old = store.create({"cart": ["book"]})
    new = store.regenerate(old)
    assert new != old and store.get(old) is None
    session = store.get(new)
    assert session is not None and session["cart"] == ["book"]


def test_check_safe_login_accepts_a_safe_login_and_rejects_the_vulnerable_one(
    checks_on_backend: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    def safe(store: SessionStore, incoming: str | None, user: dict[str, Any]) -> str:
        if incoming:
            store.delete(incoming)
        return store.create(user)

    def keeps(
        store: SessionStore, incoming: str | None, user: dict[str, Any]
    ) -> str:  # the vulnerable login: upgrades the session in place
        if incoming and store.get(incoming) is not None:
            store.r.set(store.key(incoming), json.dumps(user), ex=60)
            return incoming
        return store.create(user)

    def raises(store: SessionStore, incoming: str | None, user: dict[str, Any]) -> str:
        raise RuntimeError("oops")

    assert check_safe_login(safe) is True
    out = capsys.readouterr().out
    assert out.rstrip().endswith("All checks passed.") and "✗" not in out
    assert check_safe_login(keeps) is False
    out = capsys.readouterr().out
    assert "✗ returns a new ID, not the one the browser arrived with" in out
    assert "✗ the planted ID no longer authenticates" in out
    assert "✓ the new session holds the user" in out and "Not yet: 2 of 5 checks failed." in out
    assert check_safe_login(raises) is False
    out = capsys.readouterr().out
    assert "✗ your code raised RuntimeError: oops" in out and "Traceback" not in out
    assert check_safe_login(lambda store, incoming, user: None) is False  # the stub
    assert "✗ returns a new ID" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------------
# Row 2: セッションハイジャック (hijacking) -> HTTPS, HttpOnly Cookie (+ server-side answers)
# ------------------------------------------------------------------------------------------------
def test_a_stolen_cookie_works_until_the_server_ends_the_session(app: FastAPI) -> None:
    victim = login(app)
    thief = stolen_copy(app, victim)
    assert logged_in_as(thief) == "alice"  # the attack: a copy of the cookie is the session
    assert victim.post("/logout").status_code == 200
    assert thief.get("/me").status_code == 401


def test_logout_all_ends_the_stolen_copy_too(app: FastAPI) -> None:
    laptop, phone = login(app), login(app)
    thief = stolen_copy(app, phone)
    response = laptop.post("/logout-all")
    assert response.status_code == 200 and response.json()["ended"] == 2
    assert thief.get("/me").status_code == 401 and phone.get("/me").status_code == 401


def test_admin_revoke_ends_the_stolen_copy(app: FastAPI, client: Client, prefix: str) -> None:
    thief = stolen_copy(app, login(app))
    assert SessionAdmin(client, prefix).revoke_all_sessions("alice") == 1
    assert thief.get("/me").status_code == 401


HANG_GUARD = 120.0  # seconds; a correct run never waits this long


def wait_until_gone(client: Client, key: str) -> None:
    """Poll until Redis has expired ``key`` (a hang guard, not a time limit being tested)."""
    deadline = time.monotonic() + HANG_GUARD
    while client.exists(key):
        assert time.monotonic() < deadline, f"{key} never expired"
        time.sleep(0.01)


def test_idle_timeout_ends_an_unused_stolen_session(client: Client, prefix: str) -> None:
    # An idle TTL of an hour, and the clock moved by setting the key's remaining life with
    # PEXPIRE (what an hour without requests leaves), instead of sleeping through a short TTL:
    # nothing here depends on how fast the machine answers.
    store = SessionStore(client=client, prefix=prefix, default_ttl=3600)
    app = create_app(store, USERS)
    thief = stolen_copy(app, login(app))
    key = next(client.scan_iter(match=store.keys.session_pattern))
    assert thief.get("/me").status_code == 200
    client.pexpire(key, 5_000)  # 59 min 55 s without a request
    assert thief.get("/me").status_code == 200  # still alive: a use slides the idle TTL back
    assert 5_000 < client.pttl(key) <= 3_600_000
    client.pexpire(key, 1)  # ... and now the full hour without a request: Redis expires it
    wait_until_gone(client, key)
    assert thief.get("/me").status_code == 401  # the replayed cookie is sent: the server said no
    assert list(client.scan_iter(match=store.keys.session_pattern)) == []


def test_absolute_timeout_ends_a_stolen_session_that_is_kept_busy(client: Client, prefix: str) -> None:
    """Idle TTL 1 h, absolute TTL 2 s: each /me asks to slide the TTL to an hour, and the
    deadline caps it. The thief keeps the session busy until the server says no; what is checked
    is every TTL it saw and when the first 401 can have come, never how long anything took."""
    store = SessionStore(client=client, prefix=prefix, default_ttl=3600, absolute_ttl=2)
    app = create_app(store, USERS)
    created_after_ms = int(time.time() * 1000)  # the store's clock, in whole ms
    thief = stolen_copy(app, login(app))
    key = next(client.scan_iter(match=store.keys.session_pattern))
    ttls, deadline = [], time.monotonic() + HANG_GUARD
    while (status := thief.get("/me").status_code) == 200:
        ttls.append(client.pttl(key))  # after a sliding refresh (or -2 if it expired since)
        assert time.monotonic() < deadline, "the session outlived its absolute timeout"
        time.sleep(0.05)
    answered_ms = time.time() * 1000
    assert status == 401  # refreshing cannot pass the absolute deadline
    assert answered_ms >= created_after_ms + 2000  # ... and it was the deadline that ended it
    assert all(ttl <= 2000 for ttl in ttls), ttls  # never slid towards the 1 h idle TTL
    assert client.exists(key) == 0


def test_secure_cookie_is_never_sent_over_http(app: FastAPI) -> None:
    http = login(app)
    assert "cookie" in http.build_request("GET", "https://testserver/me").headers
    assert "cookie" not in http.build_request("GET", "http://testserver/me").headers
    plain = test_client(app, base_url="http://testserver")
    assert plain.post("/login", json=ALICE).status_code == 200
    assert plain.get("/me").status_code == 401  # the browser (httpx) kept the cookie to itself


def test_the_course_cookie_has_every_attribute(app: FastAPI) -> None:
    response = test_client(app).post("/login", json=ALICE)
    cookie = parse_set_cookie(response.headers["set-cookie"])
    assert (cookie.secure, cookie.httponly, cookie.samesite, cookie.path) == (True, True, "Lax", "/")
    assert cookie.domain is None and cookie.max_age == 60


def test_browser_model_httponly_hides_the_cookie_from_scripts(app: FastAPI) -> None:
    browser = BrowserModel()
    header = test_client(app).post("/login", json=ALICE).headers["set-cookie"]
    assert browser.store(header, "https://app.example.com/login") is None
    browser.store("theme=dark; Path=/; Secure", "https://app.example.com/")
    assert set(browser.cookies_for("https://app.example.com/me")) == {"session_id", "theme"}
    assert browser.document_cookie("https://app.example.com/") == {"theme": "dark"}


@pytest.mark.parametrize(
    "samesite, same_site_post, cross_get_nav, cross_post, cross_fetch",
    [
        ("Strict", True, False, False, False),
        ("Lax", True, True, False, False),
        ("None", True, True, True, True),
        (None, True, True, False, False),  # no attribute: browsers default to Lax
    ],
)
def test_browser_model_samesite_rules(
    samesite: str | None, same_site_post: bool, cross_get_nav: bool, cross_post: bool, cross_fetch: bool
) -> None:
    browser = BrowserModel()
    attr = f"; SameSite={samesite}" if samesite else ""
    assert browser.store(f"sid=x; Path=/; Secure; HttpOnly{attr}", "https://app.example.com/") is None
    url = "https://app.example.com/logout-all"

    def sent(**kw: Any) -> bool:
        return "sid" in browser.cookies_for(url, **kw)

    assert sent(initiator="https://app.example.com/page", method="POST") is same_site_post
    assert sent(initiator="https://evil.test/", method="GET") is cross_get_nav
    assert sent(initiator="https://evil.test/", method="POST") is cross_post
    assert sent(initiator="https://evil.test/", method="GET", top_level=False) is cross_fetch


def test_cross_site_post_reaches_the_app_without_the_cookie(app: FastAPI) -> None:
    browser = BrowserModel()
    login_header = test_client(app).post("/login", json=ALICE).headers["set-cookie"]
    assert browser.store(login_header, "https://testserver/login") is None
    forged = browser.cookies_for(
        "https://testserver/logout-all", initiator="https://evil.test/", method="POST"
    )
    assert forged == {}
    assert test_client(app, cookies=forged).post("/logout-all").status_code == 401
    same = browser.cookies_for("https://testserver/me", initiator="https://testserver/")
    assert test_client(app, cookies=same).get("/me").status_code == 200


@pytest.mark.parametrize(
    "header, set_by, reason",
    [
        ("__Host-sid=x; Path=/; Secure", "https://app.example.com/", None),
        ("__Host-sid=x; Path=/; Secure; Domain=example.com", "https://evil.example.com/", "Domain"),
        ("__Host-sid=x; Path=/app; Secure", "https://app.example.com/", "Path=/"),
        ("__Host-sid=x; Path=/", "https://app.example.com/", "Secure"),
        ("__Host-sid=x; Path=/; Secure", "http://app.example.com/", "Secure"),
        ("__Secure-sid=x; Path=/", "https://app.example.com/", "Secure"),
        ("sid=x; SameSite=None", "https://app.example.com/", "SameSite=None needs Secure"),
        ("sid=x; Domain=other.org", "https://app.example.com/", "cannot set"),
        ("sid=x; Domain=example.com; Path=/", "https://evil.example.com/", None),  # cookie tossing
    ],
)
def test_browser_model_prefix_rules(header: str, set_by: str, reason: str | None) -> None:
    got = BrowserModel.rejection(parse_set_cookie(header), set_by)
    assert (got is None) if reason is None else (got is not None and reason in got)


def test_host_prefix_blocks_a_sibling_subdomain_planting_a_session(store: SessionStore) -> None:
    browser = BrowserModel()
    # a sibling subdomain tosses a cookie for the parent domain: the fixation route
    assert (
        browser.store("session_id=planted; Domain=example.com; Path=/; Secure", "https://evil.example.com/")
        is None
    )
    assert browser.cookies_for("https://app.example.com/me") == {"session_id": "planted"}
    assert (
        browser.store(
            f"{HOST_COOKIE_NAME}=planted; Domain=example.com; Path=/; Secure", "https://evil.example.com/"
        )
        is not None
    )
    # the course app can use the __Host- name, and its cookie passes the browser's rules
    header = (
        test_client(create_app(store, USERS, cookie_name=HOST_COOKIE_NAME))
        .post("/login", json=ALICE)
        .headers["set-cookie"]
    )
    assert header.startswith(f"{HOST_COOKIE_NAME}=")
    assert BrowserModel.rejection(parse_set_cookie(header), "https://app.example.com/") is None


def test_check_host_cookie(capsys: pytest.CaptureFixture[str]) -> None:
    header = "__Host-session_id=abc; Path=/; Secure; HttpOnly; SameSite=Lax"
    assert check_host_cookie(header) is True
    out = capsys.readouterr().out
    assert out.rstrip().endswith("All checks passed.") and "✗" not in out
    assert check_host_cookie("__Host-session_id=abc; Domain=example.com; Secure") is False
    out = capsys.readouterr().out
    assert (
        "✗ a browser accepts it from https://app.example.com (saw '__Host- forbids a Domain "
        "attribute (host-only cookie)')"
    ) in out
    assert "✓ the name starts with __Host-" in out and "Not yet: 3 of 4 checks failed." in out
    assert check_host_cookie("") is False
    assert "✗ is a Set-Cookie header" in capsys.readouterr().out
    assert check_host_cookie("session_id=abc123; Path=/") is False  # the notebook's stub
    out = capsys.readouterr().out
    assert "✓" not in out and "· a browser accepts it from https://app.example.com" in out
    assert "Not yet: 3 of 4 checks failed." in out
    # once another property passes, the browser's acceptance counts
    assert check_host_cookie("__Host-session_id=abc; Path=/; Secure") is False
    out = capsys.readouterr().out
    assert "✓ the name starts with __Host-" in out
    assert "✓ a browser accepts it from https://app.example.com" in out


# ------------------------------------------------------------------------------------------------
# Row 3: 不正なセッション (forged sessions) -> 署名、暗号化
# ------------------------------------------------------------------------------------------------
def test_500_fresh_ids_are_unique_and_43_characters(client: Client, prefix: str) -> None:
    store = SessionStore(client=client, prefix=prefix, default_ttl=30)
    pipe_ids = [store.create({"n": i}) for i in range(500)]
    assert len(set(pipe_ids)) == 500
    assert all(len(i) == 43 and is_valid_session_id(i) for i in pipe_ids)
    assert len(set(client.scan_iter(match=store.keys.session_pattern, count=1000))) == 500


def test_forged_client_side_session_succeeds_only_on_the_vulnerable_app(app: FastAPI) -> None:
    vulnerable = client_side_session_app({"mallory": "evil-but-registered"})
    mallory = login(vulnerable, MALLORY)
    plant_cookie(mallory, "session", forge_client_side_cookie(mallory.cookies["session"], username="alice"))
    assert logged_in_as(mallory) == "alice"
    # the course app: the cookie is an opaque random ID; editing it gets nothing
    mallory = login(app, MALLORY)
    value = mallory.cookies["session_id"]
    plant_cookie(mallory, "session_id", value[:-1] + ("A" if value[-1] != "A" else "B"))
    assert logged_in_as(mallory) is None


def _flip(value: str, i: int) -> str:
    """``value`` with the character at ``i`` replaced by another one."""
    return value[:i] + ("A" if value[i] != "A" else "B") + value[i + 1 :]


TAMPERED = [
    lambda v: v.rpartition(".")[0],  # unsigned: the bare ID
    # signature changed: its FIRST character (the last one of a base64url string may carry only
    # padding bits, so changing it can leave the decoded signature, and its validity, as it was)
    lambda v: _flip(v, v.rindex(".") + 1),
    lambda v: ("A" if v[0] != "A" else "B") + v[1:],  # ID changed
    lambda v: secrets.token_urlsafe(32) + "." + v.rpartition(".")[2],  # another ID, old signature
    lambda v: v + ".",  # extra separator
    lambda v: "garbage",
    lambda v: "eyJhbGciOiJub25lIn0.eyJ1c2VyIjoiYWxpY2UifQ.",  # JWT-like, alg none
    lambda v: "x" * 4000,
]


@pytest.mark.parametrize("tamper", TAMPERED)
def test_signed_cookie_tampering_gets_401_with_zero_redis_round_trips(
    counted_client: tuple[Client, RoundTrips], prefix: str, tamper: Callable[[str], str]
) -> None:
    client, trips = counted_client
    app = create_app(
        SessionStore(client=client, prefix=prefix, default_ttl=60), USERS, secret_key="course04-test-key"
    )
    http = login(app)
    good = http.cookies["session_id"]
    assert "." in good and is_valid_session_id(good.rpartition(".")[0])
    with trips.measure() as m:
        assert http.get("/me").status_code == 200
    assert m.count == 1
    forged = test_client(app)
    plant_cookie(forged, "session_id", tamper(good))
    with trips.measure() as m:
        assert forged.get("/me").status_code == 401
    assert m.count == 0, m.commands


def test_signing_rejects_well_formed_random_ids_before_redis(
    counted_client: tuple[Client, RoundTrips], prefix: str
) -> None:
    """What signing adds to a 256-bit ID: guesses cost the store nothing."""
    client, trips = counted_client
    store = SessionStore(client=client, prefix=prefix, default_ttl=60)
    plain, signed = create_app(store, USERS), create_app(store, USERS, secret_key="k")
    for app, expected_trips in ((plain, 20), (signed, 0)):
        with trips.measure() as m:
            for _ in range(20):
                guess = test_client(app)
                plant_cookie(guess, "session_id", secrets.token_urlsafe(32))
                assert guess.get("/me").status_code == 401
        assert m.count == expected_trips


def test_signing_key_rotation(store: SessionStore) -> None:
    old_app = create_app(store, USERS, secret_key="old")
    http = login(old_app)
    value = http.cookies["session_id"]
    for keys, status in ((["new", "old"], 200), (["new"], 401)):
        other = test_client(create_app(store, USERS, secret_key=keys))
        plant_cookie(other, "session_id", value)
        assert other.get("/me").status_code == status


def test_guessing_time_matches_owasp_example() -> None:
    # OWASP: 64 bits, 10 000 guesses/s, 100 000 valid sessions -> about 292 years
    years = expected_guess_seconds(64, 10_000, 100_000) / security.SECONDS_PER_YEAR
    assert 292 <= years < 293
    rows = {r["bits"]: r for r in security.guessing_table(1e9, 1_000_000)}
    assert rows[256]["universe_ages"] > 1e40 and rows[122]["universe_ages"] > 1
    assert rows[64]["seconds"] < 86400  # 64 bits fall within hours to a strong attacker
    assert security.format_duration(90) == "1.5 minutes"
    with pytest.raises(ValueError, match="must all be > 0"):
        expected_guess_seconds(0, 1, 1)


def test_check_touch(checks_on_backend: Client, capsys: pytest.CaptureFixture[str]) -> None:
    def good(client: Client, key: str, now_ms: int) -> bool:
        raw = client.get(key)
        if raw is None:
            return False
        session = json.loads(raw)
        left = min(session["idle_ttl"] * 1000, session["absolute_deadline_ms"] - now_ms)
        if left <= 0:
            client.delete(key)
            return False
        return client.pexpire(key, left)

    def idle_only(client: Client, key: str, now_ms: int) -> bool:  # slides, never looks at the deadline
        raw = client.get(key)
        return raw is not None and bool(client.expire(key, json.loads(raw)["idle_ttl"]))

    def no_delete(
        client: Client, key: str, now_ms: int
    ) -> bool:  # refuses a session past its deadline but leaves it in Redis
        raw = client.get(key)
        if raw is None:
            return False
        session = json.loads(raw)
        left = min(session["idle_ttl"] * 1000, session["absolute_deadline_ms"] - now_ms)
        return left > 0 and bool(client.pexpire(key, left))

    assert check_touch(good) is True
    out = capsys.readouterr().out
    assert out.rstrip().endswith("All checks passed.") and "✗" not in out and out.count("✓") == 4
    assert check_touch(idle_only) is False
    out = capsys.readouterr().out
    assert "✓ an active session: True, and its TTL slides back to its idle TTL (10 min)" in out
    assert "✗ 2 s before its absolute deadline: True, and a TTL of at most those 2 s" in out
    assert "of at most those 2 s (saw 'answer True, TTL about 10 min')" in out  # the whole idle TTL
    assert "✗ past its absolute deadline: False, and the session is deleted from Redis" in out
    assert "Not yet: 2 of 4 checks failed." in out
    assert check_touch(no_delete) is False
    out = capsys.readouterr().out
    assert "(saw 'answer False, key still there')" in out and "Not yet: 1 of 4 checks failed." in out
    assert check_touch(lambda client, key, now_ms: None) is False  # the notebook's stub
    out = capsys.readouterr().out
    assert "✓" not in out and "Not yet: 4 of 4 checks failed." in out
    assert check_touch(lambda client, key, now_ms: False) is False  # says False, does nothing
    out = capsys.readouterr().out
    assert "✓" not in out and "· no session at the key: False, and no key written" in out
    assert "Not yet: 3 of 4 checks failed." in out
    assert check_touch(lambda client, key, now_ms: 1 / 0) is False
    out = capsys.readouterr().out
    assert "✗ your code raised ZeroDivisionError" in out and "Traceback" not in out


# ------------------------------------------------------------------------------------------------
# Row 4: セッション無限増加 (unbounded growth) -> TTL 必須
# ------------------------------------------------------------------------------------------------
def test_audit_ttl_finds_the_planted_immortal_sessions_and_nothing_else(client: Client, prefix: str) -> None:
    store = SessionStore(client=client, prefix=prefix, default_ttl=60)
    mortal = [store.create({"user_id": "alice"}), store.create({})]
    immortal = plant_immortal_sessions(store, n_without_ex=2, n_persisted=1)
    # a plain SET overwrite of a live session drops its TTL too
    overwritten = store.create({"user_id": "bob"})
    client.set(store.key(overwritten), json.dumps({"user_id": "bob"}))
    immortal.append(overwritten)
    admin = SessionAdmin.for_store(store)
    try:
        found = admin.audit_ttl()
        assert sorted(found) == sorted(immortal)
        assert not set(found) & set(mortal)
        assert find_immortal_keys(client, f"{prefix}*") == sorted(store.key(i) for i in immortal)
    finally:
        client.delete(*[store.key(i) for i in immortal])
    assert admin.audit_ttl() == []


def test_growth_experiment_without_ttl_grows_with_ttl_plateaus(client: Client, prefix: str) -> None:
    try:
        run = growth_experiment(client, prefix, ticks=15, per_tick=5, tick=0.1, ttl=1)
        assert run.without_ttl == [5 * (i + 1) for i in range(15)]
        assert max(run.with_ttl) <= run.steady_state_bound() == 55
        assert run.with_ttl[-1] < run.without_ttl[-1]
        assert len(run.seconds) == 15 and run.seconds == sorted(run.seconds)
    finally:
        backend.delete_prefix(client, f"{prefix}-immortal")


def test_server_memory_facts_never_raises(client: Client, prefix: str) -> None:
    client.set(f"{prefix}:k", "v", ex=30)
    lines = security.server_memory_facts(client, f"{prefix}:k")
    assert len(lines) == 2 and all(isinstance(line, str) for line in lines)
    assert "maxmemory" in lines[0] and "MEMORY USAGE" in lines[1]


class _Refusing:
    """A client whose CONFIG GET and MEMORY USAGE fail with ``error`` (a server's own words)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def config_get(self, pattern: str) -> NoReturn:
        raise self.error

    def memory_usage(self, key: str) -> NoReturn:
        raise self.error


@pytest.mark.parametrize(
    "error, reason",
    [
        (
            redis.ResponseError("unknown command 'config get', with args beginning with: 'maxmemory*'"),
            "this server does not offer {}",
        ),
        (
            redis.ResponseError("ERR unknown command `MEMORY`, with args beginning with: `USAGE`"),
            "this server does not offer {}",
        ),
        (
            redis.exceptions.NoPermissionError(
                "this user has no permissions to run the 'config|get' command"
            ),
            "this server does not allow it to this user",
        ),
    ],
    ids=["fakeredis-wording", "redis-wording", "acl-refusal"],
)
def test_server_memory_facts_say_why_in_the_course_words_not_the_servers(
    error: Exception, reason: str
) -> None:
    lines = security.server_memory_facts(cast(Client, _Refusing(error)), "k")
    assert lines == [
        f"CONFIG GET is not available here ({reason.format('CONFIG GET')}): "
        "ask whoever runs the Redis what maxmemory-policy it uses.",
        f"MEMORY USAGE is not available here ({reason.format('MEMORY USAGE')}).",
    ]  # the same sentences whatever the server said: no "unknown command", no quotes, no args


def test_check_find_immortal(checks_on_backend: Client, capsys: pytest.CaptureFixture[str]) -> None:
    def good(client: Client, prefix: str) -> list[str]:
        return [k[len(prefix) + 1 :] for k in client.scan_iter(match=f"{prefix}:*") if client.ttl(k) == -1]

    def keys_not_ids(client: Client, prefix: str) -> list[str]:
        return [k for k in client.scan_iter(match=f"{prefix}:*") if client.ttl(k) == -1]

    def lesson_split(
        client: Client, prefix: str
    ) -> list[str]:  # key.split(":")[1] breaks on a prefix with a colon
        return [k.split(":")[1] for k in client.scan_iter(match=f"{prefix}:*") if client.ttl(k) == -1]

    assert check_find_immortal(good) is True
    out = capsys.readouterr().out
    assert out.rstrip().endswith("All checks passed.") and "✗" not in out
    assert check_find_immortal(keys_not_ids) is False
    out = capsys.readouterr().out
    assert "✗ returns session IDs, not key names" in out and "Not yet: 2 of 6 checks failed." in out
    assert check_find_immortal(lesson_split) is False
    assert "✗ finds every session without a TTL" in capsys.readouterr().out
    assert check_find_immortal(lambda client, prefix: None) is False  # the stub
    out = capsys.readouterr().out
    assert "✗ returns a list (saw 'NoneType')" in out and "Not yet: 6 of 6 checks failed." in out
    assert check_find_immortal(lambda client, prefix: []) is False  # a list, and nothing in it
    out = capsys.readouterr().out
    assert "✓" not in out and "· returns a list" in out and "Not yet: 5 of 6 checks failed." in out


# ------------------------------------------------------------------------------------------------
# Keys that leak tokens -> key sessions by a hash of the token
# ------------------------------------------------------------------------------------------------
def test_raw_token_keys_leak_through_scan_monitor_and_dumps(
    redis_url: str, client: Client, prefix: str
) -> None:
    logged, log = command_log_client(redis_url)
    try:
        store = SessionStore(client=logged, prefix=prefix, default_ttl=60)
        app = create_app(store, USERS)
        http = login(app)
        token = http.cookies["session_id"]
        assert logged_in_as(http) == "alice"
        assert any(token in key for key in client.scan_iter(match=store.keys.session_pattern))
        assert any(token in line for line in log.lines)
        assert token in export_snapshot(client, store.keys.session_pattern)
        thief = test_client(app)
        leaked = next(client.scan_iter(match=store.keys.session_pattern))
        plant_cookie(thief, "session_id", store.keys.stored_id_of(leaked))
        assert logged_in_as(thief) == "alice"
    finally:
        logged.close()


def test_hashed_keys_leak_nothing_usable(redis_url: str, client: Client, prefix: str) -> None:
    logged, log = command_log_client(redis_url)
    try:
        store = SessionStore(client=logged, prefix=prefix, default_ttl=60, hash_ids=True)
        app = create_app(store, USERS)
        http = login(app)
        token = http.cookies["session_id"]
        assert logged_in_as(http) == "alice"
        keys = list(client.scan_iter(match=f"{prefix}*"))
        everything = " ".join(keys) + " ".join(log.lines) + export_snapshot(client, f"{prefix}*")
        everything += " ".join(
            m
            for k in keys
            if k.startswith(store.keys.index_prefix)
            for m in cast("list[str]", client.zrange(k, 0, -1))
        )
        assert token not in everything
        assert store.key(token) == store.keys.key_of(token_handle(token)) in keys
        thief = test_client(app)
        plant_cookie(thief, "session_id", token_handle(token))  # the handle seen in SCAN
        assert logged_in_as(thief) is None
        assert http.post("/logout").status_code == 200
        assert list(client.scan_iter(match=store.keys.session_pattern)) == []
    finally:
        logged.close()


def test_hashed_store_contract(counted_client: tuple[Client, RoundTrips], prefix: str) -> None:
    client, trips = counted_client
    store = SessionStore(client=client, prefix=prefix, default_ttl=60, hash_ids=True)
    with trips.measure() as m:
        token = store.create({"user_id": 7, "username": "alice"})
    # one pipeline; on a cluster, two requests when the session and the index live on two nodes
    assert m.count <= (2 if isinstance(client, RedisCluster) else 1) and is_valid_session_id(token)
    handle = token_handle(token)
    assert handle == store.keys.stored_id(token) != token
    assert store.keys.is_stored_id(handle) and not is_valid_session_id(handle)  # not a cookie value
    assert client.exists(store.keys.key_of(handle)) == 1 and client.exists(store.keys.key_of(token)) == 0
    assert client.zrange(store.keys.index_key(7), 0, -1) == [handle]
    assert 0 < client.ttl(store.key(token)) <= 60

    for call, expected in (
        (lambda: store.get(token), 1),
        (lambda: store.get(token, refresh=True), 1),
        (lambda: store.refresh(token), 1),
        (lambda: store.update(token, {"role": "admin"}), 3),
    ):
        with trips.measure() as m:
            call()
        assert m.count == expected, m.commands
    session = store.get(token)
    assert session is not None and session["role"] == "admin"

    # the handle (what SCAN, admin listings and logs show) is not a token
    assert store.get(handle) is None and store.refresh(handle) is False
    with pytest.raises(SessionNotFound, match="malformed session ID"):
        store.update(handle, {"x": 1})
    # malformed tokens and handles: no round trip
    with trips.measure() as m:
        assert store.get("nope") is None and store.delete("nope") is False
        assert store.refresh("*") is False and store.delete_stored("nope") is False
        with pytest.raises(SessionNotFound, match="malformed session ID"):
            store.regenerate("nope")
    assert m.count == 0

    with trips.measure() as m:
        new = store.regenerate(token)
    assert m.count == 3, m.commands
    session = store.get(new)
    assert store.get(token) is None and session is not None and session["role"] == "admin"
    assert client.zrange(store.keys.index_key(7), 0, -1) == [token_handle(new)]

    admin = SessionAdmin.for_store(store)
    listed = admin.list_sessions(user_id=7)
    assert [s["session_id"] for s in listed] == [token_handle(new)]
    # ending one session by the handle an admin listing shows (what DELETE /sessions/{id} does)
    assert store.delete_stored(listed[0]["session_id"]) is True and store.get(new) is None
    assert client.zrange(store.keys.index_key(7), 0, -1) == []
    assert store.delete_stored(listed[0]["session_id"]) is False
    other = store.create({"user_id": 7})
    assert admin.revoke_all_sessions(7) == 1 and store.get(other) is None

    anon = store.create({"cart": []})
    assert store.delete(anon) is True and store.delete(anon) is False


def test_hashed_store_keeps_absolute_ttl(client: Client, prefix: str) -> None:
    # idle 2 h, absolute 1 h: a refresh asks for 2 h and gets at most what is left of the hour
    store = SessionStore(client=client, prefix=prefix, default_ttl=7200, absolute_ttl=3600, hash_ids=True)
    token = store.create({"user_id": 1})
    assert 0 < client.ttl(store.key(token)) <= 3600
    assert store.refresh(token) and 0 < client.ttl(store.key(token)) <= 3600


def test_the_package_offers_what_notebook_04_uses() -> None:
    for name in (
        "BrowserModel",
        "client_side_session_app",
        "command_log_client",
        "export_snapshot",
        "forge_client_side_cookie",
        "growth_experiment",
        "guessing_table",
        "parse_set_cookie",
        "plant_immortal_sessions",
        "server_memory_facts",
        "token_handle",
        "vulnerable_app",
        "logged_in_as",
        "plant_cookie",
        "replay_client",
        "test_client",
    ):
        assert callable(getattr(security, name)), name
    assert set(security.__all__) <= set(dir(security))
    assert not [name for name in security.__all__ if name.startswith("check_")]  # lessons.checks'
    with pytest.raises(AttributeError, match="HashedKeySessionStore"):  # now SessionStore(hash_ids=True)
        security.HashedKeySessionStore  # type: ignore[attr-defined]  # noqa: B018


def test_command_log_parses_binary_safe_arguments(redis_url: str, prefix: str) -> None:
    logged, log = command_log_client(redis_url)
    try:
        logged.set(f"{prefix}:k", 'a b\r\n"c"', ex=10)
        assert log.commands == [["SET", f"{prefix}:k", 'a b\r\n"c"', "EX", "10"]]
        assert log.short(max_arg=5) == ['"SET" "…" "…" "EX" "10"']
    finally:
        logged.close()


# ------------------------------------------------------------------------------------------------
# The quiz answer keys of notebook 04, proven on Redis
# ------------------------------------------------------------------------------------------------
def test_quiz_sec_set_drops_ttl(client: Client, prefix: str) -> None:
    from lessons.quiz import question

    assert question("sec-set-drops-ttl").answer == "B"
    key = f"{prefix}:s"
    client.set(key, "{}", ex=3600)
    client.set(key, '{"role": "admin"}')  # the "update" written with a plain SET
    try:
        assert client.ttl(key) == -1
    finally:
        client.delete(key)


def test_quiz_sec_fixation(client: Client, prefix: str, app: FastAPI) -> None:
    from lessons.quiz import question

    assert question("sec-fixation").answer == "B"
    # A (HttpOnly) does not help: the vulnerable app sets HttpOnly and is still fixated
    vuln = vulnerable_app(client, f"{prefix}-v", {"alice": "wonderland"})
    attacker, victim = test_client(vuln), test_client(vuln)
    attacker.get("/visit")
    plant_cookie(victim, "session_id", attacker.cookies["session_id"])
    header = victim.post("/login", json=ALICE).headers["set-cookie"]
    assert "HttpOnly" in header and logged_in_as(attacker) == "alice"


def test_quiz_sec_signing(counted_client: tuple[Client, RoundTrips], prefix: str) -> None:
    from lessons.quiz import question

    assert question("sec-signing").answer == "C"
    test_signing_rejects_well_formed_random_ids_before_redis(counted_client, prefix)


def test_quiz_file_is_well_formed() -> None:
    from lessons.quiz import questions

    mine = [q for q in questions().values() if q.id.startswith("sec-")]
    assert len(mine) >= 3
    for q in mine:
        assert q.answer in q.choices and len(q.choices) == 4 and q.explanation and q.question
