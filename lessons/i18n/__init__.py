"""The course in more than one language: the run-time lookup ``_()`` and its helpers.

    from lessons.i18n import _, pad
    print(_("Keys left under {ns}: {left}", ns=ns, left=left))

``runtime`` looks texts up (``_``, ``set_language``, ``language``, ``missing``, ``width``,
``pad``); ``fonts`` gives the Japanese edition's plots a Japanese font. Keeping the catalogues
(``lessons/locale/{lang}/*.po``) in step with the English is maintainer tooling:
``python -m coursetools.translation extract`` / ``check LANG`` (and ``.notebooks`` for the
notebooks' own catalogues).
"""

from __future__ import annotations

from .fonts import use_japanese_fonts
from .runtime import _, language, missing, pad, set_language, translate, width

__all__ = ["_", "language", "missing", "pad", "set_language", "translate", "use_japanese_fonts", "width"]
