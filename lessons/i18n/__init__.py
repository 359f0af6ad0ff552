"""The course in more than one language: the run-time lookup ``_()`` and its helpers.

    from lessons.i18n import _, pad
    print(_("Keys left under {ns}: {left}", ns=ns, left=left))

``runtime`` looks texts up (``_``, ``set_language``, ``language``, ``missing``, ``width``,
``pad``); ``fonts`` gives the Japanese edition's plots a Japanese font; ``catalogs`` keeps
``lessons/locale/{lang}/lessons.po`` and ``quizzes.po`` in step with the English
(``python -m lessons.i18n extract`` / ``check LANG``). The notebooks' own catalogues are
``lessons.i18n_notebooks``'s.
"""

from __future__ import annotations

from .fonts import use_japanese_fonts
from .runtime import _, language, missing, pad, set_language, translate, width

__all__ = ["_", "language", "missing", "pad", "set_language", "translate", "use_japanese_fonts", "width"]
