"""The files every deck loads, copied to ``OUTDIR/assets``: reveal.js (vendored), the course
theme, the Pygments colours, and the fonts with their licences.

Fonts travel with the decks so that they render the same on any machine, Japanese included:
DejaVu Sans and DejaVu Sans Mono from matplotlib's own font folder (``LICENSE_DEJAVU``), and
IPAex Gothic from the installed ``matplotlib-fontja`` package (IPA Font License v1.0). The theme
(``static/course.css``) names them with ``@font-face`` rules, so no system font is needed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from lessons.i18n.fonts import font_file

from .render import FORMATTER

__all__ = ["FONT_FILES", "copy_assets", "font_sources"]

HERE = Path(__file__).parent
VENDOR = HERE / "vendor"
STATIC = HERE / "static"
DEJAVU = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "LICENSE_DEJAVU",
)
IPAEX = ("ipaexg.ttf", "IPA_Font_License_Agreement_v1.0.txt", "Readme_ipaexg00401.txt")
FONT_FILES = DEJAVU + IPAEX


def font_sources() -> dict[str, Path]:
    """{file name: installed file} for every font and licence file the decks ship."""
    import matplotlib

    dejavu = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    ipaex = font_file()
    if ipaex is None:
        raise FileNotFoundError(
            "matplotlib-fontja is not installed: the decks need its IPAex Gothic "
            "(pip install -r requirements.txt)"
        )
    found = {name: dejavu / name for name in DEJAVU}
    found.update({name: ipaex.parent / name for name in IPAEX})
    missing = [str(path) for path in found.values() if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"font files missing: {missing}")
    return found


def copy_assets(outdir: Path) -> None:
    """Copy reveal.js, the theme, the Pygments CSS and the fonts to ``outdir/assets``."""
    assets = outdir / "assets"
    shutil.copytree(VENDOR, assets, dirs_exist_ok=True)
    shutil.copy2(STATIC / "course.css", assets / "course.css")
    (assets / "pygments.css").write_text(FORMATTER.get_style_defs(".highlight") + "\n", encoding="utf-8")
    fonts = assets / "fonts"
    fonts.mkdir(exist_ok=True)
    for name, source in font_sources().items():
        target = fonts / name
        if not target.exists() or target.stat().st_size != source.stat().st_size:
            shutil.copy2(source, target)
