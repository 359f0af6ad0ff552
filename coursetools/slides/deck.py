"""Write a notebook as an offline reveal.js lecture deck, and check it fits a lecture.

The contract between the notebooks and this builder:

- **Speaker notes**: a markdown cell tagged ``notes``, placed right after the cell(s) it speaks
  to; its text goes into the notes (``<aside class="notes">``, key ``S``) of every page opened
  since the previous notes cell, i.e. the slide(s) showing the cells before it. In JupyterLab it
  is collapsed (``metadata.jupyter.source_hidden: true``) and starts with ``**Speaker notes**``
  (Japanese: ``**講師メモ**``); that first line is left out of the deck. "~2 min" (or "約2分")
  in the notes is the presenting time of those pages. Every *teaching* page (prose, code, a
  quiz, its answer, an exercise; not the title, agenda or appendix) must have notes.
- **Left out of the deck**: cells tagged ``no-deck``, ``setup``, ``cleanup``; ``check`` and
  ``predict`` cells and a quiz's ``quiz-answer`` code (JupyterLab-only interaction: say it in the
  notes). An ``exercise`` stub is shown as an exercise page; ``solution``, ``hint-*`` and
  ``quiz-explanation`` cells (and any other collapsed cell) go to an appendix at the end, right
  after the exercise (``solutions="inline"``) or nowhere (``"omit"``).
- **Quizzes**: a ``quiz`` cell's question is shown from the quiz data, and its answer is always
  the next page.

Layout (``layout``): one linear sequence of pages (``navigationMode: 'linear'``), a title page,
an agenda from the ``##`` headings, a new page at every heading, slide numbers. Limits: at most
``MAX_PAGES`` pages and ``MAX_MINUTES`` estimated minutes per deck; ``build_all`` raises
``DeckTooLong`` naming each deck over a limit (after writing every deck, so all can be read).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
import nbformat

from lessons.i18n import language, set_language

from .assets import copy_assets
from .labels import label
from .layout import Page, layout, plain
from .render import Renderer
from .sizing import ASPECTS, MARGIN
from .structure import heading_level, heading_text

__all__ = ["MAX_MINUTES", "MAX_PAGES", "Deck", "DeckTooLong", "build_all", "build_deck"]

HERE = Path(__file__).parent
MAX_PAGES = 45
MAX_MINUTES = 45.0
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=False, trim_blocks=True, lstrip_blocks=True
)


class DeckTooLong(ValueError):
    """One or more decks have more pages or minutes than a lecture holds."""


@dataclass(frozen=True)
class Deck:
    """A written deck and its numbers."""

    path: Path
    pages: int
    minutes: float
    teaching: int  # teaching pages (they need speaker notes)
    noted: int  # teaching pages that have notes
    outline: tuple[str, ...] = ()  # one line per page: number, kind, minutes, notes?, heading

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(".slides.html")

    def over_limits(self) -> str:
        """Why this deck is too long for a lecture ("" when it is not)."""
        problems = []
        if self.pages > MAX_PAGES:
            problems.append(f"{self.pages} pages (at most {MAX_PAGES})")
        if self.minutes > MAX_MINUTES:
            problems.append(f"about {self.minutes:.0f} minutes (at most {MAX_MINUTES:.0f})")
        return ", ".join(problems)


def _title_and_agenda(pages: list[Page], title: str, sections: list[str], lang: str) -> None:
    for page in pages:
        if page.kind == "title":
            page.blocks = [
                f'<h1 class="deck-title">{title}</h1>',
                f'<p class="deck-course">{label("course", lang)}</p>',
            ]
        elif page.kind == "agenda":
            agenda = label("agenda", lang)
            page.heading = agenda
            items = "".join(f"<li>{s}</li>" for s in sections)
            css = "agenda long" if len(sections) > 7 else "agenda"
            page.blocks = [f"<h2>{agenda}</h2>", f'<ol class="{css}">{items}</ol>']


def build_deck(
    notebook: Path, outdir: Path, lang: str = "en", aspect: str = "16:9", solutions: str = "appendix"
) -> Deck:
    """Write ``outdir/<name>.slides.html`` for one notebook (assets are copied by ``build_all``)."""
    geometry = ASPECTS[aspect]
    nb = nbformat.read(notebook, as_version=4)
    title, pages, sections = layout(nb.cells, Renderer(geometry, lang), solutions)
    if not title:
        title = html.escape(next((heading_text(c) for c in nb.cells if heading_level(c) == 1), notebook.stem))
    _title_and_agenda(pages, title, sections, lang)
    config = {
        "width": geometry.width,
        "height": geometry.height,
        "margin": MARGIN,
        "center": False,
        "hash": True,
        "navigationMode": "linear",
        "slideNumber": "c/t",
        "transition": "none",
        "backgroundTransition": "none",
        "controlsTutorial": False,
        "pdfMaxPagesPerSlide": 1,
        "pdfSeparateFragments": False,
        "fragmentInURL": False,
    }
    target = outdir / f"{notebook.stem}.slides.html"
    target.write_text(
        _ENV.get_template("deck.html.j2").render(
            title=html.escape(plain(title)),
            pages=pages,
            config=config,
            lang=lang,
            aspect=aspect.replace(":", "x"),
        ),
        encoding="utf-8",
    )
    teaching = [p for p in pages if p.teaching]
    outline = tuple(
        f"{n:3} {p.kind:9} {p.estimated_minutes:4.1f} min "
        f"{'notes' if has_notes(p) else ('NO NOTES' if p.teaching else '-'):8} {p.heading}"
        for n, p in enumerate(pages, 1)
    )
    return Deck(
        target,
        len(pages),
        round(sum(p.estimated_minutes for p in pages), 1),
        len(teaching),
        sum(1 for p in teaching if has_notes(p)),
        outline,
    )


def has_notes(page: Page) -> bool:
    """True when the page's speaker notes say something."""
    return any(re.sub(r"<[^>]+>", "", n).strip() for n in page.notes)


def build_all(
    notebooks: Path,
    outdir: Path,
    lang: str = "en",
    aspect: str = "16:9",
    solutions: str = "appendix",
    check_limits: bool = True,
) -> list[Deck]:
    """One deck per ``NN_*.ipynb`` in ``notebooks``, plus the shared assets (reveal.js, theme,
    fonts). With ``check_limits``, raise ``DeckTooLong`` if any deck is over a limit."""
    if aspect not in ASPECTS:
        raise ValueError(f"aspect must be one of {sorted(ASPECTS)}, not {aspect!r}")
    outdir.mkdir(parents=True, exist_ok=True)
    copy_assets(outdir)
    previous = language()
    set_language(lang)  # the quizzes' questions and answers in the deck's language
    try:
        decks = [
            build_deck(nb, outdir, lang, aspect, solutions)
            for nb in sorted(notebooks.glob("[0-9][0-9]_*.ipynb"))
        ]
    finally:
        set_language(previous)
    too_long = [f"  {d.name}: {d.over_limits()}" for d in decks if d.over_limits()]
    if check_limits and too_long:
        raise DeckTooLong(
            "decks too long for a lecture (tag cells `no-deck` and fold their point "
            "into the notes):\n" + "\n".join(too_long)
        )
    return decks
