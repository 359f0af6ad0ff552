"""lessons.processes: free ports, a server started and waited for, stopped by its PID, and the
watchdog that stops what a killed process started.

No upper time limit: ``HANG_GUARD`` only stops a broken run; every other wait ends on an event
(a process exits, a port answers, a pipe ends)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lessons.processes import (
    ServerExited,
    Watchdog,
    free_port,
    free_ports,
    spawn,
    stop,
    wait_until_ready,
)

HANG_GUARD = 120.0  # seconds; a correct run never waits this long
SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def gone(pid: int) -> bool:
    """True if no live (non-zombie) process has this pid."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_until_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not all(gone(pid) for pid in pids):
        assert time.monotonic() < deadline, f"still running: {[p for p in pids if not gone(p)]}"
        time.sleep(0.05)


def test_free_ports_are_different_and_their_companions_free_too() -> None:
    assert 0 < free_port() <= 65535
    ports = free_ports(6, companion_offset=10000)
    assert len(set(ports)) == 6
    assert all(port + 10000 <= 65535 and port + 10000 not in ports for port in ports)


def test_a_server_is_waited_for_then_stopped(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "server.log"
    server = spawn(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], log_path=log, cwd=tmp_path
    )
    try:
        wait_until_ready(server, f"http://127.0.0.1:{port}/", timeout=HANG_GUARD, log_path=log)
    finally:
        stop(server)
    assert server.returncode is not None  # stopped and reaped
    stop(server)  # a second stop is harmless


def test_a_server_that_exits_is_reported_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    server = spawn([sys.executable, "-c", "print('no such setting'); raise SystemExit(3)"], log_path=log)
    with pytest.raises(ServerExited, match=r"exited with code 3:\nno such setting"):
        wait_until_ready(server, f"http://127.0.0.1:{free_port()}/", timeout=HANG_GUARD, log_path=log)


def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    server = spawn(SLEEPER, log_path=tmp_path / "log")
    try:
        with pytest.raises(TimeoutError, match="did not become ready within 0 s"):
            wait_until_ready(server, f"http://127.0.0.1:{free_port()}/", timeout=0)
    finally:
        stop(server)


def test_stop_sends_sigkill_to_a_process_that_ignores_sigterm(tmp_path: Path) -> None:
    stubborn = spawn(
        [
            sys.executable,
            "-c",
            textwrap.dedent("""
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ready", flush=True)
        time.sleep(600)
    """),
        ],
        log_path=tmp_path / "log",
        new_session=True,
    )
    deadline = time.monotonic() + HANG_GUARD
    while "ready" not in (tmp_path / "log").read_text():  # SIGTERM is ignored from now on
        assert time.monotonic() < deadline
        time.sleep(0.05)
    stop(stubborn, timeout=0.5, group=True)
    assert stubborn.returncode == -9


def test_the_watchdog_stops_what_a_killed_process_started(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import os, signal, subprocess, sys
        from lessons.processes import Watchdog
        dog = Watchdog(cleanup=[{str(tmp_path / "files")!r}])
        quiet = {{"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}}  # not our pipes
        watched = subprocess.Popen({SLEEPER!r}, **quiet)
        forgotten = subprocess.Popen({SLEEPER!r}, **quiet)
        dog.watch(watched.pid)
        dog.watch(forgotten.pid)
        dog.forget(forgotten.pid)
        print(watched.pid, forgotten.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # no finally, no atexit: the hard way
    """)
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "log").write_text("x")
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert done.returncode == -9, done.stderr
    watched, forgotten = (int(pid) for pid in done.stdout.split())
    try:
        wait_until_gone([watched])
        deadline = time.monotonic() + HANG_GUARD
        while (tmp_path / "files").exists():  # removed right after the kill
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert not gone(forgotten)  # never told to kill it (or told to forget it)
    finally:
        os.kill(forgotten, 9)


def test_a_dismissed_watchdog_kills_nothing(tmp_path: Path) -> None:
    child = spawn(SLEEPER, log_path=tmp_path / "log")
    dog = Watchdog(cleanup=[tmp_path])
    dog.watch(child.pid)
    dog.dismiss()
    dog.dismiss()  # twice is harmless
    try:
        assert child.poll() is None and Path(tmp_path).exists()
    finally:
        stop(child)
