"""Lay a notebook's cells out as one linear sequence of deck pages (no vertical stacks).

The deck opens with a title page and an agenda (the notebook's ``##`` headings). Every heading
(``#`` to ``###``) opens a new page, so a page only ever carries its own section's heading (one
exception: a ``###`` right after its ``##`` shares that near-empty page); a page that does not
open with a heading gets a running header naming it ("… (continued)"). Cells flow
onto the current page until its estimated height or ``sizing.MAX_WORDS`` words of prose would be
exceeded. A quiz's answer (from the quiz data) is always the page right after its question.
Notes cells, left-out cells and extras (solutions, hints, explanations): see ``deck``'s docstring.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import sizing
from .labels import label
from .render import Piece, Renderer, markdown_html
from .structure import (
    EXERCISE_TAG,
    Cell,
    extra_kind,
    heading_level,
    heading_text,
    is_notes,
    left_out,
    quiz_ids,
    tags,
    text,
)

__all__ = ["DEFAULT_MINUTES", "SOLUTIONS", "TEACHING", "Page", "layout", "notes_minutes"]

SOLUTIONS = ("appendix", "omit", "inline")
TEACHING = frozenset({"page", "quiz", "answer", "exercise"})  # pages that need speaker notes
# Presenting time of a page whose notes do not say ("~2 min"); a page with code takes longer.
DEFAULT_MINUTES = {
    "title": 0.5,
    "agenda": 0.5,
    "page": 1.0,
    "quiz": 1.5,
    "answer": 1.0,
    "exercise": 2.0,
    "solution": 1.0,
    "appendix": 0.0,
}
CODE_MINUTES = 0.5
NEAR_EMPTY = 0.25  # a "## section" page this full takes its first "###" instead of standing alone
HEADING_LINE = re.compile(r"^(#{1,3})\s+(.*\S)\s*$")
ANCHOR_ONLY = re.compile(r"^\s*(<a\s[^>]*>\s*</a>\s*)+$")
NOTES_TITLE = re.compile(r"^\s*\*\*(Speaker notes|講師メモ)\*\*[:：]?\s*", re.IGNORECASE)
MINUTES = re.compile(r"[~約～]\s*(\d+(?:\.\d+)?)(?:\s*[–-]\s*(\d+(?:\.\d+)?))?\s*(?:min|分)")


@dataclass
class Page:
    """One reveal.js section: what it shows, which heading it belongs to, its speaker notes."""

    kind: str  # title | agenda | page | quiz | answer | exercise | solution (inline) | appendix
    heading: str  # plain text of the heading the page belongs to
    header: str = ""  # running header HTML, for a page that does not open with it
    blocks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    height: float = 0.0
    words: int = 0
    has_code: bool = False
    minutes: float | None = None  # from its notes ("~2 min"); None: DEFAULT_MINUTES

    def add(self, piece: Piece) -> None:
        self.height += piece.height + (sizing.BLOCK_GAP if self.blocks else 0)
        self.words += piece.words
        self.has_code = self.has_code or 'class="code"' in piece.html
        self.blocks.append(piece.html)

    @property
    def teaching(self) -> bool:
        return self.kind in TEACHING

    @property
    def estimated_minutes(self) -> float:
        if self.minutes is not None:
            return self.minutes
        extra = CODE_MINUTES if self.has_code and self.kind == "page" else 0.0
        return DEFAULT_MINUTES[self.kind] + extra


def inline_html(markdown: str) -> str:
    """A heading's text as inline HTML (code spans, emphasis), without the heading element."""
    return re.sub(r"^<h4[^>]*>|</h4>$", "", markdown_html("#### " + markdown).strip())


def plain(inline: str) -> str:
    """The text a reader sees of inline HTML."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", inline)).split())


def notes_minutes(notes: str) -> float | None:
    """The presenting time a notes cell gives ("~2 min", "~1–2 min", "約2分"), in minutes."""
    found = MINUTES.search(notes)
    if not found:
        return None
    return float(found.group(2) or found.group(1))


def segments(source: str) -> list[tuple[int, str, str]]:
    """Markdown cut before each ``#``-``###`` heading outside fenced blocks:
    ``(level or 0, heading markdown, body)``; anchors before a heading go with it."""
    out: list[tuple[int, str, list[str]]] = [(0, "", [])]
    fence = False
    for line in source.splitlines():
        if line.lstrip().startswith("```"):
            fence = not fence
        heading = None if fence else HEADING_LINE.match(line)
        if heading:
            body = out[-1][2]
            carried: list[str] = []
            while body and (ANCHOR_ONLY.match(body[-1]) or not body[-1].strip()):
                carried.insert(0, body.pop())
            out.append((len(heading.group(1)), heading.group(2), [*carried, line]))
        else:
            out[-1][2].append(line)
    return [
        (level, head, "\n".join(body).strip("\n"))
        for level, head, body in out
        if level or "\n".join(body).strip()
    ]


class _Layout:
    def __init__(self, renderer: Renderer, solutions: str) -> None:
        self.r = renderer
        self.lang = renderer.lang
        self.solutions = solutions
        self.pages: list[Page] = []
        self.heading = ""  # plain text of the current heading
        self.heading_html = ""
        self.title = ""
        self.sections: list[str] = []  # inline HTML of each ## heading, for the agenda
        self.noted_upto = 0  # pages before this index have had their notes cell
        self.break_next = False  # the next piece opens a page (after an answer or extras)
        self.extras: list[tuple[str, str, Cell]] = []  # (kind, heading HTML, cell) for the appendix

    @property
    def page(self) -> Page:
        return self.pages[-1]

    def open(self, kind: str = "page", tag: str = "continued", heading_on_page: bool = False) -> Page:
        """A new page of the current heading. Unless the page opens with the heading itself, a
        running header names it, labelled ``tag`` ("continued", "answer", …; "" for none)."""
        header = ""
        if not heading_on_page and self.heading_html:
            heading = f'<span class="page-heading">{self.heading_html}</span>'
            if tag == "continued":
                header = label("continued", self.lang, heading=heading)
            elif tag:
                header = f'{heading}<span class="page-label">{label(tag, self.lang)}</span>'
            else:
                header = heading
        height = 0.0
        if header:  # a long heading wraps: 26 px text, its rule and margin
            height = max(sizing.HEADER, self.r.geometry.para_height(plain(header), (26, 1.3)) + 22)
        page = Page(kind=kind, heading=self.heading, header=header, height=height)
        self.pages.append(page)
        self.break_next = False
        return page

    def place(self, pieces: list[Piece]) -> None:
        budget = self.r.geometry.budget
        for piece in pieces:
            page = self.page if self.pages and not self.break_next else None
            full = (
                page is not None
                and page.blocks
                and (
                    page.height + sizing.BLOCK_GAP + piece.height > budget
                    or page.words + piece.words > sizing.MAX_WORDS
                )
            )
            if page is None or full or page.kind in ("title", "agenda", "answer"):
                kind = page.kind if page is not None and page.kind in ("solution", "appendix") else "page"
                self.open(kind)
            self.page.add(piece)

    def set_heading(self, level: int, markdown: str) -> None:
        self.heading_html = inline_html(markdown)
        self.heading = plain(self.heading_html)
        if level == 2:
            self.sections.append(self.heading_html)

    def markdown(self, cell: Cell) -> None:
        for level, head, body in segments(text(cell.get("source"))):
            if level == 1:
                self.set_heading(1, head)
                self.title = self.heading_html
                self.open("title", heading_on_page=True)
                self.open("agenda", heading_on_page=True)
                rest = HEADING_LINE.sub("", body, count=1).strip()
                if rest:
                    self.open("page", tag="")
                    self.place(self.r.markdown(rest))
                continue
            if level:
                opened_by = self.page.blocks[0] if self.pages and self.page.blocks else ""
                near_empty = self.pages and self.page.height <= NEAR_EMPTY * self.r.geometry.budget
                self.set_heading(level, head)
                if not (level == 3 and near_empty and opened_by.lstrip().startswith("<h2")):
                    self.open("page", heading_on_page=True)  # else: under its section's near-empty h2
            self.place(self.r.markdown(body))

    def notes(self, cell: Cell) -> None:
        body = NOTES_TITLE.sub("", text(cell.get("source")), count=1).strip()
        targets = [p for p in self.pages[self.noted_upto :] if p.kind not in ("title", "agenda")]
        if not targets and self.pages:
            targets = [self.page]
        minutes = notes_minutes(body)
        for n, page in enumerate(targets):
            page.notes.append(markdown_html(body))
            if minutes is not None:
                page.minutes = (page.minutes or 0.0) + (minutes if n == 0 else 0.0)
        self.noted_upto = len(self.pages)

    def code(self, cell: Cell) -> None:
        ids = quiz_ids(cell)
        pieces = self.r.cell(cell)
        if ids:
            self.place(pieces)
            self.page.kind = "quiz"
            self.open("answer", tag="answer")
            for quiz_id in ids:
                self.page.add(self.r.quiz_answer(quiz_id))
            self.break_next = True
            return
        self.place(pieces)
        if EXERCISE_TAG in tags(cell):
            self.page.kind = "exercise"

    def extra(self, kind: str, cell: Cell) -> None:
        if self.solutions == "omit":
            return
        if self.solutions == "appendix":
            self.extras.append((kind, self.heading_html, cell))
            return
        if not self.pages or self.page.kind != "solution":
            self.open("solution", tag=kind)
        self.place(self.r.cell(cell))
        self.break_next = True

    def appendix(self) -> None:
        """The extras at the end, one run of pages per exercise (or quiz) they belong to, each
        headed "Appendix · Solution: <its heading>"."""
        groups: dict[str, list[tuple[str, Cell]]] = {}
        for kind, heading, cell in self.extras:
            groups.setdefault(heading, []).append((kind, cell))
        for heading, extras in groups.items():
            kind = "explanation" if all(k == "explanation" for k, _ in extras) else "solution"
            self.heading_html = label(
                "appendix_page", self.lang, kind=label(kind, self.lang), heading=heading
            )
            self.heading = plain(self.heading_html)
            self.open("appendix", tag="")
            for _, cell in extras:
                self.place(self.r.cell(cell))


def layout(
    cells: Sequence[Cell], renderer: Renderer, solutions: str = "appendix"
) -> tuple[str, list[Page], list[str]]:
    """(title HTML, pages, ``##`` headings as inline HTML) of a deck: see the module docstring."""
    if solutions not in SOLUTIONS:
        raise ValueError(f"solutions must be one of {SOLUTIONS}, not {solutions!r}")
    out = _Layout(renderer, solutions)
    for cell in cells:
        if is_notes(cell):
            out.notes(cell)
        elif left_out(cell):
            continue
        elif (kind := extra_kind(cell)) is not None:
            out.extra(kind, cell)
        elif cell.get("cell_type") == "markdown":
            out.markdown(cell)
        elif cell.get("cell_type") == "code":
            out.code(cell)
    out.appendix()
    if not any(p.kind == "title" for p in out.pages):  # the "#" cell is left out: title it anyway
        title = next((heading_text(c) for c in cells if heading_level(c) == 1), "")
        out.title = inline_html(title) if title else ""
        heading = plain(out.title)
        out.pages[:0] = [Page(kind="title", heading=heading), Page(kind="agenda", heading=heading)]
    return out.title, out.pages, out.sections
