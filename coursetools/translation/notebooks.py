"""The notebooks of another edition (Japanese): catalogues, build and the staleness check.

    python -m coursetools.translation.notebooks extract ja  # English notebooks -> locale/ja/notebooks/*.po
    python -m coursetools.translation.notebooks build ja    # English notebooks + catalogues -> notebooks/ja/
    python -m coursetools.translation.notebooks check ja    # exit 1, saying why, if anything is stale

The English notebooks (``notebooks/NN_*.ipynb``) are the source of truth; ``coursetools.translation.units``
says what a translation unit is. ``extract`` merges each notebook's units into its catalogue:
same text at the same place -> kept; same text elsewhere (a moved cell) -> carried over; similar
text in the same cell -> ``fuzzy``, with the previous English kept (``#| msgid``); nothing
similar -> untranslated; a translated entry whose English is gone -> obsolete (``#~``).

``build`` writes each notebook with the same cells, ids, tags, slide metadata and collapsed
state, swapping only translated text (an untranslated or fuzzy unit keeps its English, and the
build says how many); relative links that leave ``notebooks/`` get ``../``; the setup and
cleanup calls ``start("NN")`` / ``finish(r, "NN")`` get ``edition="ja"``; outputs are cleared.

``check`` (no kernel, no Redis) fails on an untranslated, fuzzy or obsolete entry (a fuzzy one
prints a word diff of its English change), on a catalogue older than its notebook, on a
translation that loses a ``{placeholder}``, an inline code span, a link target or a number, on
one English string translated two ways in one notebook, on a built code cell whose tokens differ
from its English source outside comments and strings, and on committed notebooks of the edition
(when that folder exists) whose inputs differ from a fresh build.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import re
import sys
import tokenize
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import nbformat

from . import catalogs
from .units import Segment, cell_segments, code_signature, placeholders

__all__ = ["build_notebook", "check", "extract", "main", "merge", "word_diff"]

ROOT = Path(__file__).resolve().parents[2]
SIMILAR = 0.5  # word-level similarity above which a changed text is fuzzy, not new
SHOWN = 5  # untranslated entries listed per catalogue (the rest are counted)
_CODE = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(
    r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|(?:href|src)=\"([^\"]+)\"|<(https?://[^>\s]+)>"
)
_NUMBER = re.compile(r"\d{1,3}(?:[ \u202f\u2009,]\d{3})+(?!\d)|\d+(?:\.\d+)*")
_GLOSS = re.compile(r"[(（][^()（）]*[\u3040-\u30ff\u4e00-\u9fff][^()（）]*[)）]")
_SIBLING = re.compile(r"^\d\d_[\w-]+\.ipynb(#.*)?$")
_ABSOLUTE = re.compile(r"^(#|/|[A-Za-z][\w+.-]*:)")
_CALL = re.compile(r"""\b((?:start|finish)\((?:[^()\n]*?,\s*)?["'](\d\d)["'])\)""")
_NOTES = {
    "md": None,
    "comment": "a code comment: each line of the translation becomes one comment line",
    "str": "a Python string literal, pasted back as source: keep every {field} and escape",
}


def _po() -> Any:
    import polib  # imported here so that the course's run time never needs it

    return polib


# ------------------------------------------------------------------ paths and units
def notebooks(src: Path, only: list[str] | None = None) -> list[Path]:
    """The English notebooks ``NN_*.ipynb`` of ``src``, or those named in ``only`` (``05``)."""
    found = sorted(src.glob("[0-9][0-9]_*.ipynb"))
    return [p for p in found if not only or any(p.stem.startswith(o) for o in only)]


def catalogue_path(locale: Path, lang: str, notebook: Path) -> Path:
    """``{locale}/{lang}/notebooks/NN_name.po``."""
    return locale / lang / "notebooks" / f"{notebook.stem}.po"


def units(nb: Any) -> list[Segment]:
    """The notebook's translation units, in order."""
    return [s for cell in nb.cells for s in cell_segments(cell) if s.ctx]


def word_diff(old: str, new: str, keep: int = 5) -> str:
    """``old`` -> ``new`` word by word (``coursetools.translation.catalogs.word_diff``), long unchanged runs
    elided to their first and last ``keep`` words."""
    return catalogs.word_diff(old, new, keep)


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.split(), b.split(), autojunk=False).ratio()


# ------------------------------------------------------------------ extract
def merge(found: list[Segment], old: Any | None, name: str, lang: str) -> tuple[Any, Counter[str]]:
    """A catalogue for ``found`` units, reusing what ``old`` (a polib file or None) translated."""
    polib = _po()
    po = polib.POFile(wrapwidth=0)
    po.header = (
        f"{name}: the {lang} edition of notebooks/{name}.ipynb.\n"
        "Units and contexts by `python -m coursetools.translation.notebooks extract " + lang + "`."
    )
    po.metadata = (
        dict(old.metadata)
        if old is not None
        else {
            "Project-Id-Version": f"redis-session-course {name}",
            "Language": lang,
            "MIME-Version": "1.0",
            "Content-Type": "text/plain; charset=UTF-8",
            "Content-Transfer-Encoding": "8bit",
        }
    )
    previous = list(old) if old is not None else []
    at = {(e.msgctxt, e.msgid): e for e in previous}
    used: set[int] = set()
    stats: Counter[str] = Counter()
    chosen: list[tuple[Any, str] | None] = []
    for unit in found:  # same text, same place
        e = at.get((unit.ctx, unit.msgid))
        chosen.append(
            (e, "fuzzy" if e is not None and "fuzzy" in e.flags else "kept")
            if e is not None and e.msgstr
            else None
        )
        if e is not None:
            used.add(id(e))
    for i, unit in enumerate(found):  # same text elsewhere: a moved cell
        if chosen[i] is None:
            same = [e for e in previous if e.msgid == unit.msgid and e.msgstr and "fuzzy" not in e.flags]
            same.sort(key=lambda e: (id(e) in used, not e.msgctxt.startswith(unit.ctx.split(":")[0])))
            if same:
                chosen[i] = (same[0], "moved")
                used.add(id(same[0]))
    for i, unit in enumerate(found):  # similar text in the same cell: fuzzy
        if chosen[i] is None:
            cell_kind = unit.ctx.rsplit(":", 1)[0] + ":"
            near = [
                (_ratio(e.msgid, unit.msgid), e)
                for e in previous
                if id(e) not in used and e.msgstr and e.msgctxt.startswith(cell_kind)
            ]
            best = max(near, key=lambda pair: pair[0], default=None)
            if best is not None and best[0] >= SIMILAR:
                chosen[i] = (best[1], "fuzzy")
                used.add(id(best[1]))
    for unit, pick in zip(found, chosen):
        entry = polib.POEntry(msgctxt=unit.ctx, msgid=unit.msgid, msgstr="", comment=_NOTES[unit.kind])
        if pick is not None:
            source, how = pick
            entry.msgstr, entry.tcomment = source.msgstr, source.tcomment
            if how == "fuzzy":
                entry.flags = ["fuzzy"]
                entry.previous_msgid = (
                    source.previous_msgid
                    if "fuzzy" in source.flags and source.previous_msgid
                    else source.msgid
                )
            stats[how] += 1
        else:
            stats["untranslated"] += 1
        po.append(entry)
    for e in previous:  # translated, and its English is gone
        if id(e) not in used and e.msgstr:
            e.obsolete = True
            po.append(e)
            stats["obsolete"] += 1
    return po, stats


def extract(lang: str, src: Path, locale: Path, only: list[str] | None = None) -> dict[str, Counter[str]]:
    """Merge every English notebook's units into its catalogue; the counts per catalogue."""
    polib, report = _po(), {}
    for path in notebooks(src, only):
        target = catalogue_path(locale, lang, path)
        old = polib.pofile(str(target), wrapwidth=0) if target.exists() else None
        found = units(nbformat.read(path, as_version=4))
        po, stats = merge(found, old, path.stem, lang)
        target.parent.mkdir(parents=True, exist_ok=True)
        po.save(str(target))
        stats["entries"] = len(found)
        stats["words"] = sum(len(u.msgid.split()) for u in found if u.msgid)
        report[path.stem] = stats
    return report


# ------------------------------------------------------------------ build
def translated(po: Any) -> dict[tuple[str, str], str]:
    """(context, English) -> translation, for entries translated and not fuzzy: a catalogue older
    than its notebook never puts an old translation on new English."""
    return {
        (e.msgctxt, e.msgid): e.msgstr for e in po if e.msgstr and not e.obsolete and "fuzzy" not in e.flags
    }


def rebase_links(text: str) -> str:
    """Relative link targets seen from ``notebooks/{lang}/``: siblings ``NN_*.ipynb`` stay (the
    edition has them), anything else gets ``../``."""

    def fix(match: re.Match[str]) -> str:
        group = next(i for i in (1, 2, 3) if match.group(i) is not None)
        target = match.group(group)
        if _ABSOLUTE.match(target) or _SIBLING.match(target):
            return match.group(0)
        start, end = match.span(group)
        whole = match.group(0)
        return whole[: start - match.start()] + "../" + target + whole[end - match.start() :]

    return _LINK.sub(fix, text)


def with_edition(source: str, lang: str) -> str:
    """``start("NN")`` -> ``start("NN", edition="ja")``; the same for ``finish(..., "NN")``."""
    return _CALL.sub(lambda m: m.group(1) + f', edition="{lang}")', source)


def _render(seg: Segment, text: str) -> str:
    if seg.kind != "comment":
        return text
    lines = text.split("\n")
    return seg.marker + lines[0] + "".join("\n" + seg.indent + seg.marker + line for line in lines[1:])


def build_notebook(nb: Any, po: Any, lang: str) -> tuple[Any, Counter[str]]:
    """The edition of one English notebook; counts of units translated and left in English."""
    done, counts = translated(po), Counter[str]()
    out = copy.deepcopy(nb)
    for cell in out.cells:
        pieces = []
        for seg in cell_segments(cell):
            if seg.ctx and (seg.ctx, seg.msgid) in done:
                counts["translated"] += 1
                pieces.append(_render(seg, done[seg.ctx, seg.msgid]))
            else:
                counts["english"] += bool(seg.ctx)
                pieces.append(seg.text)
        source = "".join(pieces)
        if cell.cell_type == "markdown":
            source = rebase_links(source)
        elif cell.cell_type == "code":
            source = with_edition(source, lang)
            cell.outputs, cell.execution_count = [], None
        cell.source = source
        cell.metadata.pop("execution", None)
    return out, counts


def build(
    lang: str, src: Path, locale: Path, out: Path, only: list[str] | None = None
) -> dict[str, Counter[str]]:
    """Write the edition's notebooks into ``out``; the counts per notebook."""
    polib, report = _po(), {}
    out.mkdir(parents=True, exist_ok=True)
    for path in notebooks(src, only):
        target = catalogue_path(locale, lang, path)
        po = polib.pofile(str(target), wrapwidth=0) if target.exists() else polib.POFile()
        built, counts = build_notebook(nbformat.read(path, as_version=4), po, lang)
        nbformat.write(built, str(out / path.name))
        report[path.stem] = counts
    return report


# ------------------------------------------------------------------ check
def _numbers(text: str, english: bool = False) -> Counter[str]:
    """Numbers outside code spans and links (and the English's Japanese glosses: "Hint 1
    (ヒント1)" holds one 1)."""
    bare = _LINK.sub(" ", _CODE.sub(" ", _GLOSS.sub(" ", text) if english else text))
    bare = unicodedata.normalize("NFKC", bare)
    return Counter(re.sub(r"[ \u202f\u2009,]", "", n) for n in _NUMBER.findall(bare))


def lost(msgid: str, msgstr: str, kind: str) -> list[str]:
    """What a translation dropped: placeholders, inline code, link targets, numbers."""
    problems = []
    if kind == "str" and placeholders(msgid) != placeholders(msgstr):
        problems.append(f"placeholders {placeholders(msgid)} became {placeholders(msgstr)}")
    pairs = [
        (
            "inline code",
            Counter(m.group(2) for m in _CODE.finditer(msgid)),
            Counter(m.group(2) for m in _CODE.finditer(msgstr)),
        ),
        (
            "link target",
            Counter(next(g for g in m.groups() if g) for m in _LINK.finditer(msgid)),
            Counter(next(g for g in m.groups() if g) for m in _LINK.finditer(msgstr)),
        ),
        ("number", _numbers(msgid, english=True), _numbers(msgstr)),
    ]
    for what, english, japanese in pairs:
        for item in english - japanese:
            problems.append(f"{what} {item!r} is missing")
    return problems


def _entry_problems(po: Any, found: list[Segment]) -> list[str]:
    problems = []
    want = {u.ctx: u for u in found}
    have = {e.msgctxt: e for e in po if not e.obsolete}
    for ctx, unit in want.items():
        e = have.get(ctx)
        if e is None:
            problems.append(
                f"new English   {ctx}: not in the catalogue yet (run extract): {unit.msgid[:70]!r}"
            )
        elif e.msgid != unit.msgid:
            problems.append(f"English changed {ctx} (run extract): {word_diff(e.msgid, unit.msgid)}")
    for ctx, e in have.items():
        if ctx not in want:
            problems.append(f"gone          {ctx}: no longer in the notebook (run extract)")
        elif "fuzzy" in e.flags:
            before = e.previous_msgid or ""
            problems.append(
                f"fuzzy         {ctx}: the English changed; update the translation, then "
                f"delete the '#, fuzzy' and '#| msgid' lines:\n"
                f"      {word_diff(before, e.msgid)}"
            )
        elif not e.msgstr:
            problems.append(f"untranslated  {ctx}: {e.msgid[:70]!r}")
        else:
            kind = ctx.split(":")[1]
            problems += [f"lost          {ctx}: {p}" for p in lost(e.msgid, e.msgstr, kind)]
    for e in po.obsolete_entries():
        problems.append(
            f"obsolete      {e.msgctxt}: its English is gone; reuse it, then delete the '#~' "
            f"lines: {e.msgid[:60]!r}"
        )
    ways: dict[str, set[str]] = {}
    for e in have.values():
        if e.msgstr and ":str:" in e.msgctxt:
            ways.setdefault(e.msgid, set()).add(e.msgstr)
    problems += [
        f"inconsistent  string {k!r} is translated {len(v)} ways: code may compare it"
        for k, v in ways.items()
        if len(v) > 1
    ]
    return problems


def _code_problems(english: Any, built: Any, lang: str) -> list[str]:
    problems = []
    for en, ja in zip(english.cells, built.cells):
        if en.cell_type != "code":
            continue
        try:
            same = code_signature(ja.source) == code_signature(with_edition(en.source, lang))
        except (tokenize.TokenError, SyntaxError) as exc:
            problems.append(f"code          {ja.id}: the translated cell does not tokenize ({exc})")
            continue
        if not same:
            problems.append(
                f"code          {ja.id}: differs from the English cell outside comments and strings"
            )
    return problems


def _inputs(nb: Any) -> list[tuple[Any, ...]]:
    return [
        (c.get("id"), c.cell_type, c.source, {k: v for k, v in c.metadata.items() if k != "execution"})
        for c in nb.cells
    ]


def check(
    lang: str, src: Path, locale: Path, committed: Path | None, only: list[str] | None = None
) -> tuple[list[str], list[str]]:
    """(problems, summary lines) for every notebook; no problems means the edition is current."""
    polib, problems, summary = _po(), [], []
    for path in notebooks(src, only):
        english = nbformat.read(path, as_version=4)
        target = catalogue_path(locale, lang, path)
        if not target.exists():
            problems.append(f"{path.stem}: no catalogue {target} (run extract)")
            continue
        po = polib.pofile(str(target), wrapwidth=0)
        found = units(english)
        mine = _entry_problems(po, found)
        built, counts = build_notebook(english, po, lang)
        mine += _code_problems(english, built, lang)
        if committed is not None and committed.is_dir():
            on_disk = committed / path.name
            if not on_disk.exists():
                mine.append(f"committed     {on_disk} is missing (run build)")
            elif (old := _inputs(nbformat.read(on_disk, as_version=4))) != (new := _inputs(built)):
                first = next((a[0] for a, b in zip(old, new) if a != b), "(cell count)")
                mine.append(
                    f"committed     {on_disk}: inputs differ from a fresh build (first: cell "
                    f"{first}); run build, then execute it"
                )
        summary.append(
            f"{path.stem}: {counts['translated']} of {len(found)} entries translated, {len(mine)} problem(s)"
        )
        blank = [p for p in mine if p.startswith("untranslated")]
        if len(blank) > SHOWN:  # a catalogue not started yet: a few lines, then a count
            mine = [p for p in mine if p not in blank[SHOWN:]]
            mine.append(f"… and {len(blank) - SHOWN} more untranslated entries")
        problems += [f"{path.stem}.po  {p}" for p in mine]
    return problems, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m coursetools.translation.notebooks", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("command", choices=["extract", "build", "check"])
    parser.add_argument("lang", help="the edition's language, e.g. ja")
    parser.add_argument("only", nargs="*", help="only these notebooks (05 or 05_hardening); default all")
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks", help="the English notebooks")
    parser.add_argument("--locale", type=Path, default=ROOT / "lessons" / "locale", help="catalogue root")
    parser.add_argument("--out", type=Path, help="build: where to write (default notebooks/LANG)")
    parser.add_argument(
        "--committed",
        type=Path,
        help="check: the committed edition to compare (default notebooks/LANG, if present)",
    )
    args = parser.parse_args(argv)
    if args.command == "extract":
        for name, st in extract(args.lang, args.notebooks, args.locale, args.only).items():
            print(
                f"{name}: {st['entries']} entries, {st['words']} words; kept {st['kept']}, "
                f"moved {st['moved']}, fuzzy {st['fuzzy']}, untranslated {st['untranslated']}, "
                f"obsolete {st['obsolete']}"
            )
        return 0
    if args.command == "build":
        out = args.out or args.notebooks / args.lang
        for name, counts in build(args.lang, args.notebooks, args.locale, out, args.only).items():
            print(
                f"{out / name}.ipynb: {counts['translated']} units translated, "
                f"{counts['english']} left in English"
            )
        return 0
    problems, summary = check(
        args.lang, args.notebooks, args.locale, args.committed or args.notebooks / args.lang, args.only
    )
    print("\n".join(summary))
    if problems:
        print(f"\n{len(problems)} problem(s) in the {args.lang} edition:", file=sys.stderr)
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(f"The {args.lang} edition is current ({len(summary)} notebook(s) checked).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
