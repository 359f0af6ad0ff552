"""Who can share a session: open a store from its spec in a second Python process and look.

``other_process_sees`` starts ``python -m lessons.stores peek``, hands it each store's ``spec`` and
a session ID on stdin, and the child opens each store and calls ``get``. A dict lives and dies with
its process; files and SQLite are visible to any process on the same machine (the same disk);
Redis is reached over TCP (one GET per Redis lookup) from any process on any machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from typing import Any

from ..memory_store import MemoryStore
from .contract import ComparedStore
from .files import FileStore
from .redis_store import RedisStore
from .sqlite import SqliteStore

__all__ = ["main", "open_store", "other_process_sees"]


def open_store(spec: str, default_ttl: int = 3600) -> ComparedStore:
    """Open the store that ``spec`` names: ``memory:``, ``file:DIR``, ``sqlite:PATH``,
    ``redis:PREFIX@URL``. ``memory:`` always opens a new, empty dict. No command runs yet."""
    kind, _, rest = spec.partition(":")
    if kind == "memory":
        return MemoryStore(default_ttl)
    if kind == "file" and rest:
        return FileStore(rest, default_ttl)
    if kind == "sqlite" and rest:
        return SqliteStore(rest, default_ttl)
    if kind == "redis" and "@" in rest:
        prefix, _, url = rest.partition("@")
        return RedisStore(url, prefix=prefix, default_ttl=default_ttl)
    raise ValueError(
        f"not a store spec: {spec.split('@')[0]!r} (expected memory:, file:DIR, "
        "sqlite:PATH or redis:PREFIX@URL)"
    )


def other_process_sees(
    lookups: Iterable[tuple[ComparedStore, str]], timeout: float = 60.0
) -> tuple[int, dict[str, dict[str, Any] | None]]:
    """Look sessions up from a brand-new Python process; return (its pid, {kind: session or None}).

    Runs ``python -m lessons.stores peek`` with ``[{"kind", "spec", "session_id"}, …]`` on stdin
    (not on the command line, where a password in a Redis URL would show in ``ps``). The child
    opens each store from its spec and calls ``get``: a ``memory:`` spec gives it a new, empty
    dict. ``RuntimeError`` with the child's error if it fails.
    """
    request = [{"kind": s.kind, "spec": s.spec, "session_id": sid} for s, sid in lookups]
    done = subprocess.run(
        [sys.executable, "-m", "lessons.stores", "peek"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the second process failed:\n{done.stderr.strip()}")
    reply = json.loads(done.stdout)
    return int(reply["pid"]), {item["kind"]: item["session"] for item in reply["results"]}


def _peek() -> int:
    """The child's side: read the lookups from stdin, print {"pid", "results"} as JSON."""
    request = json.loads(sys.stdin.read())
    results = []
    for item in request:
        store = open_store(item["spec"])
        try:
            results.append({"kind": item["kind"], "session": store.get(item["session_id"])})
        finally:
            store.close()
    print(json.dumps({"pid": os.getpid(), "results": results}))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m lessons.stores peek`` (what ``other_process_sees`` runs)."""
    parser = argparse.ArgumentParser(
        prog="python -m lessons.stores",
        description="The second process of other_process_sees: open each store named on stdin "
        '([{"kind", "spec", "session_id"}, ...]) and print what it finds, as JSON.',
    )
    parser.add_argument("command", choices=["peek"])
    parser.parse_args(argv)
    return _peek()
