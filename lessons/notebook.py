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
"""

from __future__ import annotations

import warnings

from . import classroom
from .backend import Client, connect, describe
from .i18n import _, set_language
from .plots import apply_style

__all__ = ["finish", "start"]


def start(notebook: str, *, edition: str | None = None) -> tuple[Client, str]:
    """Connect, reset this notebook's keys, style the plots; print the backend and namespace."""
    # some redis-py releases warn at every setex() call, which the lesson's code uses on purpose
    # (notebook 01 explains SETEX versus SET … EX): a learner should not see that warning
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    apply_style()
    if edition is not None:  # the edition's language: its texts, and for "ja" its plot font
        set_language(edition)
    r = connect()
    ns = classroom.namespace(notebook, edition=edition)
    classroom.reset(notebook, client=r, edition=edition)
    print(describe(r))
    print(_("This notebook's keys live under {ns}: (yours only; reset at every run)", ns=ns))
    return r, ns


def finish(r: Client, notebook: str, *, edition: str | None = None) -> None:
    """The last cell: delete this notebook's keys and say how many are left (0)."""
    ns = classroom.namespace(notebook, edition=edition)
    classroom.reset(notebook, client=r, edition=edition)
    left = sum(1 for _ in r.scan_iter(match=f"{ns}:*", count=1000))
    print(_("Keys left under {ns}: {left}", ns=ns, left=left))
