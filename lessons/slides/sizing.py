"""Estimated rendered height (CSS px on a 1280x720 slide) of notebook cells in a deck.

The numbers mirror ``static/course.css``: change one, change the other. Estimates are deliberately
a little pessimistic; the browser test measures the real heights.
"""

from __future__ import annotations

import base64
import math
import re
import struct
import unicodedata
from typing import Any

from . import mermaid

SLIDE_W, SLIDE_H = 1280, 720
PAD_X, PAD_Y = 44, 22
CONTENT_W = SLIDE_W - 2 * PAD_X
BUDGET = SLIDE_H - 2 * PAD_Y          # what one slide holds
CONT_HEADER = 52                      # the small "(section, continued)" header of a split page

BODY = (28, 1.35)                     # font px, line-height
HEADINGS = {1: (50, 1.2), 2: (42, 1.2), 3: (34, 1.2), 4: (30, 1.2)}
CODE = (22, 1.3)
CODE_SMALL = (19, 1.3)                # for code whose longest line would wrap at 22 px
OUTPUT = (20, 1.3)
OUTPUT_SMALL = (18, 1.3)
TABLE = (22, 1.3)
BLOCK_GAP = 14                        # between cells, and between blocks inside a cell
PARA_GAP = 12
PRE_PAD = 20                          # top + bottom padding of a code/output box
FIGURE_MAX_H = 440
DIAGRAM_MAX_H = 420
PROPORTIONAL_EM = 0.56                # average advance of a proportional glyph, in em
MONO_EM = 0.6


def text_em(text: str, narrow: float = PROPORTIONAL_EM) -> float:
    """Width of ``text`` in em: East Asian wide characters count 1 em, others ``narrow``."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else narrow for ch in text)


def wrapped_lines(text: str, font_px: float, width_px: float, narrow: float) -> int:
    """How many visual lines ``text`` takes when wrapped at ``width_px``."""
    per_line = width_px / font_px
    return max(1, math.ceil(text_em(text, narrow) / per_line))


def _strip_inline(text: str) -> str:
    text = re.sub(r"<[^>]+>", "", text)                   # inline HTML (anchors)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links: only the label shows
    return text.replace("**", "").replace("`", "")


def _para_height(text: str, font: tuple[int, float], width: float = CONTENT_W) -> float:
    size, lh = font
    return wrapped_lines(_strip_inline(text), size, width, PROPORTIONAL_EM) * size * lh


def _table_height(rows: list[str]) -> float:
    size, lh = TABLE
    cells = [[c.strip() for c in r.strip().strip("|").split("|")] for r in rows]
    cells = [r for r in cells if not all(re.fullmatch(r":?-{2,}:?", c) for c in r if c)]
    if not cells:
        return 0
    ncols = max(len(r) for r in cells)
    col_w = CONTENT_W / ncols - 16
    total = 0.0
    for row in cells:
        lines = max(wrapped_lines(_strip_inline(c), size, col_w, PROPORTIONAL_EM) for c in row)
        total += lines * size * lh + 12
    return total + PARA_GAP


def markdown_height(source: str) -> float:
    """Estimated height of a rendered markdown cell."""
    total = 0.0
    para: list[str] = []
    table: list[str] = []

    def flush() -> None:
        nonlocal total, para, table
        if para:
            total += _para_height(" ".join(para), BODY) + PARA_GAP
        if table:
            total += _table_height(table)
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
            body = "\n".join(lines[i + 1:end])
            if fence.group(2) == "mermaid":
                total += diagram_height(body) + PARA_GAP
            else:
                total += code_height(body) + PARA_GAP
            i = end + 1
            continue
        heading = re.match(r"^(#{1,6})\s+(.*)", stripped)
        if heading:
            flush()
            size, lh = HEADINGS.get(len(heading.group(1)), BODY)
            total += _para_height(heading.group(2), (size, lh)) + 16
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


def pre_height(text: str, font: tuple[int, float]) -> float:
    """Height of a wrapped monospace box holding ``text``."""
    size, lh = font
    width = CONTENT_W - 24
    lines = text.rstrip("\n").split("\n") if text.strip() else []
    visual = sum(wrapped_lines(line, size, width, MONO_EM) if line else 1 for line in lines)
    return visual * size * lh + PRE_PAD


def fits_unwrapped(text: str, font: tuple[int, float]) -> bool:
    """True when no line of ``text`` wraps in a monospace box at this font."""
    per_line = (CONTENT_W - 24) / font[0]
    return all(text_em(line, MONO_EM) <= per_line for line in text.split("\n"))


def mono_font(text: str, font: tuple[int, float], small: tuple[int, float]) -> tuple[int, float]:
    """``font``, or ``small`` when that lets the long lines of ``text`` fit without wrapping."""
    return font if fits_unwrapped(text, font) else small


def code_height(source: str) -> float:
    """Height at 22 px with wrapping: an upper bound (the deck may use 19 px for long lines)."""
    return pre_height(source, CODE)


def png_size(b64: str) -> tuple[int, int]:
    """(width, height) of a base64 PNG, read from its IHDR chunk."""
    head = base64.b64decode(b64[:44])
    return struct.unpack(">II", head[16:24])


def image_height(b64: str) -> float:
    width, height = png_size(b64)
    scale = min(1.0, CONTENT_W / width, FIGURE_MAX_H / height)
    return height * scale


def diagram_height(source: str) -> float:
    path = mermaid.svg_path(source)
    if path.exists():
        box = re.search(r'viewBox="[\d.\-]+ [\d.\-]+ ([\d.]+) ([\d.]+)"', path.read_text(encoding="utf-8"))
        if box:
            w, h = float(box.group(1)), float(box.group(2))
            return min(DIAGRAM_MAX_H, h * CONTENT_W / w)
    return DIAGRAM_MAX_H


def output_height(output: dict[str, Any]) -> float:
    """Estimated height of one output as the deck shows it."""
    kind = output.get("output_type")
    if kind == "stream":
        return pre_height(output.get("text", ""), OUTPUT)
    if kind == "error":
        return pre_height("\n".join(output.get("traceback", [])[-4:]), OUTPUT)
    data = output.get("data", {})
    if "application/vnd.jupyter.widget-view+json" in data:
        return 0
    if "image/png" in data:
        return image_height(data["image/png"])
    if "text/markdown" in data:
        return markdown_height(data["text/markdown"])
    if "text/html" in data:
        return pre_height(re.sub(r"<[^>]+>", "", data["text/html"]), OUTPUT)
    if "text/plain" in data:
        return pre_height(data["text/plain"], OUTPUT)
    return 0
