"""Four session stores behind one small interface: the lesson's comparison table, measured.

The lesson's table (なぜ Redis でセッション管理？) compares four places to keep sessions:

==========  ===============  ===================  ==============================================
kind        class            module               where a session lives
==========  ===============  ===================  ==============================================
``memory``  ``MemoryStore``  ``..memory_store``   a dict inside this Python process (メモリ)
``file``    ``FileStore``    ``files``            one JSON file per session in a directory (ファイル)
``sqlite``  ``SqliteStore``  ``sqlite``           a row in an SQLite database file (DB)
``redis``   ``RedisStore``   ``redis_store``      a key in Redis, via ``lessons.store.SessionStore``
==========  ===============  ===================  ==============================================

``MemoryStore`` is also the web app's in-process store, so it lives in the core
(``lessons.memory_store``) and this package imports it. ``contract`` holds their shared interface
(``ComparedStore``), ``workload`` the timed benchmark (``run_workload``, ``summarize``), ``sharing``
the second-process experiment (``other_process_sees``, ``open_store``). The "Your turn" checker
``check_cleanup_sql`` lives in ``lessons.checks.stores`` (a layer above: this package never
imports it).

Expiry, honestly. Redis deletes expired keys itself (when a key is touched, and by a background
cycle that samples keys with a TTL), so ``RedisStore.cleanup()`` has nothing to do. The other three
only *answer* correctly: ``get`` treats an expired session as missing and deletes that one entry,
but a session that nobody reads again (the user closed the browser) stays in the dict, on disk or
in the table until ``cleanup()`` runs. In production that means a cron job or a background thread.
The three local stores take ``clock=`` (a function returning seconds) so that tests can move time
forward without sleeping. Redis keeps its own clock.
"""

from __future__ import annotations

from ..errors import SessionNotFound
from ..memory_store import MemoryStore
from .contract import KINDS, LESSON_TABLE, ComparedStore
from .files import FileStore
from .redis_store import RedisStore
from .sharing import open_store, other_process_sees
from .sqlite import SqliteStore
from .workload import OPS, OpStats, run_workload, summarize

__all__ = [
    "KINDS",
    "LESSON_TABLE",
    "OPS",
    "ComparedStore",
    "FileStore",
    "MemoryStore",
    "OpStats",
    "RedisStore",
    "SessionNotFound",
    "SqliteStore",
    "open_store",
    "other_process_sees",
    "run_workload",
    "summarize",
]
