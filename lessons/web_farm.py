"""The lesson's diagram made real: three uvicorn servers behind a round-robin load balancer.

    with WebFarm(3, store="redis", redis_url=url, prefix="course02") as farm:
        lb = farm.balancer()
        lb.post("/login", json={"username": "alice", "password": "wonderland"})
        hits = lb.call_many("GET", "/me", 30)       # [("server-2", 200), ("server-3", 200), ...]
        farm.stop_server("server-2")                # the others keep serving

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

Every process is stopped on ``__exit__``/``stop()``, when the ``WebFarm`` is garbage-collected,
and at interpreter exit (``weakref.finalize``), even when a cell fails half-way. If the parent is
killed outright (SIGKILL: no exit code runs), a watchdog process stops the servers and removes
their logs (``lessons.processes.Watchdog``); the servers themselves know nothing of it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import weakref
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from http.cookies import SimpleCookie
from typing import Any

import httpx

from .processes import ServerExited, Watchdog, free_port, log_tail, spawn, stop, wait_until_ready

__all__ = ["Hit", "RoundRobinBalancer", "Server", "WebFarm", "tally"]

#: Seconds to wait for all servers to answer /health (a loaded 2-core machine may need a while).
STARTUP_TIMEOUT = 60.0
#: Seconds a stopped server gets to shut down gracefully before it is killed.
STOP_TIMEOUT = 5.0


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
        return log_tail(self.log_path, lines)


def _cleanup(
    processes: list[subprocess.Popen[bytes]],
    clients: list[httpx.Client],
    watchdogs: list[Watchdog],
    tmpdir: str,
) -> None:
    """Stop every process (SIGTERM, SIGKILL after ``STOP_TIMEOUT``) and client, dismiss the
    watchdog; used by ``stop()`` and by the finalizer at exit."""
    for client in clients:
        client.close()
    clients.clear()
    for process in processes:
        try:
            stop(process, timeout=STOP_TIMEOUT)
        except Exception:
            process.kill()
    processes.clear()
    for watchdog in watchdogs:
        watchdog.dismiss()
    watchdogs.clear()
    shutil.rmtree(tmpdir, ignore_errors=True)


def _answers_as(name: str, reply: httpx.Response) -> bool:
    """True if ``/health`` answered 200 naming server ``name`` (not another server that won a
    port race)."""
    return reply.status_code == 200 and reply.json().get("server") == name


class WebFarm:
    """``n`` uvicorn servers running ``lessons.web:app``; a context manager.

    ``store``: ``"redis"`` (shared, at ``redis_url``; default ``lessons.backend.redis_url()``) or
    ``"memory"`` (a dict per process). ``prefix`` and ``ttl`` configure the session store;
    ``secret_key`` signs cookies. Ports are picked free; nothing is hard-coded.
    """

    def __init__(
        self,
        n: int = 3,
        *,
        store: str = "redis",
        redis_url: str | None = None,
        prefix: str = "session",
        ttl: int = 3600,
        secret_key: str | None = None,
        startup_timeout: float = STARTUP_TIMEOUT,
    ):
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
        self._watchdogs: list[Watchdog] = []
        self._tmpdir = tempfile.mkdtemp(prefix="lessons-farm-")
        self._finalizer = weakref.finalize(
            self, _cleanup, self._processes, self._clients, self._watchdogs, self._tmpdir
        )

    # -- lifecycle -------------------------------------------------------------------------
    def _env(self, name: str) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("REDIS_URL", None)
        env.update(
            {
                "LESSONS_SESSION_STORE": self.store,
                "LESSONS_SESSION_PREFIX": self.prefix,
                "LESSONS_SESSION_TTL": str(self.ttl),
                "LESSONS_SERVER_NAME": name,
                # the lesson's layout, `{prefix}:{token}` with the idle TTL only, so the notebook can
                # show the keys (a deployment keeps the served app's defaults: hashed IDs, 8 h cap)
                "LESSONS_HASH_IDS": "0",
                "LESSONS_ABSOLUTE_TTL": "none",
                "PYTHONUNBUFFERED": "1",
            }
        )
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
        process = spawn(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "lessons.web:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
                "--no-proxy-headers",
            ],  # the app decides whom to trust (LESSONS_TRUSTED_PROXIES)
            env=self._env(name),
            log_path=log_path,
        )
        self._processes.append(process)
        self._watchdogs[0].watch(process.pid)
        return Server(name, port, process, log_path)

    def start(self) -> WebFarm:
        """Start the servers and wait until each answers ``GET /health`` with 200 (bounded)."""
        if self.servers:
            raise RuntimeError("this farm is already started")
        try:
            self._watchdogs.append(Watchdog(cleanup=[self._tmpdir]))
            for i in range(self.n):  # one by one: each new port differs from those before it
                self.servers.append(self._spawn(f"server-{i + 1}"))
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        """Wait for each server in turn until its ``GET /health`` names it (not another server
        that won a port race); one whose port was taken meanwhile is started on another."""
        deadline = time.monotonic() + self.startup_timeout
        for i in range(len(self.servers)):
            while True:
                server = self.servers[i]
                try:
                    wait_until_ready(
                        server.process,
                        f"{server.url}/health",
                        timeout=max(deadline - time.monotonic(), 0.0),
                        ready=partial(_answers_as, server.name),
                    )
                    break
                except ServerExited:
                    if "address already in use" not in server.log_tail().lower():
                        raise RuntimeError(
                            f"{server.name} exited with code "
                            f"{server.process.returncode}:\n{server.log_tail()}"
                        ) from None
                    self.servers[i] = self._spawn(server.name)  # lost a port race
                except TimeoutError:
                    raise TimeoutError(
                        f"{server.name} did not become ready within {self.startup_timeout:.0f} s"
                    ) from None

    def stop_server(self, which: int | str) -> Server:
        """Stop one server (by index or name), as if it crashed or was taken out for maintenance."""
        server = self.server(which)
        stop(server.process, timeout=STOP_TIMEOUT)
        return server

    def stop(self) -> None:
        """Stop every server and close every balancer. Safe to call twice."""
        _cleanup(self._processes, self._clients, self._watchdogs, self._tmpdir)

    def __enter__(self) -> WebFarm:
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
