"""The learner edition: the course's notebooks with the "Your turn" solutions taken out.

The committed notebooks hold a working solution between ``# BEGIN SOLUTION`` and
``# END SOLUTION`` lines (so that nbval can check them). The learner edition replaces each such
block by a ``raise NotImplementedError`` at the same indentation and clears every output, so
learners start from empty cells:

    python -m lessons.edition notebooks build/learner-edition
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

__all__ = ["strip_solutions", "learner_notebook", "write_learner_edition"]

_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)# BEGIN SOLUTION[^\n]*\n.*?^[ \t]*# END SOLUTION[^\n]*(\n|$)",
    re.MULTILINE | re.DOTALL,
)


def strip_solutions(source: str) -> tuple[str, int]:
    """``source`` with each solution block replaced; returns (new source, blocks replaced)."""

    def placeholder(match: re.Match) -> str:
        indent = match.group("indent")
        return (f"{indent}# YOUR CODE HERE\n"
                f'{indent}raise NotImplementedError("Your turn: write this part, then run the check")\n')

    new, count = _BLOCK.subn(placeholder, source)
    if "# BEGIN SOLUTION" in new or "# END SOLUTION" in new:
        raise ValueError("unbalanced # BEGIN SOLUTION / # END SOLUTION markers")
    return new, count


def learner_notebook(path: Path) -> tuple[nbformat.NotebookNode, int]:
    """The learner edition of one notebook, and how many solutions it took out."""
    nb = nbformat.read(path, as_version=4)
    removed = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.source, count = strip_solutions(cell.source)
        removed += count
        cell.outputs = []
        cell.execution_count = None
    nb.metadata.pop("widgets", None)  # saved widget state belongs to the executed edition
    return nb, removed


def write_learner_edition(source_dir: Path, target_dir: Path) -> dict[str, int]:
    """Write the learner edition of every notebook in ``source_dir``; {file name: solutions removed}."""
    target_dir.mkdir(parents=True, exist_ok=True)
    report = {}
    for path in sorted(Path(source_dir).glob("*.ipynb")):
        nb, removed = learner_notebook(path)
        nbformat.validate(nb)
        nbformat.write(nb, target_dir / path.name)
        report[path.name] = removed
    return report


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m lessons.edition NOTEBOOK_DIR TARGET_DIR", file=sys.stderr)
        return 2
    for name, removed in write_learner_edition(Path(argv[0]), Path(argv[1])).items():
        print(f"{name}: {removed} solution(s) taken out")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
