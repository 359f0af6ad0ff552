"""The lesson's diagram made real: three uvicorn servers behind a round-robin load balancer.

    with Cluster(3, store="redis", redis_url=url, prefix="course02") as cluster:
        lb = cluster.balancer()
        lb.post("/login", json={"username": "alice", "password": "wonderland"})
        hits = lb.call_many("GET", "/me", 30)       # [("server-2", 200), ("server-3", 200), ...]
        cluster.stop_server("server-2")             # the others keep serving

Each server is a separate ``python -m uvicorn lessons.web:app`` process on a free loopback port,
configured by environment variables (see ``lessons.web.app_from_env``). With ``store="redis"``
they all use the same Redis (``redis_url``: a real one, or the embedded server, which is a TCP
server inside the notebook's process and so reachable from the children). With
``store="memory"`` each keeps its sessions in its own dict: the lesson's "メモリ" row.

Why no https and still a ``Secure`` cookie? A real load balancer terminates TLS: the browser
talks https to the balancer (so it stores and sends the Secure cookie), and the balancer talks
plain http to servers on a private network, forwarding the ``Cookie`` header as is.
``RoundRobinBalancer`` plays both parts: it keeps the cookie the way a browser on https would
and forwards it to whichever server is next. Nothing in the app is weakened for the demo.

Every process is stopped on ``__exit__``/``stop()``, when the ``Cluster`` is garbage-collected,
and at interpreter exit (``weakref.finalize``), even when a cell fails half-way. If the parent is
killed outright (SIGKILL: no exit code runs), each server notices it was orphaned and stops
itself within a second (``LESSONS_PARENT_PID``, see ``lessons.web.app_from_env``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

import httpx

__all__ = ["Cluster", "Hit", "RoundRobinBalancer", "Server", "free_port", "tally"]

#: Seconds to wait for all servers to answer /health (a loaded 2-core machine may need a while).
STARTUP_TIMEOUT = 60.0
#: Seconds a stopped server gets to shut down gracefully before it is killed.
STOP_TIMEOUT = 5.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now (the OS picks it: bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """One uvicorn process."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


def _stop_process(process: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM (uvicorn shuts down gracefully), then SIGKILL if it does not exit in time."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


def _cleanup(processes: list[subprocess.Popen[bytes]], clients: list[httpx.Client], tmpdir: str) -> None:
    """Stop every process and client; used by ``stop()`` and by the finalizer at exit."""
    for client in clients:
        client.close()
    clients.clear()
    for process in processes:
        try:
            _stop_process(process)
        except Exception:
            process.kill()
    processes.clear()
    shutil.rmtree(tmpdir, ignore_errors=True)


class Cluster:
    """``n`` uvicorn servers running ``lessons.web:app``; a context manager.

    ``store``: ``"redis"`` (shared, at ``redis_url``; default ``lessons.backend.redis_url()``) or
    ``"memory"`` (a dict per process). ``prefix`` and ``ttl`` configure the session store;
    ``secret_key`` signs cookies. Ports are picked free; nothing is hard-coded.
    """

    def __init__(self, n: int = 3, *, store: str = "redis", redis_url: str | None = None,
                 prefix: str = "session", ttl: int = 3600, secret_key: str | None = None,
                 startup_timeout: float = STARTUP_TIMEOUT):
        if store not in ("redis", "memory"):
            raise ValueError(f"store must be 'redis' or 'memory', not {store!r}")
        if not 1 <= n <= 16:
            raise ValueError(f"n must be between 1 and 16, not {n}")
        self.n, self.store, self.prefix, self.ttl = n, store, prefix, ttl
        self.secret_key = secret_key
        if store == "redis" and redis_url is None:
            from . import backend

            redis_url = backend.redis_url()
        self.redis_url = redis_url
        self.startup_timeout = startup_timeout
        self.servers: list[Server] = []
        self._processes: list[subprocess.Popen[bytes]] = []
        self._clients: list[httpx.Client] = []
        self._tmpdir = tempfile.mkdtemp(prefix="lessons-cluster-")
        self._finalizer = weakref.finalize(self, _cleanup, self._processes, self._clients,
                                           self._tmpdir)

    # -- lifecycle -------------------------------------------------------------------------
    def _env(self, name: str) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("REDIS_URL", None)
        env.update({
            "LESSONS_SESSION_STORE": self.store,
            "LESSONS_SESSION_PREFIX": self.prefix,
            "LESSONS_SESSION_TTL": str(self.ttl),
            "LESSONS_SERVER_NAME": name,
            "LESSONS_PARENT_PID": str(os.getpid()),  # the server stops if we die (even SIGKILL)
            # the lesson's layout, `{prefix}:{token}` with the idle TTL only, so the notebook can
            # show the keys (a deployment keeps the served app's defaults: hashed IDs, 8 h cap)
            "LESSONS_HASH_IDS": "0",
            "LESSONS_ABSOLUTE_TTL": "none",
            "PYTHONUNBUFFERED": "1",
        })
        if self.store == "redis":
            env["REDIS_URL"] = self.redis_url  # type: ignore[assignment]
        if self.secret_key:
            env["LESSONS_SECRET_KEY"] = self.secret_key
        return env

    def _spawn(self, name: str) -> Server:
        taken = {server.port for server in self.servers}
        port = free_port()
        while port in taken:  # the OS may hand out a port again before its server has bound it
            port = free_port()
        log_path = os.path.join(self._tmpdir, f"{name}.log")
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "lessons.web:app", "--host", "127.0.0.1",
                 "--port", str(port), "--log-level", "warning", "--no-access-log",
                 "--no-proxy-headers"],  # the app decides whom to trust (LESSONS_TRUSTED_PROXIES)
                env=self._env(name), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._processes.append(process)
        return Server(name, port, process, log_path)

    def start(self) -> Cluster:
        """Start the servers and wait until each answers ``GET /health`` with 200 (bounded)."""
        if self.servers:
            raise RuntimeError("this cluster is already started")
        try:
            for i in range(self.n):  # one by one: each new port differs from those before it
                self.servers.append(self._spawn(f"server-{i + 1}"))
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        waiting = list(range(len(self.servers)))
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while waiting:
                for i in list(waiting):
                    server = self.servers[i]
                    if not server.running():
                        if "address already in use" in server.log_tail().lower():
                            self.servers[i] = self._spawn(server.name)  # lost a port race
                            continue
                        raise RuntimeError(f"{server.name} exited with code "
                                           f"{server.process.returncode}:\n{server.log_tail()}")
                    try:
                        reply = client.get(f"{server.url}/health")
                        if reply.status_code == 200 and reply.json().get("server") == server.name:
                            waiting.remove(i)  # (not another server that won a port race)
                    except httpx.TransportError:
                        pass  # not listening yet
                if waiting:
                    if time.monotonic() > deadline:
                        names = ", ".join(self.servers[i].name for i in waiting)
                        raise TimeoutError(f"{names} did not become ready within "
                                           f"{self.startup_timeout:.0f} s")
                    time.sleep(0.1)

    def stop_server(self, which: int | str) -> Server:
        """Stop one server (by index or name), as if it crashed or was taken out for maintenance."""
        server = self.server(which)
        _stop_process(server.process)
        return server

    def stop(self) -> None:
        """Stop every server and close every balancer. Safe to call twice."""
        _cleanup(self._processes, self._clients, self._tmpdir)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- access ----------------------------------------------------------------------------
    def server(self, which: int | str) -> Server:
        if isinstance(which, int):
            return self.servers[which]
        for server in self.servers:
            if server.name == which:
                return server
        raise KeyError(f"no server called {which!r}")

    @property
    def urls(self) -> list[str]:
        return [s.url for s in self.servers]

    @property
    def pids(self) -> list[int]:
        return [s.pid for s in self.servers]

    def running(self) -> list[str]:
        """Names of the servers whose process is alive."""
        return [s.name for s in self.servers if s.running()]

    def balancer(self) -> RoundRobinBalancer:
        """A fresh round-robin balancer (and cookie jar: one browser) over these servers."""
        lb = RoundRobinBalancer([(s.name, s.url) for s in self.servers])
        self._clients.append(lb.client)
        return lb


@dataclass
class Hit:
    """One request through the balancer: which server answered, and its status code."""

    server: str
    status: int


@dataclass
class RoundRobinBalancer:
    """A load balancer and a browser in one: rotates requests across ``backends`` in order.

    ``backends``: ``[(name, base_url), ...]``. It keeps one cookie jar (one user's browser) and
    sends its cookies to whichever server is next (see the module docstring for why a Secure
    cookie may travel over this plain-http hop). A backend that refuses the connection is taken
    out of the rotation and the request goes to the next one (a passive health check; safe
    because a refused connection means the request was never sent).
    """

    backends: list[tuple[str, str]]
    timeout: float = 5.0
    cookies: dict[str, str] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    down: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if not self.backends:
            raise ValueError("a balancer needs at least one backend")
        self.client = httpx.Client(timeout=self.timeout, trust_env=False)
        self._next = 0

    def _pick(self) -> tuple[str, str]:
        for _ in range(len(self.backends)):
            name, url = self.backends[self._next % len(self.backends)]
            self._next += 1
            if name not in self.down:
                return name, url
        raise RuntimeError("every backend is down")

    def _remember(self, response: httpx.Response) -> None:
        """Update the jar from Set-Cookie, as a browser would (Max-Age=0 deletes)."""
        for header in response.headers.get_list("set-cookie"):
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send to the next live backend; the response carries ``.extensions["server"]``."""
        while True:
            name, url = self._pick()
            headers = dict(kwargs.pop("headers", None) or {})
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            try:
                response = self.client.request(method, url + path, headers=headers, **kwargs)
            except httpx.ConnectError:
                self.down.add(name)  # refused: never reached the server; try the next one
                kwargs["headers"] = headers
                continue
            self._remember(response)
            response.extensions["server"] = name
            self.hits.append(Hit(name, response.status_code))
            return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def call_many(self, method: str, path: str, n: int) -> list[Hit]:
        """``n`` requests in a row; the (server, status) of each."""
        start = len(self.hits)
        for _ in range(n):
            self.request(method, path)
        return self.hits[start:]

    def close(self) -> None:
        self.client.close()


def tally(hits: Iterable[Hit], names: Iterable[str], status: int = 200) -> dict[str, int]:
    """How many of ``hits`` each server answered with ``status`` (every name present, maybe 0)."""
    counts = Counter(h.server for h in hits if h.status == status)
    return {name: counts.get(name, 0) for name in names}

