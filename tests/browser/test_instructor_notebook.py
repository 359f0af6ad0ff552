"""The instructor notebook in JupyterLab (issue 21): Restart Kernel and Run All Cells, then the
heat map is on the page as a rendered image, every cell ran, and none wrote an error or stderr.

Runs on the private JupyterLab of ``conftest.jupyterlab`` (a temporary copy of notebooks/, so the
committed notebook is never changed), on whichever backend this test run uses. A screenshot of the
heat map goes to ``$COURSE_BROWSER_SCREENSHOTS`` (default ``/tmp/course-browser``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from lab_page import TabCache

NOTEBOOK = "instructor/progress.ipynb"
HEATMAP_CALL = "heatmap(rows, items)"
SCREENSHOTS = Path(os.environ.get("COURSE_BROWSER_SCREENSHOTS", "/tmp/course-browser"))

pytestmark = pytest.mark.timeout(600)


def test_instructor_notebook_runs_and_shows_the_heat_map(notebook_tabs: TabCache) -> None:
    tab = notebook_tabs.get(NOTEBOOK)
    try:
        tab.restart_and_run_all()
        cells = tab.cells()
        code = [c for c in cells if c["type"] == "code"]
        assert all(c["executionCount"] is not None for c in code), "a cell did not run"
        problems = [
            f"cell {c['index']}: {o.get('ename') or o.get('text')}"
            for c in code
            for o in c["outputs"]
            if o.get("output_type") == "error"
            or (o.get("output_type") == "stream" and o.get("name") == "stderr")
        ]
        assert not problems, "\n".join(problems)

        heat = next(c for c in code if c["source"].strip() == HEATMAP_CALL)
        images = tab.cell(heat["index"]).locator(".jp-OutputArea img")
        assert images.count() == 1, "the heat map cell shows no image"
        size = images.first.evaluate("i => [i.complete, i.naturalWidth, i.naturalHeight]")
        assert size[0] and size[1] >= 800 and size[2] >= 600, f"heat map image not rendered: {size}"
        images.first.scroll_into_view_if_needed()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        images.first.screenshot(path=str(SCREENSHOTS / "instructor-heatmap.png"))

        cleanup = code[-1]
        texts = "".join(o.get("text", "") for o in cleanup["outputs"])
        assert "Removed 30 simulated progress hashes" in texts
    finally:
        notebook_tabs.close(NOTEBOOK)
