"""lessons.percentile: one definition (linear interpolation, ``statistics.quantiles`` inclusive)."""

from __future__ import annotations

import statistics

import pytest

from lessons.percentile import percentile

HUNDRED = [float(i) for i in range(100, 0, -1)]  # 1..100, in no particular order


def test_percentile_interpolates_between_the_closest_ranks() -> None:
    assert percentile(HUNDRED, 50) == 50.5 == statistics.median(HUNDRED)
    assert percentile(HUNDRED, 95) == pytest.approx(95.05)
    assert percentile(HUNDRED, 99) == pytest.approx(99.01)
    assert percentile([1.0, 2.0, 3.0], 95) == pytest.approx(2.9)
    assert percentile([1.0, 2.0, 3.0], 1) == pytest.approx(1.02)


def test_percentile_stays_within_the_values() -> None:
    values = [0.3, 7.0, 0.1, 0.2]
    assert all(min(values) <= percentile(values, q) <= max(values) for q in range(1, 100))
    assert percentile([5.0], 99) == 5.0


@pytest.mark.parametrize("q", [0, 100, 99.5, True, "50"])
def test_percentile_refuses_what_is_not_a_whole_percent(q: object) -> None:
    with pytest.raises(ValueError, match="q must be a whole number from 1 to 99"):
        percentile(HUNDRED, q)  # type: ignore[arg-type]  # refused at run time too


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
