"""lessons.backend: which Redis, the embedded server's three fixes, clear errors.

No test here measures elapsed time: an unreachable Redis must raise (not hang), and expiry is
checked against the server's own clock (TIME before the command, PEXPIRETIME after), so a busy
machine changes nothing.
"""

from __future__ import annotations

import gc
import socket
import subprocess
import sys
import textwrap
import time
from typing import Any, cast

import pytest
import redis
from pytest import MonkeyPatch

from lessons import backend
from lessons.backend import Client
from lessons.errors import CourseError
from lessons.processes import free_port


def test_redis_url_prefers_the_environment(monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://example.invalid:6379/3")
    assert backend.redis_url() == "redis://example.invalid:6379/3"
    assert not backend.is_embedded()


def test_embedded_server_is_started_once_on_loopback(monkeypatch: MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    first, second = backend.redis_url(), backend.redis_url()
    assert first == second == backend.embedded_url()
    assert first.startswith("redis://127.0.0.1:")
    assert backend.is_embedded()
    assert backend.connect(first).ping() is True


def test_embedded_server_sockets_have_tcp_nodelay() -> None:
    """Without TCP_NODELAY every pipelined reply stalls ~40 ms (Nagle + delayed ACK)."""
    server = backend.embedded_server()
    port = cast("tuple[str, int]", server.server_address)[1]
    client = backend.connect(backend.embedded_url())
    pipe = client.pipeline()
    pipe.ping()
    pipe.ping()
    assert pipe.execute() == [True, True]
    accepted = []
    for obj in gc.get_objects():
        if (
            isinstance(obj, socket.socket)
            and obj.fileno() != -1
            and obj.family in (socket.AF_INET, socket.AF_INET6)
        ):
            try:
                local, peer = obj.getsockname(), obj.getpeername()
            except OSError:
                continue
            if local[1] == port and peer[1] != port:
                accepted.append(obj)
    assert accepted, "no accepted server-side socket found"
    assert all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in accepted)
    client.close()


def test_a_process_that_leaves_a_client_open_still_exits() -> None:
    """fakeredis serves connections on non-daemon threads; ours are daemon threads."""
    code = textwrap.dedent("""
        from lessons.backend import connect
        c = connect()
        c.set("k", "v", ex=5)
        print(c.get("k"))
    """)
    env = {k: v for k, v in __import__("os").environ.items() if k != "REDIS_URL"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "v"


def test_describe_names_the_backend(redis_url: str, monkeypatch: MonkeyPatch) -> None:
    if redis_url == backend.embedded_url():
        monkeypatch.delenv("REDIS_URL", raising=False)
        assert backend.describe().startswith("Backend: embedded fakeredis ")
    else:
        monkeypatch.setenv("REDIS_URL", redis_url)
        line = backend.describe()
        assert line.startswith("Backend: Redis ") and line.endswith("(from REDIS_URL)")


def test_describe_explains_an_unreachable_redis_in_one_line(monkeypatch: MonkeyPatch) -> None:
    port = free_port()  # a port that nothing listens on
    monkeypatch.setenv("REDIS_URL", f"redis://user:secret@127.0.0.1:{port}/0")
    with pytest.raises(backend.BackendUnavailable, match="No Redis answers at") as info:  # not a hang
        backend.describe()
    message = str(info.value)
    assert "\n" not in message and "unset REDIS_URL" in message
    assert "secret" not in message  # the password is redacted


def _server_ms(client: Client) -> int:
    seconds, micros = client.time()
    return seconds * 1000 + micros // 1000


@pytest.mark.parametrize("command", ["GETEX PX", "GETEX EX", "GETEX PXAT", "PSETEX", "SETEX", "SET PX"])
def test_expiry_is_set_to_the_millisecond(client: Client, prefix: str, command: str) -> None:
    """fakeredis 2.41 rounded the expiry of GETEX, PSETEX and SETEX down to a whole second of the
    clock (a GETEX PX 1500 could leave 501 ms); the embedded server sets it as Redis does.

    The expiry (PEXPIRETIME) must lie between the server's clock before the command plus the TTL
    and its clock after it plus the TTL: exact bounds from the server's TIME, whatever the load.
    A whole-second truncation would put it up to 999 ms early; ten tries, each at another
    fraction of a second, cannot all land on a whole second."""
    key = f"{prefix}:expiry"
    client.set(key, "v", px=60_000)
    want = 2000 if command in ("GETEX EX", "SETEX") else 1500
    for _ in range(10):
        before = _server_ms(client)
        if command == "GETEX PX":
            client.getex(key, px=1500)
        elif command == "GETEX EX":
            client.getex(key, ex=2)
        elif command == "GETEX PXAT":
            at = before + 1500 + 7
            client.getex(key, pxat=at)
            assert client.pexpiretime(key) == at, command
            continue
        elif command == "PSETEX":
            client.psetex(key, 1500, "v")
        elif command == "SETEX":
            client.execute_command("SETEX", key, 2, "v")  # type: ignore[no-untyped-call]  # unannotated in redis-py
        else:
            client.set(key, "v", px=1500)
        after = _server_ms(client)
        assert before + want <= client.pexpiretime(key) <= after + want + 1, command
        time.sleep(0.013)


def test_connect_decodes_responses(client: Client, prefix: str) -> None:
    client.set(f"{prefix}:x", "é", ex=10)
    assert client.get(f"{prefix}:x") == "é"


def test_delete_prefix_deletes_only_that_prefix(client: Client, prefix: str) -> None:
    for i in range(1200):
        client.set(f"{prefix}:a:{i}", i, ex=60)
    client.set(f"{prefix}x-keep", 1, ex=60)
    other = f"{prefix}-other"  # also under the fixture's prefix, so it is cleaned up anyway
    assert backend.delete_prefix(client, f"{prefix}:a:") == 1200
    assert client.exists(f"{prefix}x-keep") == 1
    assert client.exists(other) == 0


@pytest.mark.parametrize("bad", ["", "*", "session:*", "a?b", "[x]"])
def test_delete_prefix_refuses_globs(client: Client, bad: str) -> None:
    with pytest.raises(ValueError, match="refusing to delete by an empty or glob prefix"):
        backend.delete_prefix(client, bad)


def test_unreachable_redis_raises_connection_error_quickly() -> None:
    port = free_port()  # a port that nothing listens on
    c = backend.connect(f"redis://127.0.0.1:{port}/0")
    with pytest.raises(redis.ConnectionError, match=r"connecting to 127\.0\.0\.1"):  # not a hang
        c.ping()
    assert isinstance(c, redis.Redis)  # an unreachable URL is never taken for a cluster
    kwargs = c.connection_pool.connection_kwargs
    assert kwargs["socket_connect_timeout"] == backend.CONNECT_TIMEOUT
    assert kwargs["socket_timeout"] == backend.SOCKET_TIMEOUT


def test_the_embedded_server_is_never_a_cluster(monkeypatch: MonkeyPatch) -> None:
    """No round trip: connect() to the embedded server returns a plain client at once."""
    calls: list[tuple[object, ...]] = []

    def info(self: redis.Redis, *a: object, **k: object) -> dict[str, object]:
        calls.append(a)
        return {}

    monkeypatch.setattr(redis.Redis, "info", info)
    url = backend.embedded_url()
    assert backend.is_cluster(url) is False
    client = backend.connect(url)
    assert type(client) is redis.Redis
    assert calls == []
    client.close()


def probes_of(monkeypatch: MonkeyPatch) -> list[str]:
    """The URLs that ``is_cluster`` opens a probe connection to from now on (``Redis.from_url``)."""
    probes: list[str] = []
    opened = redis.Redis.from_url

    def probe(url: str, **kwargs: Any) -> redis.Redis:
        probes.append(url)
        return opened(url, **kwargs)

    monkeypatch.setattr(redis.Redis, "from_url", probe)
    return probes


def test_an_unreachable_redis_is_not_remembered(monkeypatch: MonkeyPatch) -> None:
    """A Redis that is down now may be a cluster node later: ask again next time."""
    url = f"redis://127.0.0.1:{free_port()}/0"  # a port that nothing listens on
    probes = probes_of(monkeypatch)
    assert backend.is_cluster(url) is False
    assert backend.is_cluster(url) is False
    assert probes == [url, url]  # asked twice: the first answer was not remembered
    assert type(backend.connect(url)) is redis.Redis


def test_a_reachable_redis_is_asked_once(redis_url: str, monkeypatch: MonkeyPatch) -> None:
    if redis_url == backend.embedded_url():
        pytest.skip("the embedded server is never probed")
    first = backend.is_cluster(redis_url)
    probes = probes_of(monkeypatch)
    assert backend.is_cluster(redis_url) is first and probes == []  # remembered


# A malformed REDIS_URL is refused in one line (issue 16, item 8): redis-py quietly used
# database 0 for /13x, /three and /abc, and tracebacked on a bad scheme, port or option value.
MALFORMED = {
    "redis://127.0.0.1:6379/13x": "'13x'",
    "redis://127.0.0.1:6379/three": "'three'",
    "redis://127.0.0.1:6379/abc": "'abc'",
    "redis://127.0.0.1:6379/-1": "'-1'",
    "redis://127.0.0.1:6379/1/2": "'1/2'",
    "redis://127.0.0.1:6379/\u0663": "database",  # an Arabic-Indic 3: int() would take it
    "redis://127.0.0.1:6379?db=x": "'x'",
    "redis://127.0.0.1:6379/1?db=2": "once",
    "redsi://127.0.0.1:6379/0": "scheme",
    "127.0.0.1:6379": "scheme",
    "http://127.0.0.1:6379/0": "scheme",
    "redis://127.0.0.1:63x9/0": "'63x9'",
    "redis://127.0.0.1:99999/0": "'99999'",
    "redis://127.0.0.1:0/0": "'0'",
    "redis://:6379/0": "no host",
    "redis://[::1:6379/0": "not a URL",
    "unix://": "path",
    "redis://127.0.0.1:6379/0?socket_timeout=soon": "'soon' as the value of ?socket_timeout=",
}


@pytest.mark.parametrize("url", list(MALFORMED))
def test_a_malformed_url_is_refused_in_one_line(url: str, monkeypatch: MonkeyPatch) -> None:
    password_url = url.replace("127.0.0.1", "user:secret@127.0.0.1", 1)
    for given in (url, password_url):
        with pytest.raises(backend.InvalidRedisUrl, match=r"^REDIS_URL ") as info:
            backend.check_url(given, "REDIS_URL")
        message = str(info.value)
        assert "\n" not in message and message.startswith("REDIS_URL ")
        assert MALFORMED[url] in message
        assert "secret" not in message
    monkeypatch.setenv("REDIS_URL", url)
    with pytest.raises(backend.InvalidRedisUrl, match=r"^REDIS_URL "):
        backend.redis_url()
    with pytest.raises(backend.InvalidRedisUrl, match=r"^REDIS_URL "):
        backend.connect()
    with pytest.raises(backend.InvalidRedisUrl, match=r"^REDIS_URL "):  # never the URL as typed
        backend.describe()
    assert isinstance(info.value, CourseError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "url",
    [
        "redis://localhost",
        "redis://localhost:6379",
        "redis://h:6379/",
        "redis://h:6379/3",
        "redis://h:6379?db=4",
        "rediss://u:p@h:6380/0",
        "redis://[::1]:6379/0",
        "unix:///run/redis.sock?db=2",
        "REDIS://h:6379/0",
        "redis://h/0?socket_timeout=1.5",
    ],
)
def test_a_well_formed_url_is_accepted_unchanged(url: str) -> None:
    assert backend.check_url(url) == url


def test_an_upper_case_scheme_connects_whatever_the_redis_py_version(
    redis_url: str, monkeypatch: MonkeyPatch
) -> None:
    """Schemes are case-insensitive: redis-py 8.1 (Python 3.10's pin) refused ``REDIS://``,
    8.2 takes it; the course hands redis-py the scheme in lower case, so both connect."""
    url = "REDIS" + redis_url[len("redis") :]
    assert redis_url.startswith("redis://")
    monkeypatch.setenv("REDIS_URL", url)
    assert backend.redis_url() == redis_url
    with backend.connect() as upper, backend.connect(url) as given:
        assert upper.ping() and given.ping()
    assert backend.url_db(url) == backend.url_db(redis_url)


def test_refusals_are_the_courses_own_words(monkeypatch: MonkeyPatch) -> None:
    """No message quotes redis-py, the server or the OS (their wording changes between
    releases): each says what is wrong in the course's words."""
    with pytest.raises(backend.InvalidRedisUrl, match="redis-py cannot use") as info:
        backend.check_url("redis://h:6379/0?socket_connect_timeout=x&retry_on_timeout=maybe")
    assert str(info.value) == (
        "the Redis URL redis://h:6379/0?socket_connect_timeout=x&"
        "retry_on_timeout=maybe: redis-py cannot use 'x' as the value of "
        "?socket_connect_timeout="
    )
    monkeypatch.setenv("REDIS_URL", f"REDIS://127.0.0.1:{free_port()}/0")  # nobody listens
    with pytest.raises(backend.BackendUnavailable, match="No Redis answers at") as down:
        backend.describe()
    assert "(the connection was refused or closed)" in str(down.value)


def test_a_database_the_server_does_not_have_is_refused_in_one_line(
    redis_url: str, monkeypatch: MonkeyPatch
) -> None:
    """/99 on a Redis with 16 databases was a 39-line traceback at the first command."""
    base = redis_url.split("?")[0].rsplit("/", 1)[0] if redis_url.count("/") > 2 else redis_url
    url = f"{base}/99999"
    monkeypatch.setenv("REDIS_URL", url)
    with pytest.raises(backend.InvalidRedisUrl, match="database 99999 does not exist") as info:
        backend.connect(url)
    message = str(info.value)
    assert "\n" not in message and "database 99999 does not exist" in message
    assert message.startswith("REDIS_URL ")
    probes = probes_of(monkeypatch)
    with pytest.raises(backend.InvalidRedisUrl, match="database 99999 does not exist"):
        backend.connect(url)
    assert probes == [url]  # asked again: a refused database is not remembered either
