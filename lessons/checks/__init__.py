"""The checks behind the notebooks' "Your turn" cells: one place, one output format.

Each ``check_…`` function runs the learner's code on Redis (under a key prefix of its own that it
deletes afterwards), prints one line per property, ``✓`` passed or ``✗`` failed with what was
seen, then a last line that says what to do, and returns True only if everything passed. An
exception raised by the learner's code is a ``✗`` line, never a traceback.

    report = Report()
    with report.guard():                 # the learner's exception becomes a ✗ line
        report.check(result == 1, "returns 1", seen=result)
    return report.finish()
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Report"]


class Report:
    """PASS/FAIL lines of one check, printed as they come."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, passed: bool, text: str, seen: object = None) -> bool:
        """Print ``✓ text`` or ``✗ text (saw …)``; returns ``passed``."""
        passed = bool(passed)
        if passed:
            self.passed += 1
        else:
            self.failed += 1
        detail = "" if passed or seen is None else f" (saw {seen!r})"
        print(("✓ " if passed else "✗ ") + text + detail)
        return passed

    @contextmanager
    def guard(self) -> Iterator[Report]:
        """Turn an exception raised inside the block (the learner's code) into a ✗ line."""
        try:
            yield self
        except Exception as exc:
            self.check(False, f"your code raised {type(exc).__name__}: {exc}")

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.passed > 0

    def finish(self) -> bool:
        """Print the verdict line and return True if every check passed."""
        if self.ok:
            print("All checks passed.")
        else:
            print(f"Not yet: {self.failed} of {self.passed + self.failed} checks failed. "
                  "Edit your code above, run its cell, then run this check again.")
        return self.ok
