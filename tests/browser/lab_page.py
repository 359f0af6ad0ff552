"""Driving one JupyterLab notebook tab with Playwright, as a learner would (menus, clicks).

The page reads JupyterLab's own models through ``window.jupyterapp`` (the server runs with
``expose_app_in_browser``) to know when a run has finished; what a learner sees is checked in
the DOM.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from browser_lab import LabServer
    from playwright.sync_api import Browser, BrowserContext, Locator, Page

OPEN_TIMEOUT_MS = 90_000
RUN_TIMEOUT_S = 150.0

# JS: the current notebook panel, its kernel status and its cells (model + DOM node).
_NB = "const p = window.jupyterapp && window.jupyterapp.shell.currentWidget;"

KERNEL_IDLE_JS = (
    _NB
    + """
return !!(p && p.sessionContext && p.sessionContext.session &&
          p.sessionContext.kernelDisplayStatus === 'idle');"""
)

CELLS_JS = (
    _NB
    + """
return p.content.widgets.map((w, i) => ({
  index: i,
  type: w.model.type,
  source: w.model.sharedModel.getSource(),
  tags: w.model.getMetadata('tags') || [],
  executionCount: w.model.type === 'code' ? w.model.executionCount : null,
  state: w.model.type === 'code' ? w.model.executionState : null,
  outputs: w.model.type === 'code' ? w.model.outputs.toJSON() : [],
}));"""
)

# A flag that turns true when any code cell starts running (JupyterLab's own cell-model signal).
ARM_JS = (
    _NB
    + """
window.__courseRan = false;
if (!p.__courseArmed) {
  p.__courseArmed = true;
  for (const w of p.content.widgets) {
    if (w.model.type !== 'code') continue;
    w.model.stateChanged.connect((_, change) => {
      if (change.name === 'executionState' && change.newValue === 'running') window.__courseRan = true;
    });
  }
}
return true;"""
)

RUN_STATE_JS = (
    _NB
    + """
const running = p.content.widgets.some(w => w.model.type === 'code' && w.model.executionState === 'running');
const idle = !!(p.sessionContext.session && p.sessionContext.kernelDisplayStatus === 'idle');
return [window.__courseRan === true, running, idle];"""
)

# Every visible text node containing one of the needles: [{needle, text, cell}].
VISIBLE_TEXT_JS = """
(needles) => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const cells = Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell'));
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent;
    const hits = needles.filter(n => text.includes(n));
    if (!hits.length) continue;
    const el = node.parentElement;
    if (!el || !el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const cell = el.closest('.jp-Cell');
    for (const needle of hits) {
      found.push({needle, text: text.trim().slice(0, 160), cell: cell ? cells.indexOf(cell) : null});
    }
  }
  return found;
}"""


def _fn(body: str) -> str:
    return "() => {" + body + "}"


class NotebookTab:
    """One browser page showing one notebook in JupyterLab."""

    def __init__(self, page: Page, base_url: str, path: str) -> None:
        self.page = page
        self.base_url = base_url
        self.path = path
        self.ran = False  # True once this tab ran a cell (through arm())

    # -- opening -------------------------------------------------------------------------
    def open(self, n_cells: int) -> NotebookTab:
        """Open the notebook in a fresh workspace; wait for its cells and an idle kernel."""
        workspace = "t" + uuid.uuid4().hex[:10]
        self.page.goto(
            f"{self.base_url}/lab/workspaces/{workspace}/tree/{self.path}?reset", timeout=OPEN_TIMEOUT_MS
        )
        self.page.wait_for_function(
            _fn(
                _NB + "return !!(p && p.content && p.content.widgets && "
                f"p.content.widgets.length === {n_cells} && p.context.isReady);"
            ),
            timeout=OPEN_TIMEOUT_MS,
        )
        self.wait_kernel_idle()
        self.page.locator(".jp-Notebook .jp-Cell").nth(n_cells - 1).wait_for(state="attached")
        self.page.wait_for_load_state("networkidle", timeout=OPEN_TIMEOUT_MS)
        return self

    def wait_kernel_idle(self, timeout_ms: float = OPEN_TIMEOUT_MS) -> None:
        self.page.wait_for_function(_fn(KERNEL_IDLE_JS), timeout=timeout_ms)

    def cell(self, index: int) -> Locator:
        return self.page.locator(".jp-Notebook .jp-Cell").nth(index)

    def cells(self) -> list[dict[str, Any]]:
        return cast("list[dict[str, Any]]", self.page.evaluate(_fn(CELLS_JS)))

    def visible_text(self, needles: list[str]) -> list[dict[str, Any]]:
        return cast("list[dict[str, Any]]", self.page.evaluate(VISIBLE_TEXT_JS, needles))

    # -- menus and dialogs ---------------------------------------------------------------
    def menu(self, top: str, item: str) -> None:
        """Click ``top`` in the menu bar, then the menu item whose label starts with ``item``."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text=top).first.click()
        entry = self.page.locator(
            ".lm-Menu-content .lm-Menu-item:not(.lm-mod-hidden) .lm-Menu-itemLabel", has_text=item
        ).first
        entry.wait_for(state="visible", timeout=10_000)
        entry.click()

    def accept_dialog(self, timeout_ms: float = 10_000) -> bool:
        """Press the accept button of a dialog if one opens within ``timeout_ms``."""
        button = self.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").first
        try:
            button.wait_for(state="visible", timeout=timeout_ms)
        except Exception:
            return False
        button.click()
        self.page.locator(".jp-Dialog").first.wait_for(state="detached", timeout=10_000)
        return True

    # -- running -------------------------------------------------------------------------
    def arm(self) -> None:
        """Start watching the cells: ``wait_run_finished`` then waits for a run after this."""
        self.ran = True
        self.page.evaluate(_fn(ARM_JS))

    def wait_run_finished(self, timeout_s: float = RUN_TIMEOUT_S, settle_s: float = 1.0) -> None:
        """After ``arm()``: wait until a cell has run, none is running or queued, kernel idle."""
        deadline = time.monotonic() + timeout_s
        quiet_since = None
        while time.monotonic() < deadline:
            ran, running, idle = self.page.evaluate(_fn(RUN_STATE_JS))
            if ran and not running and idle:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= settle_s:
                    return
            else:
                quiet_since = None
            time.sleep(0.2)
        ran, running, idle = self.page.evaluate(_fn(RUN_STATE_JS))
        busy = self.page.evaluate(
            _fn(
                _NB
                + """return p.content.widgets.map((w, i) => [i, w.model])
            .filter(([i, m]) => m.type === 'code' && m.executionState === 'running')
            .map(([i]) => i);"""
            )
        )
        raise TimeoutError(
            f"{self.path}: not finished after {timeout_s:.0f} s (a cell started: "
            f"{ran}; cells running or queued: {busy[:10]}; kernel idle: {idle})"
        )

    def restart_and_run_all(self) -> float:
        """Kernel > Restart Kernel and Run All Cells…, confirm; the wall time until done (s)."""
        start = time.monotonic()
        self.arm()
        self.menu("Kernel", "Restart Kernel and Run All Cells")
        self.accept_dialog()
        self.wait_run_finished()
        return time.monotonic() - start

    def run_cell(self, index: int) -> None:
        """Select cell ``index`` and press Shift+Enter, then wait for it to finish."""
        self.cell(index).locator(".jp-InputPrompt").first.click()
        self.arm()
        self.page.keyboard.press("Shift+Enter")
        self.wait_run_finished()

    def run_all_above(self, index: int) -> None:
        """Select cell ``index``; Run > Run All Above Selected Cell; wait until done."""
        self.cell(index).locator(".jp-InputPrompt").first.click()
        self.arm()
        self.menu("Run", "Run All Above Selected Cell")
        self.wait_run_finished()


class TabCache:
    """Notebooks opened on demand, each in its own browser context, kept open between tests.

    The tests of one notebook share its tab (opening a notebook and starting its kernel costs
    about 10 s on a 2-core machine); ``close`` ends the tab and shuts down its kernel.
    """

    def __init__(self, browser: Browser, server: LabServer, folder: str) -> None:
        self.browser = browser
        self.server = server
        self.folder = folder
        self._open: dict[str, tuple[BrowserContext, NotebookTab]] = {}

    def path(self, name: str) -> str:
        return f"{self.folder}/{name}"

    def notebook(self, name: str) -> dict[str, Any]:
        """The notebook as the server has it on disk (the copy made when the server started)."""
        text = (Path(self.server.root) / self.path(name)).read_text(encoding="utf-8")
        return cast("dict[str, Any]", json.loads(text))

    def get(self, name: str, *, fresh: bool = False) -> NotebookTab:
        """The tab showing notebook ``name`` (opened now if needed, or anew with ``fresh``)."""
        if fresh:
            self.close(name)
        if name not in self._open:
            n_cells = len(self.notebook(name)["cells"])
            context = self.browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(30_000)
            try:
                tab = NotebookTab(context.new_page(), self.server.url, self.path(name)).open(n_cells)
            except BaseException:
                context.close()
                self.server.shutdown_sessions(self.path(name))
                raise
            self._open[name] = (context, tab)
        tab = self._open[name][1]
        tab.page.bring_to_front()  # the tab a learner looks at is the one in front
        return tab

    def is_open(self, name: str) -> bool:
        return name in self._open

    def close(self, name: str) -> None:
        entry = self._open.pop(name, None)
        if entry is not None:
            entry[0].close()
        self.server.shutdown_sessions(self.path(name))

    def close_all(self) -> None:
        for name in list(self._open):
            self.close(name)
        self.server.shutdown_all_kernels()
