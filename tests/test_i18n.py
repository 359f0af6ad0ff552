"""lessons.i18n (issue 18): the run-time lookup, its catalogues and the Japanese plot font.

English stays byte-identical; Japanese comes from ``lessons/locale/ja/*.po`` with named
placeholders in its own order; a gap falls back to English without an exception and is counted;
columns align by display width; the extractor's merge rules and the check are exercised on a copy
of ``lessons/`` (one changed English literal makes the check fail, naming it); a Japanese plot
draws without a "Glyph … missing" warning once the font is set up, and with one without it.
"""

from __future__ import annotations

import json
import shutil
import string
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import polib
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from pytest import MonkeyPatch

from coursetools.translation import catalogs
from lessons import predict, quiz
from lessons.checks import Report
from lessons.i18n import _, fonts, language, missing, pad, runtime, set_language, width

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def english(monkeypatch: MonkeyPatch) -> Iterator[None]:
    """Every test starts in English with no gaps counted, and leaves the language as it was."""
    monkeypatch.delenv("COURSE_LANG", raising=False)
    set_language(None)
    missing(clear=True)
    yield
    set_language(None)
    missing(clear=True)


def report_output(
    capsys: pytest.CaptureFixture[str], lines: list[tuple[bool, str, object, bool]], *, crash: bool = False
) -> str:
    report = Report()
    for passed, text, seen, trivial in lines:
        report.check(passed, text, seen, trivial=trivial)
    if crash:
        with report.guard():
            raise ValueError("boom")
    report.finish()
    return capsys.readouterr().out


# English: byte-identical to what these modules printed before the lookup existed


def test_english_outputs_are_byte_identical(capsys: pytest.CaptureFixture[str]) -> None:
    assert language() == "en"
    out = report_output(
        capsys, [(True, "returns 1", None, False), (False, "keeps the TTL", 5, False)], crash=True
    )
    assert out == (
        "✓ returns 1\n✗ keeps the TTL (saw 5)\n✗ your code raised ValueError: boom\n"
        "Not yet: 2 of 3 checks failed. Edit your code above, run its cell, then run "
        "this check again.\n"
    )
    out = report_output(capsys, [(False, "works", None, False), (True, "is quiet", None, True)])
    assert out.splitlines()[1] == (
        "· is quiet (counts once the rest works: a stub that does nothing does this too)"
    )
    assert report_output(capsys, [(True, "works", None, False)]) == "✓ works\nAll checks passed.\n"
    predict.reveal(None, 3600, what="TTL")
    predict.reveal("3600", 3600)
    predict.reveal(5, -1, what="TTL")
    assert capsys.readouterr().out == (
        "TTL: 3600. (No guess written: put yours in the cell above and run both cells again.)\n"
        "the answer: 3600. ✓ as you predicted.\n"
        "TTL: -1. ✗ you predicted 5.\n"
    )
    q = quiz.questions()["ttl-reset"]
    assert quiz.question("ttl-reset") == q
    assert quiz.verdict("ttl-reset", "A").splitlines()[0] == (
        "Not quite: A. SETEX is not it. The answer is B. EXPIRE"
    )
    assert quiz.verdict("ttl-reset", "b") == f"Correct: B. EXPIRE\n{q.explanation}"
    assert quiz.verdict("ttl-reset", "Z") == "'Z' is not one of the choices (A, B, C, D). Try again."
    assert quiz.question_text("ttl-reset").endswith("  D. PERSIST\n(Run this cell to answer with buttons.)")
    assert quiz.question_html("ttl-reset").endswith("<p><i>Run this cell to answer with buttons.</i></p>")
    assert _("Keys left under {ns}: {left}", ns="course:a:01", left=0) == "Keys left under course:a:01: 0"
    assert _("{{literal}} braces") == "{literal} braces"
    assert missing() == []


def test_every_catalogued_text_is_its_own_english(capsys: pytest.CaptureFixture[str]) -> None:
    """In English ``_`` returns each catalogued text as written (formatted), whatever ja says.
    A field with a format spec (``{seconds:.1f}``) gets a number, any other a string."""
    for entry in polib.pofile(str(runtime.LOCALE_DIR / "ja" / "lessons.po")):
        specs = {
            name: spec for _text, name, spec, _conversion in string.Formatter().parse(entry.msgid) if name
        }
        fields = {
            name: 1.5 if specs.get(name) else f"<{name}>" for name in catalogs.placeholder_names(entry.msgid)
        }
        assert _(entry.msgid, context=entry.msgctxt, **fields) == entry.msgid.format(**fields)


# Japanese


def test_japanese_lookup_for_checks_predictions_and_quizzes(capsys: pytest.CaptureFixture[str]) -> None:
    assert set_language("ja") == "ja" and language() == "ja"
    out = report_output(capsys, [(True, "works", None, False)])
    assert out == "✓ works\nすべてのチェックに合格しました。\n"
    out = report_output(capsys, [(False, "keeps the TTL", 5, False)], crash=True)
    assert "✗ keeps the TTL（実際の値: 5）" in out
    assert "✗ あなたのコードで例外 ValueError が発生しました: boom" in out
    predict.reveal(None, 3600, what="TTL")
    assert capsys.readouterr().out.startswith("TTL: 3600。（予想が書かれていません。")
    q = quiz.question("ttl-reset")
    assert q.question == "セッションの TTL をリセット（延長）する Redis コマンドはどれですか。"
    assert q.choices["B"] == "EXPIRE" and q.answer == "B"
    assert q.explanation.startswith("EXPIRE key seconds は、既存のキーの値には触れずに")
    assert quiz.questions()["ttl-reset"].question.startswith("Which Redis command")  # the key stays
    assert quiz.verdict("ttl-reset", "b").startswith("正解です: B. EXPIRE\nEXPIRE key seconds は")
    assert quiz.question_text("ttl-reset").endswith("（このセルを実行すると、ボタンで回答できます。）")
    button = quiz.ask("ttl-reset").children[2]
    assert button.description == "答え合わせ"
    assert missing() == []


def test_every_quiz_is_japanese_in_the_japanese_edition() -> None:
    set_language("ja")
    for qid, english in quiz.questions().items():
        q = quiz.question(qid)
        assert q.question != english.question and q.explanation != english.explanation, qid
        assert q.choices.keys() == english.choices.keys() and q.answer == english.answer
    assert missing() == []


def test_named_placeholders_may_change_order(capsys: pytest.CaptureFixture[str]) -> None:
    set_language("ja")
    report = Report()
    for i in range(5):
        report.check(i >= 2, f"p{i}")
    report.finish()
    verdict = capsys.readouterr().out.splitlines()[-1]
    # English says "{failed} of {total}"; Japanese puts the total first
    assert verdict.startswith("まだです: 5 件中 2 件のチェックが失敗しました。")
    en = _(
        "Not yet: {failed} of {total} checks failed. "
        "Edit your code above, run its cell, then run this check again.",
        context="lessons.checks",
        failed=2,
        total=5,
    )
    assert verdict == en
    set_language("en")
    assert _(
        "Not yet: {failed} of {total} checks failed. "
        "Edit your code above, run its cell, then run this check again.",
        context="lessons.checks",
        failed=2,
        total=5,
    ).startswith("Not yet: 2 of 5")


def test_a_missing_or_broken_translation_falls_back_to_english(
    tmp_path: Path, monkeypatch: MonkeyPatch
) -> None:
    set_language("ja")
    assert _("Nobody translated {n} of these.", n=3) == "Nobody translated 3 of these."
    assert ("ja", __name__, "Nobody translated {n} of these.") in missing()
    # a catalogue whose translation names a placeholder the code does not pass
    po = catalogs.new_catalogue("xx")
    po.append(polib.POEntry(msgctxt=__name__, msgid="{n} sessions", msgstr="{count} セッション"))
    po.append(polib.POEntry(msgctxt=__name__, msgid="stale", msgstr="古い", flags=["fuzzy"]))
    (tmp_path / "xx").mkdir()
    po.save(str(tmp_path / "xx" / "lessons.po"))
    monkeypatch.setattr(runtime, "LOCALE_DIR", tmp_path)
    runtime.catalogue.cache_clear()
    try:
        set_language("xx")
        assert _("{n} sessions", n=2) == "2 sessions"
        assert _("stale") == "stale"  # a fuzzy translation is not used
        assert {("xx", __name__, "{n} sessions"), ("xx", __name__, "stale")} <= set(missing())
    finally:
        runtime.catalogue.cache_clear()


def test_course_lang_chooses_the_language_until_set_language_does(monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_LANG", "ja_JP.UTF-8")
    assert language() == "ja"
    assert _("All checks passed.", context="lessons.checks") == "すべてのチェックに合格しました。"
    assert set_language("en") == "en"
    assert _("All checks passed.", context="lessons.checks") == "All checks passed."


def test_notebook_start_in_the_japanese_edition(
    redis_url: str, learner: str, monkeypatch: MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lessons.notebook import finish, start

    monkeypatch.setenv("REDIS_URL", redis_url)
    r, ns = start("01", edition="ja")
    try:
        assert language() == "ja" and ns.endswith(":ja-01")
        out = capsys.readouterr().out.splitlines()
        assert out[1] == (
            f"このノートブックのキーは {ns}: の下に置かれます（あなた専用です。実行のたびにリセットされます）"
        )
        finish(r, "01", edition="ja")
        out = capsys.readouterr().out.splitlines()
        assert out[0] == f"{ns}: の下に残っているキー: 0"
        assert out[1] == "これまでの進捗: ✓ 合格、✗ まだ合格していません、· 未着手"  # lessons.progress
    finally:
        r.close()


# display width


def test_width_counts_wide_characters_twice() -> None:
    assert width("TTL") == 3
    assert width("有効期限") == 8
    assert width("ＴＴＬ") == 6  # fullwidth
    assert width("ｾｯｼｮﾝ") == 5  # halfwidth katakana
    assert width("✓ ok") == 4
    assert width("が") == 2 and width("か\u3099") == 2  # a combining mark takes no column


def test_pad_aligns_columns_by_display_width() -> None:
    rows = [("store", "dict"), ("有効期限", "3600 秒"), ("TTL", "-1")]
    lines = [pad(a, 10) + "|" + pad(b, 8, ">") + "|" for a, b in rows]
    assert len({width(line) for line in lines}) == 1
    assert [line.index("|") for line in lines] == [10, 6, 10]  # characters differ, columns do not
    assert pad("日本", 6, "^") == " 日本 "
    assert pad("too long", 3) == "too long"


# catalogues: extract, merge rules, check


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of lessons/ (sources, quizzes and catalogues) to change English in."""
    root = tmp_path / "lessons"
    shutil.copytree(
        ROOT / "lessons",
        root,
        ignore=shutil.ignore_patterns("__pycache__", "vendor", "static", "templates", "data", "mermaid"),
    )
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def entries(root: Path, name: str) -> dict[tuple[str, str], polib.POEntry]:
    return {(e.msgctxt, e.msgid): e for e in polib.pofile(str(root / "locale" / "ja" / name))}


def test_the_committed_catalogues_pass_the_check() -> None:
    assert catalogs.check("ja") == []
    done = subprocess.run(
        [sys.executable, "-m", "coursetools.translation", "check", "ja"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_changed_english_literal_fails_the_check_until_the_catalogue_follows(copy: Path) -> None:
    assert catalogs.check("ja", copy) == []
    edit(copy / "checks" / "__init__.py", '_("All checks passed.")', '_("Every check passed.")')
    found = "\n".join(catalogs.check("ja", copy))
    assert "lessons/locale/ja/lessons.po: not up to date" in found
    assert "[lessons.checks] fuzzy" in found and "[-All checks-] {+Every check+} passed." in found
    catalogs.extract(copy, ["ja"])
    entry = entries(copy, "lessons.po")[("lessons.checks", "Every check passed.")]
    assert "fuzzy" in entry.flags and entry.previous_msgid == "All checks passed."
    assert entry.msgstr == "すべてのチェックに合格しました。"  # kept for the translator to review
    assert ("lessons.checks", "All checks passed.") not in entries(copy, "lessons.po")
    assert any("fuzzy" in line for line in catalogs.check("ja", copy))
    po = polib.pofile(str(copy / "locale" / "ja" / "lessons.po"), wrapwidth=100)
    po.find("Every check passed.", msgctxt="lessons.checks").flags.remove("fuzzy")
    po.save()
    assert catalogs.check("ja", copy) == []


def test_merge_rules_new_removed_moved_and_quizzes(copy: Path) -> None:
    quiz_py, predict_py = copy / "quiz.py", copy / "predict.py"
    edit(quiz_py, "_('Pick an answer first.')", "'Pick one.'")  # removed -> obsolete
    edit(quiz_py, '_("Check")', '_("Check it")')  # similar text, same context -> fuzzy
    edit(predict_py, '_("the answer")', '_("the answer", context="lessons.moved")')  # moved
    data = json.loads((copy / "quizzes_01.json").read_text(encoding="utf-8"))
    data[0]["question"] = data[0]["question"].replace("resets (extends)", "extends")
    (copy / "quizzes_01.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    (copy / "extra.py").write_text(
        'from .i18n import _\n\nX = _("A brand new line.")\nY = _(f"not {X}")\n', encoding="utf-8"
    )
    catalogs.extract(copy, ["ja"])
    lessons_po, quizzes_po = entries(copy, "lessons.po"), entries(copy, "quizzes.po")
    assert lessons_po[("lessons.quiz", "Pick an answer first.")].obsolete
    assert lessons_po[("lessons.quiz", "Check it")].previous_msgid == "Check"  # similar: fuzzy
    moved = lessons_po[("lessons.moved", "the answer")]
    assert moved.msgstr == "答え" and "fuzzy" not in moved.flags
    assert ("lessons.predict", "the answer") not in lessons_po  # carried over, not obsolete
    new = lessons_po[("lessons.extra", "A brand new line.")]
    assert new.msgstr == "" and "fuzzy" not in new.flags
    question = next(e for (ctx, _m), e in quizzes_po.items() if ctx == "quiz:ttl-reset:question")
    assert "fuzzy" in question.flags and "resets (extends)" in question.previous_msgid
    found = "\n".join(catalogs.check("ja", copy))
    assert "[lessons.quiz] obsolete" in found and "Pick an answer first." in found
    assert "[lessons.extra] untranslated: 'A brand new line.'" in found
    assert "[quiz:ttl-reset:question] fuzzy" in found and "[-resets (extends)-] {+extends+}" in found
    assert "lessons/extra.py:4: _() needs a string literal" in found
    assert "not up to date" not in found  # extract wrote what the check expects
    catalogs.extract(copy, ["ja"], prune=True)
    assert ("lessons.quiz", "Pick an answer first.") not in entries(copy, "lessons.po")


def test_a_translation_that_drops_a_number_placeholder_or_code_fails(copy: Path) -> None:
    po = polib.pofile(str(copy / "locale" / "ja" / "quizzes.po"), wrapwidth=100)
    entry = po.find("GETEX key EX 3600", msgctxt="quiz:sliding-read:choice:C")
    entry.msgstr = "GETEX key EX"
    po.save()
    po = polib.pofile(str(copy / "locale" / "ja" / "lessons.po"), wrapwidth=100)
    po.find("Keys left under {ns}: {left}", msgctxt="lessons.notebook").msgstr = "残っているキー: {left}"
    po.save()
    found = catalogs.check("ja", copy)
    assert any("[quiz:sliding-read:choice:C] number(s) lost: 3600" in line for line in found)
    assert any(
        "[lessons.notebook] placeholders ['left', 'ns'] in English, ['left']" in line for line in found
    )
    assert catalogs.problems("run `GET k` now", "今すぐ実行", placeholders=False) == [
        "inline code lost: `GET k`"
    ]


# fonts


def draw_japanese_plot() -> list[str]:
    """The "Glyph … missing" warnings of drawing a small plot with Japanese labels."""
    fig = Figure(figsize=(3, 2))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [3600, 1800, 0], label="セッション")
    ax.set_title("有効期限までの残り時間")
    ax.set_xlabel("経過時間（秒）")
    ax.legend()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    return [str(w.message) for w in caught if "Glyph" in str(w.message)]


def test_a_japanese_plot_has_no_missing_glyph_once_the_font_is_set_up() -> None:
    with matplotlib.rc_context({"font.family": ["sans-serif"]}):
        missing_glyphs = draw_japanese_plot()  # the test can fail: without the font it warns
        assert missing_glyphs and "missing from font" in missing_glyphs[0]
        assert fonts.font_file() is not None, "matplotlib-fontja is not installed"
        set_language("ja")
        assert matplotlib.rcParams["font.family"] == ["DejaVu Sans", "IPAexGothic"]
        assert draw_japanese_plot() == []
        set_language("en")  # English plots keep their font
        assert matplotlib.rcParams["font.family"] == ["sans-serif"]
