"""One notebook cell as HTML pieces for a slide, each with its estimated height.

A piece is the unit a page break may fall between: a markdown block group, a chunk of code,
one output. Code is highlighted with Pygments, markdown goes through nbconvert's mistune
renderer, mermaid blocks become the committed SVGs, quizzes come from the quiz data (never
from the widget output), and widget outputs are never shown as their text repr.
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

from lessons.i18n import _

from . import mermaid, sizing
from .structure import Cell, display_source, quiz_height, quiz_ids, text

__all__ = ["FORMATTER", "Piece", "cell_pieces", "markdown_html", "quiz_answer_piece"]

WIDGET = "application/vnd.jupyter.widget-view+json"
FORMATTER = HtmlFormatter(cssclass="highlight")
_LEXER = PythonLexer()
_PLACEHOLDER = "MERMAIDDIAGRAM{}END"
MAX_PIECE = sizing.BUDGET - sizing.CONT_HEADER


@dataclass
class Piece:
    """A block of slide HTML and its estimated height in px."""

    html: str
    height: float


def markdown_html(source: str) -> str:
    """Markdown to HTML, mermaid blocks replaced by their SVGs, notebook links sent to decks."""
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
    return re.sub(r'href="((?:\./)?\d\d_[\w-]+)\.ipynb(#[^"]*)?"', r'href="\1.slides.html"', body)


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
    return unit[1] == "block" and (body.startswith("#") or body.endswith(":")
                                   or bool(re.fullmatch(r"\*\*[^*]+\*\*.{0,40}", body)))


def _markdown_pieces(source: str) -> list[Piece]:
    total = sizing.markdown_height(source)
    if total <= MAX_PIECE:
        return [Piece(markdown_html(source), total)]
    groups: list[list[Unit]] = [[]]
    for unit in _md_units(source):
        group = groups[-1]
        if group and sizing.markdown_height(_join([*group, unit])) > MAX_PIECE:
            carried = [group.pop()] if len(group) > 1 and _lead_in(group[-1]) else []
            groups.append(carried)
        groups[-1].append(unit)
    return [Piece(markdown_html(_join(g)), sizing.markdown_height(_join(g))) for g in groups if g]


def _chunks(body: str, font: tuple[int, float]) -> list[str]:
    """Split text into line runs that each fit one page, preferring breaks at blank lines."""
    if sizing.pre_height(body, font) <= MAX_PIECE:
        return [body]
    out: list[str] = []
    current: list[str] = []
    for line in body.split("\n"):
        if current and sizing.pre_height("\n".join([*current, line]), font) > MAX_PIECE:
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


def _lines(highlighted: str) -> str:
    """Wrap each source line in a span, so a wrapped line hangs indented under its start."""
    head, sep, rest = highlighted.partition("<pre>")
    body, end, tail = rest.rpartition("</pre>")
    lines = "".join(f'<span class="line">{line or " "}</span>' for line in body.rstrip("\n").split("\n"))
    return head + sep + lines + end + tail


def _code_pieces(source: str) -> list[Piece]:
    pieces = []
    for chunk in _chunks(source, sizing.CODE):  # each chunk steps down a size only if it must
        font = sizing.mono_font(chunk, sizing.CODE, sizing.CODE_SMALL)
        css = "code" if font == sizing.CODE else "code small"
        body = _lines(highlight(chunk, _LEXER, FORMATTER))
        pieces.append(Piece(f'<div class="{css}">{body}</div>', sizing.pre_height(chunk, font)))
    return pieces


def _pre_pieces(body: str, css: str) -> list[Piece]:
    pieces = []
    for chunk in _chunks(body.rstrip("\n"), sizing.OUTPUT):
        font = sizing.mono_font(chunk, sizing.OUTPUT, sizing.OUTPUT_SMALL)
        size = "" if font == sizing.OUTPUT else " small"
        pieces.append(Piece(f'<pre class="output {css}{size}">{ansi2html(chunk)}</pre>',
                            sizing.pre_height(chunk, font)))
    return pieces


def output_pieces(output: dict[str, Any]) -> list[Piece]:
    """The pieces for one output; nothing for a widget (its text repr is never shown)."""
    kind = output.get("output_type")
    if kind == "stream":
        css = "stderr" if output.get("name") == "stderr" else "stdout"
        return _pre_pieces(text(output.get("text")), css)
    if kind == "error":
        line = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
        return _pre_pieces(line, "error")
    data = output.get("data", {})
    if WIDGET in data:
        return []
    if "image/png" in data:
        png = text(data["image/png"]).replace("\n", "")
        alt = html.escape(text(data.get("text/plain", "figure")))
        img = f'<img class="figure" alt="{alt}" src="data:image/png;base64,{png}">'
        return [Piece(img, sizing.image_height(png))]
    if "image/svg+xml" in data:
        return [Piece(f'<div class="figure">{text(data["image/svg+xml"])}</div>', sizing.FIGURE_MAX_H)]
    if "text/markdown" in data:
        return _markdown_pieces(text(data["text/markdown"]))
    if "text/html" in data:
        body = f'<div class="output html">{text(data["text/html"])}</div>'
        return [Piece(body, sizing.output_height(output))]
    if "text/plain" in data:
        return _pre_pieces(text(data["text/plain"]), "result")
    return []


def _quiz_piece(quiz_id: str) -> Piece:
    from lessons.quiz import question

    q = question(quiz_id)
    items = "".join(f"<li><b>{html.escape(k)}.</b> {html.escape(v)}</li>" for k, v in q.choices.items())
    body = (f'<div class="quiz" data-quiz="{html.escape(quiz_id)}">'
            f'<p class="quiz-label">{_("Quiz")}</p><p class="quiz-question">{html.escape(q.question)}</p>'
            f'<ul class="quiz-choices">{items}</ul></div>')
    return Piece(body, quiz_height(quiz_id))


def quiz_answer_piece(quiz_id: str) -> Piece:
    """The answer and explanation of a quiz, for the page after its question."""
    from lessons.quiz import question

    q = question(quiz_id)
    verdict = f"{html.escape(q.answer)}. {html.escape(q.choices[q.answer])}"
    body = (f'<div class="quiz-answer" data-quiz="{html.escape(quiz_id)}">'
            f'<p class="quiz-question small">{html.escape(q.question)}</p>'
            f'<p class="quiz-verdict">{_("Answer: {verdict}", verdict=f"<b>{verdict}</b>")}</p>'
            f'<p class="quiz-explanation">{html.escape(q.explanation)}</p></div>')
    height = (sizing._para_height(q.question, (22, 1.3)) + sizing._para_height(verdict, sizing.BODY)
              + sizing._para_height(q.explanation, sizing.BODY) + 3 * sizing.PARA_GAP)
    return Piece(body, height * 1.15)


def cell_pieces(cell: Cell) -> list[Piece]:
    """Every piece of a cell, in order: its source (or quiz question), then its outputs."""
    if cell.get("cell_type") == "markdown":
        return _markdown_pieces(text(cell.get("source")))
    if cell.get("cell_type") != "code":
        return []
    ids = quiz_ids(cell)
    if ids:
        return [_quiz_piece(i) for i in ids]
    pieces = _code_pieces(display_source(cell)) if display_source(cell) else []
    widget_only = True
    for output in cell.get("outputs", []):
        found = output_pieces(output)
        widget_only = widget_only and not found and WIDGET in output.get("data", {})
        pieces.extend(found)
    if cell.get("outputs") and widget_only:
        note = f'<p class="widget-note">{_("(an interactive widget: run this cell in JupyterLab)")}</p>'
        pieces.append(Piece(note, 40))
    return pieces
