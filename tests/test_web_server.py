"""Defect 7, and the body limit over a real socket: ``uvicorn lessons.web:app`` in a subprocess.

With ``--workers 2`` and no ``REDIS_URL`` each worker would start its own embedded Redis, and a
session created by one worker would be unknown to the other (25 of 40 logins failed). Now the
server refuses to start, with a one-line reason; with a shared Redis (``REDIS_URL``: either
backend) two workers serve. Every server is started on a free loopback port, waited for with a
hang guard, and stopped by its PID (its process group: uvicorn and its workers), with
``lessons.processes``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from lessons.processes import free_port, spawn, stop, wait_until_ready
from lessons.web.serve import SharedStoreRequired, check_shared_store, uvicorn_workers

ROOT = Path(__file__).resolve().parents[1]
DEADLINE = 120.0  # seconds: a hang guard (two workers import FastAPI on a busy 2-core machine)


@contextmanager
def uvicorn(
    env_update: dict[str, str], workers: int = 2
) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """``python -m uvicorn lessons.web:app --workers N`` on a free port; yields (process, port,
    log path); stops it (SIGTERM, then SIGKILL) by the PID of its process group."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "REDIS_URL" and not k.startswith("LESSONS_") and k != "WEB_CONCURRENCY"
    }
    env.update(env_update, PYTHONUNBUFFERED="1")
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="uvicorn-", suffix=".log")[1])
    process = spawn(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "lessons.web:app",
            "--no-proxy-headers",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        log_path=log,
        new_session=True,
    )
    try:
        yield process, port, log
    finally:
        stop(process, group=True)  # the group that process.pid leads: uvicorn + workers
        log.unlink(missing_ok=True)


@pytest.mark.parametrize(
    "env,reason",
    [
        ({}, "refusing to run 2 workers without REDIS_URL"),
        ({"LESSONS_SESSION_STORE": "memory"}, "refusing to run 2 workers with LESSONS_SESSION_STORE=memory"),
    ],
)
def test_two_workers_without_a_shared_store_refuse_to_start(env: dict[str, str], reason: str) -> None:
    with uvicorn(env) as (process, _, log):
        try:
            process.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            pytest.fail(f"uvicorn kept running:\n{log.read_text()}")
        output = log.read_text()
    # the worker exits with uvicorn's startup-failure code, so uvicorn stops (its own exit
    # code stays 0) instead of restarting the worker for ever
    assert "failed to start, stopping the parent process" in output, output
    lines = [line for line in output.splitlines() if reason in line]
    assert lines and len(set(lines)) == 1, output  # one reason, on one line
    assert "Traceback" not in output


def test_two_workers_with_a_shared_redis_serve(redis_url: str, prefix: str) -> None:
    with uvicorn({"REDIS_URL": redis_url, "LESSONS_SESSION_PREFIX": prefix}) as (process, port, log):
        wait_until_ready(process, f"http://127.0.0.1:{port}/health", timeout=DEADLINE, log_path=log)
        base = f"http://127.0.0.1:{port}"
        # new connections each time, so both workers answer: every login works on every worker
        for _ in range(6):
            r = httpx.post(f"{base}/login", json={"username": "alice", "password": "wonderland"})
            assert r.status_code == 200
            token = r.cookies["session_id"]
            for _ in range(3):
                me = httpx.get(f"{base}/me", cookies={"session_id": token})
                assert me.status_code == 200, log.read_text()
        # a chunked body: refused with 413 while the client is still sending it
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(
                b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                b"\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            for _ in range(4):  # 32 KiB of the body, never terminated
                s.sendall(b"2000\r\n" + b"A" * 0x2000 + b"\r\n")
            answer = s.recv(4096)
        assert answer.startswith(b"HTTP/1.1 413"), answer


def test_how_many_workers_serve() -> None:
    assert uvicorn_workers({}) == 1  # this test process is no uvicorn worker
    uv = ["python", "-m", "uvicorn", "lessons.web:app"]
    assert uvicorn_workers({}, uv) == 1
    assert uvicorn_workers({}, [*uv, "--workers", "2"]) == 2
    assert uvicorn_workers({}, [*uv, "--workers=4"]) == 4
    assert uvicorn_workers({"WEB_CONCURRENCY": "3"}, uv) == 3
    assert uvicorn_workers({"WEB_CONCURRENCY": "3"}, [*uv, "--workers", "1"]) == 1
    assert uvicorn_workers({"WEB_CONCURRENCY": "3"}, [*uv, "--reload"]) == 1


def test_which_settings_need_a_shared_store() -> None:
    check_shared_store({}, workers=1)
    check_shared_store({"REDIS_URL": "redis://127.0.0.1:6379/0"}, workers=4)
    for env in ({}, {"REDIS_URL": ""}, {"LESSONS_SESSION_STORE": "memory", "REDIS_URL": "x"}):
        with pytest.raises(SharedStoreRequired, match="refusing to run 2 workers") as caught:
            check_shared_store(env, workers=2)
        assert "\n" not in str(caught.value)
