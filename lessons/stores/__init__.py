"""Four session stores behind one small interface: the lesson's comparison table, measured.

The lesson's table (なぜ Redis でセッション管理？) compares four places to keep sessions:

==========  ===============  ===================  ==============================================
kind        class            module               where a session lives
==========  ===============  ===================  ==============================================
``memory``  ``MemoryStore``  ``memory``           a dict inside this Python process (メモリ)
``file``    ``FileStore``    ``files``            one JSON file per session in a directory (ファイル)
``sqlite``  ``SqliteStore``  ``sqlite``           a row in an SQLite database file (DB)
``redis``   ``RedisStore``   ``redis_store``      a key in Redis, via ``lessons.store.SessionStore``
==========  ===============  ===================  ==============================================

``contract`` holds their shared interface (``Store``) and input checks, ``workload`` the timed
benchmark (``run_workload``, ``summarize``), ``sharing`` the second-process experiment
(``other_process_sees``, ``open_store``). The "Your turn" checker ``check_cleanup_sql`` lives in
``lessons.checks.stores`` and is re-exported here.

Expiry, honestly. Redis deletes expired keys itself (when a key is touched, and by a background
cycle that samples keys with a TTL), so ``RedisStore.cleanup()`` has nothing to do. The other three
only *answer* correctly: ``get`` treats an expired session as missing and deletes that one entry,
but a session that nobody reads again (the user closed the browser) stays in the dict, on disk or
in the table until ``cleanup()`` runs. In production that means a cron job or a background thread.
The three local stores take ``clock=`` (a function returning seconds) so that tests can move time
forward without sleeping. Redis keeps its own clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import SessionNotFound
from .contract import KINDS, LESSON_TABLE, Store
from .files import FileStore
from .memory import MemoryStore
from .redis_store import RedisStore
from .sharing import open_store, other_process_sees
from .sqlite import SqliteStore
from .workload import OPS, OpStats, percentile, run_workload, summarize

__all__ = [
    "KINDS",
    "LESSON_TABLE",
    "OPS",
    "FileStore",
    "MemoryStore",
    "OpStats",
    "RedisStore",
    "SessionNotFound",
    "SqliteStore",
    "Store",
    "check_cleanup_sql",
    "open_store",
    "other_process_sees",
    "percentile",
    "run_workload",
    "summarize",
]

if TYPE_CHECKING:
    from ..checks.stores import check_cleanup_sql


def __getattr__(name: str) -> object:
    # ``lessons.checks.stores`` imports this package's modules, so it is loaded on first use.
    if name == "check_cleanup_sql":
        from ..checks.stores import check_cleanup_sql

        return check_cleanup_sql
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
