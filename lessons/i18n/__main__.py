"""``python -m lessons.i18n extract`` / ``python -m lessons.i18n check LANG`` (see catalogs)."""

from __future__ import annotations

import sys

from .catalogs import check, extract

USAGE = """usage: python -m lessons.i18n extract [--prune] [LANG...]
           merge the English into lessons/locale/LANG/{lessons,quizzes}.po (every LANG if none);
           --prune drops obsolete entries
       python -m lessons.i18n check LANG
           exit 1, with the list, if LANG's run-time catalogues are not complete and current"""


def main(argv: list[str]) -> int:
    if argv[:1] == ["extract"]:
        prune = "--prune" in argv
        langs = [a for a in argv[1:] if a != "--prune"]
        if any(a.startswith("-") for a in langs):
            print(USAGE, file=sys.stderr)
            return 2
        for path, po in extract(langs=langs or None, prune=prune).items():
            print(f"{path}: {len(po.translated_entries())} translated, "
                  f"{len(po.untranslated_entries())} untranslated, {len(po.fuzzy_entries())} fuzzy, "
                  f"{len(po.obsolete_entries())} obsolete")
        return 0
    if len(argv) == 2 and argv[0] == "check":
        found = check(argv[1])
        for line in found:
            print(line)
        if found:
            print(f"i18n check {argv[1]}: {len(found)} problem(s) in the run-time catalogues",
                  file=sys.stderr)
            return 1
        print(f"i18n check {argv[1]}: the run-time catalogues are complete")
        return 0
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
