"""The words the deck builder itself puts on slides, in English and Japanese.

The builder is maintainer tooling (``coursetools``), not learner output, so its dozen labels live
here rather than in ``lessons/locale``; ``label("answer", "ja")`` -> ``"答え"``.
"""

from __future__ import annotations

__all__ = ["LABELS", "label"]

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "course": "Web session management with Redis",
        "agenda": "Agenda",
        "continued": "{heading} (continued)",
        "quiz": "Quiz",
        "answer": "Answer",
        "answer_verdict": "Answer: {verdict}",
        "exercise": "Exercise",
        "solution": "Solution",
        "hint": "Hints",
        "explanation": "Answer explained",
        "appendix": "Appendix",
        "appendix_page": "Appendix · {kind}: {heading}",
        "widget": "(an interactive widget: run this cell in JupyterLab)",
        "deck": "deck",
        "pages": "pages",
        "minutes": "minutes (estimated)",
        "notes": "slides with notes",
    },
    "ja": {
        "course": "Redis によるセッション管理",
        "agenda": "アジェンダ",
        "continued": "{heading}（続き）",
        "quiz": "クイズ",
        "answer": "答え",
        "answer_verdict": "答え：{verdict}",
        "exercise": "演習",
        "solution": "解答例",
        "hint": "ヒント",
        "explanation": "解説",
        "appendix": "付録",
        "appendix_page": "付録・{kind}：{heading}",
        "widget": "（対話型のウィジェットです。JupyterLab でこのセルを実行してください）",
        "deck": "デッキ",
        "pages": "ページ数",
        "minutes": "所要時間の目安（分）",
        "notes": "講師メモのあるスライド",
    },
}


def label(key: str, lang: str = "en", **fields: str) -> str:
    """The label ``key`` in ``lang`` (English when ``lang`` has none), placeholders filled."""
    table = LABELS.get(lang, LABELS["en"])
    return table.get(key, LABELS["en"][key]).format(**fields)
