"""``lessons.web_farm``: three real uvicorn servers behind a round-robin balancer.

Shared Redis: every request succeeds, whichever server answers. A dict per process: only the
server that created the session knows it. Every process is gone afterwards, even on failure.

Each test stands alone (any order, any subset): it starts its own servers, and an autouse
fixture checks after every test that no uvicorn it started is still a child of this process.
"""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import httpx
import pytest

from lessons.backend import Client
from lessons.web_farm import RoundRobinBalancer, WebFarm, tally

ALICE = {"username": "alice", "password": "wonderland"}
NAMES = ["server-1", "server-2", "server-3"]
HANG_GUARD = 120.0  # seconds; only a broken (hanging) run ever waits this long


def uvicorn_children() -> set[int]:
    """PIDs of the live uvicorn processes that are children of this interpreter."""
    out = subprocess.run(
        ["ps", "-o", "pid=,stat=,args=", "--ppid", str(os.getpid())], capture_output=True, text=True
    ).stdout
    return {
        int(line.split()[0])
        for line in out.splitlines()
        if "uvicorn" in line and not line.split()[1].startswith("Z")
    }


@pytest.fixture(autouse=True)
def no_uvicorn_of_ours_is_left() -> Iterator[None]:
    """After each test, every uvicorn it started (a child of this process) is gone."""
    before = uvicorn_children()
    yield
    left = uvicorn_children() - before
    assert not left, f"uvicorn processes left running: {sorted(left)}"


def gone(pid: int) -> bool:
    """True if no live (non-zombie) process has this pid."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def assert_all_stopped(farm: WebFarm) -> None:
    """Every server was reaped, so its sockets are closed. (No probe of its old port: another
    program, such as a second test run beside this one, may be listening there by now.)"""
    assert farm.running() == []
    assert all(s.process.returncode is not None for s in farm.servers)
    for pid in farm.pids:
        assert gone(pid), f"process {pid} is still running"


def test_three_servers_share_sessions_through_redis(redis_url: str, client: Client, prefix: str) -> None:
    with WebFarm(3, store="redis", redis_url=redis_url, prefix=prefix, ttl=60) as farm:
        assert len(set(farm.urls)) == 3 and len(set(farm.pids)) == 3
        lb = farm.balancer()
        r = lb.post("/login", json=ALICE)
        assert r.status_code == 200 and r.extensions["server"] == "server-1"
        sid = lb.cookies["session_id"]
        assert client.exists(f"{prefix}:{sid}") == 1  # written by a child process, seen here

        hits = lb.call_many("GET", "/me", 30)
        assert tally(hits, NAMES) == {"server-1": 10, "server-2": 10, "server-3": 10}

        farm.stop_server("server-2")
        assert farm.running() == ["server-1", "server-3"]
        hits = lb.call_many("GET", "/me", 30)
        assert tally(hits, NAMES) == {"server-1": 15, "server-2": 0, "server-3": 15}
        assert lb.down == {"server-2"}

        assert lb.post("/logout").status_code == 200
        assert client.exists(f"{prefix}:{sid}") == 0
        assert lb.get("/me").status_code == 401
    assert_all_stopped(farm)


def test_in_memory_sessions_work_on_one_server_in_three() -> None:
    """Also proves the answer key of quiz 02-memory-behind-balancer (B: about 10 of 30)."""
    from lessons.quiz import question

    assert "About 10" in (q := question("02-memory-behind-balancer")).choices[q.answer]
    with WebFarm(3, store="memory", ttl=60) as farm:
        lb = farm.balancer()
        assert lb.post("/login", json=ALICE).extensions["server"] == "server-1"
        hits = lb.call_many("GET", "/me", 30)
        assert tally(hits, NAMES) == {"server-1": 10, "server-2": 0, "server-3": 0}
        assert tally(hits, NAMES, status=401) == {"server-1": 0, "server-2": 10, "server-3": 10}
    assert_all_stopped(farm)


# The life-cycle tests need no Redis: they use the in-memory store.
def test_processes_are_stopped_when_the_block_fails() -> None:
    with pytest.raises(ZeroDivisionError, match="in the block"):
        with WebFarm(2, store="memory") as farm:
            raise ZeroDivisionError("in the block")
    assert_all_stopped(farm)


def test_processes_are_stopped_when_startup_times_out() -> None:
    # A "Redis" that accepts connections and never answers: no server can ever pass its /health
    # check (one PING), so the start times out whatever the machine's speed.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        farm = WebFarm(2, store="redis", redis_url=url, startup_timeout=1)
        with pytest.raises(TimeoutError, match="did not become ready within 1 s"):
            farm.start()
    assert farm.running() == []
    for pid in farm.pids:
        assert gone(pid)


def test_a_forgotten_cluster_is_stopped_when_collected() -> None:
    farm = WebFarm(1, store="memory").start()
    pids = farm.pids
    del farm
    gc.collect()
    assert all(gone(pid) for pid in pids)


def test_servers_are_stopped_at_interpreter_exit() -> None:
    script = textwrap.dedent("""
        from lessons.web_farm import WebFarm
        c = WebFarm(2, store="memory").start()
        print(*c.pids)
        # no stop(): the interpreter exits with the servers running
    """)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2
    assert all(gone(pid) for pid in pids)


def test_ports_are_free_ones_not_hard_coded() -> None:
    with WebFarm(2, store="memory") as a, WebFarm(2, store="memory") as b:
        assert len(set(a.urls) | set(b.urls)) == 4


def test_balancer_forwards_cookies_like_a_browser_and_honours_max_age_0() -> None:
    answers = iter(
        [
            [("set-cookie", "session_id=abc; HttpOnly; Max-Age=60; Path=/; SameSite=lax; Secure")],
            [],
            [("set-cookie", 'session_id=""; Max-Age=0; Path=/')],
            [],
        ]
    )
    sent: list[tuple[str, str | None]] = []

    def backend(request: httpx.Request) -> httpx.Response:
        sent.append((request.url.host, request.headers.get("cookie")))
        return httpx.Response(200, headers=next(answers))

    lb = RoundRobinBalancer([("a", "http://a.invalid"), ("b", "http://b.invalid")])
    lb.client.close()
    lb.client = httpx.Client(transport=httpx.MockTransport(backend))
    for _ in range(4):
        lb.get("/me")
    assert sent == [
        ("a.invalid", None),
        ("b.invalid", "session_id=abc"),  # kept, sent to b
        ("a.invalid", "session_id=abc"),
        ("b.invalid", None),
    ]  # Max-Age=0: deleted
    assert lb.cookies == {} and [hit.server for hit in lb.hits] == ["a", "b", "a", "b"]
    lb.close()


def test_the_leftover_check_sees_a_running_server() -> None:
    """The autouse check above can fail: while a farm runs, its servers are our children."""
    with WebFarm(1, store="memory") as farm:
        assert set(farm.pids) <= uvicorn_children()
    assert not set(farm.pids) & uvicorn_children()


def test_servers_are_stopped_when_their_parent_is_killed() -> None:
    script = textwrap.dedent("""
        import os, signal
        from lessons.web_farm import WebFarm
        c = WebFarm(2, store="memory").start()
        print(*c.pids, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # no finally, no atexit: the hard way
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == -9
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2
    deadline = time.monotonic() + HANG_GUARD  # the watchdog polls every 0.5 s
    while not all(gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(gone(pid) for pid in pids)
