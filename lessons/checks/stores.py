"""Checks for notebook 00's "Your turn" cell: the SQLite cleanup job.

    check_cleanup_sql(my_cleanup);     # my_cleanup(conn, now) -> rows deleted

The check runs on a throw-away SQLite database in a temporary directory (no Redis), prints one
``✓``/``✗`` line per property and a verdict (``lessons.checks.Report``), and returns True only if
every check passed.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..i18n import _
from ..stores.sqlite import SqliteStore
from . import Report

__all__ = ["check_cleanup_sql"]


def check_cleanup_sql(cleanup: Callable[[sqlite3.Connection, float], object]) -> bool:
    """``cleanup(conn, now)`` must delete exactly the expired rows of ``sessions`` with one SQL
    statement and return how many it deleted.

    Set-up: a ``SqliteStore`` with a clock the check moves forward: 3 sessions with a 10 s TTL,
    2 with a 1000 s TTL, then 60 s pass. The job must return 3, leave 2 rows, and leave the 2 live
    sessions readable (a trivial property: a stub that does nothing has it, so it earns its ``✓``
    only once another property passes).
    """
    report = Report()
    now = [1_000_000.0]
    with tempfile.TemporaryDirectory(prefix="course00-check-") as directory:
        store = SqliteStore(Path(directory) / "check.db", default_ttl=1000, clock=lambda: now[0])
        try:
            for i in range(3):
                store.create({"user_id": i}, ttl=10)
            live = [store.create({"user_id": i}, ttl=1000) for i in range(3, 5)]
            now[0] += 60
            statements: list[str] = []
            with report.guard():
                store.conn.set_trace_callback(statements.append)
                try:
                    returned = cleanup(store.conn, now[0])
                finally:
                    store.conn.set_trace_callback(None)
                report.check(
                    returned == 3,
                    _("returns how many rows it deleted ({n})", n=3),
                    _("no return value") if returned is None else returned,
                )
                left = store.stored_count()
                report.check(
                    left == 2,
                    _(
                        "deletes the {expired} expired rows and only those ({live} rows left)",
                        expired=3,
                        live=2,
                    ),
                    _("{left} rows left", left=left),
                )
                readable = sum(store.get(sid) is not None for sid in live)
                # a stub that deletes nothing keeps them readable too: counted once the rest works
                report.check(
                    readable == 2,
                    _("the {live} live sessions are still readable", live=2),
                    _("{readable} of {live}", readable=readable, live=2),
                    trivial=True,
                )
                report.check(
                    len(statements) == 1, _("uses one SQL statement"), _("{n} statements", n=len(statements))
                )
        finally:
            store.close()
    return report.finish()
