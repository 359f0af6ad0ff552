"""The instructor's heat map (lessons.class_heatmap) and the simulated class it is shown on
(lessons.class_simulation): fixed data, stored with TTLs under names of its own on both backends,
read back without touching another learner's progress, removed afterwards."""

from __future__ import annotations

import uuid

import matplotlib
import pytest

from lessons import progress
from lessons.backend import Client
from lessons.class_heatmap import COLOURS, heatmap
from lessons.class_simulation import NAMES, SIMULATION_TTL, SimulatedClass, simulated_results
from lessons.progress import Result, course_items, learner_order

matplotlib.use("Agg")


def test_the_simulated_class_is_the_same_every_time_and_covers_every_kind_of_learner() -> None:
    items = course_items()
    first, again = simulated_results(NAMES, items), simulated_results(NAMES, items)
    assert first == again
    assert len(first) == len(NAMES) == 30
    known = {(nb, it) for nb, it, _kind in items}
    assert all(set(found) <= known for found in first.values())
    outcomes = [r.passed for found in first.values() for r in found.values()]
    assert any(outcomes) and not all(outcomes)
    assert any(len(found) == len(items) or len(found) < len(items) // 2 for found in first.values())


def test_stored_read_back_and_removed_without_reading_other_learners(client: Client) -> None:
    other = f"test-{uuid.uuid4().hex[:10]}"
    progress.write_results(client, other, {("01", "refresh"): Result(True, 1, 1.0)}, ttl=60)
    rows = simulated_results(NAMES[:3], course_items())
    sim = SimulatedClass.store(client, rows)
    try:
        keys = sim.keys()
        assert keys == [f"course:{sim.run}-{name}:progress" for name in NAMES[:3]]
        assert all(0 < client.ttl(key) <= SIMULATION_TTL for key in keys)
        assert sim.read() == rows
        assert sim.remove() == 3
        assert not any(client.exists(key) for key in keys)
        assert client.exists(progress.progress_key(other))  # someone else's progress is left alone
    finally:
        client.delete(*sim.keys(), progress.progress_key(other))


def test_heatmap_rows_columns_colours_and_labels() -> None:
    items = course_items()
    rows = {
        "done": {(nb, it): Result(True, 1, 0.0) for nb, it, _k in items},
        "stuck": {("01", "refresh"): Result(False, 4, 0.0)},
        "absent": {},
    }
    fig = heatmap(rows, items)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["stuck", "done", "absent"]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert len(labels) == len(items) and "refresh" in labels and "ttl-reset (quiz)" in labels
    grid = ax.images[0].get_array()
    assert grid is not None
    col = next(i for i, (nb, it, _k) in enumerate(items) if (nb, it) == ("01", "refresh"))
    assert grid[0][col] == 1 and grid[1][col] == 2 and grid[2][col] == 0
    assert [t.get_text() for t in ax.texts if t.get_text() == "4"] == ["4"]  # attempts in the ✗ cell
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == [
        "passed",
        "tried, not passed (n: attempts)",
        "not tried",
    ]
    assert ax.get_xlabel() and ax.get_ylabel()
    assert {t.get_text() for t in ax.texts} >= {"00", "01", "06"}  # notebook numbers over the columns
    assert len(COLOURS) == 3


@pytest.mark.parametrize("n", [1, 30])
def test_heatmap_is_tall_enough_for_every_name(n: int) -> None:
    rows = simulated_results([f"learner-{i:02d}" for i in range(n)], course_items())
    fig = heatmap(rows, course_items())
    assert fig.get_size_inches()[1] >= 0.3 * n  # at least 0.3 inch a learner
    assert len(fig.axes[0].get_yticklabels()) == n


def test_the_heat_map_rows_are_the_text_tables_order_stuck_first_absent_last() -> None:
    rows = {
        "b": {("01", "x"): Result(True, 1, 0.0)},
        "a": {("01", "x"): Result(False, 2, 0.0)},
        "c": {("01", "x"): Result(False, 5, 0.0)},
        "d": {},
    }
    assert learner_order(rows) == ["c", "a", "b", "d"]
    fig = heatmap(rows, [("01", "x", "exercise")])
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["c", "a", "b", "d"]
