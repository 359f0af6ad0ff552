"""Offline reveal.js slide decks from the course notebooks, and the slide-metadata tagger.

    python -m lessons.slides OUTDIR                 # one deck per notebook, from committed outputs
    python -m lessons.slides --lang ja OUTDIR       # the Japanese decks, from notebooks/ja/
    python -m lessons.slides --tag notebooks/*.ipynb   # set slideshow.slide_type on every cell

Decks load only files under ``OUTDIR/assets`` (reveal.js vendored in ``vendor/``); mermaid
diagrams are pre-rendered SVGs in ``mermaid/``.
"""

from .deck import build_all, build_deck
from .tagger import plan, tag_notebook

__all__ = ["build_all", "build_deck", "plan", "tag_notebook"]
