"""The run-time catalogues kept in step with the English: extract, merge, check.

    python -m coursetools.translation extract        # update lessons/locale/*/lessons.po and quizzes.po
    python -m coursetools.translation check ja       # exit 1, with a list, while anything is stale

Sources: every ``_("literal", ...)`` call in ``lessons/**/*.py`` (found with ``ast``; msgctxt = the
module, or the call's ``context="..."``) goes to ``lessons.po``; every quiz in
``lessons/quizzes_*.json`` goes to ``quizzes.po``, one entry for its question, one per choice and
one for its explanation (msgctxt ``quiz:{id}:question``, ``quiz:{id}:choice:A``,
``quiz:{id}:explanation``).

Merge rules when the English changes: the same text under the same context keeps its
translation; the same text under another context (moved code) carries it over; a similar text
under the same context becomes ``fuzzy`` with the previous English kept (``#| msgid``); nothing
similar gives an untranslated entry; an entry whose English is gone becomes obsolete (``#~``).

``check`` merges in memory (so it fails even when nobody ran ``extract``) and fails on every
entry that is untranslated, fuzzy (with a word diff of the English change) or obsolete, on a
``_()`` call whose text is not a literal, and on a translation that drops a ``{placeholder}``, an
inline ``code`` span, a link or a number of its English.
"""

from __future__ import annotations

import ast
import difflib
import json
import re
import string
from dataclasses import dataclass, field
from pathlib import Path

import polib

from lessons.i18n.runtime import LOCALE_DIR

__all__ = [
    "Unit",
    "check",
    "extract",
    "extract_code",
    "extract_quizzes",
    "merge",
    "new_catalogue",
    "placeholder_names",
    "problems",
]

LESSONS = LOCALE_DIR.parent  # the lessons/ package
SIMILAR = 0.6  # difflib ratio from which a changed English text counts as "the same unit, edited"


@dataclass
class Unit:
    """One text to translate: its context, its English and where it comes from."""

    context: str
    msgid: str
    where: list[str] = field(default_factory=list)
    placeholders: bool = False  # a str.format text (lessons.po): placeholders are checked


def _module(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def extract_code(root: Path = LESSONS) -> tuple[list[Unit], list[str]]:
    """Every ``_("literal")`` under ``root``, in file order; and one error per ``_()`` call whose
    text is not a string literal (it could never be translated)."""
    units: dict[tuple[str, str], Unit] = {}
    first: dict[tuple[str, str], tuple[str, int]] = {}  # where each text is first met
    errors: list[str] = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "_"
                and node.args
            ):
                continue
            text = node.args[0]
            context = _module(path, root)
            for keyword in node.keywords:
                if keyword.arg == "context":
                    if isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, str):
                        context = keyword.value.value
                    else:
                        errors.append(f"{rel}:{node.lineno}: _(..., context=...) is not a string literal")
            if not (isinstance(text, ast.Constant) and isinstance(text.value, str)):
                errors.append(
                    f"{rel}:{node.lineno}: _() needs a string literal (an f-string or a "
                    "variable cannot be translated: use named placeholders)"
                )
                continue
            key = (context, text.value)
            unit = units.setdefault(key, Unit(context, text.value, placeholders=True))
            if rel not in unit.where:
                unit.where.append(rel)
            first[key] = min(first.get(key, (rel, node.lineno)), (rel, node.lineno))
    return sorted(units.values(), key=lambda u: first[(u.context, u.msgid)]), errors


def extract_quizzes(root: Path = LESSONS) -> list[Unit]:
    """The question, each choice and the explanation of every quiz, in file order."""
    units = []
    for path in sorted(root.glob("quizzes*.json")):
        rel = path.relative_to(root.parent).as_posix()
        for item in json.loads(path.read_text(encoding="utf-8")):
            qid = item["id"]
            units.append(Unit(f"quiz:{qid}:question", item["question"], [rel]))
            units += [Unit(f"quiz:{qid}:choice:{k}", v, [rel]) for k, v in item["choices"].items()]
            units.append(Unit(f"quiz:{qid}:explanation", item["explanation"], [rel]))
    return units


def new_catalogue(lang: str) -> polib.POFile:
    """An empty catalogue for ``lang`` with the course's header and metadata."""
    po = polib.POFile(wrapwidth=100)
    po.header = (
        "The course's run-time texts in this language. Kept in step with the English by\n"
        "python -m coursetools.translation extract; "
        "python -m coursetools.translation check LANG must pass."
    )
    po.metadata = {
        "Project-Id-Version": "redis-session-course",
        "Language": lang,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
    }
    return po


def merge(old: polib.POFile | None, units: list[Unit], lang: str, *, prune: bool = False) -> polib.POFile:
    """A catalogue for ``units`` that keeps what ``old`` had translated, by the merge rules
    (``prune``: leave out the entries whose English is gone instead of keeping them obsolete)."""
    po = new_catalogue(lang)
    if old is not None and old.metadata:
        po.metadata = dict(old.metadata)
        po.header = old.header or po.header
    previous = [e for e in (old or []) if e.msgid]  # obsolete ones too: revived if needed
    by_key = {(e.msgctxt or "", e.msgid): e for e in previous}
    wanted = {(u.context, u.msgid) for u in units}
    # entries no unit asks for: the translations a moved or edited text may take over
    spare = [e for e in previous if (e.msgctxt or "", e.msgid) not in wanted]
    for unit in units:
        entry = polib.POEntry(
            msgctxt=unit.context, msgid=unit.msgid, msgstr="", occurrences=[(w, "") for w in unit.where]
        )
        if unit.placeholders and "{" in unit.msgid:
            entry.flags.append("python-brace-format")
        same = by_key.get((unit.context, unit.msgid))
        done = [e for e in previous if e.msgid == unit.msgid and e.msgstr and "fuzzy" not in e.flags]
        if same is not None:
            entry.msgstr, entry.tcomment = same.msgstr, same.tcomment
            if "fuzzy" in same.flags:
                entry.flags.append("fuzzy")
                entry.previous_msgid = same.previous_msgid
        elif done:  # the same English under another context (moved): carried over
            entry.msgstr = done[0].msgstr
            spare = [e for e in spare if e.msgid != unit.msgid]
        else:  # an edited text in the same context: fuzzy, the previous English kept
            candidates = [e for e in spare if (e.msgctxt or "") == unit.context and e.msgstr]
            score = {id(e): difflib.SequenceMatcher(None, e.msgid, unit.msgid).ratio() for e in candidates}
            best = max(candidates, default=None, key=lambda e: score[id(e)])
            if best is not None and score[id(best)] >= SIMILAR:
                spare.remove(best)
                entry.msgstr = best.msgstr
                entry.flags.append("fuzzy")
                entry.previous_msgid = best.previous_msgid if "fuzzy" in best.flags else best.msgid
        po.append(entry)
    if not prune:
        for e in spare:  # English gone: kept for the translator, obsolete
            po.append(polib.POEntry(msgctxt=e.msgctxt, msgid=e.msgid, msgstr=e.msgstr, obsolete=True))
    return po


def _sources(root: Path) -> tuple[dict[str, list[Unit]], list[str]]:
    code, errors = extract_code(root)
    return {"lessons.po": code, "quizzes.po": extract_quizzes(root)}, errors


def _content(po: polib.POFile) -> list[tuple[str, str, str, bool, bool]]:
    """What a catalogue says, whatever tool wrote it (wrapping, comments and order aside)."""
    return sorted(
        (e.msgctxt or "", e.msgid, e.msgstr, "fuzzy" in e.flags, bool(e.obsolete)) for e in po if e.msgid
    )


def extract(
    root: Path = LESSONS, langs: list[str] | None = None, *, prune: bool = False
) -> dict[str, polib.POFile]:
    """Merge the English of ``root`` into ``root/locale/{lang}/lessons.po`` and ``quizzes.po`` for
    every language folder there (or ``langs``), and write them; returns them by path. ``prune``
    drops obsolete entries (once the translator has taken what they need from them)."""
    sources, errors = _sources(root)
    for error in errors:
        print(f"warning: {error}")
    written = {}
    folder = root / "locale"
    for lang in langs or sorted(p.name for p in folder.iterdir() if p.is_dir()):
        for name, units in sources.items():
            path = folder / lang / name
            old = polib.pofile(str(path)) if path.is_file() else None
            po = merge(old, units, lang, prune=prune)
            path.parent.mkdir(parents=True, exist_ok=True)
            po.save(str(path))
            written[str(path)] = po
    return written


_CODE = re.compile(r"`[^`\n]+`")
_LINK = re.compile(r"\]\([^)\s]+\)|https?://[^\s)>\"']+")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")


def placeholder_names(text: str) -> list[str]:
    """The names of ``text``'s placeholders, each once (a translation may use one twice)."""
    return sorted({name for _, name, _, _ in string.Formatter().parse(text) if name is not None})


def _numbers(text: str) -> list[str]:
    """The numbers of ``text`` outside code spans and ``{placeholders}`` ("1e54" counts as 1)."""
    text = re.sub(r"\{[^{}]*\}", " ", _CODE.sub(" ", text))
    return sorted(_NUMBER.findall(text))


def problems(msgid: str, msgstr: str, *, placeholders: bool) -> list[str]:
    """What ``msgstr`` lost of ``msgid``: placeholders (for a format text), code spans, links,
    numbers. Empty if nothing."""
    found = []
    if placeholders:
        try:
            want, got = placeholder_names(msgid), placeholder_names(msgstr)
        except ValueError as exc:
            return [f"the translation is not a valid format string ({exc})"]
        if want != got:
            found.append(f"placeholders {want} in English, {got} in the translation")
    for what, pattern in (("inline code", _CODE), ("link", _LINK)):
        lost = sorted(_spans(pattern, msgid) - _spans(pattern, msgstr))
        if lost:
            found.append(f"{what} lost: {', '.join(lost)}")
    lost_n = sorted(set(_numbers(msgid)) - set(_numbers(msgstr)), key=float)
    if lost_n:  # each number the English has must appear (Japanese may say it once for twice)
        found.append(f"number(s) lost: {', '.join(lost_n)}")
    return found


def _spans(pattern: re.Pattern[str], text: str) -> set[str]:
    """The spans of ``pattern`` in ``text``; a URL without the sentence's punctuation after it."""
    return {span.rstrip(".,;:") for span in pattern.findall(text)}


def word_diff(old: str, new: str, keep: int | None = None) -> str:
    """``old`` -> ``new`` word by word: ``[-removed-]{+added+}``; with ``keep``, an unchanged run
    longer than ``2 * keep`` words shows only its first and last ``keep`` words around "…"."""
    a, b = old.split(), new.split()
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            same = a[i1:i2]
            if keep is not None and len(same) > 2 * keep:
                same = [*same[:keep], "…", *same[-keep:]]
            out.append(" ".join(same))
            continue
        if i2 > i1:
            out.append("[-" + " ".join(a[i1:i2]) + "-]")
        if j2 > j1:
            out.append("{+" + " ".join(b[j1:j2]) + "+}")
    return " ".join(out)


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def check(lang: str, root: Path = LESSONS) -> list[str]:
    """Every reason ``lang``'s run-time catalogues are not ready (empty list: they are)."""
    folder = root / "locale" / lang
    if not folder.is_dir():
        return [f"no catalogues for {lang!r}: {folder} does not exist"]
    sources, errors = _sources(root)
    report = list(errors)
    for name, units in sources.items():
        path = folder / name
        rel = path.relative_to(root.parent).as_posix()
        old = polib.pofile(str(path)) if path.is_file() else None
        po = merge(old, units, lang)
        if old is None:
            report.append(f"{rel}: missing (run python -m coursetools.translation extract)")
        elif _content(po) != _content(old):
            report.append(
                f"{rel}: not up to date with the English (run python -m coursetools.translation extract)"
            )
        for e in po:
            where = f"{rel} [{e.msgctxt}]"
            if e.obsolete:
                report.append(
                    f"{where} obsolete (its English is gone; reuse its translation, then "
                    f"extract --prune): {_short(e.msgid)}"
                )
            elif not e.msgstr:
                report.append(f"{where} untranslated: {_short(e.msgid)}")
            elif "fuzzy" in e.flags:
                change = word_diff(e.previous_msgid or "", e.msgid)
                report.append(f"{where} fuzzy (the English changed; check the translation):\n    {change}")
            else:
                for problem in problems(e.msgid, e.msgstr, placeholders="python-brace-format" in e.flags):
                    report.append(f"{where} {problem}: {_short(e.msgid)}")
    return report
