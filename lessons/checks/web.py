"""Notebook 02's "Your turn": ``check_get_session``, a lesson-style ``get_session(request)``."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from ..backend import Client
from ..i18n import _
from ..keys import KeySchema
from . import Report

__all__ = ["check_get_session"]

#: Cookie values that must be answered with None and no Redis command.
HOSTILE = ["", "*", "session:*", "../../etc/passwd", "A" * 5000, "+" * 43]


def request_with_cookie(header: str | None) -> Request:
    """A bare ``GET /me`` request carrying ``Cookie: header`` (none if None)."""
    headers = [] if header is None else [(b"cookie", header.encode("latin-1"))]
    return Request({"type": "http", "method": "GET", "path": "/me", "headers": headers})


def check_get_session(
    get_session: Callable[[Request], Any], client: Client, trips: Any, prefix: str = "session"
) -> bool:
    """Test a lesson-style ``get_session(request) -> dict | None`` on Redis; print the verdicts.

    It must return the session and slide its TTL in ONE round trip (``trips`` counts the requests
    of ``client``, the Redis client ``get_session`` uses), return None for a missing or unknown
    cookie, and answer malformed cookies with None and NO Redis command (the last three are
    ``trivial``: a stub that returns None has them, so they count only once the rest works). The
    test session lives at ``{prefix}:<new token>`` with a 5 s TTL (one SET, one TTL, one DEL of
    its own besides the learner's commands) and is deleted at the end. True if all passed.
    """
    report = Report()
    session_id = secrets.token_urlsafe(32)
    key = KeySchema(prefix).session_key(session_id)
    data = {"user_id": 1, "username": "alice"}
    client.set(key, json.dumps(data), ex=5)
    try:
        with report.guard():
            with trips.measure() as m:
                got = get_session(request_with_cookie(f"session_id={session_id}"))
            report.check(got == data, _("returns the session's data"), seen=got)
            report.check(m.count == 1, _("one round trip"), seen=_("{n} round trips", n=m.count))
            ttl = client.ttl(key)
            report.check(ttl > 5, _("the TTL slid back (it was {ttl} s)", ttl=5), seen=_("TTL not slid back"))
            # a stub that answers None and sends nothing has the three properties below
            got = get_session(request_with_cookie("session_id=" + "A" * 43))
            report.check(got is None, _("an unknown ID gives None"), seen=got, trivial=True)
            with trips.measure() as m:
                answers = [get_session(request_with_cookie(f"session_id={v}")) for v in HOSTILE]
                answers.append(get_session(request_with_cookie(None)))
            report.check(
                all(a is None for a in answers),
                _("a missing or malformed cookie gives None"),
                seen=answers,
                trivial=True,
            )
            report.check(
                m.count == 0,
                _("... without any Redis command"),
                seen=_("{n} round trips", n=m.count),
                trivial=True,
            )
    finally:
        client.delete(key)
    return report.finish()
