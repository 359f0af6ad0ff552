"""Issue 16, holes 6b and 9, over real sockets: ``uvicorn lessons.web:app`` started as the README says.

6b. uvicorn trusts ``X-Forwarded-For`` from 127.0.0.1 unless told not to, and replaces the client
    address with it before the app runs: 200 of 200 guesses, each with a new forged address,
    escaped the per-client limit. The README's command has ``--no-proxy-headers``; the app trusts
    no proxy by default, so the forged header is ignored and the real peer gets 429. Started
    without that flag, the server says so in one warning line.
9.  A client that disconnects in the middle of its request body left "Exception in ASGI
    application" and two tracebacks in the log per upload (50 uploads: 120 KB). An aborted
    request is not an error: the log stays empty.

Each server is started on a free loopback port, waited for with a hang guard, stopped by the PID
of its process group (``lessons.processes``); stopping it (graceful: uvicorn finishes every open
connection first) is what makes its log complete before the test reads it. Every test runs on
both backends.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from lessons.processes import free_port, spawn, stop, wait_until_ready

ROOT = Path(__file__).resolve().parents[1]
DEADLINE = 120.0  # seconds: a hang guard (a correct start on a busy 2-core machine takes a few)
WARNING = "uvicorn replaces the client address with X-Forwarded-For"


def readme_command() -> list[str]:
    """The options of the README's ``uvicorn lessons.web:app`` command (without host and port)."""
    lines = [
        line
        for line in (ROOT / "README.md").read_text().splitlines()
        if re.search(r"\buvicorn lessons\.web:app\b", line) and not line.startswith("|") and "`" not in line
    ]
    assert lines, "the README shows no `uvicorn lessons.web:app` command"
    words = shlex.split(lines[0])
    options = words[words.index("lessons.web:app") + 1 :]
    kept: list[str] = []
    skip = False
    for word in options:
        if skip:
            skip = False
        elif word in ("--host", "--port"):
            skip = True
        else:
            kept.append(word)
    return kept


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> str:
        """Stop the server's process group (SIGTERM: graceful, SIGKILL if it hangs); its whole
        log."""
        stop(self.process, timeout=20, group=True)
        return self.log.read_text()


@contextmanager
def served(redis_url: str, prefix: str, options: list[str], **env_update: str) -> Iterator[Served]:
    """``python -m uvicorn lessons.web:app OPTIONS`` on a free port, ready to serve."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LESSONS_") and k not in ("WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS")
    }
    env.update(REDIS_URL=redis_url, LESSONS_SESSION_PREFIX=prefix, PYTHONUNBUFFERED="1", **env_update)
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="uvicorn-", suffix=".log")[1])
    process = spawn(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "lessons.web:app",
            *options,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        log_path=log,
        new_session=True,
    )
    server = Served(process, port, log)
    try:
        wait_until_ready(process, f"{server.base}/health", timeout=DEADLINE, log_path=log)
        yield server
    finally:
        server.stop()
        log.unlink(missing_ok=True)


def test_the_readme_serves_without_uvicorn_proxy_headers() -> None:
    assert "--no-proxy-headers" in readme_command()


# -- 6b: a forged X-Forwarded-For from an untrusted peer is ignored ------------------------------
def test_forged_forwarded_for_does_not_escape_the_per_client_limit(redis_url: str, prefix: str) -> None:
    with served(redis_url, prefix, readme_command(), LESSONS_MAX_FAILURES_PER_CLIENT="5") as server:
        codes = []
        for i in range(8):  # a new user name (no account limit) and a new forged address each
            r = httpx.post(
                f"{server.base}/login",
                json={"username": f"user{i}", "password": "guess"},
                headers={"X-Forwarded-For": f"198.51.100.{i + 1}"},
            )
            codes.append(r.status_code)
        # bob's real address is not this peer's: failures "from" it never touch bob's counter;
        # the real peer (127.0.0.1) is limited, whatever it claims to be
        claims_bob = httpx.post(
            f"{server.base}/login",
            json={"username": "bob", "password": "x"},
            headers={"X-Forwarded-For": "203.0.113.7"},
        )
        log = server.stop()
    assert codes == [401] * 5 + [429] * 3, log
    assert claims_bob.status_code == 429
    assert WARNING not in log


def test_uvicorn_with_proxy_headers_is_named_in_one_warning_line(redis_url: str, prefix: str) -> None:
    options = [word for word in readme_command() if word != "--no-proxy-headers"]
    with served(redis_url, prefix, options) as server:
        log = server.stop()
    lines = [line for line in log.splitlines() if WARNING in line]
    assert len(lines) == 1, log
    assert "from 127.0.0.1,::1" in lines[0] and "--no-proxy-headers" in lines[0]
    assert "Traceback" not in log


def test_a_trusted_proxy_behind_uvicorn_names_the_client(redis_url: str, prefix: str) -> None:
    """127.0.0.1 is the proxy: its X-Forwarded-For counts, right-most untrusted address first."""
    with served(
        redis_url,
        prefix,
        readme_command(),
        LESSONS_TRUSTED_PROXIES="127.0.0.1",
        LESSONS_MAX_FAILURES_PER_CLIENT="3",
    ) as server:

        def attempt(forwarded_for: str, username: str) -> int:
            return httpx.post(
                f"{server.base}/login",
                json={"username": username, "password": "guess"},
                headers={"X-Forwarded-For": forwarded_for},
            ).status_code

        # the client put "203.0.113.7" (bob's address) in front; the proxy appended the real one
        attacker = [attempt("203.0.113.7, 198.51.100.9", f"u{i}") for i in range(4)]
        bob = attempt("203.0.113.7", "bob")
        server.stop()
    assert attacker == [401, 401, 401, 429]
    assert bob == 401  # bob is not locked out: a wrong password answered as such


# -- 9: aborted uploads are not errors ---------------------------------------------------------
ABORTS = 20


def abort_upload(port: int, chunked: bool) -> None:
    """Send a request whose body stops half-way, then close the connection."""
    head = b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        if chunked:
            s.sendall(head + b'Transfer-Encoding: chunked\r\n\r\n10\r\n{"username": "al\r\n')
        else:
            s.sendall(head + b'Content-Length: 1000\r\n\r\n{"username": "al')


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_aborted_uploads_leave_no_error_in_the_log(redis_url: str, prefix: str, chunked: bool) -> None:
    with served(redis_url, prefix, readme_command()) as server:
        for _ in range(ABORTS):
            abort_upload(server.port, chunked)
        after = httpx.post(f"{server.base}/login", json={"username": "alice", "password": "wonderland"})
        log = server.stop()  # graceful: every aborted request has been handled when it returns
    assert after.status_code == 200  # the server is fine
    assert "Exception in ASGI application" not in log, log[:2000]
    assert "Traceback" not in log, log[:2000]
    assert "ERROR" not in log, log[:2000]


# -- 10: a malformed setting stops the server with one line ------------------------------------
@pytest.mark.parametrize(
    "name,value", [("LESSONS_HASH_IDS", "maybe"), ("LESSONS_TRUSTED_PROXIES", "proxy.internal")]
)
def test_a_malformed_setting_stops_uvicorn_with_one_line(redis_url: str, name: str, value: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LESSONS_")}
    env.update(REDIS_URL=redis_url, PYTHONUNBUFFERED="1", **{name: value})
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "lessons.web:app",
            *readme_command(),
            "--host",
            "127.0.0.1",
            "--port",
            str(free_port()),
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 3, output  # uvicorn's "failed to start"
    lines = [line for line in output.splitlines() if name in line]
    assert len(lines) == 1 and repr(value) in lines[0], output
    assert "Traceback" not in output
