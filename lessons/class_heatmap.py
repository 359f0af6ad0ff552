"""A class's progress as one picture: learners × exercises and quizzes (matplotlib).

    fig = heatmap(class_results(r), course_items())

One row per learner, stuck learners at the top (most items tried without passing, then most
attempts on them), absent ones at the bottom: ``lessons.progress.learner_order``, the order of
the text table. One column per exercise or quiz, grouped by notebook under its number. A cell
is green when the item passed, vermillion when it was tried without passing (with the number of
attempts written in it), light grey when it was not tried: Okabe-Ito colours, told apart by
colour-blind readers too, and the number marks a failure without any colour. Sized so that 30
learners' names stay readable (about 0.3 inch a row). Draws only: no Redis command runs here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .i18n import _
from .progress import Item, Result, learner_order

__all__ = ["COLOURS", "heatmap"]

#: not tried, tried without passing, passed
COLOURS = ("#E6E6E6", "#D55E00", "#009E73")
NOT_TRIED, FAILED, PASSED = 0, 1, 2


def heatmap(
    rows: Mapping[str, Mapping[Item, Result]],
    items: Iterable[tuple[str, str, str]],
    *,
    title: str | None = None,
) -> Figure:
    """The heat map of ``rows`` ({learner: {(notebook, item): Result}}) over ``items`` ((notebook,
    item, kind) in course order); returns the figure (the notebook shows it)."""
    items = list(items)
    learners = learner_order(rows)
    grid: list[list[int]] = []
    for name in learners:
        found = rows[name]
        grid.append(
            [
                NOT_TRIED if (nb, it) not in found else PASSED if found[(nb, it)].passed else FAILED
                for nb, it, _kind in items
            ]
        )

    fig, ax = plt.subplots(figsize=(max(8.0, 0.28 * len(items) + 2.5), max(4.0, 0.3 * len(learners) + 4.0)))
    ax.grid(False)
    ax.imshow(
        grid or [[NOT_TRIED] * len(items)],
        cmap=ListedColormap(list(COLOURS)),
        norm=BoundaryNorm([-0.5, 0.5, 1.5, 2.5], 3),
        aspect="auto",
        interpolation="nearest",
    )
    for row, name in enumerate(learners):
        for col, (nb, it, _kind) in enumerate(items):
            if grid[row][col] == FAILED:
                ax.text(
                    col,
                    row,
                    str(rows[name][(nb, it)].attempts),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white",
                    fontweight="bold",
                )

    ax.set_yticks(range(len(learners)), learners, fontsize=11)
    ax.set_xticks(
        range(len(items)),
        [it if kind == "exercise" else _("{item} (quiz)", item=it) for _nb, it, kind in items],
        rotation=90,
        fontsize=10,
    )
    ax.tick_params(length=0)
    _notebook_groups(ax, items, len(learners))
    ax.set_xlabel(_("exercise or quiz, by notebook"), fontsize=13)
    ax.set_ylabel(_("learner (stuck first)"), fontsize=13)
    ax.set_title(
        title
        or _("Class progress: {learners} learners, {items} items", learners=len(learners), items=len(items)),
        fontsize=15,
        pad=50,
    )
    ax.legend(
        handles=[
            Patch(facecolor=COLOURS[PASSED], label=_("passed")),
            Patch(facecolor=COLOURS[FAILED], label=_("tried, not passed (n: attempts)")),
            Patch(facecolor=COLOURS[NOT_TRIED], edgecolor="#999999", label=_("not tried")),
        ],
        loc="lower center",
        bbox_to_anchor=(0.5, 1.03),
        ncol=3,
        fontsize=11,
        frameon=False,
        borderaxespad=0.0,
    )
    fig.tight_layout()
    plt.close(fig)  # shown once, by the notebook's display of the returned figure
    return fig


def _notebook_groups(ax: Any, items: list[tuple[str, str, str]], n_rows: int) -> None:
    """A white line between notebooks, and each notebook's number above its columns."""
    start = 0
    for col in range(1, len(items) + 1):
        if col == len(items) or items[col][0] != items[start][0]:
            if col < len(items):
                ax.axvline(col - 0.5, color="white", linewidth=3)
            ax.text(
                (start + col - 1) / 2,
                -0.7,
                items[start][0],
                ha="center",
                va="bottom",
                fontsize=12,
                fontweight="bold",
            )
            start = col
    ax.set_ylim(n_rows - 0.5 if n_rows else 0.5, -0.5)
