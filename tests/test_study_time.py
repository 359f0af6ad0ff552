"""The README's study times come from ``tools/study-time`` (a stated method), not from a guess,
and every notebook fits in an hour of study."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def estimates() -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "study-time"), "--markdown"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {m[1]: int(m[2]) for m in re.finditer(r"^\| `(\w+)` \|.*\| (\d+) min \|$", out, re.MULTILINE)}


def test_every_notebook_is_at_most_an_hour_of_study() -> None:
    found = estimates()
    assert len(found) == len(list((ROOT / "notebooks").glob("*.ipynb")))
    assert all(minutes <= 60 for minutes in found.values()), found


def test_the_readme_study_times_are_the_tools() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = re.compile(r"^\| `(\d\d_\w+)` \|.*?\| (\d+) min \|", re.MULTILINE)
    listed = {m[1]: int(m[2]) for m in row.finditer(readme)}
    assert listed == estimates()
