"""What a notebook cell is, for slides: heading level, quiz, notes, exercise, left out, its height.

Tags the decks read: ``notes`` (speaker notes for the slide before), ``no-deck``/``setup``/
``cleanup`` (left out), ``exercise`` (a "Your turn" stub), ``check``/``predict`` (JupyterLab-only
interaction: left out), ``quiz``/``quiz-answer`` (the question; the answer cell is left out, the
deck's answer page comes from the quiz data), ``solution``/``hint-*``/``quiz-explanation`` and any
other collapsed cell (extras: appendix, inline or omitted).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from . import sizing

SKIP_TAGS = frozenset({"setup", "cleanup", "no-deck"})
LEFT_OUT_TAGS = SKIP_TAGS | {"check", "predict", "quiz-answer"}  # never on a deck page
NOTES_TAG = "notes"
EXERCISE_TAG = "exercise"
ASK_RE = re.compile(r"""\bask\(\s*["']([^"']+)["']\s*\)""")
CHECK_RE = re.compile(r"""\bcheck\(\s*["']([^"']+)["']""")
NBVAL_LINE = re.compile(r"^\s*#\s*NBVAL_\w+\s*$")
EDITION_LINE = re.compile(r"^\s*#\s*(BEGIN|END) SOLUTION\s*$")
ANCHOR_LINE = re.compile(r"^\s*(<a\s[^>]*>\s*</a>\s*)+$")

Cell = Mapping[str, Any]


def text(value: Any) -> str:
    """A notebook string field, stored either as one string or as a list of lines."""
    return "".join(value) if isinstance(value, list) else (value or "")


def first_line(cell: Cell) -> str:
    """The first line that shows: blank lines and bare ``<a id=…></a>`` anchors do not count."""
    for line in text(cell.get("source")).splitlines():
        if line.strip() and not ANCHOR_LINE.match(line):
            return line
    return ""


def heading_level(cell: Cell) -> int | None:
    """1-6 when a markdown cell opens with an ATX heading, else None."""
    if cell.get("cell_type") != "markdown":
        return None
    match = re.match(r"^(#{1,6})\s", first_line(cell))
    return len(match.group(1)) if match else None


def heading_text(cell: Cell) -> str:
    """The opening heading of a markdown cell, without the hashes (or "")."""
    if heading_level(cell) is None:
        return ""
    return re.sub(r"^#+\s+", "", first_line(cell)).strip()


def tags(cell: Cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def skipped_by_tag(cell: Cell) -> bool:
    return bool(tags(cell) & SKIP_TAGS)


def is_notes(cell: Cell) -> bool:
    """A speaker-notes cell (markdown tagged ``notes``)."""
    return cell.get("cell_type") == "markdown" and NOTES_TAG in tags(cell)


def left_out(cell: Cell) -> bool:
    """A cell no deck page shows (setup, cleanup, ``no-deck``, checks, predictions, answer code)."""
    return bool(tags(cell) & LEFT_OUT_TAGS)


def extra_kind(cell: Cell) -> str | None:
    """``solution``, ``hint`` or ``explanation`` for a cell that goes with the extras, else None."""
    found = tags(cell)
    if "solution" in found:
        return "solution"
    if any(t.startswith("hint") for t in found):
        return "hint"
    if "quiz-explanation" in found:
        return "explanation"
    return "solution" if is_hidden(cell) and not is_notes(cell) else None


def is_hidden(cell: Cell) -> bool:
    """A collapsed solution or quiz-answer cell (``metadata.jupyter.source_hidden``)."""
    return bool(cell.get("metadata", {}).get("jupyter", {}).get("source_hidden"))


def quiz_ids(cell: Cell) -> list[str]:
    """Ids passed to ``ask("…")`` in a code cell."""
    if cell.get("cell_type") != "code":
        return []
    return ASK_RE.findall(text(cell.get("source")))


def checks_quiz(cell: Cell) -> bool:
    """True for a code cell that answers a quiz with ``check("id", …)``."""
    return cell.get("cell_type") == "code" and bool(CHECK_RE.search(text(cell.get("source"))))


def display_source(cell: Cell) -> str:
    """The source as a slide shows it: without ``# NBVAL_…`` and ``# BEGIN/END SOLUTION`` marker lines,
    and, for a collapsed cell, without its first-line comment (JupyterLab's collapsed-cell caption)."""
    lines = text(cell.get("source")).splitlines()
    if is_hidden(cell) and lines and lines[0].lstrip().startswith("#"):
        lines = lines[1:]
    return "\n".join(
        line for line in lines if not NBVAL_LINE.match(line) and not EDITION_LINE.match(line)
    ).strip("\n")


def quiz_height(quiz_id: str, geometry: sizing.Geometry = sizing.ASPECTS["16:9"]) -> float:
    from lessons.quiz import question

    try:
        q = question(quiz_id)
    except KeyError:  # the deck builder reports unknown ids; the tagger only needs a size
        return geometry.budget / 2
    height = geometry.para_height(q.question, sizing.BODY) + 2 * sizing.PARA_GAP + 34
    for key, choice in q.choices.items():
        height += geometry.para_height(f"{key}. {choice}", sizing.BODY, geometry.content_w - 60) + 8
    return height * 1.12  # bold question text runs wider than the average glyph


def cell_height(cell: Cell, geometry: sizing.Geometry = sizing.ASPECTS["16:9"]) -> float:
    """Estimated height of a cell as the deck shows it (outputs included)."""
    kind = cell.get("cell_type")
    if kind == "markdown":
        return geometry.markdown_height(text(cell.get("source")))
    if kind != "code":
        return 0.0
    ids = quiz_ids(cell)
    if ids:
        return sum(quiz_height(i, geometry) for i in ids)
    height = geometry.pre_height(display_source(cell)) if display_source(cell) else 0.0
    for output in cell.get("outputs", []):
        part = geometry.output_height(output)
        if part:
            height += part + 6
    return height
