"""Quizzes: ipywidgets in JupyterLab, plain ``check()`` everywhere (nbval runs that one).

The questions are data: every ``quizzes*.json`` file beside this module holds a list of
``{"id", "question", "choices": {"A": …}, "answer", "explanation"}`` objects.

    ask("ttl-reset")        # radio buttons + a Check button + the explanation (JupyterLab)
    check("ttl-reset", "B") # prints the verdict and the explanation
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["Question", "questions", "question", "verdict", "check", "ask"]

_HERE = Path(__file__).parent


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    choices: dict[str, str]
    answer: str
    explanation: str


@lru_cache(maxsize=None)
def questions() -> dict[str, Question]:
    """Every question from ``lessons/quizzes*.json``, by id (ids must be unique)."""
    found: dict[str, Question] = {}
    for path in sorted(_HERE.glob("quizzes*.json")):
        for item in json.loads(path.read_text(encoding="utf-8")):
            q = Question(item["id"], item["question"], dict(item["choices"]),
                         item["answer"], item["explanation"])
            if q.id in found:
                raise ValueError(f"duplicate quiz id {q.id!r} in {path.name}")
            if q.answer not in q.choices:
                raise ValueError(f"quiz {q.id!r}: answer {q.answer!r} is not one of its choices")
            found[q.id] = q
    return found


def question(quiz_id: str) -> Question:
    try:
        return questions()[quiz_id]
    except KeyError:
        raise KeyError(f"no quiz called {quiz_id!r}; known: {', '.join(sorted(questions()))}") from None


def verdict(quiz_id: str, choice: str) -> str:
    """The text ``check`` prints: right or wrong, then the explanation."""
    q = question(quiz_id)
    key = str(choice).strip().upper()
    if key not in q.choices:
        return f"{choice!r} is not one of the choices ({', '.join(q.choices)}). Try again."
    if key == q.answer:
        head = f"Correct: {key}. {q.choices[key]}"
    else:
        head = f"Not quite: {key}. {q.choices[key]} is not it. The answer is {q.answer}. {q.choices[q.answer]}"
    return f"{head}\n{q.explanation}"


def check(quiz_id: str, choice: str) -> None:
    """Print whether ``choice`` is right, and why."""
    print(verdict(quiz_id, choice))


def ask(quiz_id: str):
    """Show the question as radio buttons with a Check button (needs ipywidgets)."""
    import ipywidgets as widgets

    q = question(quiz_id)
    title = widgets.HTML(f"<b>{html.escape(q.question)}</b>")
    options = [(f"{k}. {v}", k) for k, v in q.choices.items()]
    picker = widgets.RadioButtons(options=options, value=None, layout={"width": "max-content"})
    button = widgets.Button(description="Check", button_style="primary")
    out = widgets.Output()

    def on_click(_):
        out.outputs = ()
        if picker.value is None:
            out.append_stdout("Pick an answer first.\n")
        else:
            out.append_stdout(verdict(quiz_id, picker.value) + "\n")

    button.on_click(on_click)
    return widgets.VBox([title, picker, button, out])
