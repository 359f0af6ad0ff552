"""The Japanese edition in a real browser: notebooks/ja/01 as a Japanese learner runs it.

One private JupyterLab (``jupyterlab`` fixture: a temporary copy of notebooks/, so also of
notebooks/ja/) opens ``notebooks/ja/01_session_store.ipynb`` in Chromium, restarts its kernel and
runs every cell (Kernel > Restart Kernel and Run All Cells), then answers its first quiz in the
widget. It asserts what the learner sees:

- no rendered markdown block (paragraph, list item, heading, table cell) is English prose: one
  without a Japanese character that still has a run of English words
  (``tools/english-in-ja-outputs`` decides what a run of English words is);
- no error output and no stderr (outside cells tagged ``raises-exception``), in particular no
  "Glyph … missing" warning, and every committed figure renders as an image;
- the plot font is the Japanese one: in the notebook's own kernel, after the run,
  ``font.family`` names IPAex Gothic, matplotlib finds its file, and drawing a Japanese title
  warns of no missing glyph;
- the quiz's button and verdicts are Japanese (the right answer "正解です: B. EXPIRE …", a wrong
  one "残念、A ではありません…"), with no English prose.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from browser_lab import LabServer
    from lab_page import TabCache
    from playwright.sync_api import Browser, Locator

NOTEBOOK = "01_session_store.ipynb"
FOLDER = "notebooks/ja"
QUIZ_CALL = 'ask("ttl-reset")'
CHECK_BUTTON = "答え合わせ"
RIGHT, WRONG = "正解です: B.", "残念、A ではありません"
ERROR_TAG = "raises-exception"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff01-\uff5e]")
TOOL = Path(__file__).resolve().parents[2] / "tools" / "english-in-ja-outputs"

pytestmark = pytest.mark.timeout(600)


def _load_tool() -> ModuleType:
    """``tools/english-in-ja-outputs`` as a module (its file name has no ``.py``)."""
    loader = importlib.machinery.SourceFileLoader("english_in_ja_outputs", str(TOOL))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


english_runs: Callable[[str], list[str]] = _load_tool().english_runs

# Every rendered markdown block, its code spans left out: [{cell, tag, text}].
MARKDOWN_BLOCKS_JS = """
() => {
  const cells = Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell'));
  const found = [];
  for (const md of document.querySelectorAll('.jp-MarkdownCell .jp-RenderedMarkdown')) {
    const cell = cells.indexOf(md.closest('.jp-Cell'));
    for (const block of md.querySelectorAll('p, li, h1, h2, h3, h4, h5, h6, td, th, blockquote')) {
      const copy = block.cloneNode(true);
      copy.querySelectorAll('code, pre, kbd, ul, ol, p').forEach(e => e.remove());
      found.push({cell, tag: block.tagName.toLowerCase(), text: copy.textContent.trim()});
    }
  }
  return found;
}"""

# Run ``code`` in the notebook's kernel (not in a cell); its stdout, and any error.
KERNEL_RUN_JS = """
async (code) => {
  const p = window.jupyterapp.shell.currentWidget;
  const future = p.sessionContext.session.kernel.requestExecute({code, store_history: false});
  let text = '';
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'stream') text += msg.content.text;
    if (msg.header.msg_type === 'error') text += `ERROR ${msg.content.ename}: ${msg.content.evalue}`;
  };
  await future.done;
  return text;
}"""

FONT_PROBE = """
import io, json, warnings
import matplotlib
import matplotlib.pyplot as plt
from matplotlib import font_manager
family = list(matplotlib.rcParams["font.family"])
try:
    ipaex = font_manager.findfont("IPAexGothic", fallback_to_default=False)
except ValueError:
    ipaex = None
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    fig, ax = plt.subplots()
    ax.set_title("残りの TTL（秒）: スライディング方式の有効期限")
    fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)
print(json.dumps({"family": family, "ipaex": ipaex,
                  "glyph_warnings": [str(w.message) for w in seen if "Glyph" in str(w.message)]}))
"""


def output_text(output: dict[str, Any]) -> str:
    """What a learner reads in one output (stream, text/plain, an error)."""
    if output.get("output_type") == "error":
        return f"{output.get('ename')}: {output.get('evalue')}"
    text = output.get("text") or output.get("data", {}).get("text/plain", "")
    return "".join(text) if isinstance(text, list) else str(text)


def english_prose(text: str) -> list[str]:
    """The runs of English words in ``text`` (see ``tools/english-in-ja-outputs``)."""
    return [run for line in text.splitlines() for run in english_runs(line)]


def wait_for(output: Locator, needle: str, timeout_s: float = 20.0) -> str:
    """The output's line that starts with ``needle``, once the widget shows it."""
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        text = output.inner_text()
        for line in text.splitlines():
            if line.strip().startswith(needle):
                return line.strip()
        time.sleep(0.2)
    raise AssertionError(
        f"the quiz shows no line starting with {needle!r} within {timeout_s:.0f} s: {text[-300:]!r}"
    )


@pytest.fixture(scope="module")
def japanese_tabs(browser: Browser, jupyterlab: LabServer) -> Iterator[TabCache]:
    """Tabs on the private JupyterLab's copy of notebooks/ja (lab_page.TabCache)."""
    from lab_page import TabCache

    tabs = TabCache(browser, jupyterlab, FOLDER)
    try:
        yield tabs
    finally:
        tabs.close_all()


def test_japanese_notebook_runs_and_reads_in_japanese(japanese_tabs: TabCache) -> None:
    nb = japanese_tabs.notebook(NOTEBOOK)
    tab = japanese_tabs.get(NOTEBOOK)
    tab.restart_and_run_all()
    cells = tab.cells()
    problems: list[str] = []

    # Prose: every rendered markdown block is Japanese (or has no English words at all).
    blocks = tab.page.evaluate(MARKDOWN_BLOCKS_JS)
    assert len(blocks) > 50, f"only {len(blocks)} rendered markdown blocks found"
    for block in blocks:
        if not JAPANESE.search(block["text"]) and english_prose(block["text"]):
            problems.append(
                f"cell {block['cell']} <{block['tag']}> is English prose: {block['text'][:120]!r}"
            )

    # Outputs: no error, no stderr (so no "Glyph … missing"), figures rendered.
    for c in cells:
        if c["type"] != "code":
            continue
        for out in c["outputs"]:
            text = output_text(out)
            if "Glyph" in text and "missing" in text:
                problems.append(f"cell {c['index']}: a missing glyph: {text.strip()[:200]!r}")
            if ERROR_TAG in c["tags"]:
                continue
            if out.get("output_type") == "error":
                problems.append(f"cell {c['index']}: error {text[:200]!r}")
            elif out.get("output_type") == "stream" and out.get("name") == "stderr":
                problems.append(f"cell {c['index']}: stderr {text.strip()[:200]!r}")
    figures = {
        i: sum(any(t in o.get("data", {}) for t in IMAGE_TYPES) for o in cell.get("outputs", []))
        for i, cell in enumerate(nb["cells"])
    }
    for index, n_images in ((i, n) for i, n in figures.items() if n):
        loaded = (
            tab.cell(index)
            .locator(".jp-OutputArea img")
            .evaluate_all("imgs => imgs.filter(i => i.complete && i.naturalWidth > 0).length")
        )
        if loaded < n_images:
            problems.append(f"cell {index}: {n_images} figure(s) committed, {loaded} rendered")
    assert any(figures.values()), f"{NOTEBOOK} has no figure to look at"

    # The plot font, asked of the notebook's own kernel after the run.
    probe = tab.page.evaluate(KERNEL_RUN_JS, FONT_PROBE)
    assert not probe.startswith("ERROR"), probe
    font = json.loads(probe.strip().splitlines()[-1])
    if "IPAexGothic" not in font["family"]:
        problems.append(f"font.family is {font['family']}, without IPAexGothic")
    if not font["ipaex"] or not font["ipaex"].endswith("ipaexg.ttf"):
        problems.append(f"matplotlib finds no IPAex Gothic file (found {font['ipaex']!r})")
    problems += [f"drawing Japanese warns: {w}" for w in font["glyph_warnings"]]

    # The quiz, answered in the widget: a Japanese button, Japanese verdicts.
    quiz_index = next(
        (
            i
            for i, cell in enumerate(nb["cells"])
            if cell["cell_type"] == "code" and QUIZ_CALL in "".join(cell["source"])
        ),
        None,
    )
    assert quiz_index is not None, f"{NOTEBOOK} has no cell calling {QUIZ_CALL}"
    cell = tab.cell(quiz_index)
    cell.scroll_into_view_if_needed()
    radios = cell.locator(".widget-radio-box")
    radios.wait_for(state="visible", timeout=30_000)
    labels = radios.locator("label")
    options = {labels.nth(i).inner_text().strip().split(".", 1)[0]: i for i in range(labels.count())}
    output = cell.locator(".jp-OutputArea").first
    verdicts = {}
    for key, needle in (("B", RIGHT), ("A", WRONG)):
        labels.nth(options[key]).locator("input").check()
        cell.get_by_role("button", name=CHECK_BUTTON).click()
        verdicts[key] = wait_for(output, needle)
    for key, verdict in verdicts.items():
        english = english_prose(verdict)
        if english:
            problems.append(f"quiz verdict for {key} has English prose {english}: {verdict!r}")
    print("quiz verdicts:", verdicts)
    assert not problems, f"{FOLDER}/{NOTEBOOK} after Restart Kernel and Run All:\n" + "\n".join(problems)
