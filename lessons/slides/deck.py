"""Lay a notebook's cells out as reveal.js pages and write the deck.

Slide types come from ``metadata.slideshow.slide_type`` (the tagger's rules fill in cells that
have none). On top of them the layout always holds: a collapsed cell goes on a page titled
"Solution" ("Answer in code" for a quiz's ``check``), a quiz's answer on a page titled "Answer"
after its question, and a page that would overflow the 1280x720 slide continues on a new
vertical page headed "<section> (continued)". These labels go through ``lessons.i18n._()``:
``build_all(..., lang="ja")`` writes them in Japanese, with ``<html lang="ja">``.
"""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import nbformat

from lessons.i18n import _, language, set_language

from . import sizing
from .render import FORMATTER, Piece, cell_pieces, markdown_html, quiz_answer_piece
from .structure import (
    Cell,
    checks_quiz,
    heading_level,
    heading_text,
    is_hidden,
    quiz_ids,
    tags,
)
from .tagger import plan

__all__ = ["Page", "build_all", "build_deck", "copy_assets", "layout"]

HERE = Path(__file__).parent
VENDOR = HERE / "vendor"
STATIC = HERE / "static"
_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=False,
                          trim_blocks=True, lstrip_blocks=True)


@dataclass
class Page:
    """One reveal.js section: an optional header, HTML blocks and speaker notes."""

    kind: str = "page"          # page | cont | solution | answer
    header: str = ""
    blocks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    height: float = 0.0

    def add(self, piece: Piece, fragment: int | None = None) -> None:
        body = piece.html
        if fragment is not None:
            body = f'<div class="fragment" data-fragment-index="{fragment}">{body}</div>'
        self.blocks.append(body)
        self.height += piece.height + (sizing.BLOCK_GAP if len(self.blocks) > 1 else 0)


def _inline(text: str) -> str:
    """A heading's text as inline HTML (code spans, emphasis), without the heading element."""
    return re.sub(r"^<h4[^>]*>|</h4>$", "", markdown_html("#### " + text).strip())


def slide_types(cells: Sequence[Cell]) -> list[str]:
    """Each cell's ``slideshow.slide_type``, or the tagger's rule where a cell has none."""
    planned = plan(cells)
    given = [c.get("metadata", {}).get("slideshow", {}).get("slide_type") for c in cells]
    return [g or p for g, p in zip(given, planned, strict=True)]


class _Layout:
    def __init__(self) -> None:
        self.slides: list[list[Page]] = []
        self.section = ""
        self.fragments = 0

    @property
    def page(self) -> Page:
        return self.slides[-1][-1]

    def open(self, horizontal: bool, kind: str = "page", header: str = "") -> Page:
        page = Page(kind=kind)
        if header:
            page.header = header
            page.height = sizing.CONT_HEADER
        if horizontal or not self.slides:
            self.slides.append([page])
        else:
            self.slides[-1].append(page)
        self.fragments = 0
        return page

    def continued(self, label: str = "") -> str:
        title = label or (_("{section} (continued)", section=self.section) if self.section else "")
        return _inline(title) if title else ""

    def place(self, pieces: list[Piece], fragment: bool) -> None:
        index = self.fragments if fragment else None
        for piece in pieces:
            if self.page.blocks and self.page.height + sizing.BLOCK_GAP + piece.height > sizing.BUDGET:
                label = _("Solution (continued)") if self.page.kind == "solution" else ""
                kind = "solution" if self.page.kind == "solution" else "cont"
                self.open(False, kind, self.continued(label))
                index = 0 if fragment else None
            self.page.add(piece, index)
        if fragment:
            self.fragments += 1


def layout(cells: Sequence[Cell]) -> list[list[Page]]:
    """The deck's slides (horizontal), each a list of pages (vertical)."""
    out = _Layout()
    previous = ""  # "quiz" or "hidden" when the last shown cell was one
    for cell, kind in zip(cells, slide_types(cells), strict=True):
        if kind == "skip":
            continue
        if kind == "notes":
            if out.slides:
                out.page.notes.append("".join(p.html for p in cell_pieces(cell)))
            continue
        level, hidden = heading_level(cell), is_hidden(cell)
        if level in (1, 2, 3):
            out.section = heading_text(cell)
        if hidden and previous != "hidden":
            answer = checks_quiz(cell) or "quiz-answer" in tags(cell)
            out.open(kind == "slide", "solution", _inline(_("Answer in code") if answer else _("Solution")))
        elif kind in ("slide", "subslide") or not out.slides:
            out.open(kind == "slide", "page" if level else "cont", "" if level else out.continued())
        elif previous and not hidden:
            out.open(False, "cont", out.continued())
        out.place(cell_pieces(cell), kind == "fragment" and bool(out.page.blocks))
        ids = quiz_ids(cell)
        if ids:
            out.open(False, "answer", _inline(_("Answer")))
            out.place([quiz_answer_piece(i) for i in ids], False)
        previous = "quiz" if ids else "hidden" if hidden else ""
    return out.slides


def copy_assets(outdir: Path) -> None:
    """Copy the vendored reveal.js files, the course theme and the Pygments CSS to ``outdir/assets``."""
    assets = outdir / "assets"
    shutil.copytree(VENDOR, assets, dirs_exist_ok=True)
    shutil.copy2(STATIC / "course.css", assets / "course.css")
    (assets / "pygments.css").write_text(FORMATTER.get_style_defs(".highlight") + "\n", encoding="utf-8")


def build_deck(notebook: Path, outdir: Path) -> Path:
    """Write ``outdir/<name>.slides.html`` for one notebook (assets are copied by ``build_all``),
    its labels and ``<html lang>`` in the current language (``lessons.i18n.language()``)."""
    nb = nbformat.read(notebook, as_version=4)
    slides = layout(nb.cells)
    title = next((heading_text(c) for c in nb.cells if heading_level(c) == 1), notebook.stem)
    page = _ENV.get_template("deck.html.j2").render(
        title=html.escape(re.sub(r"[`*]", "", title)), slides=slides, config=_reveal_config(),
        lang=language())
    target = outdir / f"{notebook.stem}.slides.html"
    target.write_text(page, encoding="utf-8")
    return target


def _reveal_config() -> dict[str, object]:
    return {"width": sizing.SLIDE_W, "height": sizing.SLIDE_H, "margin": 0.04, "center": False,
            "hash": True, "slideNumber": "c/t", "transition": "none", "backgroundTransition": "none",
            "controlsTutorial": False, "pdfMaxPagesPerSlide": 1}


def build_all(notebooks: Path, outdir: Path, lang: str = "en") -> list[Path]:
    """One deck per ``NN_*.ipynb`` in ``notebooks``, plus the shared assets; returns the decks.

    The decks speak ``lang`` (``"en"`` or ``"ja"``): the language is switched for the build and
    put back afterwards, even if a deck fails."""
    outdir.mkdir(parents=True, exist_ok=True)
    copy_assets(outdir)
    previous = language()
    set_language(lang)
    try:
        return [build_deck(nb, outdir) for nb in sorted(notebooks.glob("[0-9][0-9]_*.ipynb"))]
    finally:
        set_language(previous)
