"""Browser fixtures: Debian's Chromium driven by Playwright (sync API).

``browser`` is one headless Chromium for the whole test session. Chromium is found via
``$CHROMIUM``, else ``/usr/bin/chromium`` (no ``playwright install``: the system browser is
launched with ``executable_path``). When Chromium or the ``playwright`` package is missing, the
tests that use it are skipped with a one-line reason; with ``COURSE_REQUIRE_BROWSER=1`` (CI sets
it) they fail instead, so CI cannot pass by skipping them. ``COURSE_SKIP_BROWSER=1`` skips them on
purpose (CI's second backend pass: they already ran in the first).

``jupyterlab`` is a private JupyterLab (see ``browser_lab``) serving a temporary copy of
notebooks/, one per test module; ``notebook_tabs`` opens notebooks in it, one browser context
each (see ``lab_page``).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest
from pytest import TempPathFactory

if TYPE_CHECKING:
    from browser_lab import LabServer
    from lab_page import TabCache
    from playwright.sync_api import Browser

sys.path.insert(0, str(Path(__file__).parent))  # browser_lab, lab_page: helpers beside this file

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def browser_skipped() -> bool:
    """True when this test run leaves the browser tests to another pass (COURSE_SKIP_BROWSER=1)."""
    return os.environ.get("COURSE_SKIP_BROWSER", "") not in ("", "0")


def browser_required() -> bool:
    """True when a missing browser must fail the test instead of skipping it (CI)."""
    return os.environ.get("COURSE_REQUIRE_BROWSER", "") not in ("", "0")


def no_browser(reason: str) -> NoReturn:
    """Skip the current test (or fail it, when COURSE_REQUIRE_BROWSER=1) with a one-line reason."""
    if browser_required():
        pytest.fail(f"COURSE_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str | None:
    """The Chromium executable: $CHROMIUM, else /usr/bin/chromium; None when neither exists."""
    candidate = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
    resolved = shutil.which(candidate) or (candidate if os.path.isfile(candidate) else None)
    return resolved if resolved and os.access(resolved, os.X_OK) else None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """A headless Chromium (playwright.sync_api.Browser) for the tests of one module. Module
    scope: Playwright's event loop ends with the module, so later tests can run their own."""
    if browser_skipped():
        pytest.skip("COURSE_SKIP_BROWSER=1: the browser tests run in another pass")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        no_browser("the playwright package is not installed (pip install playwright)")
    path = chromium_path()
    if path is None:
        where = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
        no_browser(f"no Chromium at {where} (apt-get install chromium, or set CHROMIUM)")
    with sync_playwright() as pw:
        try:
            chromium = pw.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS, headless=True)
        except Exception as exc:  # a broken install: say so in one line
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            no_browser(f"Chromium at {path} did not start: {first_line}")
        try:
            yield chromium
        finally:
            chromium.close()


# -- a private JupyterLab ------------------------------------------------------------------
@pytest.fixture(scope="module")
def jupyterlab(browser: Browser, tmp_path_factory: TempPathFactory) -> Iterator[LabServer]:
    """A JupyterLab of our own (browser_lab.LabServer) serving a temporary copy of notebooks/.

    Running cells changes only the copy (``jupyterlab.root / "notebooks"``), never the committed
    notebooks. Depends on ``browser`` so that, without Chromium, no server is started at all.
    """
    from browser_lab import NOTEBOOKS, LabServer

    root = tmp_path_factory.mktemp("lab-root")
    shutil.copytree(
        NOTEBOOKS, root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    )
    server = LabServer(root, tmp_path_factory.mktemp("lab-state")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def notebook_tabs(browser: Browser, jupyterlab: LabServer) -> Iterator[TabCache]:
    """Notebook tabs on the private JupyterLab (lab_page.TabCache); all closed at the end."""
    from lab_page import TabCache

    tabs = TabCache(browser, jupyterlab, "notebooks")
    try:
        yield tabs
    finally:
        tabs.close_all()
