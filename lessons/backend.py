"""Which Redis the course talks to.

``redis_url()`` returns ``$REDIS_URL`` when it is set (a real Redis), else the URL of an
embedded fakeredis TCP server that this process starts once, on 127.0.0.1 and a free port.
Either way every client connects the same way, with ``redis.Redis.from_url(url)``, so several
processes (a notebook kernel and three uvicorn servers, say) can share one store. A URL that
points at any node of a Redis Cluster gets a ``redis.cluster.RedisCluster`` instead (one INFO
round trip per URL and process finds out; the embedded server is never a cluster).

A malformed URL is refused before anything connects (``check_url``): a scheme other than
``redis://``, ``rediss://`` or ``unix://``, no host, a port that is not 1-65535, a database that
is not a whole number (``/13x``, ``/three``: redis-py would quietly use database 0), an option
value redis-py cannot parse. A database the server does not have (``/99`` on a Redis with 16)
is refused by ``connect()``, with the server's count where it can tell. Either way the error
is ``InvalidRedisUrl``, one line, password hidden.

Three fixes over a plain ``fakeredis.TcpFakeServer``:

- ``TCP_NODELAY`` on accepted sockets. The server writes a reply in several small pieces; with
  Nagle's algorithm on, the client's delayed ACK stalls each pipelined or MULTI reply by about
  40 ms. With it off, such a reply takes well under a millisecond.
- daemon handler threads. fakeredis serves each connection on a non-daemon thread, so a process
  that still holds an open client would hang at exit waiting for it.
- expiry to the millisecond. fakeredis 2.41 rounds the expiry time that ``GETEX``, ``PSETEX`` and
  ``SETEX`` set down to a whole second of the clock, so a ``GETEX key PX 1500`` could leave 501 ms
  (Redis: 1500). ``_precise_expiry`` sets it again, as Redis does, after fakeredis's own command.
"""

from __future__ import annotations

import os
import re
import threading
from socketserver import BaseServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import fakeredis
import redis
from fakeredis.commands_mixins.string_mixin import StringCommandsMixin
from redis.cluster import ClusterPipeline, RedisCluster
from redis.exceptions import RedisClusterException

from .errors import CourseError, InvalidRedisUrl
from .i18n import _

try:  # fakeredis >= 2.30 moved the TCP server into a private package
    from fakeredis._clients._tcp_server import TCPFakeRequestHandler
except ImportError:  # pragma: no cover - older fakeredis
    from fakeredis._tcp_server import TCPFakeRequestHandler  # type: ignore[no-redef]

__all__ = [
    "BackendUnavailable",
    "Client",
    "InvalidRedisUrl",
    "Pipeline",
    "check_url",
    "connect",
    "delete_prefix",
    "describe",
    "embedded_server",
    "embedded_url",
    "is_cluster",
    "is_embedded",
    "redis_url",
]

#: What ``connect()`` returns: a plain client, or a cluster client for a Redis Cluster node.
#: The one type for a Redis client in the course (fakeredis's ``FakeRedis`` is a ``redis.Redis``;
#: redis-py ships inline types, so every call through it is checked).
Client = redis.Redis | RedisCluster
#: What ``client.pipeline()`` returns (each also a ``Client``: redis-py's pipelines subclass it).
Pipeline = redis.client.Pipeline | ClusterPipeline

#: Seconds to wait for a TCP connection / a reply before giving up (never hang a notebook).
CONNECT_TIMEOUT = 2.0
SOCKET_TIMEOUT = 5.0


class BackendUnavailable(CourseError, RuntimeError):
    """Redis could not be reached at the configured URL."""


class _NoDelayHandler(TCPFakeRequestHandler):
    """fakeredis's request handler with Nagle's algorithm off (socketserver sets TCP_NODELAY)."""

    disable_nagle_algorithm = True


def _precise_expiry() -> None:
    """Make fakeredis's GETEX, PSETEX and SETEX set their expiry to the millisecond (idempotent).

    Each still runs fakeredis's own command first (argument checks, errors, reply); then the
    expiry is set again from the same arguments without rounding it to a whole second.
    """
    mixin: Any = StringCommandsMixin
    if getattr(mixin, "_course_precise_expiry", False):
        return
    getex, psetex, setex = mixin.getex, mixin.psetex, mixin.setex

    def getex_ms(self: Any, key: Any, *args: bytes) -> Any:
        reply = getex(self, key, *args)
        if key and len(args) == 2:
            option, amount = bytes(args[0]).lower(), int(args[1])
            now = self._db.time
            at = {
                b"ex": now + amount,
                b"px": now + amount / 1000,
                b"exat": amount,
                b"pxat": amount / 1000,
            }.get(option)
            if at is not None:
                key.expireat = at
        return reply

    def psetex_ms(self: Any, key: Any, ms: int, value: bytes) -> Any:
        reply = psetex(self, key, ms, value)
        key.expireat = self._db.time + ms / 1000
        return reply

    def setex_ms(self: Any, key: Any, seconds: int, value: bytes) -> Any:
        reply = setex(self, key, seconds, value)
        key.expireat = self._db.time + seconds
        return reply

    mixin.getex, mixin.psetex, mixin.setex = getex_ms, psetex_ms, setex_ms
    mixin._course_precise_expiry = True


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
_cluster_urls: dict[str, bool] = {}  # URL -> is it a Redis Cluster node? (asked once)


def embedded_server() -> BaseServer:
    """Start (once per process) and return the embedded fakeredis TCP server."""
    global _server, _server_url
    with _lock:
        if _server is None:
            _precise_expiry()
            server = _EmbeddedServer(("127.0.0.1", 0))  # port 0: the OS picks a free port
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="embedded-fakeredis",
                daemon=True,
            )
            thread.start()
            port = server.server_address[1]
            _server, _server_url = server, f"redis://127.0.0.1:{port}/0"
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
    """``$REDIS_URL`` if set (scheme in lower case), else the embedded server's URL (started on
    first use). Raises ``InvalidRedisUrl`` (one line) for a malformed one: see ``check_url``."""
    given = os.environ.get("REDIS_URL")
    return _lower_scheme(check_url(given, "REDIS_URL")) if given else embedded_url()


def _lower_scheme(url: str) -> str:
    """``url``, scheme in lower case: redis-py 8.1 refuses ``REDIS://``, 8.2 takes it (RFC 3986)."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.lower()}{sep}{rest}" if sep else url


_SCHEMES = ("redis", "rediss", "unix")
_DIGITS = re.compile(r"[0-9]+")
_PASSWORD = re.compile(r"^((?:[a-zA-Z][a-zA-Z0-9+.-]*://)?[^/@:]*:)[^/]*@")


def _db_text(text: str, where: str, url: str, name: str) -> int:
    if not _DIGITS.fullmatch(text):
        raise InvalidRedisUrl(
            f"{name} {_redacted(url)}: the database {where} must be a whole number such as 0 "
            f"or 3, not {text!r}"
        )
    return int(text)


def check_url(url: str, name: str = "the Redis URL") -> str:
    """``url`` unchanged if redis-py would connect where it says; else ``InvalidRedisUrl``.

    No round trip. Checks the scheme (``redis://``, ``rediss://``, ``unix://``), the host, the
    port (1-65535), the database (``/N`` or ``?db=N``, ASCII digits, given once) and every
    option value redis-py parses. ``name`` starts the message (``REDIS_URL``, say); the
    password never appears in it. Whether the database exists is for ``connect()`` to find out.
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced [ in an IPv6 host
        raise InvalidRedisUrl(
            f"{name} {_redacted(url)} is not a URL (is an IPv6 host's [ ] unbalanced?)"
        ) from None
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in _SCHEMES:
        shown = f"{scheme!r}" if scheme else "none"
        raise InvalidRedisUrl(
            f"{name} {_redacted(url)}: the scheme must be redis://, rediss:// "
            f"or unix://, and it is {shown} (example: redis://localhost:6379/0)"
        )
    query = parse_qs(parts.query)
    db_query = query.get("db", [None])[-1]
    if scheme == "unix":
        if not parts.path:
            raise InvalidRedisUrl(
                f"{name} {_redacted(url)}: a unix:// URL needs the socket's "
                "path (unix:///run/redis.sock?db=0)"
            )
    else:
        host = parts.netloc.rpartition("@")[2]
        if not parts.hostname:
            raise InvalidRedisUrl(f"{name} {_redacted(url)}: no host (example: {scheme}://localhost:6379/0)")
        port = host.rpartition("]")[2].partition(":")[2] if host.startswith("[") else host.partition(":")[2]
        if port and (not _DIGITS.fullmatch(port) or not 1 <= int(port) <= 65535):
            raise InvalidRedisUrl(
                f"{name} {_redacted(url)}: the port must be a number from 1 to 65535, not {port!r}"
            )
        path = unquote(parts.path)
        if path not in ("", "/"):
            _db_text(path[1:], "after the port", url, name)
            if db_query is not None:
                raise InvalidRedisUrl(
                    f"{name} {_redacted(url)}: give the database once, as "
                    "/N after the port or as ?db=N, not both"
                )
    if db_query is not None:
        _db_text(db_query, "in ?db=", url, name)
    try:
        redis.connection.parse_url(_lower_scheme(url))
    except ValueError:  # an option value redis-py cannot parse, e.g. ?socket_timeout=x
        raise InvalidRedisUrl(f"{name} {_redacted(url)}: {_unreadable_option(query)}") from None
    return url


def _unreadable_option(query: dict[str, list[str]]) -> str:
    """The first ``?name=value`` that redis-py cannot read alone, in the course's words."""
    for option, values in query.items():
        try:
            redis.connection.parse_url(f"redis://localhost/?{urlencode({option: values[0]})}")
        except ValueError:
            return f"redis-py cannot use {values[0]!r} as the value of ?{option}="
    return "redis-py cannot read one of its ?name=value options"


def url_db(url: str) -> int:
    """The database number a URL accepted by ``check_url`` names (0 when it names none)."""
    return int(redis.connection.parse_url(_lower_scheme(url)).get("db") or 0)


def _refused_db(url: str) -> InvalidRedisUrl:
    """The one-line error, in the course's words, for a database the server refused to SELECT.
    One or two round trips on database 0 (INFO cluster, CONFIG GET databases) say why."""
    db = url_db(url)
    why = f"the server refused SELECT {db}"
    try:
        options = {**redis.connection.parse_url(_lower_scheme(url)), **_options({}), "db": 0}
        with redis.Redis(connection_pool=redis.ConnectionPool(**options)) as zero:
            if zero.info("cluster").get("cluster_enabled"):
                why = "a Redis Cluster has database 0 only"
            else:
                count = int(zero.config_get("databases").get("databases", 0))
                if count:
                    why = f"that server has {count} databases, 0 to {count - 1}"
    except (redis.RedisError, ValueError):
        pass
    name = "REDIS_URL " if _lower_scheme(url) == _lower_scheme(os.environ.get("REDIS_URL", "")) else ""
    return InvalidRedisUrl(f"{name}{_redacted(url)}: database {db} does not exist: {why}")


def _options(kwargs: dict[str, Any]) -> dict[str, Any]:
    options = {
        "decode_responses": True,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_timeout": SOCKET_TIMEOUT,
    }
    options.update(kwargs)
    return options


def is_cluster(url: str | None = None) -> bool:
    """True if ``url`` (default: ``redis_url()``) is a node of a Redis Cluster.

    The embedded server never is (no round trip). Otherwise one ``INFO cluster`` round trip the
    first time a URL is asked about in this process; the answer is cached. A Redis that does not
    answer is reported as not a cluster (and not cached), so the caller's first command raises
    the usual ``redis.ConnectionError``. A malformed URL (``check_url``), or a database that the
    server refuses to SELECT, raises ``InvalidRedisUrl``.
    """
    url = url or redis_url()
    if _server_url is not None and url == _server_url:
        return False
    if url not in _cluster_urls:
        check_url(url)
        try:
            with redis.Redis.from_url(_lower_scheme(url), **_options({})) as probe:
                try:  # connecting sends AUTH and SELECT: an error here is the database's
                    probe.connection_pool.release(probe.connection_pool.get_connection())
                except redis.ResponseError:
                    raise _refused_db(url) from None
                enabled = probe.info("cluster").get("cluster_enabled")
        except (redis.ConnectionError, redis.TimeoutError):
            return False
        except redis.ResponseError:  # INFO not allowed (ACL): use the plain client
            enabled = 0
        _cluster_urls[url] = bool(enabled)
    return _cluster_urls[url]


def connect(url: str | None = None, **kwargs: Any) -> Client:
    """A ``decode_responses=True`` client for ``url`` (default: ``redis_url()``).

    A plain ``redis.Redis``, or a ``redis.cluster.RedisCluster`` when ``url`` is a node of a
    Redis Cluster (see ``is_cluster``: at most one INFO round trip per URL and process; a cluster
    client then reads the topology with CLUSTER SLOTS). A plain client connects lazily: no
    command runs until the first request. Timeouts are short so that an unreachable Redis raises
    ``redis.ConnectionError`` within seconds instead of hanging. A malformed URL, or one naming a
    database the server does not have, raises ``InvalidRedisUrl`` (one line) before any command.
    """
    url = url or redis_url()
    if is_cluster(url):
        return RedisCluster.from_url(_lower_scheme(url), **_options(kwargs))
    return redis.Redis.from_url(_lower_scheme(url), **_options(kwargs))


def _redacted(url: str) -> str:
    """The URL without its password (``redis://user:***@host…``), even when it is malformed."""
    return _PASSWORD.sub(r"\1***@", url)


def describe(client: Client | None = None) -> str:
    """One line naming the backend in use; one INFO (real Redis) or PING round trip.

    For a Redis Cluster it names the cluster, how many masters serve its slots (from the
    client's CLUSTER SLOTS view) and the version of one node. Raises ``BackendUnavailable`` with
    a one-line explanation when Redis does not answer.
    """
    url = redis_url()
    try:
        client = client or connect(url)
        if is_embedded():
            client.ping()
            return _(
                "Backend: embedded fakeredis {version} (a Python simulation of Redis) at {url}",
                version=fakeredis.__version__,
                url=url,
            )
        if isinstance(client, RedisCluster):
            node = client.get_default_node()
            version = client.info("server", target_nodes=node).get("redis_version", "?")
            masters = len(client.get_primaries())
            return _(
                "Backend: Redis Cluster, {masters} masters, Redis {version}, at {url} (from REDIS_URL)",
                masters=masters,
                version=version,
                url=_redacted(url),
            )
        try:
            version = client.info("server").get("redis_version", "?")
        except redis.ResponseError:  # INFO refused (an ACL, or a server that lacks it)
            client.ping()
            version = "?"
    except (redis.ConnectionError, redis.TimeoutError, RedisClusterException) as exc:
        raise BackendUnavailable(
            _(
                "No Redis answers at {url} ({why}). Start one, or unset REDIS_URL to use the embedded "
                "server.",
                url=_redacted(url),
                why=_why_unreachable(exc),
            )
        ) from None
    return _("Backend: Redis {version} at {url} (from REDIS_URL)", version=version, url=_redacted(url))


def _why_unreachable(exc: Exception) -> str:
    """What went wrong, from the exception's class alone (never redis-py's or the OS's text)."""
    if isinstance(exc, redis.AuthenticationError):
        return _("it refused the user name or password")
    if isinstance(exc, redis.TimeoutError):
        return _(
            "no answer within {connect:g} s to connect or {reply:g} s to reply",
            connect=CONNECT_TIMEOUT,
            reply=SOCKET_TIMEOUT,
        )
    return (
        _("the connection was refused or closed")
        if isinstance(exc, redis.ConnectionError)
        else _("the cluster client reached no node that serves the slots")
    )


def delete_prefix(client: Client, *prefixes: str) -> int:
    """Delete every key named ``{prefix}…`` for each prefix; returns how many were deleted.

    SCAN with MATCH (one round trip per 1 000 keys scanned) plus one UNLINK per batch of 500.
    On a ``RedisCluster`` the same calls do the right thing: ``scan_iter`` runs SCAN on every
    primary, and ``unlink`` sends one UNLINK per hash slot (one pipeline: a round trip per
    node), so keys in different slots never raise CROSSSLOT. Use it only on prefixes that belong
    to the course: it is how notebooks and tests clean up after themselves on a shared Redis.
    Never FLUSHDB.
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
