"""Notebook 00's committed reference: the four session stores, with the Redis store on a real Redis.

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

This module only reads it. To measure it again (maintainers, on a real Redis):
``REDIS_URL=redis://127.0.0.1:6379/0 tools/measure-store-reference`` (``coursetools.reference``).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import backend
from .i18n import _
from .stores import OpStats

__all__ = ["DEFAULT_PATH", "Reference", "load_reference", "your_run_label"]

#: The committed reference data file.
DEFAULT_PATH = Path(__file__).parent / "data" / "store_latency_reference.json"


@dataclass(frozen=True)
class Reference:
    """One reference run: where and when it was measured, and its figures per store and op."""

    measured_on: str  # date, YYYY-MM-DD (UTC)
    redis_version: str  # from INFO server
    redis_connection: str  # e.g. "loopback TCP (127.0.0.1)"
    machine: str  # CPU and cores, e.g. "Intel(R) Xeon(R) Processor, 2 cores, VM"
    system: str  # OS and Python, e.g. "Linux 6.18 x86_64, Python 3.11.7"
    load_average: float  # 1-minute load average when the run started (busy machine or not)
    sessions: int  # run_workload(n=sessions) per round
    rounds: int  # rounds per store; the timings of all rounds are pooled
    rows: tuple[OpStats, ...]

    @property
    def label(self) -> str:
        """``reference: real Redis 7.0.15 on <machine>, <date>``: the title of its plot panel."""
        return _(
            "reference: real Redis {version} on {machine}, {date}",
            version=self.redis_version,
            machine=self.machine,
            date=self.measured_on,
        )

    def stats(self, kind: str, op: str) -> OpStats:
        """The row of one store (``memory``, ``file``, ``sqlite``, ``redis``) and operation."""
        for row in self.rows:
            if row.kind == kind and row.op == op:
                return row
        raise KeyError(f"no reference figures for {kind!r} {op!r}")

    def to_json(self) -> dict[str, Any]:
        """The data file's content: every field, figures rounded to 0.01."""
        data = asdict(self)
        data["rows"] = [
            {k: round(v, 2) if isinstance(v, float) else v for k, v in asdict(row).items()}
            for row in self.rows
        ]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reference:
        rows = tuple(OpStats(**row) for row in data["rows"])
        return cls(**{**data, "rows": rows})


def load_reference(path: str | os.PathLike[str] = DEFAULT_PATH) -> Reference:
    """Read the committed reference run (no Redis needed)."""
    return Reference.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def your_run_label(client: backend.Client) -> str:
    """``your run: <backend>`` for the panel of the learner's live measurement (one round trip
    on a real Redis: INFO server; none on the embedded server)."""
    if backend.is_embedded():
        import fakeredis

        return _(
            "your run: embedded fakeredis {version} (a Python simulation)", version=fakeredis.__version__
        )
    version = client.info("server").get("redis_version", "?")
    return _("your run: Redis {version} (REDIS_URL)", version=version)
