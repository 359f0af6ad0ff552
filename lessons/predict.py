"""Predict, then run: the learner writes a guess, the next cell shows what really happens.

A prediction takes three cells in a notebook: a markdown question, a one-line code cell tagged
``predict`` where the learner writes a guess (committed as ``None``), and the cell that runs the
experiment and ends with ``reveal``:

    my_guess = None   # your guess: what TTL answers after SET without EX (a number)

    r.set(key, "x")
    reveal(my_guess, r.ttl(key))

``reveal`` prints one line that says what happened and whether the guess was right. With no
guess (``None``, as committed) it says so without judging, so the committed output is the same
for every run. Its sentences go through ``lessons.i18n._`` (the ``what`` a notebook passes is
the notebook's own text, translated with the notebook). No Redis here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .i18n import _

__all__ = ["reveal"]


def _same(guess: Any, actual: Any, tolerance: float) -> bool:
    """Equal, with ``tolerance`` for numbers, ignoring case and spaces for text."""
    if isinstance(guess, bool) or isinstance(actual, bool):
        return isinstance(guess, bool) and isinstance(actual, bool) and guess == actual
    if isinstance(guess, str) and isinstance(actual, (int, float)):
        try:  # "3600" for 3600
            guess = float(guess.strip())
        except ValueError:
            return False
    if isinstance(guess, (int, float)) and isinstance(actual, (int, float)):
        return abs(guess - actual) <= tolerance
    if isinstance(guess, str) and isinstance(actual, str):
        return guess.strip().casefold() == actual.strip().casefold()
    return bool(guess == actual)


def reveal(
    guess: Any,
    actual: Any,
    *,
    what: str | None = None,
    tolerance: float = 0,
    same: Callable[[Any, Any], bool] | None = None,
) -> bool | None:
    """Print what really happened next to the learner's guess; True/False if they guessed,
    None if they did not.

    ``what`` names the value ("TTL", "the number of sessions"; "the answer" if not given);
    ``tolerance`` accepts numbers that close; ``same(guess, actual)`` replaces the comparison
    altogether.
    """
    if what is None:
        what = _("the answer")
    if guess is None or guess is Ellipsis or (isinstance(guess, str) and not guess.strip()):
        print(
            _(
                "{what}: {actual!r}. (No guess written: put yours in the cell above and run both "
                "cells again.)",
                what=what,
                actual=actual,
            )
        )
        return None
    right = same(guess, actual) if same is not None else _same(guess, actual, tolerance)
    if right:
        print(_("{what}: {actual!r}. ✓ as you predicted.", what=what, actual=actual))
    else:
        print(_("{what}: {actual!r}. ✗ you predicted {guess!r}.", what=what, actual=actual, guess=guess))
    return right
