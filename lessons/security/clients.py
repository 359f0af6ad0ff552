"""HTTP clients that play a browser and an attacker against a FastAPI app, in-process.

``test_client`` is the browser (it keeps a cookie jar and honours ``Secure``), ``plant_cookie``
puts a value into that jar the way an attacker would get it there, ``replay_client`` is the
attacker who resends a stolen cookie value, and ``logged_in_as`` asks the app who a client is.
No Redis command runs here; the app behind the client sends its own.
"""

from __future__ import annotations

import warnings
from typing import Any

from fastapi import FastAPI

__all__ = ["logged_in_as", "plant_cookie", "replay_client", "test_client"]


def test_client(app: FastAPI, base_url: str = "https://testserver", **kwargs: Any) -> Any:
    """FastAPI's ``TestClient`` (an httpx client that calls the app in-process).

    ``base_url`` is https by default: the session cookie is ``Secure``, and httpx, like a browser,
    never sends a Secure cookie to an ``http://`` URL. Starlette warns (once, at import) that it
    would prefer the ``httpx2`` package; that note is about packaging, not about this course, so it
    is silenced here.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    return TestClient(app, base_url=base_url, **kwargs)


test_client.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def plant_cookie(http: Any, name: str, value: str) -> None:
    """Put a cookie into a client's jar as if the server at its ``base_url`` had set it.

    This is how the notebook plays "the attacker got this value into that browser" (a cookie
    tossed from a sibling subdomain, an XSS, a shared computer) or "the attacker copied the
    stolen value into their own browser". http.cookiejar files a dotless host such as
    ``testserver`` under ``testserver.local``; using the same domain means a later
    ``Set-Cookie`` from the app replaces this cookie instead of sitting beside it.
    """
    host = http.base_url.host
    http.cookies.set(name, value, domain=host if "." in host else f"{host}.local", path="/")


def replay_client(
    app: FastAPI, cookie_value: str, cookie_name: str = "session_id", base_url: str = "https://testserver"
) -> Any:
    """The attacker's client: it sends a stolen cookie value with every request, as a raw
    ``Cookie`` header. Unlike a browser it ignores ``Max-Age`` and anything the server sets, so
    a 401 it gets means the *server* refused the session."""
    return test_client(app, base_url=base_url, headers={"Cookie": f"{cookie_name}={cookie_value}"})


def _find_username(value: Any) -> str | None:
    if isinstance(value, dict):
        if isinstance(value.get("username"), str):
            return str(value["username"])
        for item in value.values():
            found = _find_username(item)
            if found:
                return found
    return None


def logged_in_as(http: Any, path: str = "/me") -> str | None:
    """Who the server thinks this client is: the ``username`` in ``GET /me``, or None if not 200."""
    response = http.get(path)
    if response.status_code != 200:
        return None
    return _find_username(response.json())
