"""The learner edition: the course's notebooks with the "Your turn" solution cells left out.

In the committed notebooks each exercise is a learner cell (a stub that runs), its check, two
collapsed hints and a collapsed solution cell tagged ``solution`` (older notebooks marked its code
with ``# BEGIN SOLUTION`` / ``# END SOLUTION`` instead; both are recognised). The learner edition
drops every solution cell and clears every output, so learners start from their stubs with
nothing to peek at (the hints stay):

    python -m coursetools.learner_edition notebooks build/learner-edition
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

__all__ = ["is_solution_cell", "learner_notebook", "write_learner_edition"]

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"


def is_solution_cell(cell: nbformat.NotebookNode) -> bool:
    """True for a code cell tagged ``solution``, or holding a marked solution block (markers must
    be balanced)."""
    if cell.cell_type != "code":
        return False
    if "solution" in cell.get("metadata", {}).get("tags", []):
        return True
    begins, ends = cell.source.count(BEGIN), cell.source.count(END)
    if begins != ends:
        raise ValueError(f"unbalanced {BEGIN} / {END} markers in cell {cell.get('id', '?')}")
    return bool(begins)


def learner_notebook(path: Path) -> tuple[nbformat.NotebookNode, int]:
    """The learner edition of one notebook, and how many solution cells it left out."""
    nb = nbformat.read(path, as_version=4)
    kept = [cell for cell in nb.cells if not is_solution_cell(cell)]
    removed = len(nb.cells) - len(kept)
    for cell in kept:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.cells = kept
    nb.metadata.pop("widgets", None)  # saved widget state belongs to the executed edition
    return nb, removed


def write_learner_edition(source_dir: Path, target_dir: Path) -> dict[str, int]:
    """Write the learner edition of every notebook in ``source_dir``; {file name: cells removed}."""
    target_dir.mkdir(parents=True, exist_ok=True)
    report = {}
    for path in sorted(Path(source_dir).glob("*.ipynb")):
        nb, removed = learner_notebook(path)
        nbformat.validate(nb)
        nbformat.write(nb, target_dir / path.name)
        report[path.name] = removed
    return report


def main(argv: list[str] | None = None) -> int:
    """``python -m coursetools.learner_edition NOTEBOOK_DIR TARGET_DIR``."""
    parser = argparse.ArgumentParser(
        prog="python -m coursetools.learner_edition",
        description="Write the learner edition: every notebook of NOTEBOOK_DIR without its "
        "solution cells and outputs, into TARGET_DIR.",
    )
    parser.add_argument("notebook_dir", type=Path, help="the committed notebooks, e.g. notebooks")
    parser.add_argument("target_dir", type=Path, help="where to write, e.g. build/learner-edition")
    args = parser.parse_args(argv)
    for name, removed in write_learner_edition(args.notebook_dir, args.target_dir).items():
        print(f"{name}: {removed} solution cell(s) left out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
