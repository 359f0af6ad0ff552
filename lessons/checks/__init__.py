"""The checks behind the notebooks' "Your turn" cells: one place, one output format.

Each ``check_…`` function runs the learner's code on Redis (under a key prefix of its own that it
deletes afterwards), prints one line per property, ``✓`` passed or ``✗`` failed with what was
seen, then a last line that says what to do, and returns True only if everything passed. An
exception raised by the learner's code is a ``✗`` line, never a traceback.

    report = Report()
    with report.guard():                 # the learner's exception becomes a ✗ line
        report.check(result == 1, "returns 1", seen=result)
        report.check(other is None, "answers None for a missing key", seen=other, trivial=True)
    return report.finish()

``finish`` also records the verdict in the learner's progress (``lessons.progress``), as the
item named after the check function that called it (``check_refresh`` -> ``refresh``) or the
``item`` given to ``Report(item=…)``. Recording never changes the verdict: if it cannot be
saved, one more line says so (once per kernel).

A property that an empty stub already has (``return None`` answers "None for a missing key") is
``trivial=True``: it earns its ``✓`` only once at least one other property passes, so a stub is
never praised. Until then it is printed as ``·`` (not counted yet). The lines are printed
together by ``finish``.

Languages: every line goes through ``lessons.i18n._``. The shared words (the verdict, "saw", the
learner's exception) are wrapped here; each check module wraps its own property texts where it
writes them, as literals with named placeholders, so ``python -m coursetools.translation extract`` finds them:
``report.check(ok, _("resets its TTL to {ttl} s", ttl=60), seen)``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from .. import progress
from ..i18n import _

__all__ = ["Report"]


@dataclass
class _Line:
    passed: bool
    text: str
    detail: str
    trivial: bool


class Report:
    """The ✓/✗ lines of one check, printed by ``finish``."""

    def __init__(self, item: str | None = None) -> None:
        self.lines: list[_Line] = []
        self.item = item  # the exercise's id in the learner's progress (default: the caller's name)

    def check(self, passed: bool, text: str, seen: object = None, *, trivial: bool = False) -> bool:
        """Record ``✓ text`` or ``✗ text (saw …)``; returns ``passed``. ``trivial``: a property
        that a stub doing nothing already has (counted only once another property passes)."""
        passed = bool(passed)
        detail = "" if passed or seen is None else _(" (saw {seen!r})", seen=seen)
        self.lines.append(_Line(passed, text, detail, trivial))
        return passed

    @contextmanager
    def guard(self) -> Iterator[Report]:
        """Turn an exception raised inside the block (the learner's code) into a ✗ line."""
        try:
            yield self
        except Exception as exc:
            self.check(False, _("your code raised {error}: {message}", error=type(exc).__name__, message=exc))

    @property
    def _earned(self) -> bool:
        """True once a non-trivial property passed: only then do trivial ones count."""
        return any(line.passed and not line.trivial for line in self.lines)

    @property
    def passed(self) -> int:
        return sum(line.passed and (self._earned or not line.trivial) for line in self.lines)

    @property
    def failed(self) -> int:
        return sum(not line.passed for line in self.lines)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self._earned

    def finish(self) -> bool:
        """Print every line and the verdict, record it in the learner's progress (one line more
        if that fails, once per kernel); return True if every check passed."""
        earned = self._earned
        for line in self.lines:
            if line.passed and line.trivial and not earned:
                print(
                    _(
                        "· {text} (counts once the rest works: a stub that does nothing does this too)",
                        text=line.text,
                    )
                )
            else:
                print(("✓ " if line.passed else "✗ ") + line.text + line.detail)
        if self.ok:
            print(_("All checks passed."))
        else:
            print(
                _(
                    "Not yet: {failed} of {total} checks failed. "
                    "Edit your code above, run its cell, then run this check again.",
                    failed=self.failed,
                    total=len(self.lines),
                )
            )
        frame = sys._getframe(1)
        caller = frame.f_code.co_name
        item = self.item or (caller.removeprefix("check_") if caller.startswith("check_") else None)
        notebook = item and (progress.notebook_of(item) or progress.current_notebook())
        if item and notebook and not _run_by_the_course_solution(frame):
            progress.record(notebook, item, self.ok, kind="exercise")
        return self.ok


def _run_by_the_course_solution(frame: FrameType | None) -> bool:
    """True when the check runs from one of the course's Solution cells, which name what they
    check ``…_solution`` (a function, a class or a header string): up the call stack to the cell
    (the first module-level frame), any code that names such a thing. The verdict is printed as
    usual but not recorded as the learner's, so running the collapsed solutions (or "Run All")
    earns no ✓ on the progress board."""
    while frame is not None:
        code = frame.f_code
        if any(name.endswith("_solution") for name in (*code.co_names, *code.co_varnames)):
            return True
        if code.co_name == "<module>":
            return False
        frame = frame.f_back
    return False
