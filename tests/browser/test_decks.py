"""Every deck from ``python -m coursetools.slides``, opened from file:// in Chromium, network cut.

Per deck (English and Japanese): it loads with no failed and no non-local request; the right-arrow
key alone visits every page in order; a quiz's answer is the page right after its question; every
page's heading is its own section's; at 1024x768 and at 1280x720 the smallest code or output text
is at least 20 px on screen (``font-size x Reveal.getScale()``) and no page overflows; every
teaching slide has speaker notes; a deck has at most 45 pages. With fontconfig pointed at no font
at all, Japanese decks render every character from the fonts they ship. ``S`` opens the speaker
view offline, and the PDF handout has one page per deck page. Decks are built from a snapshot of
the notebooks with the limits off, so that each test reports on its own point.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conftest import CHROMIUM_FLAGS, chromium_path

if TYPE_CHECKING:
    from lab_page import TabCache
    from playwright.sync_api import Browser, BrowserContext, Page, Route, ViewportSize

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NAMES = [nb.stem for nb in NOTEBOOKS]
SMALL: ViewportSize = {"width": 1024, "height": 768}
WIDE: ViewportSize = {"width": 1280, "height": 720}
MIN_SCREEN_PX = 20.0
TEACHING = ("page-page", "page-quiz", "page-answer", "page-exercise")

# Visit every page with Reveal.slide(i); measure what the tests assert on.
MEASURE = """() => {
  const scale = Reveal.getScale();
  const out = [];
  Reveal.getSlides().forEach((slide, i) => {
    Reveal.slide(i);
    const mono = Array.from(slide.querySelectorAll('.code pre, pre.output, .output.html'))
      .map(el => parseFloat(getComputedStyle(el).fontSize) * scale);
    const first = Array.from(slide.children).find(el => el.tagName !== 'ASIDE');
    const shown = first ? (first.querySelector('.page-heading') || first) : null;
    const notes = (Reveal.getSlideNotes(slide) || '').replace(/<[^>]+>/g, '').trim();
    out.push({
      index: i, heading: slide.dataset.heading, kind: slide.className,
      firstTag: first ? first.tagName : '', firstText: shown ? shown.innerText.trim() : '',
      headings: Array.from(slide.querySelectorAll('h1, h2, h3')).map(h => h.tagName).join(' '),
      minMono: mono.length ? Math.min(...mono) : null,
      overflow: Math.max(slide.scrollHeight - slide.clientHeight, slide.scrollWidth - slide.clientWidth),
      quiz: Array.from(slide.querySelectorAll('.quiz')).map(q => q.dataset.quiz),
      answer: Array.from(slide.querySelectorAll('.quiz-answer')).map(q => q.dataset.quiz),
      notes: notes.length,
      diagrams: Array.from(slide.querySelectorAll('.mermaid-diagram > svg')).map(svg => {
        const box = svg.getBoundingClientRect(); return box.width * box.height; }),
    });
  });
  Reveal.slide(0);
  return {scale, total: Reveal.getTotalSlides(), pages: out};
}"""

# Press the right arrow until the deck ends; record the page shown after each press.
WALK_LIMIT = 400


@pytest.fixture(scope="module")
def decks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The English and Japanese decks, and the English 4:3 ones, from snapshots of the notebooks."""
    from coursetools.slides import build_all

    out: dict[str, Path] = {}
    for key, lang, aspect, folder in (
        ("en", "en", "16:9", REPO / "notebooks"),
        ("ja", "ja", "16:9", REPO / "notebooks" / "ja"),
        ("en-4:3", "en", "4:3", REPO / "notebooks"),
    ):
        copies = tmp_path_factory.mktemp("deck-notebooks")
        for nb in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
            shutil.copy2(nb, copies / nb.name)
        target = tmp_path_factory.mktemp("decks")
        build_all(copies, target, lang=lang, aspect=aspect, check_limits=False)
        out[key] = target
    return out


def _open(
    browser: Browser, deck: Path, viewport: ViewportSize
) -> tuple[BrowserContext, Page, dict[str, list[str]]]:
    """A context and page showing ``deck``; every non-file request is aborted and recorded."""
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(30_000)
    seen: dict[str, list[str]] = {"blocked": [], "failed": [], "errors": []}

    def route(r: Route) -> None:
        if r.request.url.startswith(("file:", "data:")):
            r.continue_()
        else:
            seen["blocked"].append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("requestfailed", lambda req: seen["failed"].append(f"{req.url} ({req.failure})"))
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
    page.goto(deck.as_uri())
    page.wait_for_function("() => window.Reveal && Reveal.isReady()")
    return context, page, seen


_measured: dict[tuple[str, str, int], dict[str, Any]] = {}


def measured(
    browser: Browser, decks: dict[str, Path], lang: str, name: str, viewport: ViewportSize = SMALL
) -> dict[str, Any]:
    """What MEASURE and the right-arrow walk found in one deck at one viewport (cached)."""
    key = (lang, name, viewport["width"])
    if key not in _measured:
        context, page, seen = _open(browser, decks[lang] / f"{name}.slides.html", viewport)
        try:
            page.evaluate("document.fonts.ready")
            result = page.evaluate(MEASURE)
            walk = [page.evaluate("Reveal.getIndices().h")]
            page.locator("body").click(position={"x": 5, "y": 5})
            for _ in range(WALK_LIMIT):
                if page.evaluate("Reveal.isLastSlide() && !Reveal.availableFragments().next"):
                    break
                page.keyboard.press("ArrowRight")
                walk.append(page.evaluate("Reveal.getIndices().h"))
            result["walk"] = walk
            result.update(seen)
        finally:
            context.close()
        _measured[key] = result
    return _measured[key]


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("name", NAMES)
def test_deck_works_offline_from_file_url(
    browser: Browser, decks: dict[str, Path], lang: str, name: str
) -> None:
    found = measured(browser, decks, lang, name)
    assert not found["blocked"], f"non-local requests: {found['blocked']}"
    assert not found["failed"], f"failed requests: {found['failed']}"
    assert not found["errors"], f"script errors: {found['errors']}"
    notebook = REPO / "notebooks" / (f"{name}.ipynb" if lang == "en" else f"ja/{name}.ipynb")
    drawn = [area for p in found["pages"] for area in p["diagrams"]]
    assert len(drawn) <= notebook.read_text(encoding="utf-8").count("```mermaid")
    assert all(area > 10_000 for area in drawn), f"a mermaid diagram is not drawn: {drawn}"


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("name", NAMES)
def test_the_right_arrow_alone_visits_every_page_in_order(
    browser: Browser, decks: dict[str, Path], lang: str, name: str
) -> None:
    found = measured(browser, decks, lang, name)
    walk, total = found["walk"], found["total"]
    pages = [h for n, h in enumerate(walk) if n == 0 or h != walk[n - 1]]
    assert pages == list(range(total)), f"{name}: the right arrow showed pages {pages} of {total}"
    for page in found["pages"]:
        for quiz in page["quiz"]:
            after = found["pages"][page["index"] + 1]  # the next page the right arrow shows
            assert quiz in after["answer"], f"{name}: the answer to {quiz} is not the next page"


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("name", NAMES)
def test_every_page_carries_its_own_sections_heading(
    browser: Browser, decks: dict[str, Path], lang: str, name: str
) -> None:
    for page in measured(browser, decks, lang, name)["pages"]:
        # one heading at most; a ### may share its own ## section's near-empty page
        assert page["headings"] in ("", "H1", "H2", "H3", "H2 H3"), (
            f"{name} page {page['index'] + 1}: headings {page['headings']}"
        )
        assert page["firstText"].split("\n")[0].strip() == page["heading"] or (
            page["firstTag"] == "P" and page["heading"] in page["firstText"]
        ), f"{name} page {page['index'] + 1}: shows {page['firstText'][:80]!r} under {page['heading']!r}"


@pytest.mark.parametrize("viewport", [SMALL, WIDE], ids=["1024x768", "1280x720"])
@pytest.mark.parametrize("lang", ["en", "ja", "en-4:3"])
@pytest.mark.parametrize("name", NAMES)
def test_code_and_output_are_20px_on_screen_and_nothing_overflows(
    browser: Browser, decks: dict[str, Path], lang: str, name: str, viewport: ViewportSize
) -> None:
    found = measured(browser, decks, lang, name, viewport)
    sizes = [p["minMono"] for p in found["pages"] if p["minMono"] is not None]
    print(
        f"\n{lang} {name} at {viewport['width']}x{viewport['height']}: scale {found['scale']:.3f}, "
        f"smallest code/output {min(sizes):.1f} px, {found['total']} pages"
    )
    assert min(sizes) >= MIN_SCREEN_PX, f"{name}: code or output at {min(sizes):.1f} px on screen"
    over = [(p["index"] + 1, p["heading"], p["overflow"]) for p in found["pages"] if p["overflow"] > 1]
    assert not over, f"{name}: pages that overflow (page, heading, px): {over}"


@pytest.mark.parametrize("name", NAMES)
def test_every_teaching_slide_has_speaker_notes(browser: Browser, decks: dict[str, Path], name: str) -> None:
    pages = measured(browser, decks, "en", name)["pages"]
    teaching = [p for p in pages if any(k in p["kind"].split() for k in TEACHING)]
    without = [(p["index"] + 1, p["heading"]) for p in teaching if not p["notes"]]
    print(f"\n{name}: notes on {len(teaching) - len(without)} of {len(teaching)} teaching slides")
    assert teaching and not without, (
        f"{name}: {len(without)} of {len(teaching)} teaching slides without notes, e.g. {without[:5]}"
    )


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("name", NAMES)
def test_a_deck_has_at_most_45_pages(browser: Browser, decks: dict[str, Path], lang: str, name: str) -> None:
    total = measured(browser, decks, lang, name)["total"]
    assert total <= 45, f"{name} ({lang}): {total} pages"


def test_s_opens_the_speaker_view_offline(browser: Browser, decks: dict[str, Path]) -> None:
    context, page, seen = _open(browser, decks["en"] / f"{NAMES[1]}.slides.html", WIDE)
    try:
        index = page.evaluate("Reveal.getSlides().findIndex(s => s.querySelector('aside.notes'))")
        assert index >= 0, "no page with notes"
        page.evaluate(f"Reveal.slide({index})")
        expected = page.evaluate("Reveal.getSlideNotes().replace(/<[^>]+>/g, '').trim().slice(0, 30)")
        page.locator("body").click(position={"x": 5, "y": 5})
        with context.expect_page() as popup_info:
            page.keyboard.press("s")
        popup = popup_info.value
        popup.wait_for_function(
            "t => (document.querySelector('.speaker-controls-notes') || {}).innerText?.includes(t)",
            arg=expected.split("\n")[0][:20],
        )
    finally:
        context.close()
    assert not seen["blocked"], seen["blocked"]


def _cmap_union() -> set[int]:
    from fontTools.ttLib import TTFont

    from coursetools.slides.assets import font_sources

    found: set[int] = set()
    for name, path in font_sources().items():
        if name.endswith(".ttf"):
            found.update(TTFont(path, lazy=True).getBestCmap())
    return found


TEXT = """async () => {
  Reveal.getSlides().forEach((s, i) => Reveal.slide(i));
  await document.fonts.ready;
  const chars = new Set();
  const families = new Set();
  const walker = document.createTreeWalker(document.querySelector('.slides'), NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement.closest('aside, script, style') || !node.data.trim()) continue;
    for (const ch of node.data) chars.add(ch);
    families.add(getComputedStyle(node.parentElement).fontFamily.split(',')[0].trim());
  }
  const faces = [];
  document.fonts.forEach(f => faces.push([f.family, f.weight, f.status]));
  return {chars: Array.from(chars).join(''), families: Array.from(families), faces,
          jp: document.fonts.check('28px "Course JP"', 'セッション')};
}"""


def test_japanese_decks_render_every_character_with_no_japanese_system_font(
    browser: Browser, decks: dict[str, Path], tmp_path: Path
) -> None:
    """A second Chromium whose fontconfig sees one Latin-only font (DejaVu Serif, which the decks
    never name): every character must come from the fonts the decks ship. (With no system font
    at all, Chromium fails every @font-face load with a NetworkError, so one font has to stay.)"""
    import matplotlib
    from fontTools.ttLib import TTFont

    only = tmp_path / "system-fonts"
    only.mkdir()
    serif = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSerif.ttf"
    shutil.copy2(serif, only / serif.name)
    assert ord("あ") not in TTFont(serif, lazy=True).getBestCmap(), "the system font must lack Japanese"
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        f'<?xml version="1.0"?>\n<fontconfig><dir>{only}</dir><cachedir>{tmp_path}/cache'
        "</cachedir></fontconfig>\n",
        encoding="utf-8",
    )
    env = {**os.environ, "FONTCONFIG_FILE": str(conf)}
    if shutil.which("fc-list"):
        listed = subprocess.run(["fc-list"], env=env, capture_output=True, text=True, check=False).stdout
        assert listed.strip().splitlines() == [f"{only / serif.name}: DejaVu Serif:style=Book"], listed
    covered = _cmap_union()
    problems = []
    chromium = browser.browser_type.launch(
        executable_path=chromium_path(), args=CHROMIUM_FLAGS, headless=True, env={**env}
    )
    try:
        for name in NAMES:
            page = chromium.new_page(viewport=WIDE)
            page.goto((decks["ja"] / f"{name}.slides.html").as_uri())
            page.wait_for_function("() => window.Reveal && Reveal.isReady()")
            found = page.evaluate(TEXT)
            page.close()
            missing = sorted({ch for ch in found["chars"] if not ch.isspace() and ord(ch) not in covered})
            loaded = {f[0] for f in found["faces"] if f[2] == "loaded"}
            unloaded = [f for f in found["faces"] if f[2] == "error"] + sorted(
                {"Course Mono", "Course JP"} - loaded
            )  # Latin may all come from Course JP
            foreign = [f for f in found["families"] if "Course" not in f]
            if missing or unloaded or foreign or not found["jp"]:
                problems.append((name, "".join(missing), unloaded, foreign, found["jp"]))
    finally:
        chromium.close()
    assert not problems, f"(deck, characters no shipped font has, fonts that failed, other fonts): {problems}"


def test_the_pdf_handout_has_one_page_per_deck_page(browser: Browser, tmp_path: Path) -> None:
    import re

    from coursetools.slides import build_all
    from coursetools.slides.handouts import print_pdfs

    src = tmp_path / "nbs"
    src.mkdir()
    shutil.copy2(NOTEBOOKS[1], src / NOTEBOOKS[1].name)
    (deck,) = build_all(src, tmp_path / "out", check_limits=False)
    (pdf,) = print_pdfs([deck], browser=browser)
    assert pdf == deck.path.with_name(f"{deck.name}.pdf") and pdf.stat().st_size > 10_000
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf.read_bytes()))
    assert pages == deck.pages, f"{pages} PDF pages for {deck.pages} deck pages"


# -- presenting live in JupyterLab: the sizes the README quotes, measured ----------------------
LAB_SIZES = """() => {
  const px = sel => { const el = document.querySelector(sel);
                      return el ? parseFloat(getComputedStyle(el).fontSize) : null; };
  const shown = sel => { const el = document.querySelector(sel);
                         return !!el && el.offsetWidth > 0 && el.offsetHeight > 0; };
  return {code: px('.jp-Notebook .jp-InputArea-editor .cm-content'),
          prose: px('.jp-Notebook .jp-RenderedMarkdown p'),
          output: px('.jp-Notebook .jp-OutputArea-output pre'),
          leftBar: shown('#jp-left-stack') || shown('.jp-SideBar.jp-mod-left'),
          presentation: !!document.querySelector('.jp-mod-presentationMode')};
}"""


def test_presenting_live_in_jupyterlab_font_sizes(notebook_tabs: TabCache) -> None:
    """What README's "Presenting live in JupyterLab" says, measured in JupyterLab 4: the default
    sizes; after Settings → Theme → Increase Code / Content Font Size three times each; and that
    Presentation Mode (View → Appearance) leaves the side bar shown."""
    tab = notebook_tabs.get("01_session_store.ipynb")
    page = tab.page
    before = page.evaluate(LAB_SIZES)
    for key in ("code-font-size", "content-font-size1"):
        for _ in range(3):  # one click at a time, as a person does (each one saves a setting)
            page.evaluate("k => window.jupyterapp.commands.execute('apputils:incr-font-size', {key: k})", key)
            page.wait_for_timeout(600)
    larger = page.evaluate(LAB_SIZES)
    page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-presentation-mode')")
    page.wait_for_timeout(500)
    presenting = page.evaluate(LAB_SIZES)
    page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-presentation-mode')")
    for key in ("code-font-size", "content-font-size1"):
        for _ in range(3):
            page.evaluate("k => window.jupyterapp.commands.execute('apputils:decr-font-size', {key: k})", key)
            page.wait_for_timeout(600)
    print(f"\nJupyterLab font sizes (px): default {before}; +3 each {larger}; presentation {presenting}")
    assert before["code"] and larger["code"] > before["code"] and larger["prose"] > before["prose"]
    assert presenting["presentation"], "Presentation Mode did not switch on"
    assert presenting["leftBar"], "Presentation Mode now hides the side bar: update the README"
