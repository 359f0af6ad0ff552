"""``BodyLimit``: an ASGI middleware that refuses request bodies over a size limit with 413.

A declared ``Content-Length`` over the limit is refused before a byte of the body is read; a
body without one (``Transfer-Encoding: chunked``) is counted as it arrives and refused as soon as
it passes the limit, so a 10 MB body never sits in memory. A body within the limit (at most
``max_bytes``, 16 KiB by default) is read, then handed to the app unchanged.

A client that goes away before its body is complete (``http.disconnect``) gets no answer and
leaves nothing in the log: an aborted upload is not an error. The same holds for starlette's
``ClientDisconnect`` raised further in, before a response has started.
"""

from __future__ import annotations

import json

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..i18n import _

__all__ = ["DEFAULT_MAX_BODY", "BodyLimit"]

#: Enough for any JSON the app accepts (a login is well under 2 KiB).
DEFAULT_MAX_BODY = 16 * 1024


class BodyLimit:
    """Wrap ``app``; answer 413 ``{"detail": "Request body too large (limit N bytes)"}``."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY):
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
            raise ValueError(f"max_bytes must be a positive int, not {max_bytes!r}")
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and (declared < 0 or declared > self.max_bytes):
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: nobody to answer
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, _replay(b"".join(chunks), receive), tracking_send)
        except ClientDisconnect:
            if started:
                raise  # half an answer sent: let the server see it

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": _("Request body too large (limit {limit} bytes)", limit=self.max_bytes)})
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the buffered body once, then waits on the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
