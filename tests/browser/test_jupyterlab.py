"""JupyterLab in a real browser, as a learner uses it (issue 11, item 4; issue 10, items 1-2).

One private JupyterLab serves the whole module, on a temporary copy of notebooks/ (running
cells never touches the committed files). Each notebook is opened once, in its own browser
context, and shared by its tests in file order: (a) looks at it as opened, (b) restarts its kernel
and runs all, (c) clicks 01's quiz, (d) opens 02 afresh. Wall times go to stdout (``-s``) and to
``/tmp/course-browser-times.txt``; screenshots of each notebook as opened to
``$COURSE_BROWSER_SCREENSHOTS`` (default ``/tmp/course-browser``).
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import pytest
from browser_lab import NOTEBOOKS, LabServer, cmdline

if TYPE_CHECKING:
    from lab_page import NotebookTab, TabCache
    from playwright.sync_api import Locator

NOTEBOOK_FILES = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
TIMES_FILE = Path("/tmp/course-browser-times.txt")
SCREENSHOTS = Path(os.environ.get("COURSE_BROWSER_SCREENSHOTS", "/tmp/course-browser"))
IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")
RAW_WIDGET = ["VBox(", "HTML(value="]
VERDICT = "Correct:"
SOLUTION_MARKER = "BEGIN SOLUTION"
ERROR_TAG = "raises-exception"
QUIZ_NOTEBOOK = "01_session_store.ipynb"
QUIZ_CALL = 'ask("ttl-reset")'
SERVERS_NOTEBOOK = "02_fastapi_sessions.ipynb"

pytestmark = pytest.mark.timeout(600)


def record_time(what: str, seconds: float) -> None:
    line = f"{what}: {seconds:.1f} s"
    print(line)
    with TIMES_FILE.open("a", encoding="utf-8") as f:
        f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {line}\n")


def open_tab(tabs: TabCache, name: str, *, fresh: bool = False) -> NotebookTab:
    """The notebook's tab; a fresh one when asked, or when cells already ran in the open one."""
    tab = tabs.get(name, fresh=fresh)
    return tabs.get(name, fresh=True) if tab.ran and not fresh else tab


def collapsed_cells(nb: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """(index, cell) for every cell whose metadata says its input is hidden."""
    return [
        (i, c)
        for i, c in enumerate(nb["cells"])
        if c.get("metadata", {}).get("jupyter", {}).get("source_hidden")
    ]


def first_line(cell: dict[str, Any]) -> str:
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    return source.lstrip("\n").split("\n", 1)[0].strip()


def screenshot_cells(
    tab: NotebookTab, name: str, nb: dict[str, Any], hidden: list[tuple[int, dict[str, Any]]]
) -> None:
    """Screenshots of the first collapsed cell and of the first quiz, as a learner scrolls to them."""
    quizzes = [
        i
        for i, c in enumerate(nb["cells"])
        if any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in c.get("outputs", []))
    ]
    for what, indices in (("collapsed", [i for i, _ in hidden]), ("quiz", quizzes)):
        if indices:
            tab.cell(indices[0]).evaluate("e => e.scrollIntoView({block: 'center'})")
            tab.page.screenshot(path=str(SCREENSHOTS / f"open-{Path(name).stem}-{what}.png"))


# -- (a) what a learner sees before running anything ----------------------------------------
@pytest.mark.parametrize("name", NOTEBOOK_FILES)
def test_opened_notebook_hides_answers(name: str, notebook_tabs: TabCache) -> None:
    """No solution code, no quiz verdict, no raw widget repr visible; hidden cells are collapsed."""
    started = time.monotonic()
    nb = notebook_tabs.notebook(name)
    tab = open_tab(notebook_tabs, name)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.page.screenshot(path=str(SCREENSHOTS / f"open-{Path(name).stem}.png"))
    problems: list[str] = []

    # Every cell the .ipynb marks as hidden shows a placeholder, whose one line is a label: a
    # comment for code (a solution, a quiz answer), a bold label for markdown (a hint).
    hidden = collapsed_cells(nb)
    for index, cell in hidden:
        node = tab.cell(index)
        placeholder = node.locator(".jp-InputPlaceholder")
        if not placeholder.count() or not placeholder.first.is_visible():
            problems.append(f"cell {index}: source_hidden in metadata but its input is not collapsed")
        elif node.locator(".jp-InputArea").count() and node.locator(".jp-InputArea").first.is_visible():
            problems.append(f"cell {index}: collapsed, yet its code editor is visible")
        else:
            shown = placeholder.first.inner_text().strip()
            if shown != first_line(cell):
                problems.append(
                    f"cell {index}: placeholder shows {shown!r}, not the first line {first_line(cell)!r}"
                )
            label = "#" if cell["cell_type"] == "code" else "**"  # a comment, or a bold label
            if not shown.startswith(label):
                problems.append(
                    f"cell {index}: collapsed cell's visible first line is not a label ({label}…): {shown!r}"
                )
        if cell["metadata"]["jupyter"].get("outputs_hidden") and cell.get("outputs"):
            out = node.locator(".jp-OutputArea")
            if out.count() and out.first.is_visible():
                problems.append(f"cell {index}: outputs_hidden in metadata but its output is shown")

    # Nothing that gives an answer away, or shows a widget as raw text, is visible anywhere.
    seen = set()
    for hit in tab.visible_text([SOLUTION_MARKER, VERDICT, *RAW_WIDGET]):
        what = {SOLUTION_MARKER: "solution code", VERDICT: "a quiz verdict"}.get(
            hit["needle"], "a raw widget repr"
        )
        if (hit["cell"], what) not in seen:
            seen.add((hit["cell"], what))
            problems.append(f"cell {hit['cell']}: {what} is visible: {hit['text'][:100]!r}")

    screenshot_cells(tab, name, nb, hidden)
    record_time(f"open {name} (test a)", time.monotonic() - started)
    print(f"{name}: {len(hidden)} collapsed cell(s) in metadata")
    assert not problems, f"{name}, as opened in JupyterLab:\n" + "\n".join(problems)


# -- (b) Restart Kernel and Run All Cells ---------------------------------------------------
def bad_outputs(cell: dict[str, Any]) -> list[str]:
    found = []
    for out in cell["outputs"]:
        if out.get("output_type") == "error":
            found.append(f"error {out.get('ename')}: {out.get('evalue')}")
        elif out.get("output_type") == "stream" and out.get("name") == "stderr":
            text = out.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            found.append("stderr: " + text.strip()[:400])
    return found


def committed_images(nb: dict[str, Any]) -> dict[int, int]:
    """{cell index: number of image outputs} in the committed notebook."""
    counts = {}
    for i, cell in enumerate(nb["cells"]):
        n = sum(1 for o in cell.get("outputs", []) if any(t in o.get("data", {}) for t in IMAGE_TYPES))
        if n:
            counts[i] = n
    return counts


@pytest.mark.parametrize("name", NOTEBOOK_FILES)
def test_restart_and_run_all(name: str, jupyterlab: LabServer, notebook_tabs: TabCache) -> None:
    """Kernel > Restart Kernel and Run All Cells: every cell runs, no error or stderr, figures render."""
    try:
        check_restart_and_run_all(jupyterlab, notebook_tabs, name)
    finally:
        if name not in (QUIZ_NOTEBOOK, SERVERS_NOTEBOOK):  # (c) and (d) go on in these tabs
            notebook_tabs.close(name)


def check_restart_and_run_all(jupyterlab: LabServer, notebook_tabs: TabCache, name: str) -> None:
    nb = notebook_tabs.notebook(name)
    tab = open_tab(notebook_tabs, name)
    seconds = tab.restart_and_run_all()
    record_time(f"run-all {name} (test b)", seconds)

    cells = tab.cells()
    problems = []
    code = [c for c in cells if c["type"] == "code"]
    not_run = [c["index"] for c in code if c["executionCount"] is None]
    if not_run:
        problems.append(f"cells never ran (the run stopped): {not_run[:10]}")
    counts = [c["executionCount"] for c in code if c["executionCount"] is not None]
    if counts != sorted(set(counts)) or (counts and counts[0] != 1):
        problems.append(f"execution counts are not 1, 2, 3… in order after the restart: {counts[:10]}…")
    for c in code:
        if ERROR_TAG in c["tags"]:
            continue
        for bad in bad_outputs(c):
            problems.append(f"cell {c['index']} ({c['source'].splitlines()[0][:60]!r}): {bad}")

    for index, n_images in committed_images(nb).items():
        loaded = (
            tab.cell(index)
            .locator(".jp-OutputArea img")
            .evaluate_all("imgs => imgs.filter(i => i.complete && i.naturalWidth > 0).length")
        )
        if loaded < n_images:
            problems.append(f"cell {index}: {n_images} committed figure(s), {loaded} rendered <img>")

    kernels = [p for p in jupyterlab.processes() if "ipykernel" in cmdline(p)]
    venv_python = Path(sys.executable).resolve()  # the server (and so its kernels) runs on it
    for proc in kernels:
        try:
            exe = Path(proc.exe()).resolve()
        except psutil.Error:
            continue  # ended meanwhile
        if exe != venv_python:
            problems.append(f"kernel pid {proc.pid} runs {exe}, not the venv's {venv_python}")
    assert kernels, "no kernel process of our JupyterLab was found"
    assert not problems, f"{name} after Restart Kernel and Run All Cells:\n" + "\n".join(problems)


# -- (c) notebook 01's quiz in the browser --------------------------------------------------
def wait_for_verdict(output: Locator, key: str, timeout_s: float = 20.0) -> str:
    """The verdict line the quiz shows for option ``key`` ("Correct: B. …" / "Not quite: B. …")."""
    pattern = re.compile(rf"^(Correct|Not quite): {re.escape(key)}\.", re.M)
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        text = output.inner_text()
        found = pattern.search(text)
        if found:
            return text[found.start() :].split("\n", 1)[0].strip()
        time.sleep(0.2)
    raise AssertionError(
        f"no verdict for option {key} within {timeout_s:.0f} s; the quiz shows {text[-300:]!r}"
    )


def live_quiz(tab: NotebookTab, index: int) -> Locator:
    """The quiz cell's radio buttons, once its widget is live (running the cell if needed)."""
    radios = tab.cell(index).locator(".widget-radio-box")
    if not radios.count():  # (b) did not run this tab: run the quiz cell, or all above it
        tab.run_cell(index)
        if any(bad_outputs(c) for c in tab.cells() if c["index"] == index):
            tab.run_all_above(index)
            tab.run_cell(index)
    radios.wait_for(state="visible", timeout=30_000)
    return radios


def test_quiz_ttl_reset_has_one_correct_answer(notebook_tabs: TabCache) -> None:
    """Clicking each option, then Check: exactly one "Correct:" verdict, for EXPIRE."""
    started = time.monotonic()
    nb = notebook_tabs.notebook(QUIZ_NOTEBOOK)
    index = next(
        (
            i
            for i, c in enumerate(nb["cells"])
            if c["cell_type"] == "code" and QUIZ_CALL in "".join(c["source"])
        ),
        None,
    )
    assert index is not None, f"{QUIZ_NOTEBOOK} has no cell calling {QUIZ_CALL}"
    try:
        tab = notebook_tabs.get(QUIZ_NOTEBOOK)  # as (b) left it, if it ran
        cell = tab.cell(index)
        cell.scroll_into_view_if_needed()
        labels = live_quiz(tab, index).locator("label")
        options = [labels.nth(i).inner_text().strip() for i in range(labels.count())]
        assert len(options) >= 2, f"the quiz shows {options!r} as its options"
        verdicts = {}
        output = cell.locator(".jp-OutputArea").first
        for i, option in enumerate(options):
            key = option.split(".", 1)[0].strip()
            labels.nth(i).locator("input").check()
            cell.get_by_role("button", name="Check").click()
            verdicts[option] = wait_for_verdict(output, key)
    finally:
        notebook_tabs.close(QUIZ_NOTEBOOK)
    record_time("quiz 01 ttl-reset (test c)", time.monotonic() - started)
    print("quiz verdicts:", verdicts)
    correct = [o for o, v in verdicts.items() if v.startswith("Correct:")]
    assert len(correct) == 1, f"expected one correct option, got {correct}: {verdicts}"
    assert "EXPIRE" in correct[0].split(".", 1)[-1].split(), (
        f"the correct option is {correct[0]!r}, not EXPIRE"
    )
    wrong = [o for o, v in verdicts.items() if o not in correct and not v.startswith("Not quite:")]
    assert not wrong, f"options without a 'Not quite' verdict: {wrong}: {verdicts}"


# -- (d) notebook 02: shutting the kernel down stops its uvicorn servers --------------------
def uvicorns(jupyterlab: LabServer) -> list[psutil.Process]:
    return [p for p in jupyterlab.processes() if "uvicorn" in cmdline(p)]


def test_kernel_shutdown_leaves_no_uvicorn(jupyterlab: LabServer, notebook_tabs: TabCache) -> None:
    """Run 02's cell that starts uvicorn servers; Kernel > Shut Down Kernel; none is left.

    In the kernel (b) left (every cell ran), only that cell runs again; alone, everything up to it.
    """
    started = time.monotonic()
    nb = notebook_tabs.notebook(SERVERS_NOTEBOOK)
    start_cell = next(
        (
            i
            for i, c in enumerate(nb["cells"])
            if c["cell_type"] == "code"
            and "WebFarm(" in "".join(c["source"])
            and ".start()" in "".join(c["source"])
        ),
        None,
    )
    assert start_cell is not None, f"{SERVERS_NOTEBOOK} has no cell that starts a WebFarm"
    try:
        tab = notebook_tabs.get(SERVERS_NOTEBOOK)
        if tab.ran:  # (b) ran every cell in this kernel: start the servers again
            tab.run_cell(start_cell)
        else:
            tab.run_all_above(start_cell + 1)
        running = uvicorns(jupyterlab)
        assert running, f"no uvicorn process runs after cell {start_cell} (the test needs them)"
        print(f"{len(running)} uvicorn process(es) before the shutdown")

        tab.menu("Kernel", "Shut Down Kernel")
        tab.accept_dialog(timeout_ms=3_000)  # JupyterLab may or may not ask
        deadline = time.monotonic() + 15
        left = uvicorns(jupyterlab)
        while left and time.monotonic() < deadline:
            time.sleep(0.5)
            left = uvicorns(jupyterlab)
        kernels = [
            k
            for k in jupyterlab.api("GET", "/api/sessions")
            if k.get("path") == notebook_tabs.path(SERVERS_NOTEBOOK) and k.get("kernel")
        ]
    finally:
        notebook_tabs.close(SERVERS_NOTEBOOK)
    record_time("02 shut down kernel (test d)", time.monotonic() - started)
    assert not kernels, "the kernel still runs after Kernel > Shut Down Kernel"
    assert not left, "uvicorn left running after the kernel shut down: " + "; ".join(
        f"pid {p.pid}: {cmdline(p)}" for p in left
    )
