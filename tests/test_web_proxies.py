"""Issue 16, hole 6: the per-client login limit and reverse proxies (``lessons.web.client_address``).

(a) Behind a proxy the app did not know about, every user shared the proxy's counter: 20 failures
    by anyone locked alice and bob out for 15 minutes. With ``trusted_proxies`` the client is
    the right-most ``X-Forwarded-For`` address that is no trusted proxy.
(b) From a peer that is not a trusted proxy (the default: none is) the header is ignored, so a
    forged one neither escapes the limit nor charges someone else's address.
The real-server side (uvicorn's own proxy headers) is in ``tests/test_web_served.py``.
"""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI

from lessons.backend import Client
from lessons.store import SessionStore
from lessons.web import TestClient, create_app
from lessons.web.client_address import TrustedProxies, forwarded_hops

PROXY = ("10.0.0.5", 40000)  # the reverse proxy, as the app's TCP peer


@pytest.fixture
def store(client: Client, prefix: str) -> SessionStore:
    return SessionStore(client=client, prefix=prefix, default_ttl=60)


def via(app: FastAPI, peer: tuple[str, int] = PROXY) -> TestClient:
    return TestClient(app, base_url="https://testserver", client=peer)


def login(c: TestClient, username: str, password: str, forwarded_for: str | None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    status: int = c.post(
        "/login", json={"username": username, "password": password}, headers=headers
    ).status_code
    return status


USERS = {"alice": "wonderland", "bob": "builder"}


# -- (a) behind a trusted proxy, one client's failures do not lock out the others -------------
def test_behind_a_trusted_proxy_each_client_has_its_own_counter(store: SessionStore) -> None:
    app = create_app(store, USERS, max_failures_per_client=4, trusted_proxies="10.0.0.0/24")
    c = via(app)
    attacker = [login(c, f"user{i}", "guess", "198.51.100.9") for i in range(6)]
    assert attacker == [401] * 4 + [429] * 2  # the attacker is limited...
    assert login(c, "alice", "wonderland", "203.0.113.1") == 200  # ...alice is not
    assert login(c, "bob", "builder", "203.0.113.2") == 200


def test_an_unknown_proxy_is_one_client_for_everyone(store: SessionStore) -> None:
    """What (a) was: without ``trusted_proxies`` the proxy's address is the client."""
    app = create_app(store, USERS, max_failures_per_client=4)
    c = via(app)
    assert [login(c, f"user{i}", "guess", "198.51.100.9") for i in range(4)] == [401] * 4
    assert login(c, "alice", "wonderland", "203.0.113.1") == 429


def test_a_chain_of_trusted_proxies_is_skipped_from_the_right(store: SessionStore) -> None:
    app = create_app(store, USERS, max_failures_per_client=2, trusted_proxies=["10.0.0.5", "10.0.1.0/24"])
    c = via(app)
    # client 198.51.100.9 -> proxy 10.0.1.7 -> proxy 10.0.0.5 -> app
    assert [login(c, "x", "guess", "198.51.100.9, 10.0.1.7") for _ in range(3)] == [401, 401, 429]
    assert login(c, "alice", "wonderland", "203.0.113.1, 10.0.1.7") == 200


# -- (b) a forged header from an untrusted peer is ignored --------------------------------------
def test_a_forged_forwarded_for_from_an_untrusted_peer_is_ignored(store: SessionStore) -> None:
    app = create_app(store, USERS, max_failures_per_client=4, trusted_proxies="10.0.0.5")
    c = via(app, ("192.0.2.50", 5555))  # not a proxy: talks to the app directly
    codes = [login(c, f"user{i}", "guess", f"198.51.100.{i}") for i in range(6)]
    assert codes == [401] * 4 + [429] * 2  # a new forged address each time did not help
    bob = via(app, ("203.0.113.7", 6000))  # bob's own address was never charged
    assert login(bob, "bob", "builder", None) == 200


def test_the_left_most_address_is_never_believed(store: SessionStore) -> None:
    """A client behind the trusted proxy writes bob's address first; the proxy appends the real
    one. Counting the left-most address would charge bob and free the attacker."""
    app = create_app(store, USERS, max_failures_per_client=3, trusted_proxies="10.0.0.5")
    c = via(app)
    assert [login(c, f"u{i}", "guess", "203.0.113.7, 198.51.100.9") for i in range(4)] == [401, 401, 401, 429]
    assert login(c, "bob", "builder", "203.0.113.7") == 200


def test_the_per_account_limit_still_holds_behind_a_proxy(store: SessionStore) -> None:
    """The trade-off kept on purpose: 5 failures on alice's name, from anywhere, lock her out."""
    app = create_app(store, USERS, trusted_proxies="10.0.0.5")
    c = via(app)
    assert [login(c, "alice", "guess", f"198.51.100.{i}") for i in range(5)] == [401] * 5
    assert login(c, "alice", "wonderland", "203.0.113.1") == 429


# -- the address rules, without Redis ------------------------------------------------------------
def test_client_rules() -> None:
    proxies = TrustedProxies("10.0.0.5, 10.1.0.0/16, 2001:db8::/32")
    assert proxies.client("192.0.2.1", ["203.0.113.7"]) == "192.0.2.1"  # untrusted peer
    assert proxies.client("10.0.0.5", []) == "10.0.0.5"  # a proxy's own request
    assert proxies.client("10.0.0.5", ["1.1.1.1, 198.51.100.9"]) == "198.51.100.9"
    assert proxies.client("10.0.0.5", ["1.1.1.1", "198.51.100.9, 10.1.2.3"]) == "198.51.100.9"
    assert proxies.client("10.0.0.5", ["10.1.0.1, 10.1.0.2"]) == "10.1.0.1"  # all proxies
    assert proxies.client("10.0.0.5", ["198.51.100.9:4711"]) == "198.51.100.9"  # port dropped
    assert proxies.client("10.0.0.5", ["[2001:db9::1]:443"]) == "2001:db9::1"
    assert proxies.client("2001:db8::7", ["2001:DB9:0::1"]) == "2001:db9::1"  # normal form
    assert proxies.client("::ffff:10.0.0.5", ["198.51.100.9"]) == "198.51.100.9"  # v4-mapped
    assert proxies.client("testclient", ["198.51.100.9"]) == "testclient"  # not an IP: no proxy
    assert proxies.client(None, ["198.51.100.9"]) == "unknown"
    assert TrustedProxies().client("127.0.0.1", ["198.51.100.9"]) == "127.0.0.1"  # default
    assert forwarded_hops(["a, , b", "c"]) == ["a", "b", "c"]


@pytest.mark.parametrize("spec", ["nginx", "*", "10.0.0.1/8", "10.0.0.300", "::1/129"])
def test_trusted_proxies_are_ip_addresses_or_networks(spec: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"trusted proxies: {spec!r} is not an IP")):
        TrustedProxies(f"10.0.0.5, {spec}")


def test_create_app_refuses_a_malformed_proxy(store: SessionStore) -> None:
    with pytest.raises(ValueError, match=r"'proxy\.internal' is not an IP address"):
        create_app(store, trusted_proxies=["proxy.internal"])
