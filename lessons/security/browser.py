"""What a browser does with each cookie attribute, as Python rules (RFC 6265bis), not a browser.

The lesson's answer to hijacking (HTTPS, HttpOnly Cookie), made visible: ``parse_set_cookie``
reads a ``Set-Cookie`` header, ``BrowserModel`` decides whether a browser would store it (Secure,
``__Host-``/``__Secure-`` prefixes, Domain) and which cookies a request would carry (host,
Secure, SameSite), and what page scripts can read (HttpOnly). No Redis command runs here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..i18n import _

__all__ = ["BrowserModel", "SetCookie", "parse_set_cookie"]


@dataclass(frozen=True)
class SetCookie:
    """One ``Set-Cookie`` header, parsed (attribute names are case-insensitive)."""

    name: str
    value: str
    secure: bool = False
    httponly: bool = False
    samesite: str | None = None  # "Strict" | "Lax" | "None" | None (not given)
    path: str | None = None
    domain: str | None = None
    max_age: int | None = None

    def header(self) -> str:
        parts = [f"{self.name}={self.value}"]
        if self.domain is not None:
            parts.append(f"Domain={self.domain}")
        if self.path is not None:
            parts.append(f"Path={self.path}")
        if self.max_age is not None:
            parts.append(f"Max-Age={self.max_age}")
        if self.secure:
            parts.append("Secure")
        if self.httponly:
            parts.append("HttpOnly")
        if self.samesite is not None:
            parts.append(f"SameSite={self.samesite}")
        return "; ".join(parts)


def parse_set_cookie(header: str) -> SetCookie:
    """Parse one ``Set-Cookie`` header value (RFC 6265 syntax, no validation of the value)."""
    first, *attrs = [part.strip() for part in header.split(";")]
    name, sep, value = first.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"not a Set-Cookie header: {header!r}")
    fields: dict[str, Any] = {}
    for attr in attrs:
        if not attr:
            continue
        key, _, val = attr.partition("=")
        key = key.strip().lower()
        if key == "secure":
            fields["secure"] = True
        elif key == "httponly":
            fields["httponly"] = True
        elif key == "samesite":
            fields["samesite"] = val.strip().capitalize()
        elif key == "path":
            fields["path"] = val.strip()
        elif key == "domain":
            fields["domain"] = val.strip().lstrip(".").lower()
        elif key == "max-age":
            fields["max_age"] = int(val.strip())
    return SetCookie(name.strip(), value.strip(), **fields)


def _site(url: str) -> tuple[str, str]:
    """(scheme, registrable domain), modelled as the host's last two labels.

    Real browsers use the Public Suffix List (``example.co.uk`` has three labels); two labels is
    enough for the hosts in the notebook. Schemeful same-site: http and https differ.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme, ".".join(host.split(".")[-2:])


class BrowserModel:
    """What a browser does with cookies, written as Python rules (RFC 6265bis), not a browser.

    ``store(header, set_by)`` accepts or rejects a ``Set-Cookie`` the way a current browser does;
    ``cookies_for(url, …)`` says which stored cookies a request would carry, and why the others are
    left out; ``document_cookie(url)`` is what page scripts can read (``document.cookie``).
    """

    def __init__(self, samesite_default: str = "Lax"):
        #: cookies without SameSite are treated as Lax by Chromium-based browsers (2020 onwards)
        self.samesite_default = samesite_default
        self.jar: list[tuple[SetCookie, str]] = []  # (cookie, host it applies to / domain)

    @staticmethod
    def rejection(cookie: SetCookie, set_by: str) -> str | None:
        """Why a browser would refuse this Set-Cookie from ``set_by`` (None: accepted)."""
        parts = urlsplit(set_by)
        host = (parts.hostname or "").lower()
        https = parts.scheme == "https"
        if cookie.secure and not https:
            return _("Secure cookies can only be set by https pages")
        if cookie.name.startswith("__Secure-") and not (cookie.secure and https):
            return _("__Secure- needs Secure, set from https")
        if cookie.name.startswith("__Host-"):
            if not (cookie.secure and https):
                return _("__Host- needs Secure, set from https")
            if cookie.domain is not None:
                return _("__Host- forbids a Domain attribute (host-only cookie)")
            if cookie.path != "/":
                return _("__Host- needs Path=/")
        if cookie.samesite == "None" and not cookie.secure:
            return _("SameSite=None needs Secure")
        if cookie.domain is not None and not (host == cookie.domain or host.endswith("." + cookie.domain)):
            return _("{host} cannot set a cookie for Domain={domain}", host=host, domain=cookie.domain)
        return None

    def store(self, header: str | SetCookie, set_by: str) -> str | None:
        """Store the cookie as a browser would; returns the rejection reason, or None if stored."""
        cookie = parse_set_cookie(header) if isinstance(header, str) else header
        reason = self.rejection(cookie, set_by)
        if reason is None:
            scope = cookie.domain or (urlsplit(set_by).hostname or "").lower()
            self.jar = [(c, s) for c, s in self.jar if not (c.name == cookie.name and s == scope)]
            self.jar.append((cookie, scope))
        return reason

    def decide(
        self,
        cookie: SetCookie,
        scope: str,
        url: str,
        *,
        initiator: str | None = None,
        method: str = "GET",
        top_level: bool = True,
    ) -> tuple[bool, str]:
        """(sent?, why) for one cookie on a request to ``url``.

        ``initiator``: the page that caused the request (None: the user typed the URL or used a
        bookmark). ``top_level``: a navigation (link, form submit) rather than a script's
        fetch, an ``<img>`` or an ``<iframe>``.
        """
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        host_only = cookie.domain is None
        if (host_only and host != scope) or (
            not host_only and not (host == scope or host.endswith("." + scope))
        ):
            return False, "another host"
        if cookie.secure and parts.scheme != "https":
            return False, "Secure: not sent over http"
        cross_site = initiator is not None and _site(initiator) != _site(url)
        if not cross_site:
            return True, "same-site"
        samesite = cookie.samesite or self.samesite_default
        if samesite == "Strict":
            return False, "SameSite=Strict: cross-site"
        if samesite == "Lax":
            if top_level and method.upper() in ("GET", "HEAD"):
                return True, "SameSite=Lax: cross-site top-level GET"
            return False, f"SameSite=Lax: cross-site {method.upper()}" + ("" if top_level else " subresource")
        return True, "SameSite=None: sent everywhere"

    def cookies_for(self, url: str, **request: Any) -> dict[str, str]:
        """The ``Cookie`` header a request to ``url`` would carry, as {name: value}."""
        return {c.name: c.value for c, scope in self.jar if self.decide(c, scope, url, **request)[0]}

    def document_cookie(self, url: str) -> dict[str, str]:
        """What ``document.cookie`` shows a script on a page at ``url``: HttpOnly cookies never."""
        return {c.name: c.value for c, scope in self.jar if not c.httponly and self.decide(c, scope, url)[0]}
