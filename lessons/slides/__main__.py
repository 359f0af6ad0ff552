"""Command line: build the decks (``OUTDIR``, ``--lang ja`` for the Japanese edition from
``notebooks/ja/``) or tag notebooks (``--tag NOTEBOOK…``)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .deck import build_all
from .tagger import tag_notebook


def _default_notebooks(lang: str = "en") -> Path:
    sub = Path("notebooks") if lang == "en" else Path("notebooks") / lang
    return sub if sub.is_dir() else Path(__file__).resolve().parents[2] / sub


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lessons.slides",
        description="Build offline reveal.js decks from the notebooks, or tag their cells with slide types.")
    parser.add_argument("outdir", nargs="?", type=Path, help="where to write NN_name.slides.html and assets/")
    parser.add_argument("--notebooks", type=Path, default=None,
                        help="notebook folder (default: ./notebooks, or ./notebooks/ja with --lang ja)")
    parser.add_argument("--lang", choices=("en", "ja"), default="en",
                        help="language of the decks and of their labels (default: en)")
    parser.add_argument("--tag", nargs="+", type=Path, metavar="NOTEBOOK",
                        help="set metadata.slideshow.slide_type on every cell of these notebooks")
    args = parser.parse_args(argv)
    if args.tag:
        for path in args.tag:
            print(("tagged   " if tag_notebook(path) else "unchanged"), path)
        return 0
    if args.outdir is None:
        parser.error("give OUTDIR (or --tag NOTEBOOK…)")
    start = time.perf_counter()
    decks = build_all(args.notebooks or _default_notebooks(args.lang), args.outdir, lang=args.lang)
    for deck in decks:
        print("wrote", deck)
    print(f"{len(decks)} decks in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
