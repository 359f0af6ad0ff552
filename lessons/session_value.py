"""A stored session value: its JSON, the fields the store manages in it, the TTL they imply,
and the checks every store (and the web app's settings) applies to a TTL and to session data.

No Redis here. ``SessionStore`` writes each session as one JSON object whose first fields are its
own (``idle_ttl`` in seconds, ``absolute_deadline_ms`` when the store has an ``absolute_ttl``),
followed by the application's data and two UTC timestamps (``created_at``, ``last_accessed``).
"""

from __future__ import annotations

import json
from typing import Any

from .i18n import _
from .keys import UserId, check_user_id

__all__ = [
    "META_FIELDS",
    "capped_ttl_ms",
    "check_new_data",
    "check_ttl",
    "check_update",
    "decode_session",
    "encode_session",
    "lifetime_of",
    "user_of",
]

#: Fields the store writes into every session; ``create`` and ``update`` may not set them.
META_FIELDS = ("idle_ttl", "absolute_deadline_ms", "created_at", "last_accessed")


def check_ttl(name: str, value: object) -> int:
    """``value`` if it is a whole number of seconds > 0; else ``TypeError`` / ``ValueError``.

    ``0`` is refused, not read as "use the default" (a flaw of the lesson's ``ttl or default``):
    a session that expires at once, or never, is a bug.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number of seconds, not {type(value).__name__}")
    if value <= 0:
        raise ValueError(
            _(
                "{name} must be > 0 seconds (got {value}); a session without a TTL would live forever",
                name=name,
                value=value,
            )
        )
    return value


def _data_without_meta(data: object, verb: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TypeError(f"session data must be a dict, not {type(data).__name__}")
    for name in META_FIELDS:
        if name in data:
            raise ValueError(f"{name!r} is managed by the store and cannot be {verb}")
    return data


def check_new_data(data: object) -> dict[str, Any]:
    """``data`` if it can become a new session: a dict without the store's own fields
    (``META_FIELDS``), whose ``user_id`` (if any) is an int or a str; else ``TypeError`` /
    ``ValueError``."""
    checked = _data_without_meta(data, "set")
    if checked.get("user_id") is not None:
        check_user_id(checked["user_id"])
    return checked


def check_update(data: object) -> dict[str, Any]:
    """``data`` if it can be merged into a session: a dict without the store's own fields."""
    return _data_without_meta(data, "updated")


def decode_session(raw: object) -> dict[str, Any] | None:
    """A stored value as a dict, or None if it is missing or not a JSON object."""
    if not isinstance(raw, (str, bytes)):
        return None
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def encode_session(session: dict[str, Any]) -> str:
    """JSON with the store's fields first (``idle_ttl``, ``absolute_deadline_ms``), so that they
    are the first thing a person reading the value with ``redis-cli`` sees."""
    ordered: dict[str, Any] = {
        name: session[name] for name in ("idle_ttl", "absolute_deadline_ms") if name in session
    }
    ordered.update((k, v) for k, v in session.items() if k not in ordered)
    try:
        return json.dumps(ordered, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"session data must be JSON-serialisable: {exc}") from None


def user_of(session: dict[str, Any]) -> UserId | None:
    """The session's ``user_id`` if it is an int or a str (what the per-user index accepts)."""
    user = session.get("user_id")
    return user if isinstance(user, (int, str)) and not isinstance(user, bool) else None


def _whole(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def lifetime_of(session: dict[str, Any], default_ms: int) -> tuple[int, int | None]:
    """``(idle_ms, deadline_ms)``: the session's own idle TTL (``default_ms`` if it has none) and
    its absolute deadline in epoch ms (None if it has none). Neither changes while it lives."""
    own = _whole(session.get("idle_ttl"))
    return (
        own * 1000 if own is not None and own > 0 else default_ms,
        _whole(session.get("absolute_deadline_ms")),
    )


def capped_ttl_ms(idle_ms: int, deadline_ms: int | None, now_ms: int) -> int:
    """The TTL a refresh at ``now_ms`` gives a session: its idle TTL, capped by its deadline
    (<= 0: the deadline has passed)."""
    return idle_ms if deadline_ms is None else min(idle_ms, deadline_ms - now_ms)
