"""The learner edition and the committed notebooks' "Your turn" layout: solutions collapsed,
left out of the edition, the learner's own function never overwritten by the solution."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from coursetools.learner_edition import is_solution_cell, learner_notebook, write_learner_edition

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_unbalanced_markers_are_an_error() -> None:
    cell = nbformat.v4.new_code_cell("# BEGIN SOLUTION\nx = 1\n")
    with pytest.raises(ValueError, match="unbalanced"):
        is_solution_cell(cell)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_solution_cells_are_collapsed_and_define_their_own_names(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    solutions = [c for c in nb.cells if is_solution_cell(c)]
    assert solutions, f"{path.name} has no 'Your turn' solution cell"
    learner_names = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and not is_solution_cell(cell):
            learner_names |= set(re.findall(r"^def (\w+)", cell.source, re.MULTILINE))
    for cell in solutions:
        hidden = cell.metadata.get("jupyter", {})
        assert hidden.get("source_hidden") and hidden.get("outputs_hidden"), cell.source[:60]
        first = cell.source.splitlines()[0]
        assert first.startswith("#") and "SOLUTION" not in first, first
        defined = set(re.findall(r"^def (\w+)", cell.source, re.MULTILINE))
        assert not defined & learner_names, f"a solution overwrites {defined & learner_names}"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_the_edition_has_no_solution_and_no_output(path: Path) -> None:
    original = nbformat.read(path, as_version=4)
    nb, removed = learner_notebook(path)
    assert removed == sum(is_solution_cell(c) for c in original.cells) >= 1
    text = json.dumps(nb)
    assert "BEGIN SOLUTION" not in text
    assert all(
        not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code"
    )
    assert len(nb.cells) == len(original.cells) - removed


def test_write_learner_edition(tmp_path: Path) -> None:
    report = write_learner_edition(NOTEBOOKS, tmp_path)
    assert set(report) == {p.name for p in PATHS}
    for name in report:
        nbformat.validate(nbformat.read(tmp_path / name, as_version=4))
