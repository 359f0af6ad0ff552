"""Passwords: salted scrypt hashes, and the accounts the app accepts. No Redis here.

Only hashes are kept: ``Accounts`` hashes every password once, when the app is built. A check
costs one scrypt run (``SCRYPT_N``/``R``/``P``: 16 MiB and ~50-100 ms here), for unknown user
names too (against a dummy hash), so the answer time does not tell which names exist.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..keys import UserId, check_user_id

__all__ = ["DEMO_USERS", "Account", "Accounts", "PasswordHash", "hash_password", "verify_password"]

#: The demo accounts used when ``users`` is None (the lesson's alice has user id 1).
DEMO_USERS: dict[str, dict[str, Any]] = {
    "alice": {"password": "wonderland", "user_id": 1, "role": "admin"},
    "bob": {"password": "builder", "user_id": 2, "role": "user"},
}

#: scrypt cost: n=2**14, r=8, p=1 uses 16 MiB and ~50-100 ms per check here.
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN = 2**14, 8, 1, 32


@dataclass(frozen=True)
class PasswordHash:
    """A salted scrypt hash; the password itself is never kept."""

    salt: bytes
    digest: bytes


def hash_password(password: str, salt: bytes | None = None) -> PasswordHash:
    """scrypt(password, random 16-byte salt). No Redis."""
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_DKLEN
    )
    return PasswordHash(salt, digest)


def verify_password(password: str, stored: PasswordHash) -> bool:
    """Recompute the hash and compare in constant time (``hmac.compare_digest``)."""
    return hmac.compare_digest(hash_password(password, stored.salt).digest, stored.digest)


@dataclass(frozen=True)
class Account:
    """One user the app knows: what goes into the session, and the password's hash."""

    username: str
    user_id: UserId
    role: str | None
    password: PasswordHash

    def public(self) -> dict[str, Any]:
        """What the session stores and ``/me`` shows: user_id, username (and role)."""
        user: dict[str, Any] = {"user_id": self.user_id, "username": self.username}
        if self.role is not None:
            user["role"] = self.role
        return user


class Accounts:
    """The app's users, with hashed passwords.

    ``users``: ``{username: password}`` (then ``user_id`` is the username) or
    ``{username: {"password", "user_id"?, "role"?}}``; ``None`` means ``DEMO_USERS``.
    """

    def __init__(self, users: Mapping[str, Any] | None = None):
        self._accounts: dict[str, Account] = {}
        for username, spec in (DEMO_USERS if users is None else users).items():
            self._accounts[username] = _account(username, spec)
        self._dummy = hash_password(secrets.token_urlsafe(16))  # for unknown names: same cost

    def verify(self, username: str, password: str) -> Account | None:
        """The account if ``password`` is right, else None. One scrypt run either way."""
        account = self._accounts.get(username)
        ok = verify_password(password, account.password if account else self._dummy)
        return account if ok and account is not None else None


def _account(username: str, spec: Any) -> Account:
    if isinstance(spec, str):
        spec = {"password": spec}
    if not isinstance(spec, Mapping) or not isinstance(spec.get("password"), str):
        raise TypeError(f"user {username!r}: give a password string or a dict with 'password'")
    try:
        user_id = check_user_id(spec.get("user_id", username))
    except TypeError:
        raise TypeError(f"user {username!r}: user_id must be an int or a str") from None
    role = spec.get("role")
    if role is not None and not isinstance(role, str):
        raise TypeError(f"user {username!r}: role must be a str")
    return Account(username, user_id, role, hash_password(spec["password"]))
