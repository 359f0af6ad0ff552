"""Every check and quiz answer, recorded for the learner who ran it: the learner's and the
instructor's view of the course.

    record("01", "refresh", passed=True, kind="exercise")   # the checks and quizzes call this
    results()                    # {("01", "refresh"): Result(passed=True, attempts=2, last=…)}
    class_results(client)        # {"alice": {...}, "bob": {...}}: every learner in the class db
    print(render_table(class_results(), course_items()))

An item is ``(notebook, id)``: the id of an exercise is its check function's name without
``check_`` (``check_refresh`` -> ``refresh``), the id of a quiz is its id in ``quizzes_NN.json``.
``COURSE`` lists them in course order; a test keeps it equal to the notebooks' check and quiz
cells. ``Result.passed`` means *some* attempt passed (a learner who passed and then breaks their
code again keeps the ✓); ``attempts`` counts every run of the check or answer.

Where a result goes, by backend:

- a real Redis (``REDIS_URL``): one hash per learner, ``course:{learner}:progress``, three fields
  per item: ``01:refresh:tries`` (HINCRBY), ``01:refresh:last`` (unix time) and
  ``01:refresh:passed`` (set once it passed). One MULTI/EXEC per record: HINCRBY, HSET, EXPIRE
  (30 days, renewed by every record): one round trip, no read first, so two kernels of one
  learner never lose an attempt. Why a hash: the board needs each learner's latest state per
  item, which is exactly a hash (HGETALL: one round trip per learner, at most 3 × 34 small
  fields, kept compact by Redis); it lives under the learner's namespace, so
  ``python -m lessons.classroom clean`` removes it. A class stream would be an event log
  that grows with every attempt and has to be replayed (and trimmed) to draw the board;
- the embedded server (``REDIS_URL`` unset), which dies with the kernel: a small JSON file, so
  that a learner's progress survives a kernel restart: ``$COURSE_PROGRESS_FILE``, else
  ``progress-{learner}.json`` in the user's data directory (``platformdirs``);
- ``COURSE_PROGRESS_FILE=:memory:`` (either backend, like SQLite's ``:memory:``): this kernel's
  memory only, nothing saved. The tests and ``tools/execute-notebooks`` set it, so that the
  table in each notebook's last cell shows what this run of this notebook did, the same text in
  any order, subset or number of parallel runs.

Recording never breaks a check: if Redis or the file cannot be written, ``record`` returns False
and says so once per kernel, in one line.
"""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from . import backend, classroom
from .errors import CourseError
from .i18n import _, pad, width

__all__ = [
    "COURSE",
    "KINDS",
    "MEMORY",
    "PROGRESS_TTL",
    "Item",
    "Result",
    "class_results",
    "course_items",
    "current_notebook",
    "learner_order",
    "learner_summary",
    "load_file",
    "notebook_of",
    "progress_key",
    "read_roster",
    "record",
    "render_table",
    "results",
    "use_notebook",
    "write_csv",
    "write_results",
]

#: The value of ``COURSE_PROGRESS_FILE`` that keeps progress in this kernel's memory only.
MEMORY = ":memory:"
#: Seconds a learner's progress hash lives after their last recorded attempt.
PROGRESS_TTL = 30 * 24 * 3600
KINDS = ("exercise", "quiz")

#: Every exercise and quiz of the course, per notebook, in the order the notebook asks them.
COURSE: dict[str, tuple[tuple[str, str], ...]] = {
    "00": (
        ("cleanup_sql", "exercise"),
        ("why-redis-shared", "quiz"),
        ("why-redis-cleanup", "quiz"),
        ("why-redis-table", "quiz"),
    ),
    "01": (
        ("ttl-reset", "quiz"),
        ("update_keep_ttl", "exercise"),
        ("refresh", "exercise"),
        ("sliding-read", "quiz"),
    ),
    "02": (
        ("02-one-round-trip", "quiz"),
        ("get_session", "exercise"),
        ("02-memory-behind-balancer", "quiz"),
        ("02-secure-over-http", "quiz"),
        ("02-stolen-after-logout", "quiz"),
    ),
    "03": (
        ("admin-split-colon", "quiz"),
        ("admin-scan-duplicates", "quiz"),
        ("admin-scan-empty-batch", "quiz"),
        ("live_session_ids", "exercise"),
        ("lock_out", "exercise"),
        ("admin-index-round-trips", "quiz"),
    ),
    "04": (
        ("safe_login", "exercise"),
        ("host_cookie", "exercise"),
        ("touch", "exercise"),
        ("find_immortal", "exercise"),
        ("sec-fixation", "quiz"),
        ("sec-set-drops-ttl", "quiz"),
        ("sec-signing", "quiz"),
    ),
    "05": (("hard-hashed-keys", "quiz"), ("login_throttle", "exercise"), ("hard-throttle", "quiz")),
    "06": (
        ("user_keys", "exercise"),
        ("cluster-or-sentinel", "quiz"),
        ("cluster-crossslot", "quiz"),
        ("cluster-hash-tag-cost", "quiz"),
        ("cluster-async-replication", "quiz"),
    ),
}

_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # a notebook or item id
_LEARNER = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")  # what classroom.learner_key returns
_FIELDS = ("tries", "last", "passed")


@dataclass(frozen=True)
class Result:
    """One learner's record of one item."""

    passed: bool  # some attempt passed
    attempts: int
    last: float  # unix time of the last attempt


Item = tuple[str, str]  # (notebook "01", item id)

_memory: dict[Item, Result] = {}
_notebook: str | None = None
_warned = False
_clients: dict[str, backend.Client] = {}


def course_items() -> list[tuple[str, str, str]]:
    """``(notebook, item, kind)`` for every exercise and quiz of notebooks 00-06, in course order."""
    return [(nb, item, kind) for nb, items in COURSE.items() for item, kind in items]


def notebook_of(item: str) -> str | None:
    """The notebook that asks ``item`` (None for an item the course does not know)."""
    return next((nb for nb, it, _kind in course_items() if it == item), None)


def use_notebook(notebook: str | None) -> None:
    """Remember the notebook this kernel runs (``lessons.notebook.start`` calls it)."""
    global _notebook
    _notebook = notebook


def current_notebook() -> str | None:
    """The notebook given to the last ``use_notebook`` (None before any)."""
    return _notebook


def progress_key(learner: str | None = None) -> str:
    """``course:{learner}:progress``: the Redis hash of ``learner`` (a key segment as
    ``classroom.learner()`` returns it; this learner by default)."""
    return f"{classroom.COURSE_ROOT}{_checked_learner(learner)}:progress"


def _checked_learner(learner: str | None) -> str:
    name = classroom.learner() if learner is None else learner
    if not _LEARNER.fullmatch(name):
        raise ValueError(
            f"a learner is a key segment such as 'alice' or 'tarou-f2239790' "
            f"(lower-case letters, digits, - and _), not {name!r}"
        )
    return name


def _check_segment(what: str, value: str) -> None:
    if not _SEGMENT.fullmatch(value):
        raise ValueError(f"a progress {what} is letters, digits, '.', '-' and '_', not {value!r}")


def _file(learner: str | None = None) -> Path:
    """The local file: ``$COURSE_PROGRESS_FILE``, else per learner in the user's data dir."""
    given = os.environ.get("COURSE_PROGRESS_FILE", "").strip()
    if given:
        return Path(given).expanduser()
    import platformdirs

    return platformdirs.user_data_path("redis-session-course") / f"progress-{_checked_learner(learner)}.json"


def _mode() -> str:
    """``memory``, ``file`` (embedded backend) or ``redis``."""
    if os.environ.get("COURSE_PROGRESS_FILE", "").strip() == MEMORY:
        return "memory"
    return "file" if backend.is_embedded() else "redis"


def _client() -> backend.Client:
    url = backend.redis_url()
    if url not in _clients:
        _clients[url] = backend.connect(url)
    return _clients[url]


def _updated(old: Result | None, passed: bool, now: float) -> Result:
    if old is None:
        return Result(passed, 1, now)
    return Result(old.passed or passed, old.attempts + 1, now)


def _say_not_saved(reason: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        print(
            _(
                "(Progress not saved: {reason}. The verdict above still holds; this is said once.)",
                reason=reason,
            )
        )


def record(notebook: str, item: str, passed: bool, *, kind: str) -> bool:
    """Add one attempt at ``item`` of ``notebook`` for this learner; True once it is stored.

    ``kind`` is ``"exercise"`` or ``"quiz"`` (a wrong kind or id is the caller's bug:
    ValueError). Never raises for the store: when Redis does not answer or the file cannot be
    written, returns False and prints one line, once per kernel. Redis: one MULTI/EXEC round
    trip (HINCRBY, HSET, EXPIRE); the file: one read and one atomic rewrite.
    """
    if kind not in KINDS:
        raise ValueError(f"kind is one of {KINDS}, not {kind!r}")
    _check_segment("notebook", notebook)
    _check_segment("item", item)
    now = time.time()
    mode = _mode()
    if mode == "memory":
        _memory[(notebook, item)] = _updated(_memory.get((notebook, item)), bool(passed), now)
        return True
    if mode == "redis":
        try:
            key = progress_key()
            pipe = _client().pipeline(transaction=True)
            field = f"{notebook}:{item}"
            pipe.hincrby(key, f"{field}:tries", 1)
            pipe.hset(
                key, mapping={f"{field}:last": f"{now:.3f}", **({f"{field}:passed": "1"} if passed else {})}
            )
            pipe.expire(key, PROGRESS_TTL)
            pipe.execute()
            return True
        except (redis.RedisError, OSError, CourseError) as exc:
            _say_not_saved(_("Redis did not answer ({error})", error=type(exc).__name__))
            return False
    try:
        path = _file()
    except (ImportError, ValueError) as exc:  # no platformdirs, or an odd learner name
        _say_not_saved(_("no progress file ({error})", error=type(exc).__name__))
        return False
    try:
        found = load_file(path)
        found[(notebook, item)] = _updated(found.get((notebook, item)), bool(passed), now)
        _write_file(path, found)
        return True
    except OSError as exc:
        _say_not_saved(_("cannot write {path} ({error})", path=str(path), error=type(exc).__name__))
        return False


def _write_file(path: Path, found: Mapping[Item, Result]) -> None:
    """Write ``found`` to ``path`` atomically (a temporary file in the same folder, renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "format": 1,
        "results": {
            f"{nb}:{item}": {"passed": r.passed, "attempts": r.attempts, "last": round(r.last, 3)}
            for (nb, item), r in sorted(found.items())
        },
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".progress-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_file(path: str | os.PathLike[str]) -> dict[Item, Result]:
    """The results in a progress file (the embedded backend's); ``{}`` if it does not exist or
    is not a progress file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (ValueError, UnicodeDecodeError, IsADirectoryError):
        return {}
    found: dict[Item, Result] = {}
    entries = data.get("results", {}) if isinstance(data, dict) else {}
    for name, entry in entries.items() if isinstance(entries, dict) else ():
        notebook, sep, item = str(name).partition(":")
        try:
            if sep:
                found[(notebook, item)] = Result(
                    bool(entry["passed"]), int(entry["attempts"]), float(entry["last"])
                )
        except (KeyError, TypeError, ValueError):
            continue
    return found


def _from_hash(fields: Mapping[str, str]) -> dict[Item, Result]:
    """A progress hash's fields (``01:refresh:tries`` …) as results."""
    parts: dict[Item, dict[str, str]] = {}
    for name, value in fields.items():
        head, _sep, what = name.rpartition(":")
        notebook, sep, item = head.partition(":")
        if sep and what in _FIELDS:
            parts.setdefault((notebook, item), {})[what] = value
    found: dict[Item, Result] = {}
    for item_key, got in parts.items():
        try:
            found[item_key] = Result(
                got.get("passed") == "1", int(got.get("tries", "0")), float(got.get("last", "0"))
            )
        except ValueError:
            continue
    return found


def results(learner: str | None = None) -> dict[Item, Result]:
    """This learner's results (``learner``: another learner's key segment).

    ``:memory:``: this kernel's; embedded backend: the file (``$COURSE_PROGRESS_FILE``, else the
    learner's in the user's data directory); real Redis: one HGETALL. Raises ``redis.RedisError``
    when Redis does not answer."""
    mode = _mode()
    if mode == "memory":
        return dict(_memory)
    if mode == "file":
        return load_file(_file(learner))
    fields: dict[str, str] = _client().hgetall(progress_key(learner))  # type: ignore[assignment]
    return _from_hash(fields)


def class_results(
    client: Any | None = None, learners: Iterable[str] | None = None
) -> dict[str, dict[Item, Result]]:
    """Learners' results in the class database, by learner key segment.

    Reads only ``course:{learner}:progress`` hashes. Every learner: SCAN MATCH
    ``course:*:progress`` (one round trip per 1 000 keys of the database), then one pipeline of
    HGETALLs (one round trip); a learner with nothing recorded has no hash and is left out.
    ``learners`` (key segments): only theirs, one pipeline of HGETALLs and no SCAN; each of them
    is in the answer, ``{}`` for one with nothing recorded."""
    client = client if client is not None else backend.connect()
    root, tail = classroom.COURSE_ROOT, ":progress"
    if learners is not None:
        names = list(dict.fromkeys(_checked_learner(name) for name in learners))
    else:
        scanned = (
            key[len(root) : -len(tail)] for key in client.scan_iter(match=f"{root}*{tail}", count=1000)
        )
        names = sorted({name for name in scanned if _LEARNER.fullmatch(name)})
    if not names:
        return {}
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(progress_key(name))
    return {
        name: _from_hash(fields)
        for name, fields in zip(names, pipe.execute(), strict=True)
        if fields or learners is not None
    }


def read_roster(path: str | os.PathLike[str]) -> list[str]:
    """The learner names in a roster file: one a line, as each learner sets ``COURSE_LEARNER``
    (surrounding spaces stripped; blank lines and ``#`` comments skipped; a name given twice
    counts once). ValueError for a file that is not UTF-8 text."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(_("{path} is not UTF-8 text", path=str(path))) from exc
    names = (line.strip() for line in text.splitlines())
    return list(dict.fromkeys(name for name in names if name and not name.startswith("#")))


def write_results(
    client: Any, learner: str, found: Mapping[Item, Result], *, ttl: int = PROGRESS_TTL
) -> None:
    """Store ``found`` as ``learner``'s progress hash, replacing it (a simulated class, a
    restored backup). One MULTI/EXEC round trip: UNLINK, HSET, EXPIRE."""
    key = progress_key(learner)
    mapping: dict[str, str] = {}
    for (notebook, item), result in found.items():
        _check_segment("notebook", notebook)
        _check_segment("item", item)
        mapping[f"{notebook}:{item}:tries"] = str(result.attempts)
        mapping[f"{notebook}:{item}:last"] = f"{result.last:.3f}"
        if result.passed:
            mapping[f"{notebook}:{item}:passed"] = "1"
    pipe = client.pipeline(transaction=True)
    pipe.unlink(key)
    if mapping:
        pipe.hset(key, mapping=mapping)
        pipe.expire(key, ttl)
    pipe.execute()


# --- views -------------------------------------------------------------------------------------


def _mark(result: Result | None) -> str:
    """✓ passed, ✗n tried n times without passing, · not tried."""
    if result is None:
        return "·"
    return "✓" if result.passed else f"✗{result.attempts}"


def _failing(found: Mapping[Item, Result]) -> tuple[int, int]:
    """(items tried but not passed, attempts spent on them)."""
    stuck = [r for r in found.values() if not r.passed]
    return len(stuck), sum(r.attempts for r in stuck)


def learner_order(rows: Mapping[str, Mapping[Item, Result]]) -> list[str]:
    """The learners, stuck first: most items tried without passing, then most attempts spent on
    them, then fewest items passed, then by name; learners with nothing recorded (absent) last,
    by name (the table's and the heat map's order)."""
    return sorted(
        rows,
        key=lambda name: (
            not rows[name],
            -_failing(rows[name])[0],
            -_failing(rows[name])[1],
            sum(r.passed for r in rows[name].values()),
            name,
        ),
    )


def render_table(rows: Mapping[str, Mapping[Item, Result]], items: Iterable[tuple[str, str, str]]) -> str:
    """Learners × items, one column group per notebook: ✓, ✗ with attempts (✗3), · not tried.

    Stuck learners first (most items tried and not passed, then most attempts on them), then
    the others by fewest items passed, then the absent ones (nothing recorded: all ·, also listed
    as not started); then the items most learners have tried without passing.
    """
    items = list(items)
    if not rows:
        return _("No progress recorded yet.")
    order = learner_order(rows)
    marks = {name: [_mark(rows[name].get((nb, it))) for nb, it, _kind in items] for name in order}
    cell = max([2, *(width(m) for line in marks.values() for m in line)]) + 1
    first = max([width(_("learner")), *(width(name) for name in order)]) + 2

    def line(head: str, cells: list[str]) -> str:
        out, previous = [pad(head, first)], None
        for (nb, _it, _kind), text in zip(items, cells, strict=True):
            if previous is not None and nb != previous:
                out.append(" ")
            out.append(pad(text, cell))
            previous = nb
        return "".join(out).rstrip()

    header, previous = [], None
    for nb, _it, _kind in items:
        header.append(nb if nb != previous else "")
        previous = nb
    lines = [
        _(
            "Learners: {learners}, items: {items} (✓ passed, ✗n tried n times without passing, · not tried)",
            learners=len(rows),
            items=len(items),
        ),
        line(_("learner"), header),
    ]
    lines += [line(name, marks[name]) for name in order]
    absent = [name for name in order if not rows[name]]
    if absent:
        lines.append(_("Not started: {learners}", learners=", ".join(absent)))
    failing = []
    for nb, it, kind in items:
        tried = [rows[name][(nb, it)] for name in order if (nb, it) in rows[name]]
        stuck = sum(not r.passed for r in tried)
        if stuck:
            failing.append((-stuck, nb, it, kind, len(tried)))
    if failing:
        lines.append(_("Most failed (learners who tried without passing):"))
        for minus, nb, it, kind, tried_by in sorted(failing)[:5]:
            lines.append(
                _(
                    "  {notebook} {item} ({kind}): {stuck} of the {tried} who tried it",
                    notebook=nb,
                    item=it,
                    kind=_kind_name(kind),
                    stuck=-minus,
                    tried=tried_by,
                )
            )
    return "\n".join(lines)


def _kind_name(kind: str) -> str:
    return _("exercise") if kind == "exercise" else _("quiz")


def write_csv(
    path: str | os.PathLike[str],
    rows: Mapping[str, Mapping[Item, Result]],
    items: Iterable[tuple[str, str, str]],
    notes: Mapping[str, str] | None = None,
) -> None:
    """One row per learner, one column per item (``01 refresh``), the table's marks (✓, ✗3,
    empty for not tried), then passed / failing counts, and a last ``notes`` column when
    ``notes`` (learner → text) is given. UTF-8 with a byte order mark, so that spreadsheet
    programs read ✓ and names in any script correctly."""
    items = list(items)
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        extra = ["notes"] if notes is not None else []
        writer.writerow(["learner", *(f"{nb} {it}" for nb, it, _kind in items), "passed", "failing", *extra])
        for name in sorted(rows):
            found = rows[name]
            cells = [_mark(found.get((nb, it))) for nb, it, _kind in items]
            writer.writerow(
                [
                    name,
                    *(c if c != "·" else "" for c in cells),
                    sum(r.passed for r in found.values()),
                    _failing(found)[0],
                    *([notes.get(name, "")] if notes is not None else []),
                ]
            )


def learner_summary(found: Mapping[Item, Result], items: Iterable[tuple[str, str, str]] | None = None) -> str:
    """The learner's view: one line per notebook, its exercises and its quizzes as ✓ / ✗ / ·."""
    items = course_items() if items is None else list(items)
    notebooks = list(dict.fromkeys(nb for nb, _it, _kind in items))
    exercises_label, quizzes_label = _("exercises"), _("quizzes")

    def marks(nb: str, kind: str) -> str:
        return (
            " ".join(
                "·" if found.get((nb, it)) is None else "✓" if found[(nb, it)].passed else "✗"
                for n, it, k in items
                if n == nb and k == kind
            )
            or "-"
        )

    column = max(len(marks(nb, "exercise")) for nb in notebooks) + 2
    lines = [_("Your course so far: ✓ passed, ✗ not passed yet, · not tried")]
    for nb in notebooks:
        lines.append(
            f"  {nb}  {exercises_label} {pad(marks(nb, 'exercise'), column)}"
            f"{quizzes_label} {marks(nb, 'quiz')}".rstrip()
        )
    return "\n".join(lines)
