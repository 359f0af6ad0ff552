"""The session cookie: its attributes, and optional signing with ``itsdangerous``.

The cookie is ``HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=<idle TTL>``. ``Secure`` means an
``http://`` client never sends it back (use ``TestClient(app, base_url="https://testserver")``).
A name starting with ``__Host-`` (``HOST_COOKIE_NAME``) works as is: Secure, Path=/, no Domain.

With a secret key the value is ``<session id>.<signature>``: ``itsdangerous.Signer`` with
HMAC-SHA256 (43 base64url characters). A list of keys allows rotation: the FIRST key signs, every
key verifies; drop an old key to end every session whose cookie it signed. A forged or tampered
value is refused before any Redis command. No Redis here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from fastapi import Request, Response
from itsdangerous import BadSignature, Signer

from ..keys import is_valid_session_id

__all__ = ["HOST_COOKIE_NAME", "SecretKeys", "SessionCookie", "cookie_signer"]

#: A cookie name with the ``__Host-`` prefix: browsers accept it only with Secure, Path=/ and
#: no Domain, so a sibling subdomain or an http page cannot plant or overwrite it.
HOST_COOKIE_NAME = "__Host-session_id"

#: One key, or several for rotation (the first signs).
SecretKeys = str | bytes | Sequence[str | bytes]

#: Keeps these signatures from being valid for anything else signed with the same key.
SIGNING_SALT = "lessons.web.cookie"

#: Max-Age=0 deletes a cookie; the fixed past Expires is for very old browsers (Starlette's
#: delete_cookie would write the current time there).
EXPIRED = "Thu, 01 Jan 1970 00:00:00 GMT"


def _key_bytes(key: object) -> bytes:
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, bytes) or not key:
        raise TypeError("a secret key must be a non-empty str or bytes")
    return key


def cookie_signer(secret_key: SecretKeys) -> Signer:
    """An HMAC-SHA256 ``Signer``: the first of ``secret_key`` signs, every one verifies."""
    keys = [secret_key] if isinstance(secret_key, (str, bytes)) else list(secret_key)
    if not keys:
        raise ValueError("secret_key: give at least one key")
    # itsdangerous signs with the LAST key of the list; ours signs with the first
    return Signer(
        [_key_bytes(k) for k in reversed(keys)],
        salt=SIGNING_SALT,
        key_derivation="hmac",
        digest_method=hashlib.sha256,
    )


def check_cookie_name(name: object) -> str:
    """``name`` if it can be a cookie name, else ``ValueError``."""
    if not isinstance(name, str) or not name or any(c in name for c in " ;,=\t\r\n"):
        raise ValueError(f"invalid cookie name: {name!r}")
    return name


class SessionCookie:
    """Reads, sets and clears the session cookie of one app."""

    def __init__(self, name: str, max_age: int, secret_key: SecretKeys | None = None):
        self.name = check_cookie_name(name)
        self.max_age = max_age
        self.signer = None if secret_key is None else cookie_signer(secret_key)

    def session_id(self, request: Request) -> str | None:
        """The well-formed (and, with a key, correctly signed) session ID in the request's
        cookie, else None. No Redis."""
        value = request.cookies.get(self.name)
        if not value:
            return None
        if self.signer is not None:
            try:
                value = self.signer.unsign(value).decode("utf-8")
            except (BadSignature, UnicodeError):
                return None
        return value if is_valid_session_id(value) else None

    def set(self, response: Response, session_id: str) -> None:
        """Send the (signed) session ID with the hardened attributes."""
        value = session_id if self.signer is None else self.signer.sign(session_id).decode()
        response.set_cookie(
            self.name, value, max_age=self.max_age, path="/", secure=True, httponly=True, samesite="lax"
        )

    def clear(self, response: Response) -> None:
        """Tell the browser to delete the cookie (Max-Age=0, same attributes)."""
        response.set_cookie(
            self.name, "", max_age=0, expires=EXPIRED, path="/", secure=True, httponly=True, samesite="lax"
        )
