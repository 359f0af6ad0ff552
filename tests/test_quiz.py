"""lessons.quiz: the engine, and every answer key of the TTL quiz proven on Redis."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lessons import quiz
from lessons.backend import Client


def test_every_question_is_well_formed() -> None:
    qs = quiz.questions()
    assert "ttl-reset" in qs
    for q in qs.values():
        assert q.answer in q.choices and q.explanation and q.question


def test_check_prints_the_verdict_and_explanation(capsys: pytest.CaptureFixture[str]) -> None:
    quiz.check("ttl-reset", "b")
    out = capsys.readouterr().out
    assert out.startswith("Correct: B. EXPIRE") and "PERSIST removes the TTL" in out
    quiz.check("ttl-reset", "A")
    assert capsys.readouterr().out.startswith("Not quite: A. SETEX is not it. The answer is B.")
    quiz.check("ttl-reset", "Z")
    assert "is not one of the choices" in capsys.readouterr().out


def test_unknown_quiz_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="no quiz called"):
        quiz.check("nope", "A")


def test_ask_builds_a_widget_whose_button_checks_the_choice() -> None:
    box = quiz.ask("ttl-reset")
    _title, picker, button, feedback = box.children
    assert picker.value is None
    button.click()
    assert "Pick an answer first" in feedback.value
    picker.value = "B"
    button.click()
    assert "Correct: B. EXPIRE" in feedback.value and "<pre" not in feedback.value
    picker.value = "D"
    button.click()
    assert "Not quite: D." in feedback.value


def test_a_quiz_reads_as_text_before_its_kernel_runs() -> None:
    """The display bundle carries the question as HTML and plain text beside the widget view,
    so a notebook opened without a kernel shows the question, never a raw VBox(...) repr."""
    data = quiz.ask("ttl-reset")._repr_mimebundle_()
    data = data[0] if isinstance(data, tuple) else data
    assert "application/vnd.jupyter.widget-view+json" in data
    for mime in ("text/html", "text/plain"):
        assert "Which Redis command" in data[mime] and "PERSIST" in data[mime]
        assert "VBox(" not in data[mime] and "Correct" not in data[mime]


def test_correct_letters_vary_within_each_notebook() -> None:
    by_file: dict[str, set[str]] = {}
    for path in sorted(quiz._HERE.glob("quizzes*.json")):
        answers = {item["answer"] for item in json.loads(path.read_text(encoding="utf-8"))}
        by_file[path.name] = answers
    for name, answers in by_file.items():
        count = len(json.loads((quiz._HERE / name).read_text(encoding="utf-8")))
        assert count == 1 or len(answers) > 1, f"every answer in {name} is {answers}"


# -- the answer key, proven on Redis -------------------------------------------------------------
# The commands are sent as Redis commands (``execute_command("SETEX", …)``), so what is proven is
# what Redis does: no client method's deprecation warning, present in one redis-py release and
# gone in the next, can change a result here.
LEFT_MS = 600_000  # the session has 10 min left (long enough for any load: no timing window)
NEW_TTL = 3600


def command(client: Client, *args: str | int) -> Any:
    """``client.execute_command(*args)``: one round trip, the reply as Redis gives it."""
    return client.execute_command(*args)  # type: ignore[no-untyped-call]  # unannotated in redis-py


@pytest.fixture
def key(client: Client, prefix: str) -> str:
    k = f"{prefix}:quiz"
    client.set(k, "data", ex=NEW_TTL)
    client.pexpire(k, LEFT_MS)
    return k


def test_B_expire_resets_the_ttl_and_keeps_the_value(client: Client, key: str) -> None:
    assert command(client, "EXPIRE", key, NEW_TTL) == 1
    assert LEFT_MS < client.pttl(key) <= NEW_TTL * 1000  # longer than was left: reset
    assert client.get(key) == "data"


def test_A_setex_resets_the_ttl_but_rewrites_the_value(client: Client, key: str) -> None:
    assert command(client, "SETEX", key, NEW_TTL, "new") in (True, "OK")
    assert LEFT_MS < client.pttl(key) <= NEW_TTL * 1000
    assert client.get(key) == "new"  # the value was replaced, not kept


def test_A_setex_brings_back_a_deleted_session(client: Client, key: str) -> None:
    assert client.delete(key) == 1  # the user logged out
    assert command(client, "SETEX", key, NEW_TTL, "data") in (True, "OK")
    # why SETEX is the wrong tool for a plain refresh: the session is alive again ...
    assert client.get(key) == "data" and client.pttl(key) > LEFT_MS
    # ... where EXPIRE, the right tool, leaves a deleted session deleted
    assert client.delete(key) == 1
    assert command(client, "EXPIRE", key, NEW_TTL) == 0 and client.exists(key) == 0


def test_C_ttl_only_reads(client: Client, key: str) -> None:
    first = client.pttl(key)
    assert 0 < first <= LEFT_MS
    assert command(client, "TTL", key) <= LEFT_MS // 1000
    assert client.pttl(key) <= first and client.get(key) == "data"  # nothing reset, nothing written


def test_D_persist_removes_the_ttl(client: Client, key: str) -> None:
    assert command(client, "PERSIST", key) == 1
    assert client.ttl(key) == -1 and client.get(key) == "data"  # would live forever
    client.delete(key)  # leave no immortal key behind
