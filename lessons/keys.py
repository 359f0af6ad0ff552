"""The one key schema: every Redis key name the course's session code uses comes from here.

``KeySchema(prefix, hash_ids=False)`` names, for one store:

=====================================  =============================================================
``session_key(token)``                 ``{prefix}:{id}``: the lesson's ``session:{id}``; ``id`` is the
                                       token, or its SHA-256 with ``hash_ids=True``
``stored_id(token)``                   that ``id``: what the key holds instead of the token
``key_of(stored_id)``                  the session key of a stored ID (what admin tools list)
``stored_id_of(key)``                  the stored ID in a session key (strip the prefix)
``index_key(user_id)``                 ``{prefix}-by-user:{json user id}``: one user's sessions
``last_seen_key``                      ``{prefix}-last-seen``: users' last-seen times
``login_failures_key(scope, who)``     ``{prefix}-login-failures:{scope}:{digest}``: throttling
``session_pattern`` / ``index_pattern``  SCAN MATCH patterns; the first never matches the others
=====================================  =============================================================

Rules the names follow, and why:

- Everything that is not a session lives under ``{prefix}-…``, which the ``{prefix}:*`` SCAN
  pattern cannot match, so scanning sessions never meets an index or a counter.
- A user ID is written as JSON: ``1`` and ``"1"`` get different index keys (``…-by-user:1`` and
  ``…-by-user:"1"``), and a 19-digit Snowflake ID keeps every digit (no float on the way).
- Prefixes may not contain glob characters (SCAN patterns would match more than they should) nor
  ``{``/``}`` (a hash tag would pin every key of the store to one Redis Cluster slot, one node).
- Lua scripts never build a key: they are handed every key they touch through ``KEYS``, which is
  what Redis Cluster and ACL key patterns require.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from .errors import CourseError

__all__ = [
    "SESSION_ID_PATTERN",
    "InvalidPrefix",
    "KeySchema",
    "UserId",
    "check_prefix",
    "check_user_id",
    "is_valid_session_id",
]

UserId = int | str

#: ``secrets.token_urlsafe(32)``: 32 random bytes, base64url without padding = 43 characters.
SESSION_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")

#: A SHA-256 stored ID (``hash_ids=True``): 64 lower-case hex digits.
_HASHED_ID = re.compile(r"[0-9a-f]{64}")

_FORBIDDEN = "*?[]\\{}"


class InvalidPrefix(CourseError, ValueError):
    """A key prefix that is empty, or holds glob or hash-tag characters."""


def is_valid_session_id(session_id: object) -> bool:
    """True if ``session_id`` could have come from ``secrets.token_urlsafe(32)``. No Redis."""
    return isinstance(session_id, str) and SESSION_ID_PATTERN.fullmatch(session_id) is not None


def check_prefix(prefix: object) -> str:
    """``prefix`` itself if it is usable as a key prefix, else ``InvalidPrefix`` saying why."""
    if not isinstance(prefix, str) or not prefix:
        raise InvalidPrefix(f"prefix must be a non-empty string, not {prefix!r}")
    bad = sorted({c for c in prefix if c in _FORBIDDEN})
    if bad:
        raise InvalidPrefix(
            f"prefix {prefix!r} contains {' '.join(bad)}: glob characters would make SCAN patterns "
            "match other keys, and braces are a Redis Cluster hash tag that puts every key on one node"
        )
    return prefix


def check_user_id(user_id: object) -> UserId:
    """``user_id`` if it is an int or a str (not a bool), else ``TypeError``."""
    if isinstance(user_id, bool) or not isinstance(user_id, (int, str)):
        raise TypeError(f"user_id must be an int or a str, not {type(user_id).__name__}")
    return user_id


def encode_user(user_id: UserId) -> str:
    """The user ID as it appears in key names and index members: JSON (``1`` vs ``"1"``)."""
    return json.dumps(check_user_id(user_id), ensure_ascii=False)


@dataclass(frozen=True)
class KeySchema:
    """Key names for one session store. No Redis command runs here."""

    prefix: str = "session"
    hash_ids: bool = False

    def __post_init__(self) -> None:
        check_prefix(self.prefix)

    # -- sessions ----------------------------------------------------------------------------
    def stored_id(self, session_id: str) -> str:
        """What the key holds in place of the token: the token, or SHA-256(token) in hex."""
        if self.hash_ids:
            return hashlib.sha256(session_id.encode()).hexdigest()
        return session_id

    def session_key(self, session_id: str) -> str:
        """``{prefix}:{stored_id(token)}``."""
        return self.key_of(self.stored_id(session_id))

    def key_of(self, stored_id: str) -> str:
        """The session key for a stored ID (as listed by ``SessionAdmin``)."""
        return f"{self.prefix}:{stored_id}"

    def stored_id_of(self, key: str) -> str:
        """The stored ID in a session key (the lesson's ``key.split(':')[1]`` breaks on ``a:b``)."""
        return key[len(self.prefix) + 1 :]

    def is_stored_id(self, stored_id: object) -> bool:
        """True if ``stored_id`` has the shape of this schema's stored IDs. No Redis."""
        if not isinstance(stored_id, str):
            return False
        if self.hash_ids:
            return _HASHED_ID.fullmatch(stored_id) is not None
        return is_valid_session_id(stored_id)

    @property
    def session_pattern(self) -> str:
        """SCAN MATCH pattern of session keys; no other key of the schema matches it."""
        return f"{self.prefix}:*"

    # -- per-user index ----------------------------------------------------------------------
    @property
    def index_prefix(self) -> str:
        return f"{self.prefix}-by-user:"

    def index_key(self, user_id: UserId) -> str:
        """The sorted set of one user's stored session IDs; each score is a time (epoch ms) by
        which that session has surely expired (``SessionStore`` keeps it ahead of the session)."""
        return f"{self.index_prefix}{encode_user(user_id)}"

    def user_of_index_key(self, key: str) -> UserId:
        """The user ID an index key belongs to (the inverse of ``index_key``)."""
        value = json.loads(key[len(self.index_prefix) :])
        return check_user_id(value)

    @property
    def index_pattern(self) -> str:
        """SCAN MATCH pattern of the per-user indexes."""
        return f"{self.index_prefix}*"

    # -- other keys --------------------------------------------------------------------------
    @property
    def last_seen_key(self) -> str:
        """Sorted set of users' last-seen times (``lessons.admin.LastSeen``)."""
        return f"{self.prefix}-last-seen"

    def login_failures_key(self, scope: str, subject: str) -> str:
        """Failed-login counter for one account or one client. The subject (a user name or an
        IP address) is hashed, so key names neither leak it nor depend on its characters."""
        digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
        return f"{self.prefix}-login-failures:{scope}:{digest}"
