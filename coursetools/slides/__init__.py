"""Offline reveal.js lecture decks from the course notebooks, and the slide-metadata tagger.

    python -m coursetools.slides OUTDIR               # one deck per notebook, from committed outputs
    python -m coursetools.slides --lang ja OUTDIR     # the Japanese decks, from notebooks/ja/
    python -m coursetools.slides --pdf OUTDIR         # the decks, then a PDF handout of each
    python -m coursetools.slides --readme-table       # the README's deck table, from the build
    python -m coursetools.slides --tag notebooks/*.ipynb   # slideshow.slide_type for JupyterLab

Decks load only files under ``OUTDIR/assets`` (reveal.js vendored in ``vendor/``, fonts from
installed packages); mermaid diagrams are pre-rendered SVGs in ``mermaid/``. The notebook side of
the contract (``notes``, ``no-deck``, exercises, quizzes) is in ``deck``'s docstring.
"""

from .deck import MAX_MINUTES, MAX_PAGES, Deck, DeckTooLong, build_all, build_deck
from .tagger import plan, tag_notebook

__all__ = [
    "MAX_MINUTES",
    "MAX_PAGES",
    "Deck",
    "DeckTooLong",
    "build_all",
    "build_deck",
    "plan",
    "tag_notebook",
]
