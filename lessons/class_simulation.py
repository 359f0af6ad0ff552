"""A simulated class, for drawing the progress board without a real class (the instructor
notebook, the tests).

    sim = SimulatedClass.store(r, simulated_results(NAMES, course_items()))
    rows = sim.read()       # {"aiko": {("01", "refresh"): Result(...)}, ...}
    sim.remove()

``simulated_results`` is fixed data (a seeded ``random.Random``, fixed times): the same class
every run. ``store`` writes each learner's progress hash with ``lessons.progress.write_results``
under a learner name of this run's own, ``demo-{6 hex}-{name}`` (so two people drawing the demo
on one shared Redis never meet, and ``python -m lessons.classroom clean`` removes it), every hash
with a TTL (an hour). ``read`` reads back only those hashes, never another learner's, and gives
them their plain names again; ``remove`` deletes them.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import progress
from .progress import Item, Result

__all__ = ["NAMES", "SimulatedClass", "simulated_results"]

#: 30 learners
NAMES = (
    "aiko",
    "ben",
    "carla",
    "daiki",
    "elif",
    "farid",
    "gwen",
    "haruto",
    "ines",
    "jun",
    "kofi",
    "lena",
    "mei",
    "nils",
    "olu",
    "priya",
    "quinn",
    "ren",
    "sofia",
    "taro",
    "uma",
    "vikram",
    "wen",
    "ximena",
    "yuki",
    "zoe",
    "amara",
    "bruno",
    "chloe",
    "dmitri",
)
SIMULATION_TTL = 3600  # seconds
START = 1_767_225_600.0  # a fixed clock (2026-01-01 00:00 UTC), so every run draws the same class


def simulated_results(
    names: Sequence[str], items: Iterable[tuple[str, str, str]], *, seed: int = 21
) -> dict[str, dict[Item, Result]]:
    """A plausible class over ``items``: each learner got some way into the course (from a few
    items to all of them), passed most of what they tried, sometimes after a few attempts, and a
    few are stuck on an item. The same ``seed`` gives the same class."""
    items = list(items)
    rng = random.Random(seed)
    found: dict[str, dict[Item, Result]] = {}
    for row, name in enumerate(names):
        reached = rng.randint(min(3, len(items)), len(items))
        skill = rng.choice((0.7, 0.85, 0.93, 0.98))
        mine: dict[Item, Result] = {}
        for col, (nb, it, kind) in enumerate(items[:reached]):
            if rng.random() < 0.08:  # skipped
                continue
            passed = rng.random() < skill
            attempts = 1 if kind == "quiz" else rng.randint(1, 2 if passed else 5)
            mine[(nb, it)] = Result(passed, attempts, START + 600 * row + 60 * col)
        found[name] = mine
    return found


@dataclass(frozen=True)
class SimulatedClass:
    """Simulated learners' progress hashes on one Redis, under this run's own names."""

    client: Any
    run: str  # demo-{6 hex}
    names: tuple[str, ...]

    @classmethod
    def store(
        cls, client: Any, rows: Mapping[str, Mapping[Item, Result]], *, ttl: int = SIMULATION_TTL
    ) -> SimulatedClass:
        """Write ``rows`` ({plain name: results}) as progress hashes; one MULTI/EXEC round trip
        per learner (``progress.write_results``: UNLINK, HSET, EXPIRE)."""
        sim = cls(client, f"demo-{uuid.uuid4().hex[:6]}", tuple(rows))
        for name, found in rows.items():
            progress.write_results(client, sim.learner(name), found, ttl=ttl)
        return sim

    def learner(self, name: str) -> str:
        """The learner key segment that stands for ``name`` in this run."""
        return f"{self.run}-{name}"

    def keys(self) -> list[str]:
        return [progress.progress_key(self.learner(name)) for name in self.names]

    def read(self) -> dict[str, dict[Item, Result]]:
        """The simulated learners' progress, read back from Redis by their plain names: one
        pipeline of HGETALLs, one round trip (``progress.class_results`` for these learners only);
        no SCAN, so no other learner's hash is read."""
        found = progress.class_results(self.client, [self.learner(name) for name in self.names])
        return {name: found[self.learner(name)] for name in self.names}

    def remove(self) -> int:
        """Delete the simulated learners' hashes (a pipeline of UNLINKs, one round trip; one key
        each, so a Redis Cluster takes it too); how many there were."""
        pipe = self.client.pipeline(transaction=False)
        for key in self.keys():
            pipe.unlink(key)
        return sum(int(n) for n in pipe.execute())
