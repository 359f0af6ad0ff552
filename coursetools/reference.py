"""Measure notebook 00's reference again (``lessons.reference`` reads it; the notebook never
measures): the four session stores with the Redis store on a real Redis, written to
``lessons/data/store_latency_reference.json``.

    REDIS_URL=redis://127.0.0.1:6379/0 python -m coursetools.reference [--sessions N] [--rounds R] [PATH]

(``tools/measure-store-reference`` runs it.) Writes only under its own ``course:`` namespace and
deletes it afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import redis

from lessons import backend, classroom
from lessons.reference import DEFAULT_PATH, Reference
from lessons.stores import (
    ComparedStore,
    FileStore,
    MemoryStore,
    RedisStore,
    SqliteStore,
    run_workload,
    summarize,
)

__all__ = ["NAMESPACE", "machine_description", "main", "measure_reference", "save_reference"]

#: Where the measuring run keeps its Redis keys: its own namespace, never a notebook's.
NAMESPACE = "reference-00"


def save_reference(reference: Reference, path: str | os.PathLike[str] = DEFAULT_PATH) -> Path:
    """Write ``reference`` as indented JSON; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(reference.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def machine_description() -> tuple[str, str]:
    """``("<CPU model>, <n> cores[, VM]", "<OS> <release> <arch>, Python <version>")``."""
    model, virtual = "", False
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and " hypervisor" in line:
                virtual = True
    except OSError:
        pass
    model = model or platform.processor() or platform.machine() or "unknown CPU"
    machine = f"{model}, {os.cpu_count()} cores" + (", VM" if virtual else "")
    system = (
        f"{platform.system()} {platform.release()} {platform.machine()}, Python {platform.python_version()}"
    )
    return machine, system


def measure_reference(redis_url: str, sessions: int = 500, rounds: int = 5) -> Reference:
    """Run ``lessons.stores.run_workload`` on the four stores, ``rounds`` times each, with the
    Redis store on the real Redis at ``redis_url``; pool each store's timings and summarize.

    Rounds go store by store in turn (memory, file, SQLite, Redis, then again), so that a busy
    spell of the machine does not fall on one store only. The local stores live in a temporary
    directory; the Redis keys under ``classroom.namespace("reference-00")``, deleted at the end.
    Refuses the embedded server: a reference must come from a real Redis.
    """
    if not redis_url or redis_url == getattr(backend, "_server_url", None):
        raise ValueError("the reference must be measured on a real Redis: pass its URL")
    client = backend.connect(redis_url)
    if not isinstance(client, redis.Redis):
        raise ValueError("measure the reference on a single Redis, not on a Redis Cluster")
    version = client.info("server").get("redis_version", "?")
    host = client.connection_pool.connection_kwargs.get("host", "?")
    connection = f"loopback TCP ({host})" if host in ("127.0.0.1", "localhost", "::1") else f"TCP to {host}"
    prefix = classroom.namespace(NAMESPACE)
    backend.delete_prefix(client, prefix + ":")
    workdir = Path(tempfile.mkdtemp(prefix="store-reference-"))
    stores: list[ComparedStore] = [
        MemoryStore(),
        FileStore(workdir / "sessions"),
        SqliteStore(workdir / "sessions.db"),
        RedisStore(redis_url, prefix=f"{prefix}:store"),
    ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    pooled: dict[str, dict[str, list[float]]] = {s.kind: {} for s in stores}
    try:
        for round_no in range(rounds):
            for store in stores:
                timings = run_workload(store, n=sessions, seed=round_no)
                for op, values in timings.items():
                    pooled[store.kind].setdefault(op, []).extend(values)
    finally:
        for store in stores:
            store.close()
        backend.delete_prefix(client, prefix + ":")
        client.close()
        shutil.rmtree(workdir, ignore_errors=True)
    machine, system = machine_description()
    return Reference(
        measured_on=time.strftime("%Y-%m-%d", time.gmtime()),
        redis_version=version,
        redis_connection=connection,
        machine=machine,
        system=system,
        load_average=round(load, 2),
        sessions=sessions,
        rounds=rounds,
        rows=tuple(summarize(pooled)),
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m coursetools.reference [--sessions N] [--rounds R] [PATH]``: measure on $REDIS_URL."""
    parser = argparse.ArgumentParser(prog="python -m coursetools.reference", description=main.__doc__)
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("path", nargs="?", default=str(DEFAULT_PATH))
    args = parser.parse_args(argv)
    url = os.environ.get("REDIS_URL")
    if not url:
        print("Set REDIS_URL to a real Redis, e.g. REDIS_URL=redis://127.0.0.1:6379/0", file=sys.stderr)
        return 2
    reference = measure_reference(url, sessions=args.sessions, rounds=args.rounds)
    path = save_reference(reference, args.path)
    print(f"{reference.label}\nwritten to {path}")
    for row in reference.rows:
        print(
            f"  {row.kind:<7} {row.op:<7} median {row.median_us:9.1f} µs  p99 {row.p99_us:9.1f} µs"
            f"  {row.ops_per_s:>10,.0f} calls/s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
