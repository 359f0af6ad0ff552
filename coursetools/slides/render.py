"""One notebook cell as HTML pieces for a slide, each with its estimated height and prose words.

A piece is the unit a page break may fall between: a markdown block group, a chunk of code,
one output. Code is highlighted with Pygments, markdown goes through nbconvert's mistune
renderer, mermaid blocks become the committed SVGs, quizzes come from the quiz data (never
from the widget output), and widget outputs are never shown as their text repr. A list of three
or more items becomes reveal.js fragments (one item per step), so a slide can build its argument.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from nbconvert.filters import ansi2html, markdown2html_mistune
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from . import mermaid, sizing
from .labels import label
from .sizing import Geometry
from .structure import Cell, display_source, quiz_height, quiz_ids, text

__all__ = ["FORMATTER", "Piece", "Renderer", "markdown_html"]

WIDGET = "application/vnd.jupyter.widget-view+json"
FORMATTER = HtmlFormatter(cssclass="highlight")
_LEXER = PythonLexer()
_PLACEHOLDER = "MERMAIDDIAGRAM{}END"
FRAGMENT_MIN_ITEMS = 3
PRE_MARGIN = 6  # the margin under a code or output box (course.css)


@dataclass
class Piece:
    """A block of slide HTML, its estimated height in px and its words of prose."""

    html: str
    height: float
    words: int = 0


def _fragment_lists(body: str) -> str:
    """Make each top-level item of a list of three or more items a reveal.js fragment."""
    out: list[str] = []
    depth = 0
    opened: list[tuple[int, int]] = []  # (index in out of the list's items start, item count)
    for token in re.split(r"(<(?:/?(?:ul|ol)\b[^>]*|li\b[^>]*)>)", body):
        tag = re.match(r"<(/?)(ul|ol|li)\b", token)
        if tag and tag.group(2) in ("ul", "ol"):
            depth += -1 if tag.group(1) else 1
            if not tag.group(1):
                opened.append((len(out), 0))
            elif opened:
                first, count = opened.pop()
                if depth == 0 and count >= FRAGMENT_MIN_ITEMS:
                    for k in range(first, len(out)):
                        if out[k] == "<li>":
                            out[k] = '<li class="fragment">'
        elif tag and tag.group(2) == "li" and not tag.group(1) and opened and depth == 1:
            first, count = opened[-1]
            opened[-1] = (first, count + 1)
        out.append(token)
    return "".join(out)


def markdown_html(source: str, fragments: bool = False) -> str:
    """Markdown to HTML, mermaid blocks replaced by their SVGs, notebook links sent to decks;
    with ``fragments``, long lists step in one item at a time."""
    svgs: list[str] = []

    def stash(match: re.Match[str]) -> str:
        svgs.append(mermaid.load_svg(match.group(1)))
        return "\n" + _PLACEHOLDER.format(len(svgs) - 1) + "\n"

    body = markdown2html_mistune(mermaid.BLOCK_RE.sub(stash, source))
    for n, svg in enumerate(svgs):
        figure = f'<div class="mermaid-diagram">{svg}</div>'
        mark = _PLACEHOLDER.format(n)
        body = body.replace(f"<p>{mark}</p>", figure).replace(mark, figure)
    body = re.sub(r'<a class="anchor-link" href="[^"]*">&#182;</a>', "", body)
    body = re.sub(r"<p>(\s*<a id=\"[^\"]*\"></a>\s*)+</p>", "", body)
    body = re.sub(r'href="((?:\./)?\d\d_[\w-]+)\.ipynb(#[^"]*)?"', r'href="\1.slides.html"', body)
    return _fragment_lists(body) if fragments else body


def _md_blocks(source: str) -> list[str]:
    """Split markdown at blank lines that are not inside a fenced block."""
    blocks: list[str] = []
    current: list[str] = []
    fence = False
    for line in source.splitlines():
        if line.lstrip().startswith("```"):
            fence = not fence
        if not line.strip() and not fence:
            if current:
                blocks.append("\n".join(current))
            current = []
        else:
            current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


LIST_ITEM = re.compile(r"^([-*+]|\d+[.)])\s+")
TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}")
Unit = tuple[str, str, str]  # text, kind (block | item | row), table header


def _md_units(source: str) -> list[Unit]:
    """Markdown as units a page break may fall between: blocks, top-level list items, table rows."""
    units: list[Unit] = []
    for block in _md_blocks(source):
        lines = block.split("\n")
        if lines[0].lstrip().startswith("|") and len(lines) > 2 and TABLE_RULE.match(lines[1]):
            header = "\n".join(lines[:2])
            units += [(row, "row", header) for row in lines[2:]]
            continue
        lead: list[str] = []
        items: list[list[str]] = []
        for line in lines:
            if LIST_ITEM.match(line) and not block.lstrip().startswith("```"):
                items.append([line])
            elif items:
                items[-1].append(line)
            else:
                lead.append(line)
        if lead:
            units.append(("\n".join(lead), "block", ""))
        units += [("\n".join(item), "item", "") for item in items]
    return units


def _sentences(units: list[Unit]) -> list[Unit]:
    """Units of more than ``sizing.MAX_WORDS`` words cut between sentences: a heading line stays
    a unit of its own, and the rest of a long list item follows it as plain paragraphs."""
    out: list[Unit] = []
    for unit in units:
        body, kind, header = unit
        if kind == "row" or sizing.prose_words(body) <= sizing.MAX_WORDS or "```" in body:
            out.append(unit)
            continue
        lines = body.split("\n")
        heading = next((n for n, line in enumerate(lines[:3]) if line.lstrip().startswith("#")), None)
        if heading is not None:  # the heading (and any anchor before it) stays one line
            out.append(("\n".join(lines[: heading + 1]), "block", ""))
            body = "\n".join(lines[heading + 1 :])
        current: list[str] = []
        for sentence in re.split(r"(?<=[.!?。])\s+", body.strip()):
            if current and sizing.prose_words(" ".join([*current, sentence])) > sizing.MAX_WORDS * 0.6:
                out.append((" ".join(current), kind, header))
                kind = "block"
                current = []
            current.append(sentence)
        out.append((" ".join(current), kind, header))
    return out


def _join(units: list[Unit]) -> str:
    """Units back to markdown: list items and rows of one table stay one list or table."""
    parts: list[str] = []
    previous: tuple[str, str] | None = None
    for body, kind, header in units:
        same = previous == (kind, header) and kind in ("item", "row")
        if kind == "row" and not same:
            body = header + "\n" + body
        parts.append(("\n" if same else "\n\n") + body if parts else body)
        previous = (kind, header)
    return "".join(parts)


def _lead_in(unit: Unit) -> bool:
    """A heading or a line that announces what follows: keep it with the next page."""
    body = unit[0].strip()
    return unit[1] == "block" and (
        body.startswith("#") or body.endswith(":") or bool(re.fullmatch(r"\*\*[^*]+\*\*.{0,40}", body))
    )


def _lines(highlighted: str) -> str:
    """Wrap each source line in a span, so a wrapped line hangs indented under its start."""
    head, sep, rest = highlighted.partition("<pre>")
    body, end, tail = rest.rpartition("</pre>")
    lines = "".join(f'<span class="line">{line or " "}</span>' for line in body.rstrip("\n").split("\n"))
    return head + sep + lines + end + tail


class Renderer:
    """Cells as pieces for slides of one geometry, with the builder's labels in ``lang``."""

    def __init__(self, geometry: Geometry, lang: str = "en") -> None:
        self.geometry = geometry
        self.lang = lang
        self.max_piece = geometry.budget - sizing.HEADER_TWO_LINES - PRE_MARGIN  # fits under any header

    def markdown(self, source: str, fragments: bool = True) -> list[Piece]:
        """Markdown split at block, list-item and table-row boundaries into pieces that each fit
        a page and hold at most ``sizing.MAX_WORDS`` words of prose."""
        g = self.geometry

        def fits(units: list[Unit]) -> bool:
            body = _join(units)
            return g.markdown_height(body) <= self.max_piece and sizing.prose_words(body) <= sizing.MAX_WORDS

        groups: list[list[Unit]] = [[]]
        for unit in _sentences(_md_units(source)):
            group = groups[-1]
            if group and not fits([*group, unit]):
                carried = [group.pop()] if len(group) > 1 and _lead_in(group[-1]) else []
                groups.append(carried)
            groups[-1].append(unit)
        return [
            Piece(
                markdown_html(_join(u), fragments), g.markdown_height(_join(u)), sizing.prose_words(_join(u))
            )
            for u in groups
            if u
        ]

    def _chunks(self, body: str) -> list[str]:
        """Split text into line runs that each fit one page, preferring breaks at blank lines."""
        g = self.geometry
        if g.pre_height(body) <= self.max_piece:
            return [body]
        out: list[str] = []
        current: list[str] = []
        for line in body.split("\n"):
            if current and g.pre_height("\n".join([*current, line])) > self.max_piece:
                blanks = [k for k, x in enumerate(current) if not x.strip()]
                cut = blanks[-1] if blanks and blanks[-1] > len(current) // 2 else len(current)
                out.append("\n".join(current[:cut]).strip("\n"))
                current = current[cut:]
                while current and not current[0].strip():
                    current.pop(0)
            current.append(line)
        if current:
            out.append("\n".join(current))
        return out

    def code(self, source: str) -> list[Piece]:
        return [
            Piece(
                f'<div class="code">{_lines(highlight(chunk, _LEXER, FORMATTER))}</div>',
                self.geometry.pre_height(chunk) + PRE_MARGIN,
            )
            for chunk in self._chunks(source)
        ]

    def pre(self, body: str, css: str) -> list[Piece]:
        return [
            Piece(
                f'<pre class="output {css}">{ansi2html(chunk)}</pre>',
                self.geometry.pre_height(chunk) + PRE_MARGIN,
            )
            for chunk in self._chunks(body.rstrip("\n"))
        ]

    def output(self, output: dict[str, Any]) -> list[Piece]:
        """The pieces for one output; nothing for a widget (its text repr is never shown)."""
        kind = output.get("output_type")
        if kind == "stream":
            css = "stderr" if output.get("name") == "stderr" else "stdout"
            return self.pre(text(output.get("text")), css)
        if kind == "error":
            return self.pre(f"{output.get('ename', 'Error')}: {output.get('evalue', '')}", "error")
        data = output.get("data", {})
        if WIDGET in data:
            return []
        if "image/png" in data:
            png = text(data["image/png"]).replace("\n", "")
            alt = html.escape(text(data.get("text/plain", "figure")))
            img = f'<img class="figure" alt="{alt}" src="data:image/png;base64,{png}">'
            return [Piece(img, self.geometry.image_height(png))]
        if "image/svg+xml" in data:
            svg = text(data["image/svg+xml"])
            return [Piece(f'<div class="figure">{svg}</div>', self.geometry.figure_max_h)]
        if "text/markdown" in data:
            return self.markdown(text(data["text/markdown"]), fragments=False)
        if "text/html" in data:
            body = f'<div class="output html">{text(data["text/html"])}</div>'
            return [Piece(body, self.geometry.output_height(output))]
        if "text/plain" in data:
            return self.pre(text(data["text/plain"]), "result")
        return []

    def quiz(self, quiz_id: str) -> Piece:
        from lessons.quiz import question

        q = question(quiz_id)
        items = "".join(f"<li><b>{html.escape(k)}.</b> {html.escape(v)}</li>" for k, v in q.choices.items())
        body = (
            f'<div class="quiz" data-quiz="{html.escape(quiz_id)}">'
            f'<p class="quiz-label">{label("quiz", self.lang)}</p>'
            f'<p class="quiz-question">{html.escape(q.question)}</p>'
            f'<ul class="quiz-choices">{items}</ul></div>'
        )
        return Piece(body, quiz_height(quiz_id, self.geometry))

    def quiz_answer(self, quiz_id: str) -> Piece:
        """The answer and explanation of a quiz, for the page after its question."""
        from lessons.quiz import question

        q = question(quiz_id)
        g = self.geometry
        verdict = f"{html.escape(q.answer)}. {html.escape(q.choices[q.answer])}"
        said = label("answer_verdict", self.lang, verdict=f"<b>{verdict}</b>")
        body = (
            f'<div class="quiz-answer" data-quiz="{html.escape(quiz_id)}">'
            f'<p class="quiz-question small">{html.escape(q.question)}</p>'
            f'<p class="quiz-verdict">{said}</p>'
            f'<p class="quiz-explanation">{html.escape(q.explanation)}</p></div>'
        )
        height = (
            g.para_height(q.question, (24, 1.3))
            + g.para_height(verdict, (32, 1.35))
            + g.para_height(q.explanation, sizing.BODY)
            + 3 * sizing.PARA_GAP
        )
        return Piece(body, height * 1.15)

    def cell(self, cell: Cell) -> list[Piece]:
        """Every piece of a cell, in order: its source (or quiz question), then its outputs."""
        if cell.get("cell_type") == "markdown":
            return self.markdown(text(cell.get("source")))
        if cell.get("cell_type") != "code":
            return []
        ids = quiz_ids(cell)
        if ids:
            return [self.quiz(i) for i in ids]
        source = display_source(cell)
        pieces = self.code(source) if source else []
        widget_only = True
        for output in cell.get("outputs", []):
            found = self.output(output)
            widget_only = widget_only and not found and WIDGET in output.get("data", {})
            pieces.extend(found)
        if cell.get("outputs") and widget_only:
            pieces.append(Piece(f'<p class="widget-note">{label("widget", self.lang)}</p>', 44))
        return pieces
