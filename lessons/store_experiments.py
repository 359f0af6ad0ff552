"""Notebook 01's experiments on a session store, behind one-line calls.

- ``concurrent_updates(store, sid)``: several threads update one session at once, each writing
  fields of its own; how many of those writes survive (a lost-update detector).
- ``round_trips(make_store)`` and ``print_round_trips(...)``: what each store operation sends to
  Redis, counted where redis-py writes it (``lessons.roundtrips``), as a table.

Both work with the lesson's ``SessionStore`` and with ``lessons.store.SessionStore`` alike: they
only call the lesson's method names.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .roundtrips import RoundTrips, counting_client

__all__ = ["concurrent_updates", "print_round_trips", "round_trips"]

MALFORMED_ID = "../../etc/passwd"


def concurrent_updates(store: Any, session_id: str, threads: int = 8, updates: int = 40) -> int:
    """``threads`` threads, started together, each make ``updates`` calls of
    ``store.update(session_id, {f"w{t}_{i}": i})``; returns how many ``w…`` fields the session
    holds afterwards (``threads * updates`` if no write was lost)."""
    start = threading.Barrier(threads)

    def writer(t: int) -> None:
        start.wait()
        for i in range(updates):
            store.update(session_id, {f"w{t}_{i}": i})

    workers = [threading.Thread(target=writer, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(1 for name in store.get(session_id) if name.startswith("w"))


def round_trips(make_store: Callable[[Any], Any]) -> dict[str, RoundTrips | None]:
    """Round trips of each store operation: ``{operation: RoundTrips, or None if the store has
    no such operation}``. ``make_store(client)`` builds the store on a counting client.

    Before measuring, one of each operation runs once (a new connection, and the server's
    script cache, are set up then), so every row shows the steady state.
    """
    client, trips = counting_client()
    store = make_store(client)
    user = {"user_id": 1, "username": "alice"}
    guest = {"username": "guest"}
    rows: dict[str, RoundTrips | None] = {}

    def measure(name: str, call: Callable[[], Any]) -> Any:
        with trips.measure() as m:
            try:
                result = call()
            except (TypeError, AttributeError):  # the store has no such operation
                rows[name] = None
                return None
        rows[name] = m
        return result

    try:
        warm = store.create(user)
        for call in (lambda: store.get(warm, refresh=True), lambda: store.regenerate(warm)):
            try:
                call()
            except (TypeError, AttributeError):
                pass
        trips.reset()
        anonymous = measure("create", lambda: store.create(guest))
        sid = measure("create (logged in)", lambda: store.create(user))
        measure("get", lambda: store.get(sid))
        measure("get(refresh=True)", lambda: store.get(sid, refresh=True))
        measure("refresh", lambda: store.refresh(sid))
        measure("update (refresh=True)", lambda: store.update(sid, {"n": 1}))
        measure("update (refresh=False)", lambda: store.update(sid, {"n": 2}, refresh=False))
        sid = measure("regenerate", lambda: store.regenerate(sid)) or sid
        measure("delete", lambda: store.delete(anonymous))
        measure("delete (logged in)", lambda: store.delete(sid))
        measure("get (malformed ID)", lambda: store.get(MALFORMED_ID))
    finally:
        client.close()
    return rows


def print_round_trips(lesson: dict[str, RoundTrips | None],
                      improved: dict[str, RoundTrips | None]) -> None:
    """A table: operation, round trips of each store, and what the improved store sends
    (round trips separated by ``|``; ``—`` where a store has no such operation)."""

    def count(m: RoundTrips | None) -> str:
        return "—" if m is None else str(m.count)

    print(f"{'operation':<24}{'lesson':>7}{'improved':>10}   improved store sends")
    for op, m in improved.items():
        sends = "—" if m is None else (" | ".join(m.commands) or "(nothing)")
        print(f"{op:<24}{count(lesson.get(op)):>7}{count(m):>10}   {sends}")
