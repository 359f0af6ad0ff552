"""Which client sent a request, for the per-client login limit: the peer, or what trusted proxies say.

Behind a reverse proxy every request arrives from the proxy's address, so a per-client counter
keyed by the TCP peer is one counter for all users: 20 failures by anyone lock everyone out.
Proxies say who their client was in ``X-Forwarded-For``, each one APPENDING the address it
received the request from. Only the right end of that list is written by proxies you run; the
left end is whatever the client chose to send. So:

- the peer is not a trusted proxy (the default: no proxy is trusted): the client is the peer,
  and ``X-Forwarded-For`` is ignored (anyone can write it);
- the peer is a trusted proxy: walk ``X-Forwarded-For`` from the right, skipping trusted
  proxies; the first address that is not one is the client. Never the left-most: a client that
  sends ``X-Forwarded-For: <bob's address>`` would otherwise be counted as bob.

``TrustedProxies("10.0.0.5, 10.1.0.0/16")`` holds the proxies (IP addresses and CIDR networks);
``create_app(..., trusted_proxies=...)`` and ``LESSONS_TRUSTED_PROXIES`` set them. No Redis.

uvicorn does the same walk itself, before the app sees the request, with its own list
(``--forwarded-allow-ips``, default ``127.0.0.1,::1``, or ``$FORWARDED_ALLOW_IPS``) unless it
runs with ``--no-proxy-headers``: it then REPLACES the peer in ``scope["client"]`` and the app
can no longer tell a proxy from a client on the same host that forged the header. Serve the app
with ``--no-proxy-headers`` and let this module decide (``lessons.web.serve`` warns otherwise).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

__all__ = ["TrustedProxies", "forwarded_hops"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: A forwarded entry that is no IP address is kept as text, cut to this many characters.
_MAX_ENTRY = 64


def _host_of(entry: str) -> str:
    """An ``X-Forwarded-For`` entry without its port: ``[::1]:80`` -> ``::1``, ``1.2.3.4:5``
    -> ``1.2.3.4``; an IP address in its normal form; anything else as text (cut short)."""
    entry = entry.strip()
    if entry.startswith("[") and "]" in entry:
        entry = entry[1 : entry.index("]")]
    elif entry.count(":") == 1:
        entry = entry.partition(":")[0]
    try:
        return str(ipaddress.ip_address(entry))
    except ValueError:
        return entry[:_MAX_ENTRY]


def forwarded_hops(values: Iterable[str]) -> list[str]:
    """The addresses of every ``X-Forwarded-For`` header line, in order (left to right)."""
    return [host for value in values for part in value.split(",") if (host := _host_of(part))]


class TrustedProxies:
    """The reverse proxies whose ``X-Forwarded-For`` the app believes.

    ``spec``: a comma-separated string or an iterable of IP addresses and CIDR networks
    (``"10.0.0.5, 10.1.0.0/16"``); empty or None: trust nobody. Anything else is a
    ``ValueError`` naming the entry (a host name, ``*``, a network with host bits set).
    """

    def __init__(self, spec: str | Iterable[str] | None = None):
        entries = spec.split(",") if isinstance(spec, str) else list(spec or [])
        self.networks: tuple[Network, ...] = tuple(
            self._network(str(entry).strip()) for entry in entries if str(entry).strip()
        )

    @staticmethod
    def _network(entry: str) -> Network:
        try:
            return ipaddress.ip_network(entry)  # an address is a /32 (or /128) network
        except ValueError:
            raise ValueError(
                f"trusted proxies: {entry!r} is not an IP address or CIDR network "
                "(like 10.0.0.5 or 10.1.0.0/16)"
            ) from None

    def __bool__(self) -> bool:
        return bool(self.networks)

    def __str__(self) -> str:
        return ",".join(str(net) for net in self.networks) or "(none)"

    def __contains__(self, host: object) -> bool:
        try:
            address = ipaddress.ip_address(str(host))
        except ValueError:
            return False  # not an address (a unix socket, "testclient"): never a trusted proxy
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in net for net in self.networks)

    def client(self, peer: str | None, forwarded_for: Iterable[str] = ()) -> str:
        """The client address: ``peer`` itself unless it is a trusted proxy; then the right-most
        ``X-Forwarded-For`` address that is not a trusted proxy (the left-most if all are;
        the peer if the header is missing)."""
        if peer is None:
            return "unknown"
        if peer not in self:
            return _host_of(peer)
        hops = forwarded_hops(forwarded_for)
        for hop in reversed(hops):
            if hop not in self:
                return hop
        return hops[0] if hops else _host_of(peer)
