"""``python -m coursetools.translation extract|check``: the run-time catalogues (see ``catalogs``).

    python -m coursetools.translation extract [--prune] [LANG ...]
    python -m coursetools.translation check LANG

The notebooks' catalogues are ``python -m coursetools.translation.notebooks``'s.
"""

from __future__ import annotations

import argparse
import sys

from .catalogs import check, extract


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m coursetools.translation",
        description="Keep lessons/locale/LANG/{lessons,quizzes}.po in step with the English texts "
        "of lessons/ (the run-time catalogues).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    extracting = commands.add_parser("extract", help="merge the English into the catalogues")
    extracting.add_argument("langs", nargs="*", metavar="LANG", help="languages (default: every one)")
    extracting.add_argument("--prune", action="store_true", help="drop obsolete entries")
    checking = commands.add_parser("check", help="exit 1, with the list, unless LANG is complete and current")
    checking.add_argument("lang", metavar="LANG")
    args = parser.parse_args(argv)
    if args.command == "extract":
        for path, po in extract(langs=args.langs or None, prune=args.prune).items():
            print(
                f"{path}: {len(po.translated_entries())} translated, "
                f"{len(po.untranslated_entries())} untranslated, {len(po.fuzzy_entries())} fuzzy, "
                f"{len(po.obsolete_entries())} obsolete"
            )
        return 0
    found = check(args.lang)
    for line in found:
        print(line)
    if found:
        print(f"i18n check {args.lang}: {len(found)} problem(s) in the run-time catalogues", file=sys.stderr)
        return 1
    print(f"i18n check {args.lang}: the run-time catalogues are complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
