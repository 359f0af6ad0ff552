"""Quizzes: ipywidgets in JupyterLab, plain ``check()`` everywhere (nbval runs that one).

The questions are data: every ``quizzes*.json`` file beside this module holds a list of
``{"id", "question", "choices": {"A": …}, "answer", "explanation"}`` objects.

    ask("ttl-reset")        # radio buttons + a Check button + the explanation (JupyterLab)
    check("ttl-reset", "B") # prints the verdict and the explanation

Languages: ``question(id)`` answers in the current language (``lessons.i18n``): its question,
choices and explanation come from ``lessons/locale/{lang}/quizzes.po`` (msgctxt
``quiz:{id}:question``, ``quiz:{id}:choice:A``, ``quiz:{id}:explanation``), each falling back
to the JSON's English; the UI's own words ("Correct:", the button) go through ``_()``.
``questions()`` is always the English data (the answer key).

Every answer (``check``, the widget's Check button) is recorded in the learner's progress
(``lessons.progress``): passed or not, under the quiz's id. A choice that is not one of the
options is not an answer and is not recorded.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from . import progress
from .i18n import _, language, translate

__all__ = [
    "Question",
    "ask",
    "check",
    "question",
    "question_html",
    "question_text",
    "questions",
    "record",
    "show_answer",
    "verdict",
]

_HERE = Path(__file__).parent


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    choices: dict[str, str]
    answer: str
    explanation: str


@cache
def questions() -> dict[str, Question]:
    """Every question from ``lessons/quizzes*.json``, by id (ids must be unique)."""
    found: dict[str, Question] = {}
    for path in sorted(_HERE.glob("quizzes*.json")):
        for item in json.loads(path.read_text(encoding="utf-8")):
            q = Question(
                item["id"], item["question"], dict(item["choices"]), item["answer"], item["explanation"]
            )
            if q.id in found:
                raise ValueError(f"duplicate quiz id {q.id!r} in {path.name}")
            if q.answer not in q.choices:
                raise ValueError(f"quiz {q.id!r}: answer {q.answer!r} is not one of its choices")
            found[q.id] = q
    return found


def question(quiz_id: str) -> Question:
    """The quiz in the current language (English where a text has no translation)."""
    try:
        q = questions()[quiz_id]
    except KeyError:
        raise KeyError(f"no quiz called {quiz_id!r}; known: {', '.join(sorted(questions()))}") from None
    if language() == "en":
        return q

    def local(part: str, text: str) -> str:
        found = translate(text, f"quiz:{q.id}:{part}")
        return text if found is None else found

    return Question(
        q.id,
        local("question", q.question),
        {k: local(f"choice:{k}", v) for k, v in q.choices.items()},
        q.answer,
        local("explanation", q.explanation),
    )


def verdict(quiz_id: str, choice: str) -> str:
    """The text ``check`` prints: right or wrong, then the explanation."""
    q = question(quiz_id)
    key = str(choice).strip().upper()
    if key not in q.choices:
        return _(
            "{choice!r} is not one of the choices ({choices}). Try again.",
            choice=choice,
            choices=", ".join(q.choices),
        )
    if key == q.answer:
        head = _("Correct: {key}. {text}", key=key, text=q.choices[key])
    else:
        head = _(
            "Not quite: {key}. {text} is not it. The answer is {answer}. {answer_text}",
            key=key,
            text=q.choices[key],
            answer=q.answer,
            answer_text=q.choices[q.answer],
        )
    return f"{head}\n{q.explanation}"


def record(quiz_id: str, choice: str) -> None:
    """Record an answer in the learner's progress (nothing for a choice that is not an option)."""
    q = questions()[quiz_id]
    key = str(choice).strip().upper()
    notebook = progress.notebook_of(quiz_id) or progress.current_notebook()
    if key in q.choices and notebook:
        progress.record(notebook, quiz_id, key == q.answer, kind="quiz")


def check(quiz_id: str, choice: str) -> None:
    """Print whether ``choice`` is right, and why; record the answer in the learner's progress."""
    print(verdict(quiz_id, choice))
    record(quiz_id, choice)


def show_answer(quiz_id: str) -> None:
    """Print the right answer and why (what ``check`` prints for it), without recording anything:
    the course's own answer cells call it, so running them (or "Run All") earns no ✓."""
    print(verdict(quiz_id, question(quiz_id).answer))


def question_html(quiz_id: str) -> str:
    """The question and its options as HTML: what a quiz shows before its kernel runs."""
    q = question(quiz_id)
    items = "".join(f"<li><b>{html.escape(k)}.</b> {html.escape(v)}</li>" for k, v in q.choices.items())
    return (
        f"<p><b>{html.escape(q.question)}</b></p><ul style='list-style: none'>{items}</ul>"
        f"<p><i>{html.escape(_('Run this cell to answer with buttons.'))}</i></p>"
    )


def question_text(quiz_id: str) -> str:
    """The question and its options as plain text."""
    q = question(quiz_id)
    lines = [
        q.question,
        *(f"  {k}. {v}" for k, v in q.choices.items()),
        _("(Run this cell to answer with buttons.)"),
    ]
    return "\n".join(lines)


def _verdict_html(quiz_id: str, choice: str) -> str:
    head, _sep, explanation = verdict(quiz_id, choice).partition("\n")
    return (
        f"<div style='white-space: normal; word-break: normal; overflow-wrap: normal; "
        f"max-width: 60em'><p><b>{html.escape(head)}</b></p>"
        f"<p>{html.escape(explanation)}</p></div>"
    )


def ask(quiz_id: str) -> Any:
    """Show the question as radio buttons with a Check button (needs ipywidgets).

    Its display bundle also holds the question as HTML and as text, so a notebook opened
    without a running kernel shows the question readably, not a widget's repr.
    """
    import ipywidgets as widgets

    class Quiz(widgets.VBox):  # type: ignore[misc]  # ipywidgets ships no types
        def _repr_mimebundle_(self, **kwargs: Any) -> Any:
            bundle = super()._repr_mimebundle_(**kwargs)
            if isinstance(bundle, tuple):  # (data, metadata)
                data = dict(bundle[0])
                data.update({"text/html": question_html(quiz_id), "text/plain": question_text(quiz_id)})
                return data, bundle[1]
            data = dict(bundle or {})
            data.update({"text/html": question_html(quiz_id), "text/plain": question_text(quiz_id)})
            return data

    q = question(quiz_id)
    title = widgets.HTML(f"<b>{html.escape(q.question)}</b>")
    options = [(f"{k}. {v}", k) for k, v in q.choices.items()]
    picker = widgets.RadioButtons(options=options, value=None, layout={"width": "max-content"})
    button = widgets.Button(description=_("Check"), button_style="primary")
    feedback = widgets.HTML("", layout={"max_width": "60em"})

    def on_click(_button: Any) -> None:
        if picker.value is None:
            feedback.value = f"<p>{html.escape(_('Pick an answer first.'))}</p>"
        else:
            feedback.value = _verdict_html(quiz_id, picker.value)
            record(quiz_id, picker.value)

    button.on_click(on_click)
    return Quiz([title, picker, button, feedback])
