"""The first cell of every notebook, in one call:

    from lessons.notebook import start
    r, NS = start("01")

``start`` connects to the course's Redis (``$REDIS_URL``, else the embedded server), deletes what
an earlier run of this notebook left under this learner's namespace (their keys only, nobody
else's), applies the course's plot style, and prints two lines: which Redis this is, and where
this notebook's keys live. Returns the client (``decode_responses=True``) and the namespace
(``course:{learner}:{notebook}``). One SCAN per 1 000 keys of the namespace, plus the UNLINKs.

``start("01", edition="ja")`` is the Japanese edition's: its own namespace
(``course:{learner}:ja-01``), and ``lessons.i18n.set_language("ja")`` so that everything
``lessons/`` prints from then on (these lines, checks, quizzes, plots) is Japanese.

``start`` also tells ``lessons.progress`` which notebook runs (checks and quizzes record their
results under it); ``finish`` ends with the learner's progress in the whole course, one line per
notebook (``lessons.progress.learner_summary``).
"""

from __future__ import annotations

import warnings

import redis

from . import classroom, progress
from .backend import Client, connect, describe
from .errors import CourseError
from .i18n import _, set_language
from .plots import apply_style

__all__ = ["finish", "show_progress", "start"]


def start(notebook: str, *, edition: str | None = None) -> tuple[Client, str]:
    """Connect, reset this notebook's keys, style the plots; print the backend and namespace."""
    # some redis-py releases warn at every setex() call, which the lesson's code uses on purpose
    # (notebook 01 explains SETEX versus SET … EX): a learner should not see that warning
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    apply_style()
    if edition is not None:  # the edition's language: its texts, and for "ja" its plot font
        set_language(edition)
    progress.use_notebook(notebook)
    r = connect()
    ns = classroom.namespace(notebook, edition=edition)
    classroom.reset(notebook, client=r, edition=edition)
    print(describe(r))
    print(_("This notebook's keys live under {ns}: (yours only; reset at every run)", ns=ns))
    return r, ns


def finish(r: Client, notebook: str, *, edition: str | None = None) -> None:
    """The last cell: delete this notebook's keys and say how many are left (0), then show the
    learner's progress in the course (``show_progress``)."""
    ns = classroom.namespace(notebook, edition=edition)
    classroom.reset(notebook, client=r, edition=edition)
    left = sum(1 for _ in r.scan_iter(match=f"{ns}:*", count=1000))
    print(_("Keys left under {ns}: {left}", ns=ns, left=left))
    show_progress()


def show_progress() -> None:
    """Print this learner's course, one line per notebook (one HGETALL on a real Redis, a file
    read on the embedded one); one line instead if the progress cannot be read."""
    try:
        found = progress.results()
    except (redis.RedisError, OSError, CourseError) as exc:
        print(_("(Your progress could not be read: {error}.)", error=type(exc).__name__))
        return
    print(progress.learner_summary(found))
