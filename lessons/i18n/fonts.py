"""A Japanese font for the Japanese edition's plots, and only for it.

``matplotlib-fontja`` ships IPAex Gothic (IPA Font License). Importing that package would switch
every plot of the process to IPAex, so its font file is only located, not imported: it is added
to matplotlib's font list and ``font.family`` becomes ``["DejaVu Sans", "IPAexGothic"]``. Latin
text keeps matplotlib's usual DejaVu Sans; a Japanese character, which DejaVu Sans lacks, is drawn
from IPAex Gothic (matplotlib falls back glyph by glyph). English plots never call this.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

__all__ = ["FAMILY", "font_file", "restore_fonts", "use_japanese_fonts"]

FAMILY = ["DejaVu Sans", "IPAexGothic"]
_saved: dict[str, Any] = {}  # font.family before use_japanese_fonts, for restore_fonts


def font_file() -> Path | None:
    """IPAex Gothic's file inside the installed ``matplotlib_fontja`` (not imported), or None."""
    spec = importlib.util.find_spec("matplotlib_fontja")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "fonts" / "ipaexg.ttf"
        if path.is_file():
            return path
    return None


def use_japanese_fonts() -> bool:
    """Let plots draw Japanese: add IPAex Gothic to matplotlib and put it after DejaVu Sans in
    ``font.family``. False (and nothing changed) if ``matplotlib-fontja`` is not installed."""
    path = font_file()
    if path is None:
        return False
    import matplotlib
    from matplotlib import font_manager

    if not any(Path(f.fname) == path for f in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(str(path))
    if "font.family" not in _saved:
        _saved["font.family"] = list(matplotlib.rcParams["font.family"])
    matplotlib.rcParams["font.family"] = list(FAMILY)
    return True


def restore_fonts() -> None:
    """Put ``font.family`` back as it was before ``use_japanese_fonts`` (nothing if never called)."""
    if "font.family" not in _saved:
        return
    import matplotlib

    matplotlib.rcParams["font.family"] = _saved.pop("font.family")
