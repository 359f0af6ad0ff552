"""PDF handouts: each built deck printed by Chromium (reveal.js ``?print-pdf``, one slide a page).

Uses Playwright (in requirements.txt) driving the system Chromium (``$CHROMIUM``, else
``/usr/bin/chromium``); no network, the decks are opened from ``file://``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from .deck import Deck
from .sizing import ASPECTS, Geometry

__all__ = ["chromium", "print_pdfs"]


def chromium() -> str:
    """The Chromium executable, or FileNotFoundError saying how to get one."""
    candidate = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
    found = shutil.which(candidate) or (candidate if os.path.isfile(candidate) else None)
    if not found:
        raise FileNotFoundError(f"no Chromium at {candidate}: apt-get install chromium, or set CHROMIUM")
    return found


def print_pdfs(decks: list[Deck], aspect: str = "16:9", browser: Any = None) -> list[Path]:
    """Write ``NN_name.pdf`` beside each deck; returns the PDFs (one page per deck page).
    ``browser``: a Playwright Chromium to use (default: start the system Chromium)."""
    if browser is not None:
        return _print(browser, decks, ASPECTS[aspect])
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        started = pw.chromium.launch(
            executable_path=chromium(), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            return _print(started, decks, ASPECTS[aspect])
        finally:
            started.close()


def _print(browser: Any, decks: list[Deck], geometry: Geometry) -> list[Path]:
    pdfs = []
    page = browser.new_page()
    try:
        for deck in decks:
            page.goto(deck.path.as_uri() + "?print-pdf")
            # reveal.js lays the print pages out after "ready" and says so with "pdf-ready"
            page.wait_for_function("() => document.documentElement.dataset.pdfReady === 'yes'")
            page.evaluate("document.fonts.ready")
            page.wait_for_function(
                "() => document.querySelectorAll('.pdf-page').length === Reveal.getTotalSlides()"
            )
            target = deck.path.with_name(f"{deck.name}.pdf")
            page.pdf(
                path=str(target),
                width=f"{geometry.width}px",
                height=f"{geometry.height}px",
                print_background=True,
                prefer_css_page_size=True,
            )
            pdfs.append(target)
    finally:
        page.close()
    return pdfs
