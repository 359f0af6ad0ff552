"""A real Redis Cluster on this machine, for a notebook or a test: ``redis-server`` processes.

    with local_cluster(masters=3, replicas=1) as cluster:
        rc = cluster.client()                  # a redis.cluster.RedisCluster
        cluster.kill_master(0)                 # SIGKILL, as if its machine died
        seconds = cluster.wait_for_failover()  # until its replica serves the slots

Nodes listen on 127.0.0.1, on free ports whose bus ports (port + 10000) are free too, keep their
files in a temporary directory, persist nothing, and use a short ``cluster-node-timeout`` so a
failover takes seconds. ``start()`` forms the cluster (CLUSTER ADDSLOTSRANGE, MEET, REPLICATE)
and returns once every node reports ``cluster_state:ok`` and every replica is in sync.

Processes are stopped by PID, never by name or port: on ``__exit__``/``stop()``, on an error
while starting, at interpreter exit, and when this process is killed outright (SIGKILL runs no
exit code): a watchdog process (``lessons.processes.Watchdog``) then SIGKILLs the servers and
removes their files. The servers
run in their own session, so interrupting a kernel (SIGINT to its group) does not stop them.
A Redis this module did not start is never sent a command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from ..backend import CONNECT_TIMEOUT, SOCKET_TIMEOUT
from ..processes import Watchdog, free_ports, log_tail, spawn

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["INSTALL_HINT", "SLOTS", "LocalRedisCluster", "Node", "RedisServerNotFound", "local_cluster"]

SLOTS = 16384
STARTUP_TIMEOUT = 60.0  # seconds to form the cluster (a loaded 2-core machine needs a while)
STOP_TIMEOUT = 5.0  # seconds a node gets to exit after SIGTERM before it is killed
#: What to tell a user whose machine has no ``redis-server``.
INSTALL_HINT = (
    "redis-server is not installed: install it with `sudo apt-get install "
    "redis-server` (Debian/Ubuntu) or `brew install redis` (macOS)"
)


class RedisServerNotFound(RuntimeError):
    """``redis-server`` is not installed (or not on PATH); the message says how to install it."""


@dataclass
class Node:
    """One ``redis-server`` of the cluster. ``role`` is what it was started as."""

    index: int
    port: int
    role: str  # "master" or "replica"
    process: subprocess.Popen[bytes]
    directory: str
    master: int | None = None  # for a replica: the index of the master it was started for
    node_id: str = ""

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def running(self) -> bool:
        return self.process.poll() is None

    def connect(self) -> redis.Redis:
        """A plain client for this one node (cluster commands, INFO)."""
        return redis.Redis(
            port=self.port,
            decode_responses=True,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=SOCKET_TIMEOUT,
        )

    def log_tail(self, lines: int = 3) -> str:
        return log_tail(os.path.join(self.directory, "redis.log"), lines)


def _stop(nodes: list[Node], watchdog: list[Watchdog], tmpdir: str) -> None:
    """SIGTERM every node (by PID), wait, SIGKILL stragglers; dismiss the watchdog; rm tmpdir."""
    for node in nodes:
        node.process.terminate()  # a no-op for a process already reaped
    for node in nodes:
        try:
            node.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait(STOP_TIMEOUT)
    nodes.clear()
    for dog in watchdog:
        dog.dismiss(STOP_TIMEOUT)
    watchdog.clear()
    shutil.rmtree(tmpdir, ignore_errors=True)


class LocalRedisCluster:
    """``masters`` masters and ``replicas`` (0 or 1) replicas each; a context manager.

    ``node_timeout_ms`` is ``cluster-node-timeout``: how long a silent master goes before it is
    suspected; a failover takes about twice that plus up to a second of election delay.
    ``progress``: print one line when starting takes more than a second (False: never;
    a callable: called with the line instead). ``config``: extra ``redis-server`` directives.
    """

    def __init__(
        self,
        masters: int = 3,
        replicas: int = 0,
        *,
        node_timeout_ms: int = 1000,
        startup_timeout: float = STARTUP_TIMEOUT,
        config: dict[str, str] | None = None,
        progress: bool | Callable[[str], Any] = True,
    ):
        if not 3 <= masters <= 16:
            raise ValueError(f"masters must be between 3 and 16 (Redis needs 3), not {masters}")
        if replicas not in (0, 1):
            raise ValueError(f"replicas must be 0 or 1, not {replicas}")
        self.masters, self.replicas = masters, replicas
        self.node_timeout_ms, self.startup_timeout = node_timeout_ms, startup_timeout
        self.progress, self.config = progress, dict(config or {})
        self.nodes: list[Node] = []
        self.start_seconds: float | None = None  # measured by start()
        self._killed: dict[int, float] = {}  # node index -> time.monotonic() of its SIGKILL
        self._started_at, self._announced = 0.0, False
        self._watchdog: list[Watchdog] = []
        self._tmpdir = tempfile.mkdtemp(prefix="lessons-redis-cluster-")
        self._finalizer = weakref.finalize(self, _stop, self.nodes, self._watchdog, self._tmpdir)

    def start(self) -> Self:
        """Start the servers, form the cluster and wait until it is ready (bounded)."""
        if self.nodes:
            raise RuntimeError("this cluster is already started")
        server = shutil.which("redis-server")
        if server is None:
            raise RedisServerNotFound(INSTALL_HINT)
        self._started_at = time.monotonic()
        try:
            self._watchdog.append(Watchdog(cleanup=[self._tmpdir]))
            ports = free_ports(self.masters * (1 + self.replicas), companion_offset=10000)
            for i, port in enumerate(ports):  # each with its cluster bus port (+10000) free
                master = i - self.masters if i >= self.masters else None
                self.nodes.append(self._spawn(server, i, port, master))
            self._form()
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - self._started_at
        return self

    def _spawn(self, server: str, index: int, port: int, master: int | None) -> Node:
        directory = os.path.join(self._tmpdir, f"node-{index}")
        os.makedirs(directory, exist_ok=True)
        args = [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            directory,
            "--save",
            "",
            "--appendonly",
            "no",
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            str(self.node_timeout_ms),
            "--repl-diskless-sync-delay",
            "0",
            "--daemonize",
            "no",
        ]
        args += [part for name, value in self.config.items() for part in (f"--{name}", value)]
        process = spawn(args, log_path=os.path.join(directory, "redis.log"), new_session=True)
        for dog in self._watchdog:
            dog.watch(process.pid)
        role = "master" if master is None else "replica"
        return Node(index, port, role, process, directory, master)

    def _wait(self, what: str, ready: Callable[[], bool]) -> None:
        """Poll ``ready()`` every 20 ms until it is true; fail if a node died or time ran out."""
        deadline = self._started_at + self.startup_timeout
        while True:
            try:
                if ready():
                    return
            except redis.RedisError:
                pass  # not listening yet, or loading
            for node in self.nodes:
                if not node.running() and node.index not in self._killed:
                    log = " / ".join(node.log_tail().split("\n")).strip(" /")
                    raise RuntimeError(
                        f"redis-server on port {node.port} exited ({node.process.returncode}): {log}"
                    )
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} did not happen within {self.startup_timeout:.0f} s")
            if self.progress and not self._announced and time.monotonic() - self._started_at > 1:
                self._announced = True  # one line of progress, once
                kind = f"{self.masters} masters" + (f" + {self.masters} replicas" * self.replicas)
                line = f"Starting a local Redis Cluster ({kind}); this takes a few seconds…"
                (self.progress if callable(self.progress) else print)(line)
            time.sleep(0.02)

    def _form(self) -> None:
        """Commands, per node: PING, CLUSTER MYID, ADDSLOTSRANGE, SET-CONFIG-EPOCH, MEET,
        REPLICATE, then CLUSTER INFO / CLUSTER NODES / INFO replication until ready."""
        clients = [node.connect() for node in self.nodes]
        try:
            self._wait("every node answering PING", lambda: all(c.ping() for c in clients))
            for node, c in zip(self.nodes, clients):
                node.node_id = c.execute_command("CLUSTER MYID")
            share = SLOTS // self.masters
            for i, c in enumerate(clients[: self.masters]):
                first, last = i * share, (SLOTS - 1 if i == self.masters - 1 else (i + 1) * share - 1)
                c.execute_command("CLUSTER ADDSLOTSRANGE", first, last)
                c.execute_command("CLUSTER SET-CONFIG-EPOCH", i + 1)
            for node in self.nodes[1:]:
                clients[0].execute_command("CLUSTER MEET", "127.0.0.1", node.port)
            for node, c in zip(self.nodes, clients):
                if node.master is not None:
                    master_id = self.nodes[node.master].node_id
                    self._wait("a replica learning its master", partial(_knows, c, master_id))
                    c.execute_command("CLUSTER REPLICATE", master_id)
            self._wait("cluster_state:ok on every node", lambda: all(self._ready(c) for c in clients))
        finally:
            for c in clients:
                c.close()

    def _ready(self, c: redis.Redis) -> bool:
        """One node: state ok, every node known and connected as planned, replica in sync."""
        info = c.cluster("INFO")
        nodes = c.cluster("NODES").values()
        flags = [n["flags"] for n in nodes]
        if (
            info.get("cluster_state") != "ok"
            or len(flags) != len(self.nodes)
            or any("handshake" in f or "fail" in f for f in flags)
            or not all(n["connected"] for n in nodes)
            or sum("slave" in f for f in flags) != self.masters * self.replicas
        ):
            return False
        if any("myself" in f and "slave" in f for f in flags):
            repl = c.info("replication")
            return repl.get("master_link_status") == "up" and not repl.get("master_sync_in_progress")
        return True

    def stop(self) -> None:
        """Stop every node (SIGTERM, then SIGKILL after 5 s) and remove its files. Idempotent."""
        _stop(self.nodes, self._watchdog, self._tmpdir)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>`` of the first running master (as started), else of any
        running node (a promoted replica): any node leads a client to all. StopIteration: none."""
        running = [n for n in self.nodes if n.running()]
        return next((n.url for n in running if n.role == "master"), next(iter(running)).url)

    @property
    def directory(self) -> str:
        """The temporary directory that holds every node's files (removed by ``stop()``)."""
        return self._tmpdir

    @property
    def pids(self) -> list[int]:
        return [n.pid for n in self.nodes]

    def client(self, **kwargs: Any) -> RedisCluster:
        """A ``RedisCluster`` client (decode_responses, the course's short timeouts)."""
        return RedisCluster.from_url(
            self.url,
            **{
                "decode_responses": True,
                "socket_connect_timeout": CONNECT_TIMEOUT,
                "socket_timeout": SOCKET_TIMEOUT,
                **kwargs,
            },
        )

    def roles(self) -> dict[int, str]:
        """Port -> "master"/"replica"/"down", as the running nodes see it now (CLUSTER NODES)."""
        result = {n.port: "down" for n in self.nodes}
        with next(n for n in self.nodes if n.running()).connect() as c:
            for address, info in c.cluster("NODES").items():
                port = int(address.rsplit(":", 1)[1])
                if "fail" not in info["flags"] and port in result:
                    result[port] = "replica" if "slave" in info["flags"] else "master"
        return result

    def kill_master(self, index: int = 0) -> Node:
        """SIGKILL master ``index`` (0-based, among the masters as started): a crash, no goodbye."""
        node = [n for n in self.nodes if n.role == "master"][index]
        if not node.running():
            raise RuntimeError(f"the master on port {node.port} is not running")
        node.process.kill()
        self._killed[node.index] = time.monotonic()
        for dog in self._watchdog:
            dog.forget(node.pid)
        node.process.wait()
        return node

    def wait_for_failover(self, timeout: float = 30.0) -> float:
        """Seconds from the last ``kill_master`` until its replica is a master and every running
        node reports ``cluster_state:ok``; polls CLUSTER INFO and INFO replication every 20 ms."""
        if not self._killed:
            raise RuntimeError("no master was killed: call kill_master() first")
        index, killed_at = max(self._killed.items(), key=lambda item: item[1])
        replica = next((n for n in self.nodes if n.master == index), None)
        if replica is None:
            raise RuntimeError("that master had no replica: start the cluster with replicas=1")
        clients = [n.connect() for n in self.nodes if n.running()]
        promoted = replica.connect()
        try:
            while time.monotonic() - killed_at < timeout:
                try:
                    if (
                        all(c.cluster("INFO").get("cluster_state") == "ok" for c in clients)
                        and promoted.info("replication").get("role") == "master"
                    ):
                        return time.monotonic() - killed_at
                except redis.RedisError:
                    pass
                time.sleep(0.02)
            raise TimeoutError(f"no failover within {timeout:.0f} s")
        finally:
            for c in [*clients, promoted]:
                c.close()


def _knows(client: redis.Redis, node_id: str) -> bool:
    """True if ``client``'s node lists ``node_id`` in CLUSTER NODES, past the handshake."""
    return any(
        n["node_id"] == node_id and "handshake" not in n["flags"] for n in client.cluster("NODES").values()
    )


def local_cluster(masters: int = 3, replicas: int = 0, **kwargs: Any) -> LocalRedisCluster:
    """``LocalRedisCluster(masters, replicas, **kwargs)``, for ``with local_cluster(...) as c:``."""
    return LocalRedisCluster(masters, replicas, **kwargs)
