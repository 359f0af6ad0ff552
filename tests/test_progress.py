"""lessons.progress: every check and quiz answer recorded for its learner, on a real Redis (a hash
per learner), on the embedded backend (a local file) and in a kernel's memory; the learner's
table, the instructor's table and CSV, and ``python -m lessons.classroom progress``."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from lessons import backend, classroom, progress, quiz
from lessons.backend import Client
from lessons.checks.security import check_host_cookie
from lessons.checks.store import check_refresh
from lessons.notebook import finish
from lessons.progress import Item, Result

ROOT = Path(__file__).resolve().parent.parent
GOOD_COOKIE = "__Host-session_id=abc; Path=/; Max-Age=60; Secure; HttpOnly; SameSite=Lax"


@pytest.fixture
def memory(monkeypatch: pytest.MonkeyPatch) -> dict[Item, Result]:
    """Progress in this process's memory, empty at the start of the test."""
    monkeypatch.setenv("COURSE_PROGRESS_FILE", progress.MEMORY)
    store: dict[Item, Result] = {}
    monkeypatch.setattr(progress, "_memory", store)
    monkeypatch.setattr(progress, "_warned", False)
    return store


@pytest.fixture
def on_redis(redis_url: str, monkeypatch: pytest.MonkeyPatch, learner: str) -> Iterator[Client]:
    """Progress on the backend under test as on a class Redis (REDIS_URL set): the learner's
    hash; deleted, with the rest of the test learner's keys, at teardown."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.delenv("COURSE_PROGRESS_FILE", raising=False)
    monkeypatch.setattr(progress, "_warned", False)
    client = backend.connect(redis_url)
    yield client
    backend.delete_prefix(client, f"course:{classroom.learner_key(learner)}:")
    client.close()


def _notebook_items(path: Path) -> list[tuple[str, str]]:
    """(item, kind) of every check and quiz cell of a notebook, in cell order."""
    found = []
    for cell in nbformat.read(path, as_version=4).cells:
        tags = cell.metadata.get("tags", [])
        if "check" in tags:
            found += [(name, "exercise") for name in re.findall(r"\bcheck_(\w+)\(", cell.source)]
        if "quiz" in tags:
            found += [(name, "quiz") for name in re.findall(r"\bask\(\"([^\"]+)\"\)", cell.source)]
    return found


def test_the_course_table_lists_every_check_and_quiz_of_the_notebooks_in_order() -> None:
    notebooks = sorted((ROOT / "notebooks").glob("0*.ipynb"))
    assert [p.name[:2] for p in notebooks] == list(progress.COURSE)
    for path in notebooks:
        assert list(progress.COURSE[path.name[:2]]) == _notebook_items(path), path.name
    quizzes = {
        q["id"]
        for nb in progress.COURSE
        for q in json.loads((ROOT / f"lessons/quizzes_{nb}.json").read_text(encoding="utf-8"))
    }
    listed = [(item, kind) for _nb, item, kind in progress.course_items()]
    assert {item for item, kind in listed if kind == "quiz"} == quizzes == set(quiz.questions())
    assert len(listed) == len(set(listed)) == 34
    assert progress.notebook_of("refresh") == "01" and progress.notebook_of("nope") is None


def test_a_check_and_a_quiz_record_on_redis_one_hash_with_a_ttl(
    on_redis: Client, learner: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = time.time()
    check_refresh(lambda r, key, ttl: None)  # a stub: ✗
    check_refresh(lambda r, key, ttl: bool(r.expire(key, ttl)))
    quiz.check("ttl-reset", "A")
    quiz.check("ttl-reset", "b")
    quiz.check("ttl-reset", "Z")  # not a choice: not an answer
    after = time.time()
    out = capsys.readouterr().out
    assert "All checks passed." in out and "Progress not saved" not in out
    found = progress.results()
    assert set(found) == {("01", "refresh"), ("01", "ttl-reset")}
    for result in found.values():
        # stored to the millisecond: rounding may move it by half of one
        assert result.passed and result.attempts == 2 and before - 1e-3 <= result.last <= after + 1e-3
    key = f"course:{classroom.learner_key(learner)}:progress"
    assert progress.progress_key() == key
    assert set(on_redis.hkeys(key)) == {
        f"01:{item}:{field}" for item in ("refresh", "ttl-reset") for field in ("tries", "last", "passed")
    }
    assert progress.PROGRESS_TTL - 60 < on_redis.ttl(key) <= progress.PROGRESS_TTL
    assert progress.class_results(on_redis)[classroom.learner_key(learner)] == found


def test_ever_passed_stays_passed_and_a_failure_counts_its_attempts(on_redis: Client) -> None:
    for ok in (False, False, True, False):
        assert progress.record("04", "touch", ok, kind="exercise")
    assert progress.record("04", "sec-signing", False, kind="quiz")
    found = progress.results()
    assert found[("04", "touch")].passed and found[("04", "touch")].attempts == 4
    assert found[("04", "sec-signing")] == Result(False, 1, found[("04", "sec-signing")].last)


def test_the_embedded_backend_keeps_progress_in_the_file_across_kernels(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    path = tmp_path / "deep" / "progress.json"
    monkeypatch.setenv("COURSE_PROGRESS_FILE", str(path))
    check_host_cookie("session_id=abc; Path=/")
    check_host_cookie(GOOD_COOKIE)
    quiz.check("sec-signing", "A")
    assert "Progress not saved" not in capsys.readouterr().out
    found = progress.load_file(path)
    assert progress.results() == found
    assert found[("04", "host_cookie")].passed and found[("04", "host_cookie")].attempts == 2
    assert not found[("04", "sec-signing")].passed
    assert [p.name for p in path.parent.iterdir()] == ["progress.json"]  # no temporary file left


def test_load_file_reads_nothing_from_a_missing_or_foreign_file(tmp_path: Path) -> None:
    assert progress.load_file(tmp_path / "missing.json") == {}
    (tmp_path / "x.json").write_text("not json", encoding="utf-8")
    assert progress.load_file(tmp_path / "x.json") == {}
    (tmp_path / "y.json").write_text(
        '{"results": {"01:refresh": {"passed": 1}, "bad": {}}}', encoding="utf-8"
    )
    assert progress.load_file(tmp_path / "y.json") == {}


def test_redis_down_the_check_still_prints_its_verdict_and_one_line_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens on port 1
    monkeypatch.delenv("COURSE_PROGRESS_FILE", raising=False)
    monkeypatch.setattr(progress, "_warned", False)
    assert check_host_cookie(GOOD_COOKIE) is True
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2] == "All checks passed."
    assert lines[-1] == (
        "(Progress not saved: Redis did not answer (ConnectionError). The verdict "
        "above still holds; this is said once.)"
    )
    assert check_host_cookie("session_id=abc; Path=/") is False
    quiz.check("sec-signing", "C")
    out = capsys.readouterr().out
    assert "Not yet:" in out and "Correct: C." in out and "Progress not saved" not in out
    assert progress.record("04", "touch", True, kind="exercise") is False


def test_an_unwritable_file_is_said_once_and_the_check_goes_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    monkeypatch.setenv("COURSE_PROGRESS_FILE", str(tmp_path / "a-file" / "progress.json"))
    monkeypatch.setattr(progress, "_warned", False)
    assert check_host_cookie(GOOD_COOKIE) is True
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == "All checks passed." and out[-1].startswith("(Progress not saved: cannot write ")


def test_memory_mode_writes_nowhere(memory: dict[Item, Result], client: Client, learner: str) -> None:
    assert progress.record("01", "refresh", True, kind="exercise")
    assert set(progress.results()) == {("01", "refresh")} == set(memory)
    assert client.exists(f"course:{classroom.learner_key(learner)}:progress") == 0


def test_wrong_ids_are_the_callers_bug() -> None:
    with pytest.raises(ValueError, match="kind is one of"):
        progress.record("01", "refresh", True, kind="homework")
    with pytest.raises(ValueError, match="progress item"):
        progress.record("01", "re fresh", True, kind="exercise")
    with pytest.raises(ValueError, match="a learner is a key segment"):
        progress.progress_key("*")


def test_the_last_cell_shows_the_learners_course(
    memory: dict[Item, Result], client: Client, learner: str, capsys: pytest.CaptureFixture[str]
) -> None:
    progress.record("01", "refresh", False, kind="exercise")
    progress.record("01", "ttl-reset", True, kind="quiz")
    progress.record("04", "touch", True, kind="exercise")
    finish(client, "01")
    assert capsys.readouterr().out.splitlines()[1:] == [
        "Your course so far: ✓ passed, ✗ not passed yet, · not tried",
        "  00  exercises ·        quizzes · · ·",
        "  01  exercises · ✗      quizzes ✓ ·",
        "  02  exercises ·        quizzes · · · ·",
        "  03  exercises · ·      quizzes · · · ·",
        "  04  exercises · · ✓ ·  quizzes · · ·",
        "  05  exercises ·        quizzes · ·",
        "  06  exercises ·        quizzes · · · ·",
    ]


def _learners(tag: str) -> dict[str, str]:
    return {role: f"test-{tag}-{role}" for role in ("done", "stuck", "absent")}


def test_three_learners_on_one_redis_done_stuck_absent(
    real_redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Each learner runs real checks and quizzes as their own kernel would (COURSE_LEARNER);
    the instructor's table, given the roster, shows the stuck one first, the done one all ✓, the
    absent one last, all ·, listed as not started, and the item the stuck one fails."""
    monkeypatch.setenv("REDIS_URL", real_redis_url)
    monkeypatch.delenv("COURSE_PROGRESS_FILE", raising=False)
    client = backend.connect(real_redis_url)
    names = _learners(uuid.uuid4().hex[:8])
    roster = tmp_path / "roster.txt"
    roster.write_text(
        "# the class\n" + "\n".join(f"  {name}" for name in names.values()) + "\n\n", encoding="utf-8"
    )
    try:
        monkeypatch.setenv("COURSE_LEARNER", names["done"])
        for nb, item, kind in progress.course_items():
            assert progress.record(nb, item, True, kind=kind)
        monkeypatch.setenv("COURSE_LEARNER", names["stuck"])
        quiz.check("ttl-reset", "B")
        for _attempt in range(3):
            check_refresh(lambda r, key, ttl: None)
        capsys.readouterr()
        assert {k for k in progress.class_results(client) if k in names.values()} == {
            names["done"],
            names["stuck"],
        }  # the absent one has no hash
        rows = progress.class_results(client, progress.read_roster(roster))
        assert set(rows) == set(names.values()) and rows[names["absent"]] == {}
        assert all(r.passed and r.attempts == 1 for r in rows[names["done"]].values())
        assert len(rows[names["done"]]) == 34
        stuck = rows[names["stuck"]]
        assert {k: (r.passed, r.attempts) for k, r in stuck.items()} == {
            ("01", "ttl-reset"): (True, 1),
            ("01", "refresh"): (False, 3),
        }
        table = progress.render_table(rows, progress.course_items()).splitlines()
        assert table[0].startswith("Learners: 3, items: 34 ")
        assert [line.split()[0] for line in table[2:5]] == [names["stuck"], names["done"], names["absent"]]
        assert table[2].split()[1:] == ["·"] * 4 + ["✓", "·", "✗3"] + ["·"] * 27
        assert table[3].split()[1:] == ["✓"] * 34
        assert table[4].split()[1:] == ["·"] * 34
        assert table[5:] == [
            f"Not started: {names['absent']}",
            "Most failed (learners who tried without passing):",
            "  01 refresh (exercise): 1 of the 2 who tried it",
        ]
        sheet_file = tmp_path / "class.csv"
        assert classroom.main(["progress", "--roster", str(roster), "--csv", str(sheet_file)]) == 0
        out = capsys.readouterr().out
        assert out.startswith("Backend: Redis ")
        assert f"Not started: {names['absent']}\n" in out
        assert [line.split()[1:] for line in out.splitlines() if line.startswith(names["absent"])] == [
            ["·"] * 34
        ]
        with open(sheet_file, encoding="utf-8-sig", newline="") as f:
            sheet = {row["learner"]: row for row in csv.DictReader(f)}
        assert sheet[names["stuck"]]["01 refresh"] == "✗3" and sheet[names["stuck"]]["00 cleanup_sql"] == ""
        assert sheet[names["done"]]["passed"] == "34" and sheet[names["stuck"]]["failing"] == "1"
        assert sheet[names["absent"]]["passed"] == "0" and sheet[names["absent"]]["01 refresh"] == ""
        assert not client.exists(progress.progress_key(names["absent"]))  # reading wrote nothing
    finally:
        for name in names.values():
            backend.delete_prefix(client, f"course:{name}:")
        client.close()


def test_a_roster_is_names_as_learners_give_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    roster = tmp_path / "roster.txt"
    roster.write_text("\ufeffalice\n# a comment\n\n たろう \nalice\n", encoding="utf-8")
    assert progress.read_roster(roster) == ["alice", "たろう"]
    (tmp_path / "latin1.txt").write_bytes(b"ren\xe9\n")
    with pytest.raises(ValueError, match="not UTF-8 text"):
        progress.read_roster(tmp_path / "latin1.txt")
    assert classroom.main(["progress", "--roster", str(tmp_path / "missing.txt")]) == 1
    assert "cannot use " in capsys.readouterr().err


def test_class_results_for_named_learners_reads_only_theirs(client: Client, learner: str) -> None:
    other = f"test-{uuid.uuid4().hex[:10]}"
    try:
        progress.write_results(client, learner, {("01", "refresh"): Result(True, 2, 1.5)})
        progress.write_results(client, other, {("01", "refresh"): Result(False, 1, 1.5)})
        assert progress.class_results(client, [learner, "nobody-here", learner]) == {
            learner: {("01", "refresh"): Result(True, 2, 1.5)},
            "nobody-here": {},
        }
        assert progress.class_results(client, []) == {}
        with pytest.raises(ValueError, match="a learner is a key segment"):
            progress.class_results(client, ["course:*"])
    finally:
        client.delete(progress.progress_key(learner), progress.progress_key(other))


def test_class_results_reads_only_progress_hashes_of_plain_learner_segments(
    client: Client, learner: str
) -> None:
    key = f"course:{learner}:progress"
    decoy = f"course:{learner}:01:x:progress"  # a notebook's key that happens to end so
    try:
        progress.write_results(client, learner, {("01", "refresh"): Result(True, 2, 1.5)})
        client.hset(decoy, mapping={"01:refresh:tries": "9"})
        client.expire(decoy, 60)
        found = progress.class_results(client)
        assert found[learner] == {("01", "refresh"): Result(True, 2, 1.5)}
        assert not any(name.startswith(f"{learner}:") for name in found)
        assert 0 < client.ttl(key) <= progress.PROGRESS_TTL
    finally:
        client.delete(key, decoy)


def test_clean_and_a_learners_reset_remove_progress(
    client: Client, monkeypatch: pytest.MonkeyPatch, learner: str
) -> None:
    """``reset()`` without parts (all of this learner's keys) and the instructor's clean both
    delete the progress hash; clean runs on this process's embedded server only."""
    segment = classroom.learner_key(learner)
    progress.write_results(client, segment, {("01", "refresh"): Result(False, 1, 2.0)})
    assert classroom.reset(client=client) == 1
    assert client.exists(progress.progress_key(segment)) == 0
    embedded = backend.connect(backend.embedded_url())
    progress.write_results(embedded, segment, {("01", "refresh"): Result(False, 1, 2.0)})
    assert classroom.clean_class(embedded) >= 1
    assert embedded.exists(progress.progress_key(segment)) == 0


def test_render_table_sorts_stuck_first_and_pads_wide_names() -> None:
    items = [("01", "a", "exercise"), ("01", "b", "quiz"), ("02", "c", "exercise")]
    rows = {
        "たろう": {("01", "a"): Result(False, 12, 0.0)},
        "alice": {
            ("01", "a"): Result(True, 1, 0.0),
            ("01", "b"): Result(True, 1, 0.0),
            ("02", "c"): Result(True, 3, 0.0),
        },
        "bob": {},
    }
    assert progress.render_table(rows, items).splitlines() == [
        "Learners: 3, items: 3 (✓ passed, ✗n tried n times without passing, · not tried)",
        "learner  01       02",
        "たろう   ✗12 ·    ·",
        "alice    ✓   ✓    ✓",
        "bob      ·   ·    ·",
        "Not started: bob",
        "Most failed (learners who tried without passing):",
        "  01 a (exercise): 1 of the 2 who tried it",
    ]
    assert progress.render_table({}, items) == "No progress recorded yet."


def test_progress_command_help_and_wrong_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert classroom.main(["progress", "--help"]) == 0
    assert "--watch [SECONDS]" in capsys.readouterr().out
    assert classroom.main(["progress", "--watch", "0"]) == 2
    assert classroom.main(["nonsense"]) == 2
    err = capsys.readouterr().err
    assert "--watch needs a number of seconds above 0" in err and "invalid choice: 'nonsense'" in err


def test_the_quiz_widgets_check_button_records_the_answer(memory: dict[Item, Result]) -> None:
    widget = quiz.ask("sliding-read")
    picker, button = widget.children[1], widget.children[2]
    button.click()  # nothing picked yet: not an answer
    assert memory == {}
    picker.value = "A"
    button.click()
    picker.value = "C"
    button.click()
    result = memory[("01", "sliding-read")]
    assert result.passed and result.attempts == 2


def test_watch_refreshes_until_ctrl_c_and_grade_goes_to_the_grader(
    memory: dict[Item, Result], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    progress.record("05", "login_throttle", False, kind="exercise")

    def interrupt(seconds: float) -> None:
        assert seconds == 2.5
        raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", interrupt)
    assert classroom.main(["progress", "--watch", "2.5"]) == 130
    out = capsys.readouterr().out
    assert out.startswith("\x1b[H\x1b[2JREDIS_URL is not set: this machine's learner only (every 2.5 s, ")
    assert "Ctrl-C stops)" in out and "05 login_throttle (exercise): 1 of the 1 who tried it" in out
    import lessons.grading

    seen: list[list[str]] = []

    def fake_main(argv: list[str]) -> int:
        seen.append(list(argv))
        return 7

    monkeypatch.setattr(lessons.grading, "main", fake_main)
    assert classroom.main(["grade", "submitted", "--jobs", "2"]) == 7
    assert seen == [["submitted", "--jobs", "2"]]


def test_ctrl_c_ends_watch_quietly(client: Client, redis_url: str, learner: str) -> None:
    """A real ``--watch`` process, interrupted once its first table is out: exit 130, the table
    on stdout, nothing on stderr (no traceback, no client finalised half-way)."""
    progress.write_results(client, learner, {("01", "refresh"): Result(False, 2, 1.0)}, ttl=60)
    env = {**os.environ, "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1"}
    watch = subprocess.Popen(
        [sys.executable, "-m", "lessons.classroom", "progress", "--watch", "60"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        # Ctrl-C's default even when pytest runs in a background job (SIGINT ignored)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert watch.stdout is not None and watch.stderr is not None
        seen: list[str] = []
        while not any(line.startswith(learner) for line in seen):
            line = watch.stdout.readline()
            assert line, f"--watch ended before its first table: {watch.stderr.read()}"
            seen.append(line)
        watch.send_signal(signal.SIGINT)
        rest, err = watch.communicate()
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()
        client.delete(progress.progress_key(learner))
    assert watch.returncode == 130
    assert err == ""
    assert "Ctrl-C stops)" in "".join(seen) and "Traceback" not in rest


def test_tests_and_their_notebook_kernels_keep_progress_in_memory() -> None:
    """The repository's conftest.py sets it for every pytest run (nbval's kernels inherit it), and
    tools/execute-notebooks for the committed outputs: each last cell shows that run only."""
    assert os.environ["COURSE_PROGRESS_FILE"] == progress.MEMORY
    assert "COURSE_PROGRESS_FILE=:memory:" in (ROOT / "tools" / "execute-notebooks").read_text()


def _in_a_cell(source: str, namespace: dict[str, object]) -> None:
    """Run ``source`` as a notebook cell runs: module-level code (a ``<module>`` frame)."""
    exec(compile(source, "<cell>", "exec"), namespace)


def test_the_course_solution_and_answer_cells_earn_no_tick(
    memory: dict[Item, Result], capsys: pytest.CaptureFixture[str]
) -> None:
    """Run All runs the collapsed Solution cells (which name what they check ``…_solution``) and
    the quiz-answer cells (``show_answer``): both print their verdict, neither records anything;
    the learner's own cell, with the same code under another name, does."""
    cell_namespace: dict[str, object] = {"check_host_cookie": check_host_cookie, "quiz": quiz}
    _in_a_cell(f"my_header_solution = {GOOD_COOKIE!r}\ncheck_host_cookie(my_header_solution)", cell_namespace)
    _in_a_cell('quiz.show_answer("sec-signing")', cell_namespace)
    shown = capsys.readouterr().out
    assert "All checks passed." in shown and shown.count("✓") == 4
    assert quiz.verdict("sec-signing", quiz.question("sec-signing").answer) in shown
    assert memory == {}
    _in_a_cell(f"my_header = {GOOD_COOKIE!r}\ncheck_host_cookie(my_header)", cell_namespace)
    assert memory[("04", "host_cookie")].passed and memory[("04", "host_cookie")].attempts == 1
