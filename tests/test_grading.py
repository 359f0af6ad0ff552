"""``python -m lessons.classroom grade DIR`` (lessons.grading): submitted notebooks run in fresh
kernels on the embedded backend, within a time limit each, and their checks' verdicts make the
table.

One folder of five learners is graded once for the module (about one time limit, the endless
notebook's): a finished notebook, a half-done one, one with a syntax error, an endless one, and a
file that is not a notebook. Each real notebook calls notebook 01's real checks.
"""

from __future__ import annotations

import csv
import os
import uuid
from pathlib import Path
from typing import cast

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from lessons import classroom, grading
from lessons.progress import Item, Result, course_items, render_table

TIME_LIMIT = 45.0  # seconds per notebook: the endless one is stopped there (a hang guard, not a timing test)
MARKER = "COURSE_GRADING_TEST"

START = 'from lessons.notebook import start\nr, NS = start("01")'
KEEP_TTL = (
    "from lessons.checks.store import check_update_keep_ttl\n"
    "check_update_keep_ttl(lambda r, key, value: r.set(key, value, keepttl=True))"
)
REFRESH_SOLVED = (
    "from lessons.checks.store import check_refresh\n"
    "check_refresh(lambda r, key, ttl: bool(r.expire(key, ttl)))"
)
REFRESH_STUB = (
    "from lessons.checks.store import check_refresh\n"
    "def my_refresh(r, key, ttl):\n    return None  # your code here\n"
    "check_refresh(my_refresh)"
)
QUIZ_OWN = 'from lessons.quiz import check\ncheck("ttl-reset", "B")'
QUIZ_ANSWER_CELL = 'from lessons.quiz import check\ncheck("sliding-read", "C")'  # the course's answer
ISOLATION = (
    "import os, socket\nfrom lessons import progress\n"
    "progress.record('01', 'no-redis-url', 'REDIS_URL' not in os.environ, kind='exercise')\n"
    "progress.record('01', 'loopback-only', [n for _, n in socket.if_nameindex()] == ['lo'], "
    "kind='exercise')"
)

# what the `graded` fixture gives: ({learner: verdicts}, each notebook's run, processes left running)
Grading = tuple[dict[str, dict[Item, Result]], list[grading.Graded], list[psutil.Process]]


def code(source: str, *tags: str) -> nbformat.NotebookNode:
    return cast(nbformat.NotebookNode, new_code_cell(source, metadata={"tags": list(tags)} if tags else {}))


def write(path: Path, *cells: nbformat.NotebookNode) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=[new_markdown_cell("# Notebook 01, submitted"), *cells]), path)


def marked_processes(value: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.environ().get(MARKER) == value:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


@pytest.fixture(scope="module")
def submitted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("submitted")
    write(
        root / "finished" / "01_session_store.ipynb",
        code(START),
        code(KEEP_TTL),
        code(REFRESH_SOLVED),
        code(QUIZ_OWN),
        code(ISOLATION),
    )
    write(
        root / "half-done" / "lesson1" / "01_session_store.ipynb",
        code(START),
        code(KEEP_TTL),
        code(REFRESH_STUB),
        code("check_refresh(lambda r, key, ttl: bool(r.expire(key, ttl)))", "solution"),
        code(QUIZ_ANSWER_CELL, "quiz-answer"),
    )
    write(
        root / "broken" / "01_session_store.ipynb",
        code(START),
        code("def my_update_keep_ttl(r, key, value:\n    pass"),
        code(KEEP_TTL),
    )
    write(
        root / "endless" / "01_session_store.ipynb",
        code(START),
        code(KEEP_TTL),
        code(
            "import subprocess, sys\n"  # a process in a session of its own: killed at the end too
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], "
            "start_new_session=True)"
        ),
        code("while True:\n    try:\n        pass\n    except KeyboardInterrupt:\n        pass"),
        code(REFRESH_SOLVED),
    )
    (root / "eve").mkdir()
    (root / "eve" / "01_session_store.ipynb").write_text("{this is not json", encoding="utf-8")
    (root / "eve" / "02_fastapi_sessions.ipynb").write_text('{"cells": 3}', encoding="utf-8")
    (root / "eve" / ".ipynb_checkpoints").mkdir()
    (root / "eve" / ".ipynb_checkpoints" / "01_session_store-checkpoint.ipynb").write_text("{}")
    return root


@pytest.fixture(scope="module")
def graded(submitted: Path) -> Grading:
    """(rows, runs, processes left by the kernels), graded once with REDIS_URL set in the
    grader's environment (the kernels must not see it)."""
    mark = uuid.uuid4().hex
    saved = {name: os.environ.get(name) for name in (MARKER, "REDIS_URL")}
    os.environ[MARKER] = mark
    os.environ["REDIS_URL"] = "redis://192.0.2.1:6379/0"  # unroutable: a kernel that used it would fail
    try:
        rows, runs = grading.grade(submitted, timeout=TIME_LIMIT, workers=2)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return rows, runs, marked_processes(mark)


def marks(found: dict[Item, Result]) -> dict[tuple[str, str], tuple[bool, int]]:
    return {item: (r.passed, r.attempts) for item, r in found.items()}


def test_each_learner_gets_the_verdicts_of_the_checks_their_notebook_ran(graded: Grading) -> None:
    rows, _runs, _left = graded
    assert sorted(rows) == ["broken", "endless", "eve", "finished", "half-done"]  # not .ipynb_checkpoints
    finished = marks(rows["finished"])
    assert {k: v for k, v in finished.items() if k[1] not in ("no-redis-url", "loopback-only")} == {
        ("01", "update_keep_ttl"): (True, 1),
        ("01", "refresh"): (True, 1),
        ("01", "ttl-reset"): (True, 1),
    }
    # the solution and quiz-answer cells did not run: refresh stays failed, sliding-read untried
    assert marks(rows["half-done"]) == {("01", "update_keep_ttl"): (True, 1), ("01", "refresh"): (False, 1)}
    # a syntax error in one cell does not stop the later checks
    assert marks(rows["broken"]) == {("01", "update_keep_ttl"): (True, 1)}
    # what the endless notebook recorded before its time limit counts; the cell after it never ran
    assert marks(rows["endless"]) == {("01", "update_keep_ttl"): (True, 1)}
    assert rows["eve"] == {}


def test_the_kernel_runs_without_redis_url_and_offline_where_possible(graded: Grading) -> None:
    rows, _runs, _left = graded
    assert rows["finished"][("01", "no-redis-url")].passed
    if grading._offline_prefix() is not None:
        assert rows["finished"][("01", "loopback-only")].passed
    else:
        pytest.skip("no network namespaces here (unshare): only REDIS_URL was checked")


def test_a_notebook_that_did_not_run_to_the_end_gets_one_line(graded: Grading, submitted: Path) -> None:
    _rows, runs, _left = graded
    problems = {
        (run.learner, run.path.relative_to(submitted / run.learner).as_posix()): run.problem for run in runs
    }
    syntax = problems.pop(("broken", "01_session_store.ipynb"))  # Python's wording varies by version
    assert syntax is not None
    assert syntax.startswith("cell 3 raised SyntaxError: ") and syntax.endswith("(line 1)"), syntax
    schema = problems.pop(("eve", "02_fastapi_sessions.ipynb"))  # JSON, not a notebook: nbformat says why
    assert schema is not None
    assert schema.startswith("not a notebook (") and schema.endswith(")"), schema
    assert problems == {
        ("endless", "01_session_store.ipynb"): f"stopped at the time limit ({TIME_LIMIT:.0f} s), in cell 5",
        ("eve", "01_session_store.ipynb"): "not a notebook (not JSON: cut short, or another kind of file)",
        ("finished", "01_session_store.ipynb"): None,
        ("half-done", "lesson1/01_session_store.ipynb"): None,
    }
    assert all("\n" not in (p or "") and "Traceback" not in (p or "") for p in problems.values())


def test_the_time_limit_holds_and_no_kernel_is_left_running(graded: Grading) -> None:
    _rows, runs, left = graded
    endless = next(run for run in runs if run.learner == "endless")
    assert endless.seconds >= TIME_LIMIT
    assert endless.seconds < TIME_LIMIT + 30  # killed, not waited for (a hang guard, generous)
    assert left == [], f"processes of the graded kernels still running: {[p.pid for p in left]}"


def test_main_prints_the_table_the_reasons_and_writes_the_csv(
    graded: Grading,
    submitted: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows, runs, _left = graded
    monkeypatch.setattr(grading, "grade", lambda root, **kw: (rows, runs))
    out_csv = tmp_path / "grades.csv"
    assert grading.main([str(submitted), "--csv", str(out_csv), "--timeout", "5", "--jobs", "1"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(render_table(rows, course_items()) + "\n")
    assert "  endless  01_session_store.ipynb: stopped at the time limit" in printed
    assert "Traceback" not in printed
    with out_csv.open(encoding="utf-8-sig", newline="") as f:
        table = list(csv.DictReader(f))
    by_learner = {row["learner"]: row for row in table}
    assert by_learner["half-done"]["01 refresh"] == "✗1"
    assert by_learner["finished"]["01 ttl-reset"] == "✓"
    assert by_learner["finished"]["notes"] == ""
    assert by_learner["broken"]["notes"].startswith("01_session_store.ipynb: cell 3 raised SyntaxError: ")


def test_a_roster_adds_the_learners_who_submitted_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = {
        "alice": {("01", "refresh"): Result(True, 1, 1.0)},
        "たろう": {("01", "refresh"): Result(False, 2, 1.0)},
    }
    monkeypatch.setattr(grading, "grade", lambda root, **kw: ({k: dict(v) for k, v in rows.items()}, []))
    roster = tmp_path / "roster.txt"
    roster.write_text("alice\n たろう\nbob\n", encoding="utf-8")
    out_csv = tmp_path / "grades.csv"
    assert grading.main([str(tmp_path), "--roster", str(roster), "--csv", str(out_csv)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("Learners: 3, items: 34 ")
    assert [line.split()[0] for line in printed[2:5]] == ["たろう", "alice", "bob"]
    assert printed[4].split()[1:] == ["·"] * 34 and printed[5] == "Not started: bob"
    with out_csv.open(encoding="utf-8-sig", newline="") as f:
        passed = {row["learner"]: row["passed"] for row in csv.DictReader(f)}
    assert passed == {"alice": "1", "bob": "0", "たろう": "0"}
    assert grading.main([str(tmp_path), "--roster", str(tmp_path / "missing.txt")]) == 2
    assert "cannot read the roster" in capsys.readouterr().err


def test_command_line_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert grading.main([str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert grading.main([str(tmp_path), "--jobs", "0"]) == 2
    with pytest.raises(SystemExit, match="0"):
        grading.main(["--help"])
    assert "DIR/<learner>/*.ipynb" in capsys.readouterr().out


def test_grade_is_reached_from_the_classroom_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "nobody").mkdir()
    assert classroom.main(["grade", str(tmp_path)]) == 0
    assert "nobody" in capsys.readouterr().out


def test_results_of_one_learner_over_two_notebooks_are_merged() -> None:
    early, late = Result(False, 2, 100.0), Result(True, 1, 200.0)
    runs = [
        grading.Graded("a", Path("x"), {("01", "refresh"): late, ("00", "cleanup_sql"): early}),
        grading.Graded("a", Path("y"), {("01", "refresh"): early}),
    ]
    assert grading._merge(runs) == {("01", "refresh"): late, ("00", "cleanup_sql"): early}
