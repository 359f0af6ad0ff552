"""Notebook 00's reference measurement: the four session stores, with the Redis store on a real Redis.

A learner who runs notebook 00 on the embedded backend measures fakeredis, a Python simulation
of Redis, not a Redis server. So the notebook plots its live run beside this committed reference
(measured on an idle machine; there too Redis is the slowest of the four on one machine, by the
round trip each call pays): the same workload (``lessons.stores.run_workload``) on the
same four stores, with ``RedisStore`` talking to a real Redis server over loopback TCP, together
with the machine, the Redis version and the date it was measured::

    ref = load_reference()
    ref.label                       # "reference: real Redis 7.0.15 on …, 2026-11-30"
    ref.rows                        # OpStats rows, as lessons.stores.summarize returns them
    ref.stats("sqlite", "get").median_us

To measure it again (on a real Redis; writes only under its own ``course:`` namespace and deletes
it afterwards): ``REDIS_URL=redis://127.0.0.1:6379/0 tools/measure-store-reference``.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import redis

from . import backend, classroom
from .i18n import _
from .stores import FileStore, MemoryStore, OpStats, RedisStore, SqliteStore, Store, run_workload, summarize

__all__ = ["DEFAULT_PATH", "Reference", "load_reference", "machine_description",
           "measure_reference", "save_reference", "your_run_label"]

#: The committed reference data file.
DEFAULT_PATH = Path(__file__).parent / "data" / "store_latency_reference.json"

#: Where the measuring run keeps its Redis keys: its own namespace, never a notebook's.
NAMESPACE = "reference-00"


@dataclass(frozen=True)
class Reference:
    """One reference run: where and when it was measured, and its figures per store and op."""

    measured_on: str          # date, YYYY-MM-DD (UTC)
    redis_version: str        # from INFO server
    redis_connection: str     # e.g. "loopback TCP (127.0.0.1)"
    machine: str              # CPU and cores, e.g. "Intel(R) Xeon(R) Processor, 2 cores, VM"
    system: str               # OS and Python, e.g. "Linux 6.18 x86_64, Python 3.11.7"
    load_average: float       # 1-minute load average when the run started (busy machine or not)
    sessions: int             # run_workload(n=sessions) per round
    rounds: int               # rounds per store; the timings of all rounds are pooled
    rows: tuple[OpStats, ...]

    @property
    def label(self) -> str:
        """``reference: real Redis 7.0.15 on <machine>, <date>``: the title of its plot panel."""
        return _("reference: real Redis {version} on {machine}, {date}", version=self.redis_version,
                 machine=self.machine, date=self.measured_on)

    def stats(self, kind: str, op: str) -> OpStats:
        """The row of one store (``memory``, ``file``, ``sqlite``, ``redis``) and operation."""
        for row in self.rows:
            if row.kind == kind and row.op == op:
                return row
        raise KeyError(f"no reference figures for {kind!r} {op!r}")

    def to_json(self) -> dict[str, Any]:
        """The data file's content: every field, figures rounded to 0.01."""
        data = asdict(self)
        data["rows"] = [{k: round(v, 2) if isinstance(v, float) else v
                         for k, v in asdict(row).items()} for row in self.rows]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reference:
        rows = tuple(OpStats(**row) for row in data["rows"])
        return cls(**{**data, "rows": rows})


def load_reference(path: str | os.PathLike[str] = DEFAULT_PATH) -> Reference:
    """Read the committed reference run (no Redis needed)."""
    return Reference.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def save_reference(reference: Reference, path: str | os.PathLike[str] = DEFAULT_PATH) -> Path:
    """Write ``reference`` as indented JSON; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(reference.to_json(), indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")
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
    system = (f"{platform.system()} {platform.release()} {platform.machine()}, "
              f"Python {platform.python_version()}")
    return machine, system


def your_run_label(client: backend.Client) -> str:
    """``your run: <backend>`` for the panel of the learner's live measurement (one round trip
    on a real Redis: INFO server; none on the embedded server)."""
    if backend.is_embedded():
        import fakeredis

        return _("your run: embedded fakeredis {version} (a Python simulation)",
                 version=fakeredis.__version__)
    version = client.info("server").get("redis_version", "?")
    return _("your run: Redis {version} (REDIS_URL)", version=version)


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
    connection = (f"loopback TCP ({host})" if host in ("127.0.0.1", "localhost", "::1")
                  else f"TCP to {host}")
    prefix = classroom.namespace(NAMESPACE)
    backend.delete_prefix(client, prefix + ":")
    workdir = Path(tempfile.mkdtemp(prefix="store-reference-"))
    stores: list[Store] = [MemoryStore(), FileStore(workdir / "sessions"),
                           SqliteStore(workdir / "sessions.db"),
                           RedisStore(redis_url, prefix=f"{prefix}:store")]
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
        redis_version=version, redis_connection=connection, machine=machine, system=system,
        load_average=round(load, 2), sessions=sessions, rounds=rounds,
        rows=tuple(summarize(pooled)))


def main(argv: list[str]) -> int:
    """``python -m lessons.reference [--sessions N] [--rounds R] [PATH]``: measure on $REDIS_URL."""
    import argparse

    parser = argparse.ArgumentParser(prog="measure-store-reference", description=main.__doc__)
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("path", nargs="?", default=str(DEFAULT_PATH))
    args = parser.parse_args(argv)
    url = os.environ.get("REDIS_URL")
    if not url:
        print("Set REDIS_URL to a real Redis, e.g. REDIS_URL=redis://127.0.0.1:6379/0",
              file=sys.stderr)
        return 2
    reference = measure_reference(url, sessions=args.sessions, rounds=args.rounds)
    path = save_reference(reference, args.path)
    print(f"{reference.label}\nwritten to {path}")
    for row in reference.rows:
        print(f"  {row.kind:<7} {row.op:<7} median {row.median_us:9.1f} µs  p99 {row.p99_us:9.1f} µs"
              f"  {row.ops_per_s:>10,.0f} calls/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
