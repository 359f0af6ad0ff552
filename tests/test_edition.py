"""The learner edition: every solution is taken out, nothing else changes, outputs are cleared."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from lessons.edition import learner_notebook, strip_solutions, write_learner_edition

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def test_strip_solutions_keeps_indentation_and_the_rest():
    source = ("def f(r, key):\n"
              "    # BEGIN SOLUTION\n"
              "    return r.expire(key, 5)\n"
              "    # END SOLUTION\n"
              "\n"
              "check(f)\n")
    new, count = strip_solutions(source)
    assert count == 1
    assert new == ("def f(r, key):\n"
                   "    # YOUR CODE HERE\n"
                   '    raise NotImplementedError("Your turn: write this part, then run the check")\n'
                   "\n"
                   "check(f)\n")
    compile(new, "<cell>", "exec")


def test_unbalanced_markers_are_an_error():
    with pytest.raises(ValueError):
        strip_solutions("# BEGIN SOLUTION\nx = 1\n")


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_every_notebook_has_a_your_turn_and_its_edition_has_no_solution(path):
    original = nbformat.read(path, as_version=4)
    solutions = [c.source for c in original.cells if "# BEGIN SOLUTION" in c.source]
    assert solutions, f"{path.name} has no 'Your turn' solution block"
    nb, removed = learner_notebook(path)
    assert removed == sum(s.count("# BEGIN SOLUTION") for s in solutions)
    text = json.dumps(nb)
    assert "BEGIN SOLUTION" not in text and text.count("NotImplementedError") >= removed
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in nb.cells if c.cell_type == "code")
    for cell in nb.cells:
        if cell.cell_type == "code" and "NotImplementedError" in cell.source:
            compile("\n".join(line for line in cell.source.splitlines()
                              if not line.lstrip().startswith(("%", "!"))), path.name, "exec")
    assert len(nb.cells) == len(original.cells)


def test_write_learner_edition(tmp_path):
    report = write_learner_edition(NOTEBOOKS, tmp_path)
    assert set(report) == {p.name for p in NOTEBOOKS.glob("*.ipynb")}
    assert all(n >= 1 for n in report.values())
    for name in report:
        nbformat.validate(nbformat.read(tmp_path / name, as_version=4))
