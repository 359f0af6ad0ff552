"""Mermaid diagrams in markdown cells, drawn from SVGs committed beside this module.

Decks never run mermaid: each ```` ```mermaid ```` block is replaced at build time by the SVG in
``coursetools/slides/mermaid/<key>.svg``, where ``<key>`` is a hash of the diagram source. A changed
diagram has a new key, so a stale picture cannot be used; ``python -m coursetools.slides.render_mermaid``
draws the missing ones (a maintainer step that needs Chromium and mermaid from npm).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

__all__ = ["SVG_DIR", "MissingDiagram", "blocks", "diagram_key", "load_svg", "svg_path"]

SVG_DIR = Path(__file__).parent / "mermaid"

# A fenced block whose info string is "mermaid"; group 1 is the diagram source.
BLOCK_RE = re.compile(r"^[ \t]*```+[ \t]*mermaid[ \t]*\n(.*?)^[ \t]*```+[ \t]*$", re.MULTILINE | re.DOTALL)


class MissingDiagram(FileNotFoundError):
    """A mermaid block has no pre-rendered SVG yet."""


def blocks(markdown: str) -> list[str]:
    """The source of every mermaid block in ``markdown``, in order."""
    return [m.group(1) for m in BLOCK_RE.finditer(markdown)]


def _normalise(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def diagram_key(source: str) -> str:
    """16 hex digits of SHA-256 over the diagram source (trailing spaces and edge blank lines ignored)."""
    return hashlib.sha256(_normalise(source).encode("utf-8")).hexdigest()[:16]


def svg_path(source: str) -> Path:
    """Where the SVG for this diagram source lives (it may not exist yet)."""
    return SVG_DIR / f"{diagram_key(source)}.svg"


def load_svg(source: str) -> str:
    """The committed SVG markup for a diagram; raises ``MissingDiagram`` with the fix."""
    path = svg_path(source)
    if not path.exists():
        raise MissingDiagram(
            f"no pre-rendered SVG for this mermaid diagram ({path.name}); run "
            "`python -m coursetools.slides.render_mermaid --mermaid-js PATH/mermaid.min.js "
            f"notebooks/*.ipynb`\n{_normalise(source)}"
        )
    text = path.read_text(encoding="utf-8")
    # Drop an XML declaration, if any, so the SVG can sit inline in HTML.
    return re.sub(r"^<\?xml[^>]*>\s*", "", text)
