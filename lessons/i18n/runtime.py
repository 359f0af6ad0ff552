"""The run-time lookup: ``_()`` for every text that ``lessons/`` prints to a learner.

    from lessons.i18n import _
    print(_("Not yet: {failed} of {total} checks failed.", failed=2, total=5))

``_(text, **fields)`` looks ``text`` up in the current language's catalogues
(``lessons/locale/{lang}/lessons.po`` and ``quizzes.po``, read with ``polib``; no ``.mo``), under
the context of the calling module (``lessons.checks`` for a call in ``lessons/checks/__init__.py``;
``context=`` overrides it), then fills the NAMED placeholders with ``str.format(**fields)``, so a
translation may put them in another order. In English (the default) it returns
``text.format(**fields)``: English output is byte-identical to the text in the source. Literal
braces are written ``{{`` and ``}}``, as ``str.format`` wants.

A text with no translation (or only a ``fuzzy`` one, or one whose placeholders do not fit) is
printed in English and remembered: ``missing()`` lists it. A learner's cell never raises because
of a catalogue. ``python -m coursetools.translation check ja`` makes the same gaps fail CI.

The language: ``set_language("ja")`` (``lessons.notebook.start(..., edition="ja")`` calls it),
else ``$COURSE_LANG``, else English. ``width``/``pad`` align columns by display width (East Asian
Wide and Fullwidth characters take two columns). No Redis here.
"""

from __future__ import annotations

import os
import sys
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "CATALOGUES",
    "LOCALE_DIR",
    "_",
    "catalogue",
    "language",
    "missing",
    "pad",
    "set_language",
    "translate",
    "width",
]

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
CATALOGUES = ("lessons.po", "quizzes.po")  # the run-time catalogues, per language
ENGLISH = "en"

_language: str | None = None  # None: not set yet, $COURSE_LANG decides
_missing: dict[tuple[str, str, str], None] = {}  # (language, context, msgid), in order met


def language() -> str:
    """The current language: ``set_language``'s, else ``$COURSE_LANG``, else ``"en"``."""
    if _language is not None:
        return _language
    return _normalise(os.environ.get("COURSE_LANG", "")) or ENGLISH


def _normalise(lang: str | None) -> str:
    """``"ja_JP.UTF-8"`` -> ``"ja"``; ``""``/``None`` -> ``""``."""
    return (lang or "").split(".")[0].split("_")[0].split("-")[0].strip().lower()


def set_language(lang: str | None) -> str:
    """Print the course's texts in ``lang`` from now on (``None``: back to ``$COURSE_LANG``).

    Japanese also loads a Japanese font for plots (``use_japanese_fonts``); any other language
    puts the plot font back. Returns the language now in force.
    """
    global _language
    _language = (_normalise(lang) or None) if lang is not None else None
    current = language()
    from .fonts import restore_fonts, use_japanese_fonts

    if current == "ja":
        use_japanese_fonts()
    else:
        restore_fonts()
    return current


@cache
def catalogue(lang: str) -> dict[tuple[str, str], str]:
    """{(context, English): translation} of ``lang``'s run-time catalogues: translated entries
    only (fuzzy and obsolete ones are left out, as gettext does). Empty if there are none."""
    table: dict[tuple[str, str], str] = {}
    folder = LOCALE_DIR / lang
    if lang == ENGLISH or not folder.is_dir():
        return table
    try:
        import polib
    except ImportError:  # an old venv without polib: English, and the gaps are counted
        return table
    for name in CATALOGUES:
        path = folder / name
        if not path.is_file():
            continue
        for entry in polib.pofile(str(path)):
            if entry.msgstr and not entry.obsolete and "fuzzy" not in entry.flags:
                table[(entry.msgctxt or "", entry.msgid)] = entry.msgstr
    return table


def translate(text: str, context: str, lang: str | None = None) -> str | None:
    """The translation of ``text`` under ``context`` (no formatting), or None if there is none;
    a gap is remembered for ``missing()``."""
    lang = lang or language()
    if lang == ENGLISH:
        return text
    found = catalogue(lang).get((context, text))
    if found is None:
        _missing.setdefault((lang, context, text), None)
    return found


def _(text: str, /, *, context: str | None = None, **fields: Any) -> str:
    """``text`` in the current language, its ``{named}`` placeholders filled from ``fields``.

    ``context`` defaults to the calling module's name (the msgctxt in ``lessons.po``).
    """
    lang = language()
    if lang == ENGLISH:
        return text.format(**fields)
    if context is None:
        context = sys._getframe(1).f_globals.get("__name__", "")
    found = translate(text, context, lang)
    if found is not None:
        try:
            return found.format(**fields)
        except (KeyError, IndexError, ValueError, AttributeError):  # a broken translation
            _missing.setdefault((lang, context, text), None)
    return text.format(**fields)


def missing(*, clear: bool = False) -> list[tuple[str, str, str]]:
    """Every text printed in English for want of a translation: ``(language, context, text)``,
    in the order met. ``clear=True``: and forget them, so the next call counts afresh."""
    found = list(_missing)
    if clear:
        _missing.clear()
    return found


def width(text: str) -> int:
    """Columns ``text`` takes in a monospaced font: East Asian Wide and Fullwidth characters two,
    combining marks none, every other character one."""
    total = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total


def pad(text: str, columns: int, align: str = "<") -> str:
    """``text`` padded with spaces to ``columns`` display columns (``"<"`` left, ``">"`` right,
    ``"^"`` centred), like ``f"{text:<{columns}}"`` but counting wide characters as two."""
    room = max(columns - width(text), 0)
    if align == ">":
        return " " * room + text
    if align == "^":
        return " " * (room // 2) + text + " " * (room - room // 2)
    return text + " " * room
