"""One definition of a percentile for every latency the course measures.

``percentile(values, q)`` is the ``q``-th percentile (``q`` a whole number from 1 to 99) by
linear interpolation between the two closest ranks: ``statistics.quantiles(values, n=100,
method="inclusive")``, the same as NumPy's default (``numpy.percentile``, method "linear") and
a spreadsheet's ``PERCENTILE.INC``. The 50th is the median (``statistics.median``); no value
outside ``min(values)..max(values)`` is ever returned; with one value, every percentile is it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

__all__ = ["percentile"]


def percentile(values: Sequence[float], q: int) -> float:
    """The ``q``-th percentile (1..99) of ``values`` (in any order): see the module docstring."""
    if isinstance(q, bool) or not isinstance(q, int) or not 1 <= q <= 99:
        raise ValueError(f"q must be a whole number from 1 to 99, not {q!r}")
    if not values:
        raise ValueError("no values to take a percentile of")
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]
