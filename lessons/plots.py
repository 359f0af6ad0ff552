"""TTL sampling and plotting helpers shared by the notebooks (matplotlib).

Plots are made to be read from the back of a room: large fonts, thick lines, labelled axes with
units. Every plotted number comes from a measurement on Redis (PTTL sampled over real time).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import matplotlib.pyplot as plt
import redis
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from .i18n import _


class StoreRow(Protocol):
    """What the store plots read of a row (``lessons.stores.OpStats``; plots, a support module,
    does not import the exhibits)."""

    @property
    def kind(self) -> str: ...
    @property
    def op(self) -> str: ...
    @property
    def median_us(self) -> float: ...
    @property
    def p99_us(self) -> float: ...
    @property
    def ops_per_s(self) -> float: ...


class RevokeRow(Protocol):
    """What ``plot_revoke_scaling`` reads of a row (``lessons.bench.Measurement``)."""

    @property
    def method(self) -> str: ...
    @property
    def sessions(self) -> int: ...
    @property
    def seconds(self) -> float: ...
    @property
    def round_trips(self) -> int: ...


#: Store benchmark rows: ``{panel title: rows}`` or one list of rows.
StoreRuns = Mapping[str, Sequence[StoreRow]] | Sequence[StoreRow]

__all__ = ["TtlTimeline", "apply_style", "method_label", "plot_ttl", "sample_pttl", "store_labels"]

STYLE = {
    "figure.figsize": (10, 5),
    "figure.dpi": 80,
    "font.size": 15,
    "axes.titlesize": 18,
    "axes.labelsize": 16,
    "legend.fontsize": 14,
    "lines.linewidth": 3,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def apply_style() -> None:
    """Big, high-contrast defaults for every figure that follows."""
    plt.rcParams.update(STYLE)  # type: ignore[arg-type]  # matplotlib types keys as Literals


@dataclass
class TtlTimeline:
    """Remaining TTL of some keys, sampled over real time.

    ``times[i]`` is seconds since the start; ``remaining[label][i]`` is that key's PTTL in
    seconds at that moment (0.0 once the key is gone); ``events`` are ``(time, text)`` marks.
    """

    times: list[float] = field(default_factory=list)
    remaining: dict[str, list[float]] = field(default_factory=dict)
    events: list[tuple[float, str]] = field(default_factory=list)

    def expired_at(self, label: str) -> float | None:
        """First sampled time at which ``label``'s key was gone, or None if it never was."""
        for t, left in zip(self.times, self.remaining[label]):
            if left <= 0:
                return t
        return None


def sample_pttl(
    client: redis.Redis,
    keys: dict[str, str],
    seconds: float,
    every: float = 0.05,
    actions: list[tuple[float, str, Callable[[], object]]] | None = None,
) -> TtlTimeline:
    """Sample PTTL of each key every ``every`` s for ``seconds`` s (one pipelined round trip each).

    ``actions`` are ``(at_second, text, function)``: each function runs once, as soon as the
    clock passes ``at_second`` (a refresh, an update…), and is marked on the plot.
    """
    pending = sorted(actions or [], key=lambda a: a[0])
    timeline = TtlTimeline(remaining={label: [] for label in keys})
    start = time.monotonic()
    while True:
        now = time.monotonic() - start
        while pending and pending[0][0] <= now:
            _at, text, action = pending.pop(0)
            action()
            timeline.events.append((round(now, 3), text))
        pipe = client.pipeline(transaction=False)
        for key in keys.values():
            pipe.pttl(key)
        replies = pipe.execute()
        timeline.times.append(time.monotonic() - start)
        for label, pttl in zip(keys, replies):
            timeline.remaining[label].append(max(pttl, 0) / 1000 if pttl != -1 else float("nan"))
        if now >= seconds:
            return timeline
        time.sleep(max(0.0, every - (time.monotonic() - start - now)))


def plot_ttl(
    timeline: TtlTimeline,
    title: str,
    labels: list[str] | None = None,
    styles: dict[str, dict[str, Any]] | None = None,
    hlines: dict[str, float] | None = None,
) -> Figure:
    """Remaining TTL (s) against time (s), one line per key, actions as dotted vertical lines."""
    apply_style()
    fig, ax = plt.subplots()
    for label in labels or list(timeline.remaining):
        ax.plot(timeline.times, timeline.remaining[label], label=label, **(styles or {}).get(label, {}))
    for at, _text in timeline.events:
        ax.axvline(at, color="grey", linestyle=":", linewidth=1.5)
    for text, y in (hlines or {}).items():
        ax.axhline(y, color="black", linestyle="--", linewidth=1.5)
        ax.annotate(text, (0, y), xytext=(4, 4), textcoords="offset points", fontsize=13)
    ax.set_xlabel(_("time since start (s)"))
    ax.set_ylabel(_("remaining TTL (s)"))
    ax.set_title(title)
    highest = max(
        (v for label in (labels or timeline.remaining) for v in timeline.remaining[label] if v == v),
        default=1.0,
    )
    ax.set_ylim(0, highest * 1.45)  # head room for the legend
    ax.set_xlim(left=0)
    if timeline.events:
        at, text = timeline.events[0]
        ax.annotate(
            text, (at, highest * 1.05), xytext=(4, 0), textcoords="offset points", fontsize=13, color="grey"
        )
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


# -- notebook 00: four session stores compared (rows come from lessons.stores.summarize) --------
STORE_COLORS = {"memory": "#4c72b0", "file": "#dd8452", "sqlite": "#55a868", "redis": "#c44e52"}


#: Legend names of the four stores (the Redis server of each panel is named in its title).
STORE_LABELS = {
    "memory": "memory (dict, in-process)",
    "file": "file (JSON files)",
    "sqlite": "SQLite (file, WAL, in-process)",
    "redis": "Redis (server: see panel title)",
}


def store_labels() -> dict[str, str]:
    """``STORE_LABELS`` in the current language (``lessons.i18n``)."""
    return {
        "memory": _("memory (dict, in-process)"),
        "file": _("file (JSON files)"),
        "sqlite": _("SQLite (file, WAL, in-process)"),
        "redis": _("Redis (server: see panel title)"),
    }


def _grouped_store_bars(
    runs: StoreRuns,
    value: Callable[[StoreRow], float],
    labels: dict[str, str] | None,
    title: str,
    ylabel: str,
    p99: bool = False,
) -> Figure:
    """One panel per run (``{panel title: rows}``, or one list of rows), side by side on one
    shared log y-axis: bars grouped by operation, one colour per store, black p99 ticks if asked."""
    import textwrap

    import numpy as np

    apply_style()
    panels = runs if isinstance(runs, Mapping) else {"": runs}
    labels = {**store_labels(), **(labels or {})}
    fig, axes = plt.subplots(
        1, len(panels), sharey=True, squeeze=False, figsize=(7 * len(panels) if len(panels) > 1 else 12, 7.5)
    )
    for ax, (panel, rows) in zip(axes[0], panels.items()):
        ops = list(dict.fromkeys(r.op for r in rows))
        kinds = list(dict.fromkeys(r.kind for r in rows))
        by = {(r.kind, r.op): r for r in rows}
        width = 0.8 / len(kinds)
        x = np.arange(len(ops))
        for i, kind in enumerate(kinds):
            xs = x - 0.4 + width * (i + 0.5)
            ax.bar(
                xs,
                [value(by[kind, op]) for op in ops],
                width * 0.92,
                color=STORE_COLORS.get(kind),
                label=labels.get(kind, kind),
            )
            if p99:
                ax.scatter(
                    xs,
                    [by[kind, op].p99_us for op in ops],
                    marker="_",
                    s=300,
                    linewidths=3,
                    color="black",
                    zorder=3,
                    label=_("p99 (99% of calls were faster)") if i == 0 else None,
                )
        ax.set_yscale("log")
        ax.set_xticks(x, ops)
        ax.set_xlabel(_("operation (one client, one call at a time)"))
        if panel:  # on two lines of about equal length
            chars = (
                len(panel)
                if len(panel) <= 44
                else next(w for w in range(20, len(panel)) if len(textwrap.wrap(panel, w)) <= 2)
            )
            ax.set_title(textwrap.fill(panel, chars), fontsize=15)
    axes[0][0].set_ylabel(ylabel)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=3 if p99 else 2, frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    return fig


def plot_store_latency(runs: StoreRuns, labels: dict[str, str] | None = None, title: str = "") -> Figure:
    """Median latency per call (bars) and p99 (black ticks), µs on a log scale, per store and op.

    ``runs``: ``{panel title: rows}`` (the learner's run beside the reference, say) or one list of
    rows; rows are ``lessons.stores.OpStats``. ``labels`` overrides store names in the legend."""
    return _grouped_store_bars(
        runs, lambda r: r.median_us, labels, title, _("latency per call (µs, log scale)"), p99=True
    )


def plot_store_throughput(runs: StoreRuns, labels: dict[str, str] | None = None, title: str = "") -> Figure:
    """Calls per second (one client, sequential) on a log scale, per store and op; ``runs`` as
    for ``plot_store_latency``."""
    return _grouped_store_bars(
        runs, lambda r: r.ops_per_s, labels, title, _("throughput (calls per second, log scale)")
    )


# -- notebook 02: three servers behind a round-robin balancer (counts from lessons.web_farm) ------
def plot_successes_per_server(results: dict[str, dict[str, int]], sent: dict[str, int], title: str) -> Figure:
    """Grouped bars: successful requests per server, one colour per set-up, with the count on
    each bar; a dashed line marks how many requests each server received."""
    import numpy as np

    apply_style()
    servers = list(dict.fromkeys(s for counts in results.values() for s in counts))
    setups = list(results)
    width = 0.8 / len(setups)
    x = np.arange(len(servers))
    colors = ["#c44e52", "#4c72b0", "#55a868", "#dd8452"]
    fig, ax = plt.subplots(figsize=(11, 6))
    for i, setup in enumerate(setups):
        values = [results[setup].get(s, 0) for s in servers]
        bars = ax.bar(
            x - 0.4 + width * (i + 0.5), values, width * 0.92, color=colors[i % len(colors)], label=setup
        )
        ax.bar_label(bars, padding=3, fontsize=15)
    for j, s in enumerate(servers):
        ax.hlines(
            sent.get(s, 0),
            j - 0.45,
            j + 0.45,
            colors="black",
            linestyles="--",
            linewidth=2,
            label=_("requests each server received") if j == 0 else "_nolegend_",
        )
    ax.set_xticks(x, servers)
    ax.set_xlabel(_("server behind the load balancer"))
    ax.set_ylabel(_("successful GET /me (requests)"))
    ax.set_ylim(0, max(sent.values()) * 1.25)
    ax.set_title(title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)
    fig.tight_layout()
    return fig


def plot_key_growth(
    seconds: Sequence[float],
    with_ttl: Sequence[int],
    without_ttl: Sequence[int],
    ttl: float,
    bound: int | None = None,
    title: str | None = None,
) -> Figure:
    """Notebook 04 (セッション無限増加): key count over time for the same workload, written with
    ``SET … EX ttl`` and with a plain ``SET``. Data: ``lessons.security.growth_experiment``.
    ``title`` defaults to "Sessions kept in Redis: with and without a TTL" (translated)."""
    apply_style()
    fig, ax = plt.subplots()
    ax.plot(
        seconds,
        without_ttl,
        marker="o",
        markersize=5,
        color="tab:red",
        label=_("plain SET (no TTL): grows forever"),
    )
    ax.plot(
        seconds,
        with_ttl,
        marker="o",
        markersize=5,
        color="tab:blue",
        label=_("SET … EX {ttl:g} (TTL {ttl:g} s): levels off", ttl=ttl),
    )
    if bound is not None:
        ax.axhline(
            bound,
            color="tab:blue",
            linestyle=":",
            linewidth=2,
            label=_("most that can be alive with the TTL ({bound})", bound=bound),
        )
    ax.set_xlabel(_("time since the workload started (s)"))
    ax.set_ylabel(_("session keys in Redis (count)"))
    ax.set_title(title if title is not None else _("Sessions kept in Redis: with and without a TTL"))
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


# -- notebook 03: revoking one user's sessions, SCAN vs index (rows from lessons.bench) -----------
REVOKE_STYLES = {
    "lesson SCAN": {"color": "tab:red", "marker": "o"},
    "SCAN + MGET": {"color": "tab:orange", "marker": "s"},
    "per-user index": {"color": "tab:blue", "marker": "D"},
}


def method_label(method: str) -> str:
    """A revoke method's name as the legend shows it, in the current language (the name itself,
    ``"lesson SCAN"``…, stays the key that the rows and the notebooks use)."""
    return {
        "lesson SCAN": _("lesson SCAN"),
        "SCAN + MGET": _("SCAN + MGET"),
        "SCAN + pipeline": _("SCAN + pipeline"),
        "per-user index": _("per-user index"),
    }.get(method, method)


def plot_revoke_scaling(
    rows: Sequence[RevokeRow], metric: str = "seconds", title: str | None = None, backend_label: str = ""
) -> Figure:
    """Notebook 03 (演習3): one line per method, total sessions in Redis on the x axis, on log-log
    axes. ``metric`` is ``"seconds"`` (plotted in ms) or ``"round_trips"``. Rows:
    ``lessons.bench.revoke_scaling`` (``Measurement`` objects)."""
    apply_style()
    fig, ax = plt.subplots(figsize=(10, 6))
    methods = list(dict.fromkeys(r.method for r in rows))
    styles: dict[str, dict[str, Any]] = {**REVOKE_STYLES, "SCAN + pipeline": REVOKE_STYLES["SCAN + MGET"]}
    for method in methods:
        mine = sorted((r for r in rows if r.method == method), key=lambda r: r.sessions)
        xs = [r.sessions for r in mine]
        ys = [r.seconds * 1000 if metric == "seconds" else r.round_trips for r in mine]
        ax.plot(xs, ys, label=method_label(method), markersize=10, **styles.get(method, {}))
        ax.annotate(
            f"{ys[-1]:,.1f}" if metric == "seconds" else f"{ys[-1]:,}",
            (xs[-1], ys[-1]),
            xytext=(8, 0),
            textcoords="offset points",
            va="center",
            fontsize=14,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    sizes = sorted({r.sessions for r in rows})
    ax.set_xticks(sizes, [f"{s:,}" for s in sizes])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(_("sessions in Redis (count, log scale)"))
    ax.set_ylabel(
        _("time to revoke (ms, log scale)")
        if metric == "seconds"
        else _("round trips to Redis (count, log scale)")
    )
    default = (
        _("Revoking one user's {n} sessions: time", n=5)
        if metric == "seconds"
        else _("Revoking one user's {n} sessions: round trips", n=5)
    )
    ax.set_title(title or default + (f"\n({backend_label})" if backend_label else ""))
    ax.margins(x=0.15)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=len(methods), frameon=False)
    fig.tight_layout()
    return fig
