"""Notebook 01's experiments on a session store, behind one-line calls.

- ``lockstep_updates(store, sid)``: several threads update one session in rounds, and in each
  round every thread has read the session before any of them writes (a barrier right after each
  update's first ``GET``): the race that loses updates, made to happen every time, on purpose.
- ``concurrent_updates(store, sid)``: the same threads, free-running (whatever the timing gives).
  Both return an ``UpdateRun``: how many writes survived, how many updates read the session
  again (a retry), and which ones raised; ``UpdateRun.report()`` says it in stable words.
- ``round_trips(make_store)`` and ``print_round_trips(...)``: what each store operation sends to
  Redis, counted where redis-py writes it (``lessons.roundtrips``), as a table.

Both work with the lesson's ``SessionStore`` and with ``lessons.store.SessionStore`` alike: they
only call the lesson's method names.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .i18n import _
from .interleave import pause_after
from .roundtrips import RoundTrips, counting_client

__all__ = ["UpdateRun", "concurrent_updates", "lockstep_updates", "print_round_trips", "round_trips"]

MALFORMED_ID = "../../etc/passwd"

#: What an exception an update raised means, for ``UpdateRun.report`` (English; ``_meaning``
#: gives it in the course's language).
_MEANING = {
    "RetryLimitExceeded": "the store gave up after its retry budget of conflicts",
    "SessionNotFound": "the session was gone",
    "ConnectionError": "Redis could not be reached",
    "TimeoutError": "Redis did not answer in time",
}


@dataclass
class UpdateRun:
    """What one experiment saw: ``threads`` x ``updates`` calls of ``store.update``."""

    threads: int
    updates: int  #: per thread
    kept: int = 0  #: ``w…`` fields the session holds afterwards
    retried: int = 0  #: updates that read the session more than once (ran again after a conflict)
    retries: int = 0  #: extra reads in all
    failures: Counter[str] = field(default_factory=Counter)  #: exception name -> updates

    @property
    def total(self) -> int:
        return self.threads * self.updates

    @property
    def lost(self) -> int:
        """Updates that returned normally, yet whose field is not in the session."""
        return self.total - sum(self.failures.values()) - self.kept

    def report(self, retried: bool = False) -> str:
        """Stable text: writes kept and lost, updates that raised (and what that means), and
        with ``retried=True`` how many updates ran again after a conflict."""
        text = _(
            "{kept} of {total} writes survived, {lost} lost", kept=self.kept, total=self.total, lost=self.lost
        )
        if retried:
            text += _(
                "; {retried} of {total} updates were refused at first and ran again",
                retried=self.retried,
                total=self.total,
            )
        for name, count in sorted(self.failures.items()):
            meaning = _meaning(name)
            text += "\n" + _(
                "{count} of {total} updates raised {error} ({meaning}): the caller got "
                "the error, so this write was not lost silently",
                count=count,
                total=self.total,
                error=name,
                meaning=meaning,
            )
        return text


def _meaning(error: str) -> str:
    """``_MEANING[error]`` in the current language ("see the exception" for any other)."""
    return {
        "RetryLimitExceeded": _("the store gave up after its retry budget of conflicts"),
        "SessionNotFound": _("the session was gone"),
        "ConnectionError": _("Redis could not be reached"),
        "TimeoutError": _("Redis did not answer in time"),
    }.get(error, _("see the exception"))


def _run(store: Any, session_id: str, threads: int, updates: int, lockstep: bool) -> UpdateRun:
    run = UpdateRun(threads, updates)
    lock = threading.Lock()
    local = threading.local()
    start, read_together = threading.Barrier(threads), threading.Barrier(threads)

    def after_get() -> None:  # runs in the thread that sent the GET, right after its reply
        local.reads += 1
        if local.gate:
            local.gate = False
            read_together.wait()  # every thread has read: now they may write

    def writer(t: int) -> None:
        if not lockstep:
            start.wait()
        for i in range(updates):
            if lockstep:
                start.wait()  # a round starts when every update of the previous one returned
            local.reads, local.gate = 0, lockstep
            try:
                store.update(session_id, {f"w{t}_{i}": i})
            except Exception as exc:  # counted and explained by report(), never a traceback
                with lock:
                    run.failures[type(exc).__name__] += 1
            if local.gate:  # it failed before reading: still let the others through
                local.gate = False
                read_together.wait()
            with lock:
                run.retried += local.reads > 1
                run.retries += max(local.reads - 1, 0)

    client = store.r
    store.r = pause_after(client, "get", after_get, times=sys.maxsize)
    try:
        workers = [threading.Thread(target=writer, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    finally:
        store.r = client
    run.kept = sum(1 for name in store.get(session_id) or {} if name.startswith("w"))
    return run


def lockstep_updates(store: Any, session_id: str, threads: int = 8, rounds: int = 5) -> UpdateRun:
    """``threads`` threads update one session for ``rounds`` rounds, one
    ``store.update(session_id, {f"w{t}_{i}": i})`` each per round. A round starts when every
    update of the previous one has returned, and in it no thread goes past its first ``GET``
    until all of them have read: so every thread reads the same session, then they all write.

    For this, ``store.r`` is replaced while it runs by a stand-in client
    (``lessons.interleave.pause_after``) that waits at a barrier after each update's first GET.
    A read-merge-write store keeps exactly one write per round; an atomic one keeps them all.
    """
    return _run(store, session_id, threads, rounds, lockstep=True)


def concurrent_updates(store: Any, session_id: str, threads: int = 8, updates: int = 40) -> UpdateRun:
    """``threads`` threads, started together, each make ``updates`` calls of
    ``store.update(session_id, {f"w{t}_{i}": i})`` as fast as they can. What survives depends
    on how the threads happen to interleave (``lockstep_updates`` makes the race certain)."""
    return _run(store, session_id, threads, updates, lockstep=False)


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
        warm_up: list[Callable[[], object]] = [
            lambda: store.get(warm, refresh=True),
            lambda: store.regenerate(warm),
        ]
        for call in warm_up:
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


def print_round_trips(lesson: dict[str, RoundTrips | None], improved: dict[str, RoundTrips | None]) -> None:
    """A table: operation, round trips of each store, and what the improved store sends
    (round trips separated by ``|``; ``—`` where a store has no such operation)."""

    def count(m: RoundTrips | None) -> str:
        return "—" if m is None else str(m.count)

    print(f"{'operation':<24}{'lesson':>7}{'improved':>10}   " + _("improved store sends"))
    for op, m in improved.items():
        sends = "—" if m is None else (" | ".join(m.commands) or "(nothing)")
        print(f"{op:<24}{count(lesson.get(op)):>7}{count(m):>10}   {sends}")
