"""Command line: build the decks, print their handouts, generate the README's deck table, or tag
notebooks for JupyterLab's own slideshow (``python -m coursetools.slides --help``)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .deck import MAX_MINUTES, MAX_PAGES, DeckTooLong, build_all
from .layout import SOLUTIONS
from .sizing import ASPECTS
from .tagger import tag_notebook

REPO = Path(__file__).resolve().parents[2]


def _default_notebooks(lang: str = "en") -> Path:
    sub = Path("notebooks") if lang == "en" else Path("notebooks") / lang
    return sub if sub.is_dir() else REPO / sub


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m coursetools.slides",
        description="Build offline reveal.js lecture decks from the notebooks "
        f"(each at most {MAX_PAGES} pages and {MAX_MINUTES:.0f} minutes).",
    )
    parser.add_argument("outdir", nargs="?", type=Path, help="where to write NN_name.slides.html and assets/")
    parser.add_argument(
        "--notebooks",
        type=Path,
        default=None,
        help="notebook folder (default: ./notebooks, or ./notebooks/ja with --lang ja)",
    )
    parser.add_argument(
        "--lang",
        choices=("en", "ja"),
        default="en",
        help="language of the decks and of their labels (default: en)",
    )
    parser.add_argument(
        "--aspect",
        choices=sorted(ASPECTS),
        default="16:9",
        help="slide shape: 16:9 (1280x720, default) or 4:3 (for a 1024x768 projector)",
    )
    parser.add_argument(
        "--solutions",
        choices=SOLUTIONS,
        default="appendix",
        help="solutions and hints: in an appendix (default), after each exercise, or left out",
    )
    parser.add_argument(
        "--no-limits",
        action="store_true",
        help="write decks over the page/minute limits instead of failing (drafts)",
    )
    parser.add_argument(
        "--outline", action="store_true", help="print every page of every deck: kind, minutes, notes, heading"
    )
    parser.add_argument("--pdf", action="store_true", help="also print NN_name.pdf handouts (Chromium)")
    parser.add_argument("--readme-table", action="store_true", help="print the README's deck table")
    parser.add_argument(
        "--update-readme",
        action="store_true",
        help="write the deck tables into README.md (English) and README.ja.md (Japanese)",
    )
    parser.add_argument(
        "--tag",
        nargs="+",
        type=Path,
        metavar="NOTEBOOK",
        help="set metadata.slideshow.slide_type on every cell (JupyterLab's slideshow)",
    )
    args = parser.parse_args(argv)
    if args.tag:
        for path in args.tag:
            print(("tagged   " if tag_notebook(path) else "unchanged"), path)
        return 0
    if args.readme_table or args.update_readme:
        from .readme import README_FOR, built_table, update_readme

        for lang in ("en", "ja") if args.update_readme else (args.lang,):
            table = built_table(args.notebooks or _default_notebooks(lang), lang)
            if args.update_readme:
                readme = REPO / README_FOR[lang]
                print(("updated  " if update_readme(readme, table) else "unchanged"), readme)
            else:
                print(table)
        return 0
    if args.outdir is None:
        parser.error("give OUTDIR (or --readme-table, --update-readme, --tag NOTEBOOK…)")
    start = time.perf_counter()
    try:
        decks = build_all(
            args.notebooks or _default_notebooks(args.lang),
            args.outdir,
            lang=args.lang,
            aspect=args.aspect,
            solutions=args.solutions,
            check_limits=not args.no_limits,
        )
    except DeckTooLong as exc:
        print(exc, file=sys.stderr)
        return 1
    for deck in decks:
        if args.outline:
            print("\n".join([deck.name, *deck.outline]))
        over = deck.over_limits()
        print(
            f"wrote {deck.path}: {deck.pages} pages, about {deck.minutes:.0f} min, "
            f"notes on {deck.noted}/{deck.teaching} teaching slides" + (f"  OVER: {over}" if over else "")
        )
    print(f"{len(decks)} decks in {time.perf_counter() - start:.1f} s")
    if args.pdf:
        from .handouts import print_pdfs

        for pdf in print_pdfs(decks, args.aspect):
            print("wrote", pdf)
    return 0


if __name__ == "__main__":
    sys.exit(main())
