"""Defect 5: error answers never echo the request, and request bodies are capped.

FastAPI's default 422 lists each wrong field's ``input``: the submitted password, or a whole
10 MB body, came back in the answer. Now a 422 holds locations and messages only, and a body over
16 KiB is refused with 413 before it is read (``Content-Length``) or as soon as it passes the
limit (chunked), on both backends.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from lessons.backend import Client
from lessons.store import SessionStore
from lessons.web import TestClient, create_app
from lessons.web.body_limit import DEFAULT_MAX_BODY, BodyLimit

SECRET = "wonderland-secret-123"


@pytest.fixture
def app(client: Client, prefix: str) -> FastAPI:
    return create_app(SessionStore(client=client, prefix=prefix, default_ttl=60), {"alice": SECRET})


def https(app: FastAPI) -> TestClient:
    return TestClient(app, base_url="https://testserver")


@pytest.mark.parametrize(
    "body",
    [
        {"username": "alice", "password": SECRET, "role": "admin"},
        {"username": 1, "password": SECRET},
        {"username": "", "password": SECRET},
        {"username": "alice", "password": SECRET * 100},
        {"username": ["alice"], "password": [SECRET]},
        {"password": SECRET},
        {"username": "alice", "password": {"value": SECRET}},
        [SECRET, SECRET],
        f"alice:{SECRET}",
    ],
    ids=lambda b: type(b).__name__ + str(len(str(b))),
)
def test_422_never_echoes_the_submitted_values(app: FastAPI, body: Any) -> None:
    r = https(app).post("/login", json=body)
    assert r.status_code == 422
    assert SECRET not in r.text
    assert '"input"' not in r.text and '"ctx"' not in r.text
    details = r.json()["detail"]
    assert details and all(set(d) == {"loc", "msg", "type"} for d in details)
    assert all(d["loc"][0] == "body" for d in details)


def test_422_for_broken_json_says_where_without_echoing(app: FastAPI) -> None:
    r = https(app).post(
        "/login",
        content=f'{{"username": "alice", "password": "{SECRET}"',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert SECRET not in r.text
    assert r.json()["detail"][0]["type"] == "json_invalid"


def test_a_10_mb_body_gets_413_not_an_echo(app: FastAPI) -> None:
    huge = b'{"username": "alice", "password": "' + b"A" * (10 * 1024 * 1024) + b'"}'
    r = https(app).post("/login", content=huge, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json() == {"detail": f"Request body too large (limit {DEFAULT_MAX_BODY} bytes)"}
    assert len(r.content) < 200 and r.headers["cache-control"] == "no-store"


def test_a_body_just_under_the_limit_is_read(app: FastAPI) -> None:
    body = b'{"username": "alice", "password": "' + b"A" * (DEFAULT_MAX_BODY - 100) + b'"}'
    assert len(body) <= DEFAULT_MAX_BODY
    r = https(app).post("/login", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422  # read and validated: the password is longer than 1024


def test_the_limit_is_a_create_app_parameter(client: Client, prefix: str) -> None:
    app = create_app(SessionStore(client=client, prefix=prefix), max_body_bytes=40)
    r = https(app).post("/login", json={"username": "alice", "password": "wonderland"})
    assert r.status_code == 413


def _drive(middleware: BodyLimit, messages: list[Message]) -> tuple[list[Message], int]:
    """Run ``middleware`` on a POST whose body arrives as ``messages`` (no Content-Length);
    return what it sent and how many messages it read."""
    sent: list[Message] = []
    reads = 0

    async def receive() -> Message:
        nonlocal reads
        reads += 1
        return messages[reads - 1]

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/login", "headers": []}
    asyncio.run(middleware(scope, receive, send))
    return sent, reads


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit() -> None:
    called: list[Scope] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:  # the app: must never see this body
        called.append(scope)

    chunk = {"type": "http.request", "body": b"A" * 4096, "more_body": True}
    sent, reads = _drive(BodyLimit(inner, max_bytes=DEFAULT_MAX_BODY), [chunk] * 2560)  # 10 MiB
    assert sent[0]["status"] == 413 and not called
    assert reads == DEFAULT_MAX_BODY // 4096 + 1  # stopped at the first byte over the limit


def test_a_chunked_body_within_the_limit_reaches_the_app_whole() -> None:
    seen: list[bytes] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        seen.append(message["body"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    parts: list[Message] = [
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"cd", "more_body": False},
    ]
    sent, reads = _drive(BodyLimit(inner, max_bytes=10), parts)
    assert seen == [b"abcd"] and sent[0]["status"] == 200 and reads == 2


# -- issue 16, hole 9: a client that goes away half-way through its body is not an error --------
def _call_app(app: FastAPI, messages: list[Message]) -> list[Message]:
    """Run the whole app on one POST /login whose body arrives as ``messages``; what it sent.
    An exception (before the fix: "No response returned.", logged by uvicorn with two
    tracebacks) propagates."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": "/login",
        "raw_path": b"/login",
        "query_string": b"",
        "root_path": "",
        "server": ("testserver", 443),
        "client": ("127.0.0.1", 5000),
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", b"1000"),
        ],
    }
    incoming = iter(messages)
    sent: list[Message] = []

    async def receive() -> Message:
        return next(incoming, {"type": "http.disconnect"})

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_a_disconnect_in_the_middle_of_the_body_is_quiet(app: FastAPI) -> None:
    sent = _call_app(
        app,
        [
            {"type": "http.request", "body": b'{"username": "al', "more_body": True},
            {"type": "http.disconnect"},
        ],
    )
    assert sent == []  # nobody to answer, and no exception


def test_a_whole_body_still_gets_its_answer(app: FastAPI) -> None:
    body = b'{"username": "alice", "password": "wrong"}'
    sent = _call_app(app, [{"type": "http.request", "body": body, "more_body": False}])
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 401
    assert (b"cache-control", b"no-store") in start["headers"]
