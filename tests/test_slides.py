"""The offline lecture decks (``python -m coursetools.slides``) and the slide-metadata tagger.

Decks are built from copies of the notebooks in a temporary directory; the tagger runs only on
copies. Nothing here needs Redis, a browser or the network (the browser side:
``tests/browser/test_decks.py``). Tests of what the notebooks must provide (every teaching slide
with notes, every deck within a lecture's length) are strict: a deck not yet curated fails them.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from coursetools.slides import MAX_MINUTES, MAX_PAGES, Deck, DeckTooLong, build_all, plan, tag_notebook
from coursetools.slides import mermaid as mermaid_svgs
from coursetools.slides.assets import FONT_FILES
from coursetools.slides.layout import layout, notes_minutes, segments
from coursetools.slides.readme import README_FOR, deck_table, table_in
from coursetools.slides.render import Renderer
from coursetools.slides.sizing import ASPECTS, MAX_WORDS
from coursetools.slides.structure import left_out, quiz_ids
from lessons.i18n import language, set_language
from lessons.quiz import question, verdict

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NOTEBOOKS_JA = sorted((REPO / "notebooks" / "ja").glob("[0-9][0-9]_*.ipynb"))
SLIDE_TYPES = {"slide", "subslide", "fragment", "-", "skip", "notes"}
# Attributes through which a page loads something (not <a href>: a link loads nothing until clicked).
LOADING = {
    ("script", "src"),
    ("link", "href"),
    ("img", "src"),
    ("iframe", "src"),
    ("source", "src"),
    ("audio", "src"),
    ("video", "src"),
    ("embed", "src"),
    ("object", "data"),
    ("image", "href"),
    ("image", "xlink:href"),
    ("use", "href"),
    ("use", "xlink:href"),
    ("input", "src"),
}
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")
Built = tuple[Path, list[Path], Path]  # (outdir, decks, copied notebooks dir): build_snapshot


class DeckParser(HTMLParser):
    """Collects what a deck page loads, its CSS text, and the HTML of each leaf <section>."""

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


def build_snapshot(
    tmp_path_factory: pytest.TempPathFactory, notebooks: list[Path], name: str, lang: str = "en"
) -> Built:
    """(outdir, decks, copied notebooks dir): decks built from a snapshot of ``notebooks``."""
    copies = tmp_path_factory.mktemp(f"notebooks_{name}")
    for nb in notebooks:
        shutil.copy2(nb, copies / nb.name)
    out = tmp_path_factory.mktemp(f"decks_{name}")
    built = build_all(copies, out, lang=lang, check_limits=False)
    return out, [d.path for d in built], copies


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The English decks, from a snapshot of notebooks/."""
    return build_snapshot(tmp_path_factory, NOTEBOOKS, "en")


def test_one_deck_per_notebook(built: Built) -> None:
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


def test_nothing_loaded_from_the_network(built: Built) -> None:
    out, decks, _ = built
    for deck in decks:
        remote = _remote_loads(out, deck)
        assert not remote, f"{deck.name} loads {remote}"


def test_every_asset_referenced_exists(built: Built) -> None:
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


def test_vendored_licence_is_shipped(built: Built) -> None:
    out, _, _ = built
    assert "MIT" in (out / "assets" / "reveal.js" / "LICENSE").read_text(encoding="utf-8")


def test_at_least_eight_slides_per_deck(built: Built) -> None:
    _, decks, _ = built
    for deck in decks:
        assert len(parse(deck).leaves) >= 8, deck.name


def test_quiz_questions_come_from_the_data_and_answers_on_the_next_page(built: Built) -> None:
    _, decks, copies = built
    for deck in decks:
        nb = nbformat.read(copies / deck.name.replace(".slides.html", ".ipynb"), as_version=4)
        ids = [i for cell in nb.cells if not left_out(cell) for i in quiz_ids(cell)]
        leaves = parse(deck).leaves
        for quiz_id in ids:
            q = question(quiz_id)
            asked = [n for n, s in enumerate(leaves) if f'class="quiz" data-quiz="{quiz_id}"' in s]
            answered = [n for n, s in enumerate(leaves) if f'class="quiz-answer" data-quiz="{quiz_id}"' in s]
            assert len(asked) == 1 and len(answered) == 1, (deck.name, quiz_id, asked, answered)
            assert answered[0] == asked[0] + 1, f"{deck.name}: the answer to {quiz_id} is not the next page"
            slide = leaves[asked[0]]
            for choice in q.choices.values():
                assert choice.replace("'", "&#x27;") in slide or choice in slide
            right = verdict(quiz_id, q.answer).splitlines()[0]
            assert "quiz-answer" not in slide and right not in slide and q.explanation not in slide, (
                f"{deck.name}: the answer to {quiz_id} shows on the question's slide"
            )


def test_widgets_never_show_as_their_repr(built: Built) -> None:
    _, decks, _ = built
    for deck in decks:
        text = deck.read_text(encoding="utf-8")
        assert "VBox(" not in text and "application/vnd.jupyter.widget" not in text, deck.name


def test_every_mermaid_block_has_a_committed_svg() -> None:
    sources = [
        src
        for nb in NOTEBOOKS + NOTEBOOKS_JA
        for cell in nbformat.read(nb, as_version=4).cells
        if cell.cell_type == "markdown"
        for src in mermaid_svgs.blocks(cell.source)
    ]
    missing = [mermaid_svgs.diagram_key(s) for s in sources if not mermaid_svgs.svg_path(s).exists()]
    assert not missing, f"run python -m coursetools.slides.render_mermaid: missing {missing}"
    for src in sources:
        assert mermaid_svgs.load_svg(src).lstrip().startswith("<svg")


def test_mermaid_diagrams_are_inlined(built: Built) -> None:
    _, decks, copies = built
    for deck in decks:
        nb = (copies / deck.name.replace(".slides.html", ".ipynb")).read_text(encoding="utf-8")
        text = deck.read_text(encoding="utf-8")
        assert text.count('<div class="mermaid-diagram"><svg') == nb.count("```mermaid"), deck.name
        assert "```mermaid" not in text


def _deck_for(cells: list[nbformat.NotebookNode], tmp_path: Path, **options: Any) -> str:
    nb = new_notebook(
        cells=cells,
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    src = tmp_path / "nbs"
    src.mkdir(parents=True)
    nbformat.write(nb, src / "99_example.ipynb")
    (deck,) = build_all(src, tmp_path / "out", check_limits=False, **options)
    return deck.path.read_text(encoding="utf-8")


def _leaves(deck: str) -> list[str]:
    page = DeckParser()
    page.feed(deck)
    return page.leaves


HIDDEN = {"jupyter": {"source_hidden": True, "outputs_hidden": True}}


def _exercise_cells() -> list[nbformat.NotebookNode]:
    return [
        new_markdown_cell("# Title"),
        new_code_cell("SETUP_ONLY = 1", metadata={"tags": ["setup"]}),
        new_markdown_cell("## Your turn\n\nWrite it."),
        new_code_cell("def my_code(): ...", metadata={"tags": ["exercise"]}),
        new_code_cell("CHECK_CELL = check_it(my_code)", metadata={"tags": ["check"]}),
        new_markdown_cell("HINT_TEXT", metadata={**HIDDEN, "tags": ["hint-1"]}),
        new_code_cell("# solution\nANSWER_TEXT = 42", metadata={**HIDDEN, "tags": ["solution"]}),
        new_markdown_cell("## Afterwards\n\nAfter the solution"),
    ]


def test_solutions_and_hints_go_to_an_appendix_by_default(tmp_path: Path) -> None:
    leaves = _leaves(_deck_for(_exercise_cells(), tmp_path))
    (turn,) = [s for s in leaves if "page-exercise" in s]
    assert "<h2" in turn and "Your turn" in turn and "my_code" in turn and "ANSWER_TEXT" not in turn
    after = next(n for n, s in enumerate(leaves) if "After the solution" in s)
    (solution,) = [n for n, s in enumerate(leaves) if "ANSWER_TEXT" in s]
    (hint,) = [n for n, s in enumerate(leaves) if "HINT_TEXT" in s]
    assert after < hint <= solution, "the appendix comes after the lecture"
    assert solution == hint == len(leaves) - 1, "hints and solution share the exercise's appendix page"
    assert "page-appendix" in leaves[solution] and "Appendix · Solution: Your turn" in leaves[solution]
    deck = "".join(leaves)
    assert "SETUP_ONLY" not in deck and "CHECK_CELL" not in deck


def test_solutions_inline_follow_the_exercise_and_omit_leaves_them_out(tmp_path: Path) -> None:
    inline = _leaves(_deck_for(_exercise_cells(), tmp_path / "inline", solutions="inline"))
    turn = next(n for n, s in enumerate(inline) if "my_code" in s)
    assert "HINT_TEXT" in inline[turn + 1] and "page-solution" in inline[turn + 1]
    assert any("ANSWER_TEXT" in s for s in inline[turn + 1 : turn + 3])
    assert "After the solution" in inline[-1] and "Appendix" not in "".join(inline)
    omitted = "".join(_leaves(_deck_for(_exercise_cells(), tmp_path / "omit", solutions="omit")))
    assert "ANSWER_TEXT" not in omitted and "HINT_TEXT" not in omitted and "my_code" in omitted
    with pytest.raises(ValueError, match="solutions must be one of"):
        _deck_for(_exercise_cells(), tmp_path / "bad", solutions="sometimes")


def _notes_of(leaf: str) -> str:
    found = re.search(r'<aside class="notes">(.*?)</aside>', leaf, re.DOTALL)
    return found.group(1) if found else ""


def test_notes_cells_become_the_notes_of_the_pages_before_them(tmp_path: Path) -> None:
    def notes(body: str) -> nbformat.NotebookNode:
        cell: nbformat.NotebookNode = new_markdown_cell(
            f"**Speaker notes**\n\n{body}", metadata={"tags": ["notes"], "jupyter": {"source_hidden": True}}
        )
        return cell

    long_code = "\n".join(f"value_{n} = {n}" for n in range(40))  # two pages of code
    leaves = _leaves(
        _deck_for(
            [
                new_markdown_cell("# Title\n\nIntro."),
                notes("Say hello. ~1 min"),
                new_markdown_cell("## First"),
                new_code_cell(long_code),
                notes("Walk through it. ~3 min"),
                new_markdown_cell("## Second\n\nMore."),
                new_code_cell("x = 1", metadata={"tags": ["no-deck"]}),
                notes("NOTES_TWO"),
            ],
            tmp_path,
        )
    )
    assert "Say hello" not in leaves[0] + leaves[1], "title and agenda carry no notes"
    assert "Say hello" in _notes_of(leaves[2])
    first = [s for s in leaves if "value_" in s]
    assert len(first) >= 2 and all("Walk through it" in _notes_of(s) for s in first)
    assert all("Speaker notes" not in _notes_of(s) for s in leaves), "the notes heading is left out"
    assert "NOTES_TWO" in _notes_of(leaves[-1]) and "x = 1" not in leaves[-1]
    assert re.findall(r'data-minutes="([\d.]+)"', "".join(f"<x {s.split('>', 1)[0]}>" for s in leaves))
    assert notes_minutes("What to say. ~2 min") == 2 and notes_minutes("約3分") == 3
    assert notes_minutes("~1–2 min") == 2 and notes_minutes("no time given") is None


def test_every_heading_opens_a_page_and_pages_carry_only_their_own_heading(built: Built) -> None:
    _, decks, _ = built
    for deck in decks:
        for leaf in parse(deck).leaves:
            heading_attr = re.search(r'data-heading="([^"]*)"', leaf)
            assert heading_attr is not None, f"{deck.name}: a page without data-heading"
            heading = html.unescape(heading_attr.group(1))
            body = re.sub(r'<aside class="notes">.*?</aside>', "", leaf, flags=re.DOTALL)
            titles = re.findall(r"<h([123])\b", body)
            # a ### may share its own ##'s near-empty page
            allowed: tuple[list[str], ...] = ([], ["1"], ["2"], ["3"], ["2", "3"])
            assert titles in allowed, f"{deck.name}: headings {titles}: {heading}"
            first = re.search(r"<section[^>]*>\s*<(\w+)([^>]*)>(.*?)</\1>", body, re.DOTALL)
            assert first, f"{deck.name}: an empty page under {heading}"
            shown = " ".join(html.unescape(re.sub(r"<[^>]+>", "", first.group(3))).split())
            if first.group(1) in ("h1", "h2", "h3"):
                assert shown == heading, (deck.name, shown, heading)
            else:
                assert 'class="page-header"' in first.group(2), f"{deck.name}: no heading on {heading}"
                assert heading in shown, (deck.name, shown, heading)


def test_decks_are_linear_with_a_title_an_agenda_and_slide_numbers(built: Built) -> None:
    _, decks, copies = built
    for deck in decks:
        text = deck.read_text(encoding="utf-8")
        options = re.search(r"Object\.assign\((\{.*?\}), \{plugins", text)
        assert options is not None, f"{deck.name}: no Reveal configuration"
        config = json.loads(options.group(1))
        assert config["navigationMode"] == "linear" and config["slideNumber"] == "c/t"
        assert config["pdfSeparateFragments"] is False
        leaves = parse(deck).leaves
        assert 'class="stack"' not in text and len(leaves) == text.count("<section ")
        assert "page-title" in leaves[0] and "page-agenda" in leaves[1]
        nb = nbformat.read(copies / deck.name.replace(".slides.html", ".ipynb"), as_version=4)
        sections = [
            line[3:]
            for c in nb.cells
            if c.cell_type == "markdown"
            and "no-deck" not in c.metadata.get("tags", [])
            and "notes" not in c.metadata.get("tags", [])
            for line in c.source.splitlines()
            if line.startswith("## ")
        ]
        agenda = re.findall(r"<li>(.*?)</li>", leaves[1])
        assert len(agenda) == len(sections) >= 3, deck.name


def test_pages_hold_at_most_90_words_of_prose_and_answer_in_code_pages_are_gone(built: Built) -> None:
    _, decks, copies = built
    for deck in decks:
        nb = nbformat.read(copies / deck.name.replace(".slides.html", ".ipynb"), as_version=4)
        _, pages, _ = layout(nb.cells, Renderer(ASPECTS["16:9"]))
        wordy = [(p.heading, p.words) for p in pages if p.words > MAX_WORDS]
        assert not wordy, f"{deck.name}: {wordy}"
        assert "Answer in code" not in deck.read_text(encoding="utf-8")


def test_a_deck_has_a_title_page_even_when_its_title_cell_is_left_out(tmp_path: Path) -> None:
    title = new_markdown_cell("# The Title\n\nLong intro.", metadata={"tags": ["no-deck"]})
    leaves = _leaves(_deck_for([title, new_markdown_cell("## A\n\nText.")], tmp_path))
    assert "page-title" in leaves[0] and "The Title" in leaves[0] and "page-agenda" in leaves[1]
    assert "Long intro" not in "".join(leaves) and "<li>A</li>" in leaves[1]


def test_long_lists_step_in_as_fragments(tmp_path: Path) -> None:
    source = "# T\n\n## S\n\n- one\n- two\n- three\n\nThen:\n\n- a\n- b"
    deck = _deck_for([new_markdown_cell(source)], tmp_path)
    assert deck.count('<li class="fragment">') == 3, "three items step in; a two-item list does not"


def test_segments_cut_markdown_before_each_heading_but_not_inside_code() -> None:
    source = '<a id="x"></a>\n## A\ntext\n```python\n# not a heading\n```\n### B\nmore'
    assert [(level, head) for level, head, _ in segments(source)] == [(2, "A"), (3, "B")]
    assert segments(source)[0][2].startswith('<a id="x"></a>')


def test_a_deck_over_the_limits_fails_with_its_name(tmp_path: Path) -> None:
    cells = [new_markdown_cell("# Long")] + [new_markdown_cell(f"## Part {n}\n\nText.") for n in range(50)]
    with pytest.raises(DeckTooLong, match=r"99_example: 52 pages \(at most 45\)"):
        _deck_for_limits(cells, tmp_path)


def _deck_for_limits(cells: list[nbformat.NotebookNode], tmp_path: Path) -> None:
    src = tmp_path / "nbs"
    src.mkdir()
    nbformat.write(new_notebook(cells=cells), src / "99_example.ipynb")
    build_all(src, tmp_path / "out")


def test_fonts_ship_with_their_licences(built: Built) -> None:
    out, _, _ = built
    fonts = out / "assets" / "fonts"
    assert sorted(p.name for p in fonts.iterdir()) == sorted(FONT_FILES)
    assert "IPA" in (fonts / "IPA_Font_License_Agreement_v1.0.txt").read_text(encoding="utf-8")
    assert "Bitstream" in (fonts / "LICENSE_DEJAVU").read_text(encoding="utf-8")
    css = (out / "assets" / "course.css").read_text(encoding="utf-8")
    assert 'url("fonts/ipaexg.ttf")' in css and 'url("fonts/DejaVuSansMono.ttf")' in css


def test_a_4_to_3_build_uses_a_4_to_3_slide(tmp_path: Path) -> None:
    src = tmp_path / "nbs"
    src.mkdir()
    shutil.copy2(NOTEBOOKS[1], src / NOTEBOOKS[1].name)
    (deck,) = build_all(src, tmp_path / "out", aspect="4:3", check_limits=False)
    options = re.search(r"Object\.assign\((\{.*?\}), \{plugins", deck.path.read_text(encoding="utf-8"))
    assert options is not None, "no Reveal configuration"
    config = json.loads(options.group(1))
    assert (config["width"], config["height"]) == (1152, 864)
    with pytest.raises(ValueError, match="aspect must be one of"):
        build_all(src, tmp_path / "bad", aspect="21:9")


# ---- what the notebooks must provide (strict: a deck not yet curated fails here) ----
@pytest.fixture(scope="module")
def numbers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Deck]:
    """The English decks' numbers (pages, minutes, notes), from a snapshot build."""
    copies = tmp_path_factory.mktemp("numbers_nbs")
    for nb in NOTEBOOKS:
        shutil.copy2(nb, copies / nb.name)
    return {d.name: d for d in build_all(copies, tmp_path_factory.mktemp("numbers"), check_limits=False)}


@pytest.mark.parametrize("name", [nb.stem for nb in NOTEBOOKS])
def test_every_teaching_slide_has_speaker_notes(numbers: dict[str, Deck], name: str) -> None:
    deck = numbers[name]
    assert deck.teaching >= 10, f"{name}: only {deck.teaching} teaching slides"
    missing = [line for line in deck.outline if "NO NOTES" in line]
    assert deck.noted == deck.teaching, (
        f"{name}: {deck.noted}/{deck.teaching} teaching slides with notes; the first without:\n"
        + "\n".join(missing[:5])
    )


@pytest.mark.parametrize("name", [nb.stem for nb in NOTEBOOKS])
def test_every_deck_fits_a_lecture(numbers: dict[str, Deck], name: str) -> None:
    deck = numbers[name]
    assert deck.pages <= MAX_PAGES and deck.minutes <= MAX_MINUTES, f"{name}: {deck.over_limits()}"


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_the_readme_deck_table_is_the_builds(tmp_path: Path, lang: str) -> None:
    notebooks = REPO / "notebooks" if lang == "en" else REPO / "notebooks" / "ja"
    table = deck_table(build_all(notebooks, tmp_path, lang=lang, check_limits=False), lang)
    assert table_in(REPO / README_FOR[lang]) == table, (
        f"{README_FOR[lang]}'s deck table is stale: run python -m coursetools.slides --update-readme"
    )


# ---- the Japanese edition: python -m coursetools.slides --lang ja OUTDIR ----

JA_LABELS = ("解答例", "答え", "（続き）", "クイズ", "答え：", "アジェンダ", "付録")
EN_LABELS = ("Solution", "Answer in code", "(continued)", ">Quiz<", "Answer:", "Agenda", "Appendix")


@pytest.fixture(scope="module")
def built_ja(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The Japanese decks, from a snapshot of notebooks/ja/."""
    return build_snapshot(tmp_path_factory, NOTEBOOKS_JA, "ja", lang="ja")


def test_japanese_build_writes_every_deck_with_html_lang_ja(built_ja: Built) -> None:
    _, decks, _ = built_ja
    assert len(NOTEBOOKS_JA) == len(NOTEBOOKS), "notebooks/ja/ should hold every notebook"
    assert sorted(d.name for d in decks) == sorted(f"{nb.stem}.slides.html" for nb in NOTEBOOKS)
    for deck in decks:
        text = deck.read_text(encoding="utf-8")
        assert text.count("<html ") == 1 and '<html lang="ja">' in text, deck.name
        assert len(parse(deck).leaves) >= 8, deck.name


def test_japanese_decks_load_nothing_from_the_network_and_every_asset_exists(built_ja: Built) -> None:
    out, decks, _ = built_ja
    for deck in decks:
        remote = _remote_loads(out, deck)
        assert not remote, f"{deck.name} loads {remote}"
        local = [r for r in parse(deck).loads if not r.startswith(("data:", "#"))]
        missing = [r for r in local if not (out / r.split("#")[0]).is_file()]
        assert local and not missing, f"{deck.name} references missing files {missing}"


def test_japanese_decks_label_pages_in_japanese(built_ja: Built) -> None:
    _, decks, _ = built_ja
    text = "".join("".join(parse(d).leaves) for d in decks)  # character references decoded
    for label in JA_LABELS:
        assert label in text, f"no {label!r} in the Japanese decks"
    labels = re.findall(r'<span class="page-label">([^<]*)', text)
    assert "答え" in labels
    english = [label for label in EN_LABELS if label in text]
    assert not english, f"English builder labels in the Japanese decks: {english}"
    quiz = quiz_ids(
        next(c for nb in NOTEBOOKS_JA for c in nbformat.read(nb, as_version=4).cells if quiz_ids(c))
    )[0]
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
    before = [d.path for d in build_all(copies, tmp_path / "before", check_limits=False)]
    build_all(REPO / "notebooks" / "ja", tmp_path / "ja", lang="ja", check_limits=False)
    assert language() == "en", "the Japanese build did not put the language back"
    after = [d.path for d in build_all(copies, tmp_path / "after", check_limits=False)]
    for one, two in zip(before, after, strict=True):
        text = one.read_text(encoding="utf-8")
        assert text == two.read_text(encoding="utf-8"), one.name
        assert '<html lang="en">' in text, one.name
        assert not any(label in text for label in ("解答例", "（続き）", "クイズ")), one.name


def test_text_outputs_figures_and_tables_are_shown(built: Built) -> None:
    _, decks, _ = built
    text = "".join(d.read_text(encoding="utf-8") for d in decks)
    assert '<img class="figure"' in text and "data:image/png;base64," in text
    assert "<table>" in text and 'class="highlight"' in text and 'class="output stdout"' in text


# -- the tagger ---------------------------------------------------------------------------------
Tagged = list[tuple[Path, str]]  # (tagged copy, its original text): the tagged fixture


def _without_slideshow(nb: dict[str, Any]) -> dict[str, Any]:
    nb = json.loads(json.dumps(nb))
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("slideshow", None)
    return nb


@pytest.fixture
def tagged(tmp_path: Path) -> Tagged:
    """Copies of the notebooks, tagged once; with each original text."""
    out: Tagged = []
    for nb in NOTEBOOKS:
        copy = tmp_path / nb.name
        shutil.copy2(nb, copy)
        original = copy.read_text(encoding="utf-8")
        tag_notebook(copy)
        out.append((copy, original))
    return out


def test_tagger_sets_a_slide_type_on_every_cell_and_changes_nothing_else(tagged: Tagged) -> None:
    for copy, original in tagged:
        after = json.loads(copy.read_text(encoding="utf-8"))
        assert all(c["metadata"]["slideshow"]["slide_type"] in SLIDE_TYPES for c in after["cells"])
        assert _without_slideshow(after) == _without_slideshow(json.loads(original)), copy.name
        headings = [
            (c, c["metadata"]["slideshow"]["slide_type"])
            for c in after["cells"]
            if c["cell_type"] == "markdown"
            and "".join(c["source"]).startswith(("## ", "### "))
            and not {"no-deck", "notes"} & set(c["metadata"].get("tags", []))
        ]
        for cell, kind in headings:
            expected = "slide" if "".join(cell["source"]).startswith("## ") else "subslide"
            assert kind == expected, "".join(cell["source"])[:60]


def test_tagger_is_idempotent(tagged: Tagged) -> None:
    for copy, _ in tagged:
        once = copy.read_bytes()
        assert tag_notebook(copy) is False
        assert copy.read_bytes() == once


def test_tagger_rules() -> None:
    hidden = {"jupyter": {"source_hidden": True}}
    cells = [
        new_markdown_cell("# Title"),
        new_code_cell("x = 1", metadata={"tags": ["setup"]}),
        new_markdown_cell('<a id="s"></a>\n## Section'),
        new_markdown_cell("### Sub"),
        new_code_cell("ask('ttl-reset')"),
        new_markdown_cell("Or in code:"),
        new_code_cell("check('ttl-reset', 'B')"),
        new_code_cell("# solution", metadata=hidden),
        new_code_cell("# more", metadata=hidden),
        new_markdown_cell("next"),
        new_code_cell("", metadata={"tags": ["cleanup"]}),
    ]
    assert plan(cells) == [
        "slide",
        "skip",
        "slide",
        "subslide",
        "-",
        "subslide",
        "fragment",
        "subslide",
        "-",
        "subslide",
        "skip",
    ]
    noted = [
        new_markdown_cell("# T"),
        new_markdown_cell("**Speaker notes**", metadata={"tags": ["notes"]}),
        new_code_cell("x = 1", metadata={"tags": ["no-deck"]}),
        new_markdown_cell("text"),
    ]
    assert plan(noted) == ["slide", "notes", "skip", "-"]


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
