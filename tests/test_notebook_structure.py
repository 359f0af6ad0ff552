"""What a learner gets from every notebook, read from the cells' tags (no kernel):

- something to do at least every 12 cells, from the first screen: a cell tagged ``exercise``
  ("Your turn"), ``predict`` (predict, then run) or ``quiz``;
- at least 4 predict-then-run prompts;
- after each exercise: its check, then help in order, each collapsed with a first line that
  says what it holds: ``hint-1``, ``hint-2``, ``solution``;
- the committed output of each check, run on the learner's stub, praises nothing (no ``✓``);
- quiz answers and their explanations collapsed;
- speaker notes (markdown cells tagged ``notes``, for the lecture decks) collapsed, headed
  ``**Speaker notes**``, and not counted as learner cells: the rules above read the notebook as a
  learner sees it, without them. (``no-deck`` only keeps a cell out of the decks: it still counts.)
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
TASKS = {"exercise", "predict", "quiz"}
HELP = ["hint-1", "hint-2", "solution"]
MAX_WITHOUT_TASK = 12
MIN_PREDICTIONS = 4


def tags(cell: nbformat.NotebookNode) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def collapsed(cell: nbformat.NotebookNode) -> bool:
    return bool(cell.get("metadata", {}).get("jupyter", {}).get("source_hidden"))


def text_output(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if "text" in output:
            parts.append(output["text"])
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "".join(parts)


NOTES_TAG = "notes"
NOTES_HEADING = "**Speaker notes**"


def read(path: Path) -> list[nbformat.NotebookNode]:
    """The cells a learner works through: speaker notes (``notes``) left out."""
    return [c for c in nbformat.read(path, as_version=4).cells if NOTES_TAG not in tags(c)]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_speaker_notes_are_collapsed_markdown_headed_speaker_notes(path: Path) -> None:
    for cell in nbformat.read(path, as_version=4).cells:
        if NOTES_TAG in tags(cell):
            assert cell.cell_type == "markdown", f"{path.name}: notes cell {cell.get('id')} is not markdown"
            assert collapsed(cell), f"{path.name}: notes cell {cell.get('id')} is open on screen"
            assert cell.source.lstrip().startswith(NOTES_HEADING), (
                f"{path.name}: notes cell {cell.get('id')} does not start with {NOTES_HEADING}"
            )


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_a_task_at_least_every_12_cells(path: Path) -> None:
    run, longest, where = 0, 0, 0
    for index, cell in enumerate(read(path)):
        if tags(cell) & TASKS:
            run = 0
            continue
        run += 1
        if run > longest:
            longest, where = run, index
    assert longest <= MAX_WITHOUT_TASK, (
        f"{path.name}: {longest} cells in a row without a task, ending at cell {where}"
    )


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_at_least_4_predict_then_run_prompts(path: Path) -> None:
    cells = read(path)
    prompts = [i for i, c in enumerate(cells) if "predict" in tags(c)]
    assert len(prompts) >= MIN_PREDICTIONS, f"{path.name}: {len(prompts)} predict-then-run prompts"
    for i in prompts:
        guess = cells[i]
        assert guess.cell_type == "code" and len(guess.source.strip().splitlines()) == 1, (
            f"{path.name} cell {guess.get('id')}: a guess is one line of code"
        )
        assert cells[i - 1].cell_type == "markdown", f"{path.name}: a question comes before {guess.get('id')}"
        shown = cells[i + 1] if i + 1 < len(cells) else None
        assert shown is not None and shown.cell_type == "code" and "reveal(" in shown.source, (
            f"{path.name}: the cell after guess {guess.get('id')} runs the experiment and reveals"
        )


def exercises(cells: list[nbformat.NotebookNode]) -> list[int]:
    return [i for i, c in enumerate(cells) if "exercise" in tags(c)]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_each_exercise_has_a_check_then_two_hints_then_a_solution_all_collapsed(path: Path) -> None:
    cells = read(path)
    found = exercises(cells)
    assert found, f"{path.name} has no exercise"
    for n, start in enumerate(found):
        end = found[n + 1] if n + 1 < len(found) else len(cells)
        after = cells[start + 1 : end]
        checks = [c for c in after if "check" in tags(c)]
        assert checks, f"{path.name}: exercise {cells[start].get('id')} has no cell tagged check"
        helps = [(t, c) for c in after for t in HELP if t in tags(c)]
        assert [t for t, _ in helps] == HELP, (
            f"{path.name}: after exercise {cells[start].get('id')} the help is {[t for t, _ in helps]}"
        )
        check_at = after.index(checks[0])
        assert after.index(helps[0][1]) > check_at, f"{path.name}: a hint comes before the check"
        for tag, cell in helps:
            assert collapsed(cell), f"{path.name}: {tag} cell {cell.get('id')} is not collapsed"
            first = cell.source.strip().splitlines()[0]
            label = {"hint-1": "Hint 1", "hint-2": "Hint 2", "solution": "Solution"}[tag]
            assert label in first, f"{path.name}: {tag} cell's first line should say {label!r}: {first!r}"
            assert "BEGIN SOLUTION" not in cell.source, f"{path.name}: scaffolding in {cell.get('id')}"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_a_check_never_praises_the_stub(path: Path) -> None:
    cells = read(path)
    for start in exercises(cells):
        check = next(c for c in cells[start + 1 :] if "check" in tags(c))
        out = text_output(check)
        assert out.strip(), f"{path.name}: check {check.get('id')} has no committed output"
        assert "✓" not in out, f"{path.name}: check {check.get('id')} praises the stub:\n{out}"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_quiz_answers_and_explanations_are_collapsed(path: Path) -> None:
    for cell in read(path):
        if tags(cell) & {"quiz-answer", "quiz-explanation"}:
            assert collapsed(cell), f"{path.name}: quiz answer {cell.get('id')} is open on screen"
