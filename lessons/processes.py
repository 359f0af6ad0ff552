"""Child processes for the demos and the tests: free ports, a server started and waited for,
stopped by its PID, and a watchdog that stops them if this process dies.

    port = free_port()
    process = spawn([sys.executable, "-m", "uvicorn", "lessons.web:app", "--port", str(port)],
                    log_path=log)
    wait_until_ready(process, f"http://127.0.0.1:{port}/health", timeout=60, log_path=log)
    dog = Watchdog(cleanup=[tmpdir])   # a separate process: see "Orphans" below
    dog.watch(process.pid)
    ...
    stop(process)                      # SIGTERM, then SIGKILL if it has not exited in time
    dog.dismiss()                      # everything is stopped: the watchdog exits, kills nothing

A free port is free when it is asked for: another program may take it before the server binds
it, so a caller that starts a server on it retries on "address already in use".

Orphans. ``weakref.finalize`` and ``atexit`` run on a normal exit and after an exception, but
not when this process is killed outright (SIGKILL, the OOM killer, a kernel restart). The
watchdog is a small Python process (this file, run as a script) reading a pipe that only this
process writes to: when this process dies the pipe ends, and the watchdog SIGKILLs every process
it was told to watch (after checking its start time, so that a PID the OS has handed out again
since is never touched), then removes the ``cleanup`` directories. Linux's
``prctl(PR_SET_PDEATHSIG)`` (a ``preexec_fn``) would do the first half without a process, but
only on Linux, only while the *thread* that started the child lives, and it removes no files;
the watchdog works wherever Python does (without ``/proc``, as on macOS, it trusts the PIDs).
The servers themselves carry no harness logic.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

__all__ = [
    "STOP_TIMEOUT",
    "ServerExited",
    "Watchdog",
    "free_port",
    "free_ports",
    "log_tail",
    "spawn",
    "stop",
    "wait_until_ready",
]

#: Seconds a process gets to exit after SIGTERM before it is sent SIGKILL.
STOP_TIMEOUT = 10.0


class ServerExited(RuntimeError):
    """A server process exited while it was being waited for; the message ends with its log."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that is free right now (the OS picks it: bind to port 0)."""
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def _bindable(host: str, port: int) -> bool:
    """True if a server could listen on ``port`` now (SO_REUSEADDR, as servers set it)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def free_ports(n: int, *, host: str = "127.0.0.1", companion_offset: int = 0) -> list[int]:
    """``n`` different ports that are free right now. With ``companion_offset`` (Redis
    Cluster's bus port: ``port + 10000``), each port's companion is free too, and no port is
    another's companion. The ports are held bound until all are found, so none comes twice."""
    held: list[socket.socket] = []
    ports: list[int] = []
    try:
        for _ in range(200 * n):
            s = socket.socket()
            held.append(s)
            s.bind((host, 0))
            port: int = s.getsockname()[1]
            if companion_offset:
                companion = port + companion_offset
                if (
                    companion > 65535
                    or {port - companion_offset, companion} & set(ports)
                    or not _bindable(host, companion)
                ):
                    continue
            ports.append(port)
            if len(ports) == n:
                return ports
    finally:
        for s in held:
            s.close()
    raise RuntimeError(f"could not find {n} free ports on {host}")


def spawn(
    command: Sequence[str],
    *,
    log_path: str | os.PathLike[str] | None,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    new_session: bool = False,
) -> subprocess.Popen[bytes]:
    """Start ``command`` with no stdin, its stdout and stderr appended to ``log_path`` (None:
    this process's own).

    ``new_session=True``: it leads a new session and process group, so an interrupt sent to
    this process's group (a notebook kernel's) does not reach it, and ``stop(group=True)``
    stops it together with every process it starts (uvicorn's workers)."""
    if log_path is None:
        return subprocess.Popen(
            list(command), env=env, cwd=cwd, stdin=subprocess.DEVNULL, start_new_session=new_session
        )
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            list(command),
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )


def log_tail(log_path: str | os.PathLike[str], lines: int = 15) -> str:
    """The last ``lines`` lines of a log ("" if it cannot be read)."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def _is_200(response: httpx.Response) -> bool:
    return response.status_code == 200


def wait_until_ready(
    process: subprocess.Popen[bytes],
    url: str,
    *,
    timeout: float,
    ready: Callable[[httpx.Response], bool] = _is_200,
    log_path: str | os.PathLike[str] | None = None,
    interval: float = 0.1,
) -> None:
    """Poll ``GET url`` every ``interval`` seconds until ``ready(response)`` (default: status
    200). ``ServerExited`` if the process exits first, ``TimeoutError`` after ``timeout``
    seconds (a hang guard: give a busy machine plenty); both end with the log's tail."""
    import httpx  # here: the watchdog runs this file without the venv's packages

    def tail() -> str:
        return f":\n{log_tail(log_path)}" if log_path is not None else ""

    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while True:
            if process.poll() is not None:
                raise ServerExited(f"{process.args!r} exited with code {process.returncode}" + tail())
            try:
                if ready(client.get(url)):
                    return
            except httpx.TransportError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not become ready within {timeout:.0f} s" + tail())
            time.sleep(interval)


def stop(process: subprocess.Popen[bytes], *, timeout: float = STOP_TIMEOUT, group: bool = False) -> None:
    """Stop ``process`` by its PID: SIGTERM (a graceful shutdown), then SIGKILL if it has not
    exited after ``timeout`` seconds; reaps it. ``group=True``: signal its whole process group
    (it must lead one: ``spawn(new_session=True)``). Safe to call on a stopped process."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None and not group:
            return
        with suppress(ProcessLookupError):
            if group:
                os.killpg(process.pid, sig)
            else:
                process.send_signal(sig)
        try:
            process.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            continue
    process.wait()


class Watchdog:
    """A separate process that SIGKILLs the processes it watches, and removes the ``cleanup``
    directories, once this process is gone (even killed with SIGKILL). It runs in its own
    session and ignores SIGINT and SIGHUP, so interrupting a notebook kernel leaves it be."""

    def __init__(self, cleanup: Iterable[str | os.PathLike[str]] = ()):
        self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
            [
                sys.executable,
                "-I",
                os.path.abspath(__file__),
                str(os.getpid()),
                *(os.fspath(directory) for directory in cleanup),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _tell(self, line: str) -> None:
        if self._process is not None and self._process.stdin is not None:
            with suppress(OSError, ValueError):  # gone: the caller still stops what it started
                self._process.stdin.write(line.encode() + b"\n")
                self._process.stdin.flush()

    def watch(self, pid: int) -> None:
        """Kill ``pid`` if this process dies."""
        self._tell(f"+{pid}")

    def forget(self, pid: int) -> None:
        """Stop watching ``pid`` (it was stopped)."""
        self._tell(f"-{pid}")

    def dismiss(self, timeout: float = STOP_TIMEOUT) -> None:
        """Everything is stopped: the watchdog exits and kills nothing. Safe to call twice."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            process.communicate(b"q\n", timeout=timeout)
        except (subprocess.TimeoutExpired, OSError, ValueError):
            process.kill()
            process.wait()


# -- the watchdog process ------------------------------------------------------------------------
def _start_time(pid: int) -> str | None:
    """The process's start time (``/proc/PID/stat``), "" where there is no ``/proc``, None if
    there is no such process."""
    if not os.path.isdir("/proc"):
        return ""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[19].decode()  # field 22: starttime
    except (OSError, IndexError):
        return None


def _watch(parent: int, stdin: IO[bytes], cleanup: list[str]) -> None:
    """Read ``+pid`` / ``-pid`` / ``q`` lines until the pipe ends (everything the parent wrote
    is read first, even if it died before this process started), or until ``parent`` is gone
    and the pipe stays silent (another process holds its end); then SIGKILL each PID still
    held that is still the same process, and remove ``cleanup``."""
    held: dict[int, str] = {}
    buffer = b""
    fd = stdin.fileno()
    while True:
        if not select.select([fd], [], [], 0.5)[0]:
            if os.getppid() != parent:
                break
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        *lines, buffer = (buffer + chunk).split(b"\n")
        for line in lines:
            if line == b"q":
                return
            pid = int(line[1:])
            started = _start_time(pid)
            if line.startswith(b"+") and started is not None:
                held[pid] = started
            else:
                held.pop(pid, None)
    for pid, started in held.items():
        if _start_time(pid) == started:
            with suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    for directory in cleanup:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":  # the watchdog: python -I processes.py PARENT_PID [DIRECTORY ...]
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    _watch(int(sys.argv[1]), sys.stdin.buffer, sys.argv[2:])
