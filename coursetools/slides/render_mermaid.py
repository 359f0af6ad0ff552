"""Maintainer tool: draw the missing mermaid SVGs that the decks inline.

    npm pack mermaid@11 && tar xzf mermaid-11.*.tgz
    python -m coursetools.slides.render_mermaid --mermaid-js package/dist/mermaid.min.js notebooks/*.ipynb

Needs Playwright (pip) and Chromium (``$CHROMIUM`` or /usr/bin/chromium); neither is needed to
build or view a deck. Each diagram is rendered once, offline, with plain SVG text labels (no
``foreignObject``), and written to ``coursetools/slides/mermaid/<key>.svg``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import nbformat

from .mermaid import SVG_DIR, blocks, diagram_key, svg_path

CONFIG = {
    "startOnLoad": False,
    "securityLevel": "strict",
    "theme": "default",
    "fontFamily": "DejaVu Sans, IPAGothic, sans-serif",
    "htmlLabels": False,
    "flowchart": {"htmlLabels": False, "useMaxWidth": False},
}


def sources(paths: list[Path]) -> list[str]:
    """Every distinct mermaid source in the markdown cells of the given notebooks."""
    found: dict[str, str] = {}
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                for src in blocks(cell.source):
                    found.setdefault(diagram_key(src), src)
    return list(found.values())


def render(diagrams: list[str], mermaid_js: Path, force: bool = False) -> list[Path]:
    """Render the diagrams that have no SVG yet (all of them with ``force``); return the files written."""
    from playwright.sync_api import sync_playwright

    todo = [d for d in diagrams if force or not svg_path(d).exists()]
    if not todo:
        return []
    SVG_DIR.mkdir(exist_ok=True)
    written = []
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.set_content("<!doctype html><html><body></body></html>")
        page.add_script_tag(path=str(mermaid_js))
        page.evaluate("cfg => mermaid.initialize(cfg)", CONFIG)
        for src in todo:
            svg = page.evaluate(
                "async ([id, src]) => (await mermaid.render(id, src)).svg",
                [f"mmd-{diagram_key(src)}", src.strip()],
            )
            out = svg_path(src)
            out.write_text(svg + "\n", encoding="utf-8")
            written.append(out)
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mermaid-js", type=Path, required=True, help="path to mermaid.min.js")
    parser.add_argument("--force", action="store_true", help="redraw SVGs that already exist")
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for path in render(sources(args.notebooks), args.mermaid_js, args.force):
        print("wrote", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
