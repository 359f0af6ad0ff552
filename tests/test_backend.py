"""lessons.backend: which Redis, the embedded server's three fixes, clear errors."""

from __future__ import annotations

import gc
import socket
import subprocess
import sys
import textwrap
import time

import pytest
import redis

from lessons import backend


def test_redis_url_prefers_the_environment(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://example.invalid:6379/3")
    assert backend.redis_url() == "redis://example.invalid:6379/3"
    assert not backend.is_embedded()


def test_embedded_server_is_started_once_on_loopback(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    first, second = backend.redis_url(), backend.redis_url()
    assert first == second == backend.embedded_url()
    assert first.startswith("redis://127.0.0.1:")
    assert backend.is_embedded()
    assert backend.connect(first).ping() is True


def test_embedded_server_sockets_have_tcp_nodelay():
    """Without TCP_NODELAY every pipelined reply stalls ~40 ms (Nagle + delayed ACK)."""
    server = backend.embedded_server()
    port = server.server_address[1]
    client = backend.connect(backend.embedded_url())
    pipe = client.pipeline()
    pipe.ping()
    pipe.ping()
    assert pipe.execute() == [True, True]
    accepted = []
    for obj in gc.get_objects():
        if (isinstance(obj, socket.socket) and obj.fileno() != -1
                and obj.family in (socket.AF_INET, socket.AF_INET6)):
            try:
                local, peer = obj.getsockname(), obj.getpeername()
            except OSError:
                continue
            if local[1] == port and peer[1] != port:
                accepted.append(obj)
    assert accepted, "no accepted server-side socket found"
    assert all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in accepted)
    client.close()


def test_a_process_that_leaves_a_client_open_still_exits():
    """fakeredis serves connections on non-daemon threads; ours are daemon threads."""
    code = textwrap.dedent("""
        from lessons.backend import connect
        c = connect()
        c.set("k", "v", ex=5)
        print(c.get("k"))
    """)
    env = {k: v for k, v in __import__("os").environ.items() if k != "REDIS_URL"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                          timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "v"


def test_describe_names_the_backend(redis_url, monkeypatch):
    if redis_url == backend.embedded_url():
        monkeypatch.delenv("REDIS_URL", raising=False)
        assert backend.describe().startswith("Backend: embedded fakeredis ")
    else:
        monkeypatch.setenv("REDIS_URL", redis_url)
        line = backend.describe()
        assert line.startswith("Backend: Redis ") and line.endswith("(from REDIS_URL)")


def test_describe_explains_an_unreachable_redis_in_one_line(monkeypatch):
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("REDIS_URL", f"redis://user:secret@127.0.0.1:{port}/0")
    started = time.monotonic()
    with pytest.raises(backend.BackendUnavailable) as info:
        backend.describe()
    assert time.monotonic() - started < 30  # an error, not a hang
    message = str(info.value)
    assert "\n" not in message and "unset REDIS_URL" in message
    assert "secret" not in message  # the password is redacted


@pytest.mark.parametrize("command", ["GETEX PX", "GETEX EX", "GETEX PXAT", "PSETEX", "SETEX", "SET PX"])
def test_expiry_is_set_to_the_millisecond(client, prefix, command):
    """fakeredis 2.41 rounded the expiry of GETEX, PSETEX and SETEX down to a whole second of the
    clock (a GETEX PX 1500 could leave 501 ms); the embedded server sets it as Redis does."""
    key = f"{prefix}:expiry"
    client.set(key, "v", px=60_000)
    want = 2000 if command in ("GETEX EX", "SETEX") else 1500
    for _ in range(10):  # ten tries: a truncated expiry would be early by 0-999 ms each time
        if command == "GETEX PX":
            client.getex(key, px=1500)
        elif command == "GETEX EX":
            client.getex(key, ex=2)
        elif command == "GETEX PXAT":
            client.getex(key, pxat=int(time.time() * 1000) + 1500)
        elif command == "PSETEX":
            client.psetex(key, 1500, "v")
        elif command == "SETEX":
            client.execute_command("SETEX", key, 2, "v")
        else:
            client.set(key, "v", px=1500)
        assert want - 100 <= client.pttl(key) <= want, command
        time.sleep(0.013)


def test_connect_decodes_responses(client, prefix):
    client.set(f"{prefix}:x", "é", ex=10)
    assert client.get(f"{prefix}:x") == "é"


def test_delete_prefix_deletes_only_that_prefix(client, prefix):
    for i in range(1200):
        client.set(f"{prefix}:a:{i}", i, ex=60)
    client.set(f"{prefix}x-keep", 1, ex=60)
    other = f"{prefix}-other"  # also under the fixture's prefix, so it is cleaned up anyway
    assert backend.delete_prefix(client, f"{prefix}:a:") == 1200
    assert client.exists(f"{prefix}x-keep") == 1
    assert client.exists(other) == 0


@pytest.mark.parametrize("bad", ["", "*", "session:*", "a?b", "[x]"])
def test_delete_prefix_refuses_globs(client, bad):
    with pytest.raises(ValueError):
        backend.delete_prefix(client, bad)


def test_unreachable_redis_raises_connection_error_quickly():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = backend.connect(f"redis://127.0.0.1:{port}/0")
    started = time.monotonic()
    with pytest.raises(redis.ConnectionError):
        c.ping()
    assert time.monotonic() - started < 30


def test_the_embedded_server_is_never_a_cluster(monkeypatch):
    """No round trip: connect() to the embedded server returns a plain client at once."""
    calls: list[tuple] = []
    monkeypatch.setattr(redis.Redis, "info", lambda self, *a, **k: calls.append(a) or {})
    url = backend.embedded_url()
    assert backend.is_cluster(url) is False
    client = backend.connect(url)
    assert type(client) is redis.Redis
    assert calls == []
    client.close()


def test_an_unreachable_redis_is_not_remembered(monkeypatch):
    """A Redis that is down now may be a cluster node later: ask again next time."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    assert backend.is_cluster(url) is False
    assert url not in backend._cluster_urls
    assert type(backend.connect(url)) is redis.Redis
