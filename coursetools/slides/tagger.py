"""Set ``metadata.slideshow.slide_type`` on every cell, by rule, and nothing else.

These slide types are for JupyterLab's and nbconvert's own slideshows; the course's decks
(``python -m coursetools.slides``) do not read them. Rules, in order: cells tagged ``notes`` ->
``notes``; ``setup``/``cleanup``/``no-deck`` -> ``skip``; a markdown cell opening with
``#``/``## `` -> ``slide``, ``### `` -> ``subslide``; a collapsed cell (``jupyter.source_hidden``)
starts a ``subslide`` (its "Solution" page) and so does the first cell after it or after a quiz
(``ask("…")``), so an answer never shares a page with its question; a ``check("…")`` cell is a
``fragment``; everything else ``-``. Then a page whose estimated height exceeds a 1280x720 slide is
split with extra ``subslide``s, before the sentence that introduces a code cell where possible.
The rules read only cell contents, so tagging is idempotent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import nbformat

from . import sizing
from .structure import (
    Cell,
    cell_height,
    checks_quiz,
    heading_level,
    is_hidden,
    is_notes,
    quiz_ids,
    skipped_by_tag,
)

__all__ = ["plan", "split_tall", "tag_notebook"]

NEW_PAGE = ("slide", "subslide")


def _rule(cell: Cell, after_hidden: bool, after_quiz: bool) -> str:
    if is_notes(cell):
        return "notes"
    if skipped_by_tag(cell):
        return "skip"
    level = heading_level(cell)
    if level in (1, 2):
        return "slide"
    if level == 3:
        return "subslide"
    if is_hidden(cell):
        return "-" if after_hidden else "subslide"
    if after_hidden or after_quiz:
        return "subslide"
    if checks_quiz(cell):
        return "fragment"
    return "-"


def plan(cells: Sequence[Cell]) -> list[str]:
    """The slide type of each cell, from the rules above (existing metadata is ignored)."""
    types: list[str] = []
    after_hidden = after_quiz = started = False
    for cell in cells:
        kind = _rule(cell, after_hidden, after_quiz)
        if kind in ("skip", "notes"):
            types.append(kind)
            continue
        if not started:
            kind = "slide"
            started = True
        types.append(kind)
        after_hidden, after_quiz = is_hidden(cell), bool(quiz_ids(cell))
    return split_tall(cells, types)


def split_tall(
    cells: Sequence[Cell], types: list[str], budget: float = sizing.ASPECTS["16:9"].budget
) -> list[str]:
    """Add ``subslide`` breaks where a page's estimated height would exceed ``budget``."""
    types = list(types)
    heights = [0.0 if t in ("skip", "notes") else cell_height(c) for c, t in zip(cells, types, strict=True)]
    page: list[int] = []
    for i, kind in enumerate(types):
        if kind in ("skip", "notes"):
            continue
        if kind in NEW_PAGE or not page:
            page = [i]
            continue
        used = sum(heights[j] for j in page) + sizing.BLOCK_GAP * len(page)
        if used + heights[i] > budget:
            start = i
            prev = page[-1]
            if (
                len(page) > 1
                and cells[i].get("cell_type") == "code"
                and cells[prev].get("cell_type") == "markdown"
                and types[prev] in ("-", "fragment")
            ):
                start = prev  # keep the sentence that introduces this code with it
            types[start] = "subslide"
            page = page[page.index(start) :] if start != i else []
            if sum(heights[j] for j in page) + heights[i] + sizing.HEADER > budget and start != i:
                types[i] = "subslide"  # the intro and its code do not fit together either
                page = []
        page.append(i)
    return types


def tag_notebook(path: str | Path) -> bool:
    """Write slide types into the notebook at ``path``; True if the file changed.

    The file is edited as plain JSON (nbformat's own layout: indent 1, sorted keys), so outputs,
    execution counts, ids and every other field are written back exactly as they were.
    """
    path = Path(path)
    original = path.read_text(encoding="utf-8")
    raw = json.loads(original)
    cells = nbformat.reads(original, as_version=4).cells
    if len(cells) != len(raw["cells"]):
        raise ValueError(f"{path}: cell count changed while reading")
    for cell, kind in zip(raw["cells"], plan(cells), strict=True):
        cell.setdefault("metadata", {}).setdefault("slideshow", {})["slide_type"] = kind
    updated = json.dumps(raw, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if updated == original:
        return False
    path.write_text(updated, encoding="utf-8")
    return True
