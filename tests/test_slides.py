"""The offline slide decks (``python -m lessons.slides``) and the slide-metadata tagger.

Decks are built from copies of the notebooks in a temporary directory; the tagger runs only on
copies. Nothing here needs Redis, a browser or the network.
"""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, cast

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from pytest import TempPathFactory

from lessons.i18n import language, set_language
from lessons.quiz import question, verdict
from lessons.slides import build_all, plan, tag_notebook
from lessons.slides import mermaid as mermaid_svgs
from lessons.slides.structure import quiz_ids

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NOTEBOOKS_JA = sorted((REPO / "notebooks" / "ja").glob("[0-9][0-9]_*.ipynb"))
SLIDE_TYPES = {"slide", "subslide", "fragment", "-", "skip", "notes"}
# Attributes through which a page loads something (not <a href>: a link loads nothing until clicked).
LOADING = {("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src"), ("source", "src"),
           ("audio", "src"), ("video", "src"), ("embed", "src"), ("object", "data"), ("image", "href"),
           ("image", "xlink:href"), ("use", "href"), ("use", "xlink:href"), ("input", "src")}
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")


class DeckParser(HTMLParser):
    """Collects what a deck page loads, its CSS text, and the text of each leaf <section>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.loads: list[str] = []
        self.css: list[str] = []
        self.leaves: list[str] = []
        self._stack: list[dict[str, Any]] = []  # open sections: {"html": [...], "nested": bool}
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if (tag, name) in LOADING and value:
                self.loads.append(value)
            if name == "style" and value:
                self.css.append(value)
        self._in_style = tag == "style"
        if tag == "section":
            if self._stack:
                self._stack[-1]["nested"] = True
            self._stack.append({"html": [], "nested": False})
        for frame in self._stack:
            frame["html"].append(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False
        if tag == "section" and self._stack:
            frame = self._stack.pop()
            if not frame["nested"]:
                self.leaves.append("".join(frame["html"]))
        for frame in self._stack:
            frame["html"].append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.css.append(data)
        for frame in self._stack:
            frame["html"].append(data)


def parse(deck: Path) -> DeckParser:
    parser = DeckParser()
    parser.feed(deck.read_text(encoding="utf-8"))
    return parser


def build_snapshot(tmp_path_factory: TempPathFactory, notebooks: list[Path], name: str,
                   lang: str = "en") -> tuple[Path, list[Path], Path]:
    """(outdir, decks, copied notebooks dir): decks built from a snapshot of ``notebooks``."""
    copies = tmp_path_factory.mktemp(f"notebooks_{name}")
    for nb in notebooks:
        shutil.copy2(nb, copies / nb.name)
    out = tmp_path_factory.mktemp(f"decks_{name}")
    return out, build_all(copies, out, lang=lang), copies


@pytest.fixture(scope="module")
def built(tmp_path_factory: TempPathFactory) -> tuple[Path, list[Path], Path]:
    """The English decks, from a snapshot of notebooks/."""
    return build_snapshot(tmp_path_factory, NOTEBOOKS, "en")


def test_one_deck_per_notebook(built: tuple[Path, list[Path], Path]) -> None:
    out, decks, copies = built
    assert NOTEBOOKS, "no notebooks found"
    assert sorted(d.name for d in decks) == sorted(f"{nb.stem}.slides.html" for nb in copies.glob("*.ipynb"))
    assert all(d.parent == out and d.stat().st_size > 0 for d in decks)


def _css_files(out: Path, page: DeckParser) -> list[Path]:
    return [out / ref for ref in page.loads if ref.endswith(".css")]


def _remote_loads(out: Path, deck: Path) -> list[str]:
    """Every http(s):// or //host resource the deck, or a stylesheet it loads, would fetch."""
    page = parse(deck)
    css = page.css + [p.read_text(encoding="utf-8") for p in _css_files(out, page) if p.exists()]
    refs = page.loads + [a or b for text in css for a, b in CSS_URL.findall(text)]
    return [r for r in refs if re.match(r"(?i)^\s*(https?:)?//", r)]


def test_nothing_loaded_from_the_network(built: tuple[Path, list[Path], Path]) -> None:
    out, decks, _ = built
    for deck in decks:
        remote = _remote_loads(out, deck)
        assert not remote, f"{deck.name} loads {remote}"


def test_every_asset_referenced_exists(built: tuple[Path, list[Path], Path]) -> None:
    out, decks, _ = built
    for deck in decks:
        page = parse(deck)
        local = [r for r in page.loads if not r.startswith(("data:", "#"))]
        assert local, f"{deck.name} references no assets at all"
        missing = [r for r in local if not (out / r.split("#")[0]).is_file()]
        assert not missing, f"{deck.name} references missing files {missing}"
        for css in _css_files(out, page):
            for a, b in CSS_URL.findall(css.read_text(encoding="utf-8")):
                ref = a or b
                if not ref.startswith(("data:", "#")):
                    assert (css.parent / ref).is_file(), f"{css.name} references missing {ref}"


def test_vendored_licence_is_shipped(built: tuple[Path, list[Path], Path]) -> None:
    out, _, _ = built
    assert "MIT" in (out / "assets" / "reveal.js" / "LICENSE").read_text(encoding="utf-8")


def test_at_least_eight_slides_per_deck(built: tuple[Path, list[Path], Path]) -> None:
    _, decks, _ = built
    for deck in decks:
        assert len(parse(deck).leaves) >= 8, deck.name


def test_quiz_questions_come_from_the_data_and_answers_on_a_later_slide(
        built: tuple[Path, list[Path], Path]) -> None:
    _, decks, copies = built
    for deck in decks:
        nb = nbformat.read(copies / deck.name.replace(".slides.html", ".ipynb"), as_version=4)
        ids = [i for cell in nb.cells for i in quiz_ids(cell)]
        leaves = parse(deck).leaves
        for quiz_id in ids:
            q = question(quiz_id)
            asked = [n for n, s in enumerate(leaves) if f'class="quiz" data-quiz="{quiz_id}"' in s]
            answered = [n for n, s in enumerate(leaves) if f'class="quiz-answer" data-quiz="{quiz_id}"' in s]
            assert len(asked) == 1 and len(answered) == 1, (deck.name, quiz_id, asked, answered)
            assert answered[0] > asked[0], f"{deck.name}: answer to {quiz_id} comes before its question"
            slide = leaves[asked[0]]
            for choice in q.choices.values():
                assert choice.replace("'", "&#x27;") in slide or choice in slide
            right = verdict(quiz_id, q.answer).splitlines()[0]
            assert "quiz-answer" not in slide and right not in slide and q.explanation not in slide, (
                f"{deck.name}: the answer to {quiz_id} shows on the question's slide")


def test_widgets_never_show_as_their_repr(built: tuple[Path, list[Path], Path]) -> None:
    _, decks, _ = built
    for deck in decks:
        text = deck.read_text(encoding="utf-8")
        assert "VBox(" not in text and "application/vnd.jupyter.widget" not in text, deck.name


def test_every_mermaid_block_has_a_committed_svg() -> None:
    sources = [src for nb in NOTEBOOKS + NOTEBOOKS_JA for cell in nbformat.read(nb, as_version=4).cells
               if cell.cell_type == "markdown" for src in mermaid_svgs.blocks(cell.source)]
    missing = [mermaid_svgs.diagram_key(s) for s in sources if not mermaid_svgs.svg_path(s).exists()]
    assert not missing, f"run python -m lessons.slides.render_mermaid: missing {missing}"
    for src in sources:
        assert mermaid_svgs.load_svg(src).lstrip().startswith("<svg")


def test_mermaid_diagrams_are_inlined(built: tuple[Path, list[Path], Path]) -> None:
    _, decks, copies = built
    for deck in decks:
        nb = (copies / deck.name.replace(".slides.html", ".ipynb")).read_text(encoding="utf-8")
        text = deck.read_text(encoding="utf-8")
        assert text.count('<div class="mermaid-diagram"><svg') == nb.count("```mermaid"), deck.name
        assert "```mermaid" not in text


def _deck_for(cells: list[nbformat.NotebookNode], tmp_path: Path) -> str:
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}})
    src = tmp_path / "nbs"
    src.mkdir()
    nbformat.write(nb, src / "99_example.ipynb")
    (deck,) = build_all(src, tmp_path / "out")
    return deck.read_text(encoding="utf-8")


def test_hidden_cells_go_on_a_solution_page_and_skipped_cells_are_left_out(tmp_path: Path) -> None:
    hidden = new_code_cell("# solution\nANSWER_TEXT = 42",
                           metadata={"jupyter": {"source_hidden": True, "outputs_hidden": True}})
    setup = new_code_cell("SETUP_ONLY = 1", metadata={"tags": ["setup"]})
    deck = _deck_for([new_markdown_cell("# Title"), setup, new_markdown_cell("## Your turn"),
                      new_code_cell("def my_code(): ..."), hidden, new_markdown_cell("After the solution")],
                     tmp_path)
    page = DeckParser()
    page.feed(deck)
    turn = next(s for s in page.leaves if "<h2" in s and "Your turn" in s)
    assert "ANSWER_TEXT" not in turn
    (solution,) = [s for s in page.leaves if "ANSWER_TEXT" in s]
    assert "page-solution" in solution and "Solution" in solution and "After the solution" not in solution
    assert "SETUP_ONLY" not in deck


# ---- the Japanese edition: python -m lessons.slides --lang ja OUTDIR ----

JA_LABELS = ("解答例", "答え", "コードで解答", "（続き）", "クイズ", "答え：")
EN_LABELS = ("Solution", "Answer in code", "(continued)", ">Quiz<", "Answer:")


@pytest.fixture(scope="module")
def built_ja(tmp_path_factory: TempPathFactory) -> tuple[Path, list[Path], Path]:
    """The Japanese decks, from a snapshot of notebooks/ja/."""
    return build_snapshot(tmp_path_factory, NOTEBOOKS_JA, "ja", lang="ja")


def test_japanese_build_writes_every_deck_with_html_lang_ja(built_ja: tuple[Path, list[Path], Path]) -> None:
    _, decks, _ = built_ja
    assert len(NOTEBOOKS_JA) == len(NOTEBOOKS), "notebooks/ja/ should hold every notebook"
    assert sorted(d.name for d in decks) == sorted(f"{nb.stem}.slides.html" for nb in NOTEBOOKS)
    for deck in decks:
        text = deck.read_text(encoding="utf-8")
        assert text.count("<html ") == 1 and '<html lang="ja">' in text, deck.name
        assert len(parse(deck).leaves) >= 8, deck.name


def test_japanese_decks_load_nothing_from_the_network_and_every_asset_exists(
        built_ja: tuple[Path, list[Path], Path]) -> None:
    out, decks, _ = built_ja
    for deck in decks:
        remote = _remote_loads(out, deck)
        assert not remote, f"{deck.name} loads {remote}"
        local = [r for r in parse(deck).loads if not r.startswith(("data:", "#"))]
        missing = [r for r in local if not (out / r.split("#")[0]).is_file()]
        assert local and not missing, f"{deck.name} references missing files {missing}"


def test_japanese_decks_label_pages_in_japanese(built_ja: tuple[Path, list[Path], Path]) -> None:
    _, decks, _ = built_ja
    text = "".join("".join(parse(d).leaves) for d in decks)  # character references decoded
    for label in JA_LABELS:
        assert label in text, f"no {label!r} in the Japanese decks"
    headers = re.findall(r'<p class="page-header">([^<]*)', text)
    assert "解答例" in headers and "答え" in headers and "コードで解答" in headers
    english = [label for label in EN_LABELS if label in text]
    assert not english, f"English builder labels in the Japanese decks: {english}"
    quiz = quiz_ids(next(c for nb in NOTEBOOKS_JA for c in nbformat.read(nb, as_version=4).cells
                         if quiz_ids(c)))[0]
    previous = language()
    set_language("ja")
    try:
        ja_question = question(quiz).question
    finally:
        set_language(previous)
    assert ja_question != question(quiz).question and ja_question in text, "the quiz is not asked in Japanese"


def test_english_build_is_unchanged_by_a_japanese_build(tmp_path: Path) -> None:
    copies = tmp_path / "nbs"
    copies.mkdir()
    for nb in NOTEBOOKS:
        shutil.copy2(nb, copies / nb.name)
    before = build_all(copies, tmp_path / "before")
    build_all(REPO / "notebooks" / "ja", tmp_path / "ja", lang="ja")
    assert language() == "en", "the Japanese build did not put the language back"
    after = build_all(copies, tmp_path / "after")
    for one, two in zip(before, after, strict=True):
        text = one.read_text(encoding="utf-8")
        assert text == two.read_text(encoding="utf-8"), one.name
        assert '<html lang="en">' in text, one.name
        assert not any(label in text for label in ("解答例", "（続き）", "クイズ")), one.name


def test_text_outputs_figures_and_tables_are_shown(built: tuple[Path, list[Path], Path]) -> None:
    _, decks, _ = built
    text = "".join(d.read_text(encoding="utf-8") for d in decks)
    assert '<img class="figure"' in text and "data:image/png;base64," in text
    assert "<table>" in text and 'class="highlight"' in text and 'class="output stdout"' in text


# -- the tagger ---------------------------------------------------------------------------------
def _without_slideshow(nb: dict[str, Any]) -> dict[str, Any]:
    nb = cast("dict[str, Any]", json.loads(json.dumps(nb)))
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("slideshow", None)
    return nb


@pytest.fixture
def tagged(tmp_path: Path) -> list[tuple[Path, str]]:
    """Copies of the notebooks, tagged once; with each original text."""
    out = []
    for nb in NOTEBOOKS:
        copy = tmp_path / nb.name
        shutil.copy2(nb, copy)
        original = copy.read_text(encoding="utf-8")
        tag_notebook(copy)
        out.append((copy, original))
    return out


def test_tagger_sets_a_slide_type_on_every_cell_and_changes_nothing_else(
        tagged: list[tuple[Path, str]]) -> None:
    for copy, original in tagged:
        after = json.loads(copy.read_text(encoding="utf-8"))
        assert all(c["metadata"]["slideshow"]["slide_type"] in SLIDE_TYPES for c in after["cells"])
        assert _without_slideshow(after) == _without_slideshow(json.loads(original)), copy.name
        headings = [(c, c["metadata"]["slideshow"]["slide_type"]) for c in after["cells"]
                    if c["cell_type"] == "markdown" and "".join(c["source"]).startswith(("## ", "### "))]
        for cell, kind in headings:
            expected = "slide" if "".join(cell["source"]).startswith("## ") else "subslide"
            assert kind == expected, "".join(cell["source"])[:60]


def test_tagger_is_idempotent(tagged: list[tuple[Path, str]]) -> None:
    for copy, _ in tagged:
        once = copy.read_bytes()
        assert tag_notebook(copy) is False
        assert copy.read_bytes() == once


def test_tagger_rules() -> None:
    hidden = {"jupyter": {"source_hidden": True}}
    cells = [new_markdown_cell("# Title"), new_code_cell("x = 1", metadata={"tags": ["setup"]}),
             new_markdown_cell('<a id="s"></a>\n## Section'), new_markdown_cell("### Sub"),
             new_code_cell("ask('ttl-reset')"), new_markdown_cell("Or in code:"),
             new_code_cell("check('ttl-reset', 'B')"),
             new_code_cell("# solution", metadata=hidden), new_code_cell("# more", metadata=hidden),
             new_markdown_cell("next"), new_code_cell("", metadata={"tags": ["cleanup"]})]
    assert plan(cells) == ["slide", "skip", "slide", "subslide", "-", "subslide", "fragment",
                           "subslide", "-", "subslide", "skip"]


def test_tagger_splits_a_section_too_tall_for_one_slide() -> None:
    code = "\n".join(f"line_{n} = {n}" for n in range(12))
    cells = [new_markdown_cell("## Long section")]
    for n in range(6):
        cells += [new_markdown_cell(f"Step {n}: what to look for."), new_code_cell(code)]
    types = plan(cells)
    assert types[0] == "slide" and types.count("subslide") >= 2
    for n, kind in enumerate(types):
        if kind == "subslide":  # each break falls before the sentence that introduces the code
            assert cells[n].cell_type == "markdown", n
