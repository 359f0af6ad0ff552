"""Scaffolding for notebook 06 (Redis Cluster): start its cluster or explain why not, and show
where code written for one Redis breaks on a cluster.

    cluster = start_or_skip(masters=3, replicas=1)   # None, and every later cell skipped, if
                                                     # redis-server is not installed
"""

from __future__ import annotations

import shutil
from typing import Any

import redis

from .redis_cluster import INSTALL_HINT, LocalRedisCluster

__all__ = ["SKIPPED", "moved_error", "per_master", "scan_one_node", "slot_ranges", "start_or_skip"]

SKIPPED = "skipped: this cell needs redis-server (see the install line at the top)"


def _skip_every_later_cell() -> None:
    """In IPython: replace each cell run from now on by one printed line (no traceback)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - plain Python
        return
    shell = get_ipython()
    if shell is not None:
        shell.input_transformers_post.append(lambda lines: [f"print({SKIPPED!r})\n"])


def start_or_skip(masters: int = 3, replicas: int = 1) -> LocalRedisCluster | None:
    """Start a local cluster (``lessons.redis_cluster``) and print what it is, or, without
    ``redis-server``, print how to install it and make every later notebook cell print one
    "skipped" line instead of running."""
    if shutil.which("redis-server") is None:
        print(f"{INSTALL_HINT}, then restart the kernel.")
        _skip_every_later_cell()
        return None
    print(f"Starting {masters * (1 + replicas)} redis-server processes (a few seconds)…")
    cluster = LocalRedisCluster(masters, replicas, progress=False).start()
    with cluster.nodes[0].connect() as node:
        version = node.info("server")["redis_version"]
    print(f"Backend: a local Redis Cluster, {masters} masters + {masters * replicas} replicas, "
          f"Redis {version}, started by this notebook at {cluster.url}")
    return cluster


def slot_ranges(cluster: LocalRedisCluster) -> list[str]:
    """One line per master: its slot range (CLUSTER SLOTS on one node)."""
    with cluster.nodes[0].connect() as node:
        slots = node.execute_command("CLUSTER SLOTS")
    return [f"master {n}: slots {start:>5} – {end:>5}"
            for n, (start, end, *_rest) in enumerate(sorted(slots))]


def moved_error(cluster: LocalRedisCluster, key: str) -> str:
    """What a plain client connected to master 0 gets for ``GET key``: the value, or the
    MOVED redirection (``MOVED <slot> <host:port>``) when another master serves the key."""
    with cluster.nodes[0].connect() as node:
        try:
            return repr(node.get(key))
        except redis.ResponseError as exc:
            return f"{type(exc).__name__}: {exc}"


def scan_one_node(cluster: LocalRedisCluster, match: str) -> int:
    """How many keys matching ``match`` SCAN finds on master 0 alone (what a plain client sees)."""
    with cluster.nodes[0].connect() as node:
        return sum(1 for _ in node.scan_iter(match=match, count=1000))


def per_master(client: Any, keys: list[str]) -> list[int]:
    """How many of ``keys`` each master serves, largest first (the client's slot map)."""
    counts = {node.name: 0 for node in client.get_primaries()}
    for key in keys:
        counts[client.get_node_from_key(key).name] += 1
    return sorted(counts.values(), reverse=True)
