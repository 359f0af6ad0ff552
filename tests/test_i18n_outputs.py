"""What ``lessons/`` shows beyond the check lines, in the Japanese edition: plot texts, the web
app's messages, the interleave log, the backend line. English stays byte-identical.

Plots: every text a plot function writes itself (axis labels, legend entries, default titles) is
Japanese under ``set_language("ja")``, checked on the figure's artists (nbval never compares
images). The web app: human-readable ``detail``/``message`` follow the course's language at the
time of the request; status codes and JSON keys never change (both backends).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from lessons import backend, interleave, plots
from lessons.bench import Measurement, format_table
from lessons.i18n import runtime, set_language, width
from lessons.rediscluster import failover
from lessons.stores.workload import OpStats
from lessons.web import NOT_AUTHENTICATED, TOO_MANY_ATTEMPTS

if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    from lessons.backend import Client
    from lessons.web import TestClient

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
WORD = re.compile(r"\b[a-z]{3,}\b")  # a lower-case English word (commands and names are not)


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts in English and leaves the language as it was."""
    monkeypatch.delenv("COURSE_LANG", raising=False)
    set_language(None)
    runtime._missing.clear()
    yield
    set_language(None)
    runtime._missing.clear()


# -- plots ------------------------------------------------------------------------------------
def figure_texts(fig: Figure) -> list[str]:
    """The figure's words: titles, axis labels, legend entries, annotations (not tick labels,
    which are numbers and operation names)."""
    texts: list[Text] = [t for t in (getattr(fig, "_suptitle", None),) if t is not None]
    for legend in [*fig.legends, *(ax.get_legend() for ax in fig.axes)]:
        texts += legend.get_texts() if legend is not None else []
    words = [t.get_text() for t in texts]
    for ax in fig.axes:
        words += [ax.get_title(loc=loc) for loc in ("center", "left", "right")]
        words += [t.get_text() for t in (ax.xaxis.label, ax.yaxis.label, *ax.texts)]
    return [w for w in words if w.strip()]


def every_plot(title: str = "タイトル") -> dict[str, Figure]:
    """One figure of each plot function, on made-up data; the texts a notebook passes (titles,
    series, marks) are ``title``, everything else comes from the function."""
    timeline = plots.TtlTimeline(
        times=[0.0, 1.0, 2.0], remaining={title: [2.0, 1.0, 0.0]}, events=[(1.0, title)]
    )
    rows = [
        OpStats(kind, op, 10, 100.0, 200.0, 1e4) for kind in plots.STORE_COLORS for op in ("create", "get")
    ]
    revokes = [
        Measurement(method, size, 0.001 * size, size // 100, 5, True)
        for method in plots.REVOKE_STYLES
        for size in (500, 1000)
    ]
    run = failover.LoadRun(
        [
            failover.Outcome(0.1, "login", 200, 5.0),
            failover.Outcome(0.2, "me", 503, 9.0, group="/me, session on master 0"),
        ],
        seconds=1.0,
        marks={"0": 0.3, "0 done": 0.6},
    )
    figures = {
        "plot_ttl": plots.plot_ttl(timeline, title, hlines={title + " ": 1.0}),
        "plot_store_latency": plots.plot_store_latency({title: rows, title + " ": rows}, title=title),
        "plot_store_throughput": plots.plot_store_throughput(rows, title=title),
        "plot_successes_per_server": plots.plot_successes_per_server(
            {title: {"A": 3, "B": 2}}, {"A": 3, "B": 3}, title
        ),
        "plot_key_growth": plots.plot_key_growth([0, 1], [1, 2], [1, 3], ttl=1, bound=2),
        "plot_revoke_scaling": plots.plot_revoke_scaling(revokes, "seconds"),
        "plot_revoke_scaling/round_trips": plots.plot_revoke_scaling(revokes, "round_trips"),
        "failover.plot_timeline": failover.plot_timeline(run, title, marks={"0": title}),
    }
    return figures


def test_plot_texts_are_japanese_in_the_japanese_edition() -> None:
    set_language("ja")
    untranslated = []
    for name, fig in every_plot().items():
        for text in figure_texts(fig):
            if WORD.search(text) and not JAPANESE.search(text):
                untranslated.append(f"{name}: {text!r}")
    assert not untranslated, "plot texts left in English:\n" + "\n".join(untranslated)
    assert runtime.missing() == []


def test_plot_texts_stay_english_in_the_english_edition() -> None:
    figures = every_plot("Title")
    ttl = figures["plot_ttl"].axes[0]
    assert (ttl.get_xlabel(), ttl.get_ylabel()) == ("time since start (s)", "remaining TTL (s)")
    growth = figures["plot_key_growth"].axes[0]
    assert growth.get_title() == "Sessions kept in Redis: with and without a TTL"
    growth_legend = growth.get_legend()
    assert growth_legend is not None
    assert [t.get_text() for t in growth_legend.get_texts()] == [
        "plain SET (no TTL): grows forever",
        "SET … EX 1 (TTL 1 s): levels off",
        "most that can be alive with the TTL (2)",
    ]
    revoke = figures["plot_revoke_scaling"].axes[0]
    assert revoke.get_title() == "Revoking one user's 5 sessions: time"
    assert figures["plot_revoke_scaling/round_trips"].axes[0].get_title() == (
        "Revoking one user's 5 sessions: round trips"
    )
    revoke_legend = revoke.get_legend()
    assert revoke_legend is not None
    assert [t.get_text() for t in revoke_legend.get_texts()] == list(plots.REVOKE_STYLES)
    latency = figures["plot_store_latency"]
    assert "memory (dict, in-process)" in figure_texts(latency)
    timeline = figures["failover.plot_timeline"]
    assert [ax.get_title(loc="left") for ax in timeline.axes] == [
        "log in, then /me",
        "/me, session on master 0",
    ]
    assert timeline.axes[-1].get_xlabel() == (
        "time since the load started (s); bars: requests started per 250 ms"
    )


# -- printed lines ------------------------------------------------------------------------------
def test_backend_line_and_interleave_log_follow_the_language(client: Client) -> None:
    english = backend.describe()
    set_language("ja")
    japanese = backend.describe()
    assert english.startswith("Backend: ") and japanese.startswith("バックエンド: ")
    key = "course:test-i18n-outputs:" + __name__
    client.set(key, "v", ex=60)
    try:
        stand_in = interleave.pause_before(client, "get", lambda: None)
        stand_in.get(key)
        assert stand_in.log == ["(GET の前で一時停止: ほかの誰かが動く)", "GET"]
        assert stand_in.pauses == 1
        set_language(None)
        again = interleave.pause_after(client, "get", lambda: None)
        again.get(key)
        assert again.log == ["GET", "(paused after GET: someone else acts)"] and again.pauses == 1
    finally:
        client.delete(key)


def test_revoke_table_keeps_its_columns_in_both_languages() -> None:
    rows = [
        Measurement("lesson SCAN", 500, 0.0727, 519, 5, True),
        Measurement("per-user index", 10_000, 0.0007, 3, 5, True),
    ]
    assert format_table(rows).splitlines() == [
        "method                  sessions   time (ms)  round trips  revoked  only that user",
        "lesson SCAN                  500       72.70          519        5            True",
        "per-user index            10,000        0.70            3        5            True",
    ]
    set_language("ja")
    header, *lines = format_table(rows).splitlines()
    assert header.startswith("手法") and "ラウンドトリップ" in header
    assert {width(line) for line in lines} == {width(header)}  # every row ends under its header
    # each header ends where its column's numbers end (display columns, wide characters count 2)
    ends = [width(header.split(h)[0]) + width(h) for h in ("セッション数", "時間（ms）", "ラウンドトリップ")]
    assert ends == [width(lines[0].split(v)[0]) + len(v) for v in ("500", "72.70", "519")]


# -- the web app ----------------------------------------------------------------------------------
def test_web_messages_follow_the_language_keys_and_codes_do_not(
    app: FastAPI, log_in: Callable[..., TestClient], client: Client, prefix: str
) -> None:
    from lessons.web import TestClient

    def answers() -> list[tuple[int, dict[str, Any]]]:
        browser = TestClient(app, base_url="https://testserver")
        wrong = browser.post("/login", json={"username": "alice", "password": "nope"})
        anonymous = browser.get("/me")
        good = log_in(app)
        logged_in = good.post("/login", json={"username": "alice", "password": "wonderland"})
        everywhere = good.post("/logout-all")
        out = good.post("/logout")
        return [(r.status_code, r.json()) for r in (wrong, anonymous, logged_in, everywhere, out)]

    english = answers()
    set_language("ja")
    japanese = answers()
    assert (
        [status for status, _body in english]
        == [status for status, _body in japanese]
        == [401, 401, 200, 200, 200]
    )
    assert [sorted(body) for _s, body in english] == [sorted(body) for _s, body in japanese]
    assert [body.get("detail") or body.get("message") for _s, body in english] == [
        "Wrong username or password",
        NOT_AUTHENTICATED,
        "Logged in",
        "Logged out everywhere",
        "Logged out",
    ]
    assert [body.get("detail") or body.get("message") for _s, body in japanese] == [
        "ユーザー名またはパスワードが違います",
        "認証されていません",
        "ログインしました",
        "すべての端末からログアウトしました",
        "ログアウトしました",
    ]
    # the second login replaced log_in's session (fixation defence): one session to end
    assert english[3][1]["ended"] == japanese[3][1]["ended"] == 1
    assert TOO_MANY_ATTEMPTS == "Too many failed logins; try again later"
    assert runtime.missing() == []
    assert list(client.scan_iter(match=f"{prefix}:*")) == []  # logout-all and logout ended both


# -- the executed Japanese notebooks ------------------------------------------------------------
def _tool() -> ModuleType:
    """``tools/english-in-ja-outputs`` as a module (its file name has no ``.py``)."""
    import importlib.machinery
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "tools" / "english-in-ja-outputs"
    loader = importlib.machinery.SourceFileLoader("english_in_ja_outputs", str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


#: Output cells of notebooks/ja allowed to show English prose, and why.
ALLOWED = {
    ("03_session_admin", "57e5006b"): "Python's own NameError message: the lesson's bug, shown as it is",
    ("04_security", "33399b7e"): "the signing keys' names ('new key', 'old key'), which the code compares",
    ("01_session_store", "e6d73dfa"): "f-string words ('sent', 'same value') not extracted into the "
    "notebook catalogue yet",
    ("04_security", "2a7b01ea"): "a label inside an f-string field, kept English in the notebook catalogue",
}


def test_the_tool_tells_prose_from_code() -> None:
    runs = _tool().english_runs
    assert runs("✗ writes the new value (saw 'old')") == ["writes the new value (saw 'old')"]
    assert runs("SET demo v1 EX 60 NX → True （書き込み成功）") == []
    assert runs("POST /login -> 200 {'message': 'ログインしました', 'user': {'user_id': 1}}") == []
    assert runs("バックエンド: 組み込みの fakeredis 2.41.0、接続先 redis://127.0.0.1:1/0") == []
    assert runs("Backend: embedded fakeredis 2.41.0 at redis://127.0.0.1:1/0") == [
        "Backend: embedded fakeredis 2.41.0 at"
    ]
    assert runs("store.create(…)  sent SETEX <key> 3600 <value>") == ["sent SETEX <key> 3600 <value>"]


def test_japanese_notebook_outputs_show_no_english_prose() -> None:
    """The committed, executed notebooks/ja: no output cell shows English prose outside ALLOWED."""
    tool = _tool()
    found = []
    for path in sorted((Path(__file__).resolve().parents[1] / "notebooks" / "ja").glob("[0-9][0-9]_*.ipynb")):
        _cells, flagged = tool.scan(path)
        found += [
            f"{path.stem} {cell}: {runs}"
            for cell, runs in flagged.items()
            if (path.stem, cell) not in ALLOWED
        ]
    assert not found, "English prose in the Japanese notebooks' outputs:\n" + "\n".join(found)


def test_error_answers_are_the_english_constants_in_english() -> None:
    """The 503 handlers' ``detail`` (literals, so that the catalogue finds them) equal the
    constants that API clients and the English tests compare with; in Japanese they differ."""
    import asyncio
    import json

    from lessons.web import errors

    def detail(handler: Callable[[Any, Exception], Coroutine[Any, Any, JSONResponse]]) -> str:
        response = asyncio.run(handler(None, Exception()))  # the handlers never read the request
        body: dict[str, str] = json.loads(bytes(response.body))  # Starlette types it bytes | memoryview
        return body["detail"]

    assert detail(errors._not_confirmed) == errors.NOT_CONFIRMED
    assert detail(errors._store_unavailable) == errors.STORE_UNAVAILABLE
    assert (errors.not_authenticated(), errors.too_many_attempts()) == (
        errors.NOT_AUTHENTICATED,
        errors.TOO_MANY_ATTEMPTS,
    )
    set_language("ja")
    assert detail(errors._not_confirmed).startswith("この変更を時間内に確認したレプリカがない")
    assert detail(errors._store_unavailable).startswith("セッションストアを利用できません。")
