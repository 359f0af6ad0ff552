"""Estimated rendered height (CSS px on the slide) of notebook cells in a deck, and prose words.

The numbers mirror ``static/course.css``: change one, change the other. A deck is laid out on a
16:9 slide of 1280x720 CSS px (``--aspect 16:9``, the default) or a 4:3 slide of 1152x864
(``--aspect 4:3``). Font sizes are chosen so that code and output are at least 20 px on screen
on a 1024x768 projector and on a 1280x720 screen: reveal.js scales the slide by
``min(viewport / slide) x (1 - margin)``, 0.78 for 1280x720 slides on 1024x768, so monospace text is
26 px on the slide. Estimates are deliberately a little pessimistic; the browser test measures.
"""

from __future__ import annotations

import base64
import math
import re
import struct
import unicodedata
from dataclasses import dataclass
from typing import Any

from . import mermaid

__all__ = ["ASPECTS", "Geometry", "prose_words"]

PAD_X, PAD_Y = 44, 22
HEADER = 56  # the running header of a page that does not open a section
HEADER_TWO_LINES = 90  # the same header when a long heading wraps
BODY = (28, 1.35)  # font px, line-height
HEADINGS = {1: (48, 1.2), 2: (40, 1.2), 3: (34, 1.2), 4: (30, 1.2)}
MONO = (26, 1.3)  # code and output: 20 px on screen at 1024x768
TABLE = (24, 1.3)
BLOCK_GAP = 14  # between cells, and between blocks inside a cell
PARA_GAP = 12
PRE_PAD = 20  # top + bottom padding of a code/output box
PROPORTIONAL_EM = 0.6  # average advance of a DejaVu Sans glyph, in em (generous)
MONO_EM = 0.602  # DejaVu Sans Mono's advance
MARGIN = 0.02  # reveal.js margin around the scaled slide
MAX_WORDS = 90  # prose words on one page


@dataclass(frozen=True)
class Geometry:
    """A slide's size in CSS px, and what follows from it."""

    width: int
    height: int

    @property
    def content_w(self) -> float:
        return self.width - 2 * PAD_X

    @property
    def budget(self) -> float:
        """The height one page holds."""
        return self.height - 2 * PAD_Y

    @property
    def figure_max_h(self) -> float:
        return self.budget - HEADER - 20

    # -- text ------------------------------------------------------------------------------
    def para_height(self, text: str, font: tuple[int, float], width: float | None = None) -> float:
        size, lh = font
        return wrapped_lines(strip_inline(text), size, width or self.content_w, PROPORTIONAL_EM) * size * lh

    def pre_height(self, text: str, font: tuple[int, float] = MONO) -> float:
        """Height of a wrapped monospace box holding ``text``."""
        size, lh = font
        width = self.content_w - 24 - 3 * size * MONO_EM  # padding, and the hanging indent of a wrap
        lines = text.rstrip("\n").split("\n") if text.strip() else []
        visual = sum(wrapped_lines(line, size, width, MONO_EM) if line else 1 for line in lines)
        return visual * size * lh + PRE_PAD

    def table_height(self, rows: list[str]) -> float:
        size, lh = TABLE
        cells = [[c.strip() for c in r.strip().strip("|").split("|")] for r in rows]
        cells = [r for r in cells if not all(re.fullmatch(r":?-{2,}:?", c) for c in r if c)]
        if not cells:
            return 0
        ncols = max(len(r) for r in cells)
        col_w = self.content_w / ncols - 16
        total = 0.0
        for row in cells:
            lines = max(wrapped_lines(strip_inline(c), size, col_w, PROPORTIONAL_EM) for c in row)
            total += lines * size * lh + 13
        return total + PARA_GAP

    def markdown_height(self, source: str) -> float:
        """Estimated height of rendered markdown."""
        total = 0.0
        para: list[str] = []
        table: list[str] = []

        def flush() -> None:
            nonlocal total, para, table
            if para:
                total += self.para_height(" ".join(para), BODY) + PARA_GAP
            if table:
                total += self.table_height(table)
            para, table = [], []

        lines = source.splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            stripped = line.strip()
            fence = re.match(r"^\s*(```+)\s*(\w*)", line)
            if fence:
                flush()
                end = i + 1
                while end < len(lines) and not lines[end].strip().startswith(fence.group(1)):
                    end += 1
                body = "\n".join(lines[i + 1 : end])
                if fence.group(2) == "mermaid":
                    total += self.diagram_height(body) + PARA_GAP
                else:
                    total += self.pre_height(body) + PARA_GAP
                i = end + 1
                continue
            heading = re.match(r"^(#{1,6})\s+(.*)", stripped)
            if heading:
                flush()
                total += self.para_height(heading.group(2), HEADINGS.get(len(heading.group(1)), BODY)) + 16
            elif stripped.startswith("|"):
                if para:
                    flush()
                table.append(stripped)
            elif re.match(r"^([-*+]|\d+\.)\s+", stripped):
                flush()
                para = [re.sub(r"^([-*+]|\d+\.)\s+", "", stripped)]
                total += 6  # list item spacing
            elif not stripped or re.fullmatch(r"(<a [^>]*></a>\s*)+", stripped):
                flush()
            else:
                if table:
                    flush()
                para.append(stripped)
            i += 1
        flush()
        return total

    # -- pictures --------------------------------------------------------------------------
    def image_height(self, b64: str) -> float:
        """A figure is drawn at the slide's content width, or smaller if it would be too tall."""
        width, height = png_size(b64)
        return min(height * self.content_w / width, self.figure_max_h)

    def diagram_height(self, source: str) -> float:
        limit = self.figure_max_h
        path = mermaid.svg_path(source)
        if path.exists():
            svg = path.read_text(encoding="utf-8")
            box = re.search(r'viewBox="[\d.\-]+ [\d.\-]+ ([\d.]+) ([\d.]+)"', svg)
            if box:
                w, h = float(box.group(1)), float(box.group(2))
                return min(limit, h * self.content_w / w)
        return limit

    def output_height(self, output: dict[str, Any]) -> float:
        """Estimated height of one output as the deck shows it."""
        kind = output.get("output_type")
        if kind == "stream":
            return self.pre_height(_text(output.get("text", "")))
        if kind == "error":
            return self.pre_height(f"{output.get('ename', '')}: {output.get('evalue', '')}")
        data = output.get("data", {})
        if "application/vnd.jupyter.widget-view+json" in data:
            return 0
        if "image/png" in data:
            return self.image_height(_text(data["image/png"]))
        if "text/markdown" in data:
            return self.markdown_height(_text(data["text/markdown"]))
        if "text/html" in data:
            return self.pre_height(re.sub(r"<[^>]+>", "", _text(data["text/html"])))
        if "text/plain" in data:
            return self.pre_height(_text(data["text/plain"]))
        return 0


ASPECTS = {"16:9": Geometry(1280, 720), "4:3": Geometry(1152, 864)}


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def text_em(text: str, narrow: float = PROPORTIONAL_EM) -> float:
    """Width of ``text`` in em: East Asian wide characters count 1 em, others ``narrow``."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else narrow for ch in text)


def wrapped_lines(text: str, font_px: float, width_px: float, narrow: float) -> int:
    """How many visual lines ``text`` takes when wrapped at ``width_px``."""
    per_line = width_px / font_px
    return max(1, math.ceil(text_em(text, narrow) / per_line * 1.04))  # word wrap wastes a little


def strip_inline(text: str) -> str:
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML (anchors)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links: only the label shows
    return text.replace("**", "").replace("`", "")


def prose_words(markdown: str) -> int:
    """Words of prose in ``markdown`` (fenced blocks and tables left out); three Japanese
    characters count as one word (a 90-word English paragraph is about 250 characters in Japanese)."""
    body = re.sub(r"^[ \t]*```.*?^[ \t]*```[ \t]*$", "", markdown, flags=re.MULTILINE | re.DOTALL)
    body = "\n".join(line for line in body.splitlines() if not line.lstrip().startswith("|"))
    body = strip_inline(body)
    wide = sum(1 for ch in body if unicodedata.east_asian_width(ch) in "WF" and ch.isalnum())
    latin = len(re.findall(r"[A-Za-z0-9][\w'’.-]*", body))
    return latin + wide // 3


def png_size(b64: str) -> tuple[int, int]:
    """(width, height) of a base64 PNG, read from its IHDR chunk."""
    head = base64.b64decode(b64[:44])
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)
