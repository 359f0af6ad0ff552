"""Every deck from ``python -m lessons.slides``, opened from file:// in Chromium with the network cut.

Any request that is not file: or data: is aborted and recorded. Each deck must load with no failed
and no non-local request, reveal.js must become ready with at least 8 slides, every mermaid
diagram must be an SVG that takes up space, and at a 1280x720 viewport no slide may need more
than half a screen of scrolling (1.5 x 720 px). The tallest slides are printed (``pytest -s``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pytest import TempPathFactory

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Route, ViewportSize

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
VIEWPORT: ViewportSize = {"width": 1280, "height": 720}
MAX_HEIGHT = 1.5 * 720

# Visit every slide; measure its content height (scrollHeight of the 720 px section) and the
# rendered size of each mermaid SVG on it.
MEASURE = """() => {
  const out = [];
  for (const slide of Reveal.getSlides()) {
    const {h, v} = Reveal.getIndices(slide);
    Reveal.slide(h, v || 0);
    const diagrams = Array.from(slide.querySelectorAll('.mermaid-diagram')).map(d => {
      const svg = d.querySelector(':scope > svg');
      if (!svg) return 0;
      const box = svg.getBoundingClientRect();
      return box.width * box.height;
    });
    const title = (slide.innerText || '').trim().split('\\n')[0].slice(0, 70);
    out.push({h, v: v || 0, height: slide.scrollHeight, diagrams, title});
  }
  Reveal.slide(0, 0);
  return out;
}"""


@pytest.fixture(scope="module")
def decks(tmp_path_factory: TempPathFactory) -> Path:
    """The decks, built from a snapshot of notebooks/ into a temporary directory."""
    from lessons.slides import build_all

    copies = tmp_path_factory.mktemp("deck-notebooks")
    for nb in NOTEBOOKS:
        shutil.copy2(nb, copies / nb.name)
    out = tmp_path_factory.mktemp("decks")
    build_all(copies, out)
    return out


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_deck_works_offline_from_file_url(browser: Browser, decks: Path, notebook: Path) -> None:
    deck = decks / f"{notebook.stem}.slides.html"
    assert deck.is_file(), f"no deck for {notebook.name}"
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(20_000)
    blocked: list[str] = []
    failed: list[str] = []
    errors: list[str] = []

    def route(r: Route) -> None:
        url = r.request.url
        if url.startswith(("file:", "data:")):
            r.continue_()
        else:
            blocked.append(url)
            r.abort()

    try:
        context.route("**/*", route)
        page = context.new_page()
        page.on("requestfailed", lambda req: failed.append(f"{req.url} ({req.failure})"))
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(deck.as_uri())
        page.wait_for_function("() => window.Reveal && Reveal.isReady()")
        total = page.evaluate("Reveal.getTotalSlides()")
        slides = page.evaluate(MEASURE)
    finally:
        context.close()

    assert not blocked, f"non-local requests: {blocked}"
    assert not failed, f"failed requests: {failed}"
    assert not errors, f"script errors: {errors}"
    assert total >= 8, f"only {total} slides"

    expected = notebook.read_text(encoding="utf-8").count("```mermaid")
    drawn = [area for s in slides for area in s["diagrams"]]
    assert len(drawn) == expected, f"{len(drawn)} diagrams in the deck, {expected} mermaid blocks"
    assert all(area > 10_000 for area in drawn), f"a mermaid diagram is not drawn: {drawn}"

    tallest = sorted(slides, key=lambda s: -s["height"])[:3]
    print(f"\n{notebook.stem}: {total} slides; tallest: "
          + "; ".join(f"{s['h']}/{s['v']} {s['height']}px {s['title']!r}" for s in tallest))
    too_tall = [s for s in slides if s["height"] > MAX_HEIGHT]
    assert not too_tall, f"slides taller than {MAX_HEIGHT:.0f}px: {too_tall}"
