"""Which Redis the course talks to.

``redis_url()`` returns ``$REDIS_URL`` when it is set (a real Redis), else the URL of an
embedded fakeredis TCP server that this process starts once, on 127.0.0.1 and a free port.
Either way every client connects the same way, with ``redis.Redis.from_url(url)``, so several
processes (a notebook kernel and three uvicorn servers, say) can share one store.

Two fixes over a plain ``fakeredis.TcpFakeServer``:

- ``TCP_NODELAY`` on accepted sockets. The server writes a reply in several small pieces; with
  Nagle's algorithm on, the client's delayed ACK stalls each pipelined or MULTI reply by about
  40 ms. With it off, such a reply takes well under a millisecond.
- daemon handler threads. fakeredis serves each connection on a non-daemon thread, so a process
  that still holds an open client would hang at exit waiting for it.
"""

from __future__ import annotations

import os
import threading
from socketserver import BaseServer
from urllib.parse import urlsplit, urlunsplit

import fakeredis
import redis

try:  # fakeredis >= 2.30 moved the TCP server into a private package
    from fakeredis._clients._tcp_server import TCPFakeRequestHandler
except ImportError:  # pragma: no cover - older fakeredis
    from fakeredis._tcp_server import TCPFakeRequestHandler  # type: ignore[no-redef]

__all__ = [
    "redis_url",
    "connect",
    "describe",
    "is_embedded",
    "embedded_server",
    "embedded_url",
    "delete_prefix",
    "BackendUnavailable",
]

#: Seconds to wait for a TCP connection / a reply before giving up (never hang a notebook).
CONNECT_TIMEOUT = 2.0
SOCKET_TIMEOUT = 5.0


class BackendUnavailable(RuntimeError):
    """Redis could not be reached at the configured URL."""


class _NoDelayHandler(TCPFakeRequestHandler):
    """fakeredis's request handler with Nagle's algorithm off (socketserver sets TCP_NODELAY)."""

    disable_nagle_algorithm = True


class _EmbeddedServer(fakeredis.TcpFakeServer):
    """``TcpFakeServer`` on daemon threads with TCP_NODELAY handlers."""

    def __init__(self, address: tuple[str, int]):
        super().__init__(address)
        self.RequestHandlerClass = _NoDelayHandler
        self.daemon_threads = True  # an open client must not keep the process alive
        self.block_on_close = False


_lock = threading.Lock()
_server: _EmbeddedServer | None = None
_server_url: str | None = None


def embedded_server() -> BaseServer:
    """Start (once per process) and return the embedded fakeredis TCP server."""
    global _server, _server_url
    with _lock:
        if _server is None:
            server = _EmbeddedServer(("127.0.0.1", 0))  # port 0: the OS picks a free port
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.1},
                name="embedded-fakeredis", daemon=True,
            )
            thread.start()
            host, port = server.server_address[:2]
            _server, _server_url = server, f"redis://{host}:{port}/0"
        return _server


def embedded_url() -> str:
    """The embedded server's URL (starting it on first use), whatever ``REDIS_URL`` says."""
    embedded_server()
    assert _server_url is not None
    return _server_url


def is_embedded() -> bool:
    """True when ``REDIS_URL`` is not set, so the course uses its embedded server."""
    return not os.environ.get("REDIS_URL")


def redis_url() -> str:
    """``$REDIS_URL`` if set, else the embedded server's URL (starting it on first use)."""
    return os.environ.get("REDIS_URL") or embedded_url()


def connect(url: str | None = None, **kwargs) -> redis.Redis:
    """A ``decode_responses=True`` client for ``url`` (default: ``redis_url()``).

    Connecting is lazy: no command runs until the first request. Timeouts are short so that an
    unreachable Redis raises ``redis.ConnectionError`` within seconds instead of hanging.
    """
    options = {
        "decode_responses": True,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_timeout": SOCKET_TIMEOUT,
    }
    options.update(kwargs)
    return redis.Redis.from_url(url or redis_url(), **options)


def _redacted(url: str) -> str:
    """The URL without its password."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def describe(client: redis.Redis | None = None) -> str:
    """One line naming the backend in use; one INFO (real Redis) or PING round trip.

    Raises ``BackendUnavailable`` with a one-line explanation when Redis does not answer.
    """
    url = redis_url()
    client = client or connect(url)
    try:
        if is_embedded():
            client.ping()
            return (f"Backend: embedded fakeredis {fakeredis.__version__} (a Python simulation "
                    f"of Redis) at {url}")
        version = client.info("server").get("redis_version", "?")
    except redis.ConnectionError as exc:
        raise BackendUnavailable(
            f"No Redis answers at {_redacted(url)} ({exc}). Start one, or unset REDIS_URL "
            "to use the embedded server.") from None
    return f"Backend: Redis {version} at {_redacted(url)} (from REDIS_URL)"


def delete_prefix(client: redis.Redis, *prefixes: str) -> int:
    """Delete every key named ``{prefix}…`` for each prefix; returns how many were deleted.

    SCAN with MATCH (one round trip per 1 000 keys scanned) plus one UNLINK per batch. Use it
    only on prefixes that belong to the course: it is how notebooks and tests clean up after
    themselves on a shared Redis. Never FLUSHDB.
    """
    deleted = 0
    for prefix in prefixes:
        if not prefix or any(ch in prefix for ch in "*?[]\\"):
            raise ValueError(f"refusing to delete by an empty or glob prefix: {prefix!r}")
        batch: list[str] = []
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                deleted += client.unlink(*batch)
                batch.clear()
        if batch:
            deleted += client.unlink(*batch)
    return deleted
