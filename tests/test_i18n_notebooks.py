"""The Japanese edition's notebook side: units, merge rules, build and the staleness check.

Everything runs on copies in tmp dirs (never the repo's catalogues) and needs no kernel or Redis.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import polib
import pytest

from coursetools.translation import notebooks as nbi
from coursetools.translation.units import cell_segments, code_signature, is_prose, normalise_markdown

REPO = Path(__file__).resolve().parents[1]
HARDENING = REPO / "notebooks" / "05_hardening.ipynb"

MARKDOWN = """# 09 · A title (見出し)

A paragraph that is wrapped
over three lines, with `code` and
a [link](../README.md).

- one item that
  goes on
- two

| name | value |
|---|---|
| one | 2 |

```python
x = 1  # a comment in a fence
```"""

CODE = """%matplotlib inline
from lessons.notebook import start
r, NS = start("09")
# a comment that runs
# over two lines
label = "→ not before: a prose string"  # trailing words here
key = f"{NS}:user:{uid}"
print(f"≤ {n} sessions for {user}", "POST /login ->", b"bytes are never prose")
x = 1  # noqa: E501"""


def _notebook(tmp_path: Path, cells: list[nbformat.NotebookNode], name: str = "09_demo") -> Path:
    src = tmp_path / "notebooks"
    src.mkdir(exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    path = src / f"{name}.ipynb"
    nbformat.write(nb, str(path))
    return path


def _md(cell_id: str, text: str) -> nbformat.NotebookNode:
    cell: nbformat.NotebookNode = nbformat.v4.new_markdown_cell(text)
    cell.id = cell_id
    cell.metadata = {"slideshow": {"slide_type": "slide"}}
    return cell


def _code(cell_id: str, text: str, **metadata: object) -> nbformat.NotebookNode:
    cell: nbformat.NotebookNode = nbformat.v4.new_code_cell(text)
    cell.id = cell_id
    cell.metadata = dict(metadata)
    return cell


def _units(cell: nbformat.NotebookNode) -> dict[str, str]:
    return {s.ctx: s.msgid for s in cell_segments(cell) if s.ctx}


def _catalogue(tmp_path: Path, name: str) -> Path:
    return tmp_path / "locale" / "ja" / "notebooks" / f"{name}.po"


def _translate_all(po_path: Path, how: Callable[[polib.POEntry], str] = lambda e: e.msgid) -> None:
    po = polib.pofile(str(po_path), wrapwidth=0)
    for e in po:
        e.msgstr = how(e)
    po.save(str(po_path))


def _check(tmp_path: Path) -> tuple[list[str], list[str]]:
    return nbi.check("ja", tmp_path / "notebooks", tmp_path / "locale", tmp_path / "notebooks" / "ja")


def test_markdown_units_contexts_and_normalisation() -> None:
    units = _units(_md("aaaa0001", MARKDOWN))
    assert list(units) == [f"aaaa0001:md:{n}" for n in range(5)]
    assert units["aaaa0001:md:0"] == "# 09 · A title (見出し)"
    assert units["aaaa0001:md:1"] == (
        "A paragraph that is wrapped over three lines, with `code` and a [link](../README.md)."
    )
    assert units["aaaa0001:md:2"] == "- one item that goes on\n- two"
    assert units["aaaa0001:md:3"] == "| name | value |\n|---|---|\n| one | 2 |"  # tables verbatim
    assert units["aaaa0001:md:4"].startswith("```python\nx = 1  # a comment")  # fences verbatim
    assert (
        normalise_markdown('<a id="x"></a>\n## 1. Heading\nText\nwrapped')
        == '<a id="x"></a>\n## 1. Heading\nText wrapped'
    )


def test_code_units_use_tokenize_columns_and_skip_magics() -> None:
    cell = _code("bbbb0002", CODE)
    units = _units(cell)
    assert units == {
        "bbbb0002:comment:0": "a comment that runs over two lines",
        "bbbb0002:str:0": "→ not before: a prose string",
        "bbbb0002:comment:1": "trailing words here",
        "bbbb0002:str:1": "≤ {n} sessions for {user}",
    }
    # the segments give the source back exactly, and a string's span is its body (character columns)
    segments = cell_segments(cell)
    assert "".join(s.text for s in segments) == CODE
    assert [s.text for s in segments if s.ctx.endswith("str:1")] == ["≤ {n} sessions for {user}"]


def test_prose_rule() -> None:
    prose = ["still alive", "Session not found", "memory (dict)", "the SCAN output", "token in {place}:"]
    not_prose = [
        "POST /login ->",
        "SET demo v1 EX 60 NX",
        "theme=dark; Path=/; Secure",
        "DELETE FROM sessions WHERE expires_at <= ?",
        "{name} {n}",
        "course:alice:*",
        "https://example.com/a b",
        "{:<7}",
        "session_id",
        "TTL を延長",
    ]
    assert [t for t in prose if not is_prose(t)] == []
    assert [t for t in not_prose if is_prose(t)] == []


def test_lesson_cells_keep_their_code(tmp_path: Path) -> None:
    lesson = _code(
        "cccc0003",
        "# store.py (from the lesson, unchanged)\n"
        'def get(self):\n    """セッションを取得"""\n'
        "    raise ValueError('Session not found')  # TTL を延長\n",
    )
    assert _units(lesson) == {"cccc0003:comment:0": "store.py (from the lesson, unchanged)"}


def test_rewrapping_changes_nothing(tmp_path: Path) -> None:
    path = _notebook(tmp_path, [_md("aaaa0001", MARKDOWN)])
    nbi.extract("ja", tmp_path / "notebooks", tmp_path / "locale")
    _translate_all(_catalogue(tmp_path, "09_demo"), lambda e: "訳: " + e.msgid)
    nb = nbformat.read(str(path), as_version=4)
    nb.cells[0].source = (
        nb.cells[0]
        .source.replace("wrapped\nover three lines, with", "wrapped over\nthree lines,\n   with")
        .replace("that\n  goes", "that goes")
    )
    nbformat.write(nb, str(path))
    stats = nbi.extract("ja", tmp_path / "notebooks", tmp_path / "locale")["09_demo"]
    assert (stats["kept"], stats["fuzzy"], stats["untranslated"]) == (5, 0, 0)


def test_edited_sentence_goes_fuzzy_and_check_shows_a_word_diff(tmp_path: Path) -> None:
    (tmp_path / "notebooks").mkdir()
    shutil.copy(HARDENING, tmp_path / "notebooks" / HARDENING.name)
    nbi.extract("ja", tmp_path / "notebooks", tmp_path / "locale")
    po_path = _catalogue(tmp_path, "05_hardening")
    _translate_all(po_path)
    assert _check(tmp_path)[0] == []

    path = tmp_path / "notebooks" / HARDENING.name
    nb = nbformat.read(str(path), as_version=4)
    cell = next(c for c in nb.cells if c.id == "b4207535")
    old = "Whoever reads any of them is Alice: the key name is a working cookie."
    assert cell.source == old
    cell.source = "Whoever reads any of them can act as Alice: the key name is a working cookie."
    nbformat.write(nb, str(path))

    problems, _ = _check(tmp_path)  # before extract: the catalogue is older
    assert any("English changed b4207535:md:0" in p and "[-is-] {+can act as+}" in p for p in problems)

    stats = nbi.extract("ja", tmp_path / "notebooks", tmp_path / "locale")["05_hardening"]
    assert stats["fuzzy"] == 1 and stats["kept"] == stats["entries"] - 1
    entry = next(e for e in polib.pofile(str(po_path)) if e.msgctxt == "b4207535:md:0")
    assert entry.flags == ["fuzzy"] and entry.previous_msgid == old and entry.msgstr == old

    problems, _ = _check(tmp_path)
    assert len(problems) == 1
    assert "fuzzy         b4207535:md:0" in problems[0]
    assert (
        "Whoever reads any of them [-is-] {+can act as+} Alice: the key name is a working cookie."
        in problems[0]
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "coursetools.translation.notebooks",
            "check",
            "ja",
            "--notebooks",
            str(tmp_path / "notebooks"),
            "--locale",
            str(tmp_path / "locale"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 1 and "[-is-] {+can act as+}" in result.stderr

    po = polib.pofile(str(po_path), wrapwidth=0)  # the translator updates it: check passes again
    fixed = next(e for e in po if e.msgctxt == "b4207535:md:0")
    fixed.msgstr = "どれか 1 つでも読めた人は Alice として振る舞えます。"
    fixed.flags, fixed.previous_msgid = [], None
    po.save(str(po_path))
    assert _check(tmp_path)[0] == []


def test_moved_text_is_carried_over_and_removed_text_goes_obsolete(tmp_path: Path) -> None:
    cells = [_md("aaaa0001", "## One\n\nFirst paragraph here."), _md("dddd0004", "Second paragraph here.")]
    path = _notebook(tmp_path, cells)
    nbi.extract("ja", tmp_path / "notebooks", tmp_path / "locale")
    _translate_all(_catalogue(tmp_path, "09_demo"), lambda e: "訳: " + e.msgid)

    nb = nbformat.read(str(path), as_version=4)
    nb.cells.reverse()  # a moved cell keeps its id: kept
    nb.cells[1].source = "## One\n\nA new paragraph first.\n\nFirst paragraph here."  # n shifts: moved
    nb.cells[0].source = "Something else entirely, nothing like before at all."
    nbformat.write(nb, str(path))
    stats = nbi.extract("ja", tmp_path / "notebooks", tmp_path / "locale")["09_demo"]
    assert (stats["kept"], stats["moved"], stats["untranslated"], stats["obsolete"]) == (1, 1, 2, 1)
    po = polib.pofile(str(_catalogue(tmp_path, "09_demo")))
    assert {e.msgctxt: e.msgstr for e in po if not e.obsolete} == {
        "dddd0004:md:0": "",
        "aaaa0001:md:0": "訳: ## One",
        "aaaa0001:md:1": "",
        "aaaa0001:md:2": "訳: First paragraph here.",
    }
    assert [(e.msgctxt, e.msgid) for e in po.obsolete_entries()] == [
        ("dddd0004:md:0", "Second paragraph here.")
    ]
    problems, _ = _check(tmp_path)
    assert any(p.startswith("09_demo.po  obsolete      dddd0004:md:0") for p in problems)


def test_build_keeps_cells_and_metadata_and_swaps_only_text(tmp_path: Path) -> None:
    cells = [
        _md("aaaa0001", MARKDOWN),
        _code(
            "bbbb0002",
            CODE,
            tags=["setup"],
            slideshow={"slide_type": "skip"},
            jupyter={"source_hidden": True},
            execution={"iopub.status.busy": "2026-01-01"},
        ),
        _md(
            "eeee0005",
            "See [05](05_hardening.ipynb#throttle), [web](https://x.org) and [the notes](notes/a.md).",
        ),
    ]
    cells[1].outputs = [nbformat.v4.new_output("stream", text="old output\n")]
    cells[1].execution_count = 3
    path = _notebook(tmp_path, cells)
    nbi.extract("ja", tmp_path / "notebooks", tmp_path / "locale")
    po_path = _catalogue(tmp_path, "09_demo")
    po = polib.pofile(str(po_path), wrapwidth=0)
    wanted = {
        "aaaa0001:md:1": "折り返した段落です。`code` と[リンク](../README.md)があります。",
        "bbbb0002:comment:0": "実行されるコメント\n2 行目",
        "bbbb0002:str:1": "≤ {user} の {n} 個のセッション",
    }
    for e in po:
        e.msgstr = wanted.get(e.msgctxt, "")
    po.save(str(po_path))

    counts = nbi.build("ja", tmp_path / "notebooks", tmp_path / "locale", tmp_path / "out")["09_demo"]
    assert (counts["translated"], counts["english"]) == (3, 7)
    en = nbformat.read(str(path), as_version=4)
    ja = nbformat.read(str(tmp_path / "out" / path.name), as_version=4)
    assert [(c.id, c.cell_type) for c in ja.cells] == [(c.id, c.cell_type) for c in en.cells]
    assert ja.cells[1].metadata == {
        "tags": ["setup"],
        "slideshow": {"slide_type": "skip"},
        "jupyter": {"source_hidden": True},
    }
    assert ja.cells[1].outputs == [] and ja.cells[1].execution_count is None
    assert ja.cells[0].source == MARKDOWN.replace(
        "A paragraph that is wrapped\nover three lines, with `code` and\na [link](../README.md).",
        "折り返した段落です。`code` と[リンク](../../README.md)があります。",
    )
    assert ja.cells[1].source == CODE.replace('start("09")', 'start("09", edition="ja")').replace(
        "# a comment that runs\n# over two lines", "# 実行されるコメント\n# 2 行目"
    ).replace('"≤ {n} sessions for {user}"', '"≤ {user} の {n} 個のセッション"')
    assert ja.cells[2].source == (
        "See [05](05_hardening.ipynb#throttle), [web](https://x.org) and [the notes](../notes/a.md)."
    )
    assert code_signature(ja.cells[1].source) != code_signature(en.cells[1].source)  # the edition
    assert code_signature(ja.cells[1].source) == code_signature(nbi.with_edition(en.cells[1].source, "ja"))


def test_code_comparison_catches_a_changed_identifier(tmp_path: Path) -> None:
    src = 'for name, n in counts:  # each\n    print(f"{name}: {n} left", "done here")\n'
    assert code_signature(src) == code_signature(
        'for name, n in counts:  # それぞれ\n    print(f"残り {n}: {name}", "ここで完了")\n'
    )
    assert code_signature(src) != code_signature(src.replace("counts", "count"))
    assert code_signature(src) != code_signature(src.replace("    print", "    pprint"))

    path = _notebook(tmp_path, [_code("bbbb0002", CODE)])
    nbi.extract("ja", tmp_path / "notebooks", tmp_path / "locale")
    _translate_all(_catalogue(tmp_path, "09_demo"))
    nbi.build("ja", tmp_path / "notebooks", tmp_path / "locale", tmp_path / "notebooks" / "ja")
    assert _check(tmp_path)[0] == []
    committed = tmp_path / "notebooks" / "ja" / path.name  # someone edits the generated notebook
    nb = nbformat.read(str(committed), as_version=4)
    nb.cells[0].source = nb.cells[0].source.replace("label =", "labels =")
    nbformat.write(nb, str(committed))
    problems, _ = _check(tmp_path)
    assert problems == [
        f"09_demo.po  committed     {committed}: inputs differ from a fresh build "
        "(first: cell bbbb0002); run build, then execute it"
    ]

    po = polib.pofile(str(_catalogue(tmp_path, "09_demo")), wrapwidth=0)  # a translation that breaks code
    next(e for e in po if e.msgctxt == "bbbb0002:str:0").msgstr = '前にない" + label + "'
    po.save(str(_catalogue(tmp_path, "09_demo")))
    problems, _ = nbi.check("ja", tmp_path / "notebooks", tmp_path / "locale", None)
    assert (
        "09_demo.po  code          bbbb0002: differs from the English cell outside comments and strings"
        in problems
    )


@pytest.mark.parametrize(
    ("msgid", "msgstr", "kind", "lost"),
    [
        ("token in {place}:", "トークン:", "str", "placeholders ['{place}'] became []"),
        ("Run `INCR key` first.", "まず INCR key を実行します。", "md", "inline code 'INCR key' is missing"),
        (
            "See [04](04_security.ipynb#x).",
            "04 を参照。",
            "md",
            "link target '04_security.ipynb#x' is missing",
        ),
        ("5 failures in 15 minutes (900 s).", "15 分間に 5 回の失敗。", "md", "number '900' is missing"),
        ("About 10 000 keys.", "約 1 万個のキー。", "md", "number '10000' is missing"),
    ],
)
def test_a_translation_that_drops_something_is_caught(msgid: str, msgstr: str, kind: str, lost: str) -> None:
    assert nbi.lost(msgid, msgstr, kind) == [lost]


def test_a_faithful_translation_passes() -> None:
    assert (
        nbi.lost(
            "**Hint 1 (ヒント1)** — 5 in `INCR` [a](x.md) {n}",
            "**ヒント 1** — `INCR` の 5 [あ](x.md) {n}",
            "str",
        )
        == []
    )


def test_check_reports_untranslated_and_a_lost_placeholder(tmp_path: Path) -> None:
    _notebook(tmp_path, [_code("bbbb0002", CODE)])
    nbi.extract("ja", tmp_path / "notebooks", tmp_path / "locale")
    problems, summary = _check(tmp_path)
    assert summary == ["09_demo: 0 of 4 entries translated, 4 problem(s)"]
    assert all("untranslated" in p for p in problems)
    _translate_all(
        _catalogue(tmp_path, "09_demo"), lambda e: "セッション" if e.msgctxt == "bbbb0002:str:1" else e.msgid
    )
    problems, _ = _check(tmp_path)
    assert problems == ["09_demo.po  lost          bbbb0002:str:1: placeholders ['{n}', '{user}'] became []"]


def test_every_notebook_segments_back_to_its_source() -> None:
    for path in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for cell in nbformat.read(str(path), as_version=4).cells:
            assert "".join(s.text for s in cell_segments(cell)) == cell.source, (path.name, cell.id)


def test_command_line_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "coursetools.translation.notebooks", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0 and "{extract,build,check}" in result.stdout
