"""A failover under load: the course's web app serving users while a Redis master dies.

    store = SessionStore(client=cluster.client(), prefix=…)
    readers = reader_sessions(app, store, cluster, USERS)   # lessons.rediscluster.demo
    run = run_load(create_app(store, users=USERS), USERS, seconds=5, readers=readers,
                   events={1.5: lambda: cluster.kill_master(0)})
    run.summary()                 # per endpoint and status: how many requests
    describe_run(run)             # what happened in this run, in sentences (a measurement)
    invariants(run)               # what holds in every run: no 500, nobody sees another user
    plot_timeline(run, …)         # successes and failures per 250 ms, one row per group

``create_latencies`` times ``create`` of several stores, taking turns. The stores whose writes
wait for a replica (``ReplicatedStore``, ``ReplicatedAdmin``, ``NotReplicated``) live in
``lessons.replicated`` and are importable from here too.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from statistics import median
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from ..i18n import _
from ..percentile import percentile
from ..replicated import NotReplicated, ReplicatedAdmin, ReplicatedStore
from ..store import SessionStore

if TYPE_CHECKING:
    from starlette.testclient import TestClient

__all__ = [
    "LOGIN_GROUP",
    "LoadRun",
    "NotReplicated",
    "Outcome",
    "ReplicatedAdmin",
    "ReplicatedStore",
    "create_latencies",
    "describe_run",
    "invariants",
    "latency_line",
    "lost_sessions",
    "plot_timeline",
    "run_load",
]


@dataclass(frozen=True)
class Outcome:
    """One HTTP request: when it started (s since the run began), which endpoint, the status
    (500 would be a bug: an error the app did not handle), how long it took, for a login
    answered 200 the session ID its cookie carried, which group of requests it belongs to
    (``""``: the login workers; else a reader's label), and ``foreign``: True if a 200 answer
    named another user than the one who sent it (a bug: a session served to the wrong user)."""

    t: float
    endpoint: str  # "login" or "me"
    status: int
    ms: float
    session: str | None = None
    group: str = ""
    foreign: bool = False


#: The plot's label of the login workers' requests.
LOGIN_GROUP = "log in, then /me"


@dataclass
class LoadRun:
    """What ``run_load`` recorded: every request, and when each event ran (``marks``)."""

    outcomes: list[Outcome]
    seconds: float
    marks: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, dict[int, int]]:
        """Requests per endpoint and status, e.g. ``{"login": {200: 41, 503: 3}, "me": …}``."""
        counts = Counter((o.endpoint, o.status) for o in self.outcomes)
        return {
            endpoint: {status: n for (e, status), n in sorted(counts.items()) if e == endpoint}
            for endpoint in sorted({o.endpoint for o in self.outcomes})
        }

    def groups(self) -> list[str]:
        """The groups of requests, the login workers first, then the readers by label."""
        return sorted({o.group for o in self.outcomes})

    def by_group(self) -> dict[str, dict[int, int]]:
        """Requests per group and status (the login workers' group is ``""``)."""
        return {
            g: dict(sorted(Counter(o.status for o in self.outcomes if o.group == g).items()))
            for g in self.groups()
        }

    def failures(self) -> list[Outcome]:
        """Requests not answered 200, in order."""
        return [o for o in self.outcomes if o.status != 200]

    def failure_window(self) -> tuple[float, float] | None:
        """(start of the first failed request, end of the last one), in seconds; None if none."""
        failed = self.failures()
        if not failed:
            return None
        return failed[0].t, max(o.t + o.ms / 1000 for o in failed)

    def logins(self, since: float = 0.0, until: float = float("inf")) -> list[Outcome]:
        """Logins answered 200 that started within [since, until)."""
        return [
            o for o in self.outcomes if o.endpoint == "login" and o.status == 200 and since <= o.t < until
        ]

    def foreign(self) -> list[Outcome]:
        """Answers that named another user than the sender: must be empty."""
        return [o for o in self.outcomes if o.foreign]


def _answer(
    client: TestClient, method: str, path: str, username: str, **kwargs: Any
) -> tuple[int, float, Any, bool]:
    """(status, ms, response, foreign) of one request; foreign: a 200 naming another user."""
    begin = time.monotonic()
    response = client.request(method, path, **kwargs)
    ms = (time.monotonic() - begin) * 1000
    foreign = False
    if response.status_code == 200:
        try:
            foreign = response.json()["user"]["username"] != username
        except (ValueError, KeyError, TypeError):
            foreign = True  # a 200 without the caller's identity is not the app's answer
    return response.status_code, ms, response, foreign


def _worker(
    app: FastAPI,
    username: str,
    password: str,
    me_per_login: int,
    started: float,
    stop: threading.Event,
    out: list[Outcome],
    cookie_name: str,
) -> None:
    """Log in, call /me ``me_per_login`` times with the new cookie, repeat until ``stop``."""
    from .. import web  # FastAPI's TestClient, imported without Starlette's httpx notice

    with web.TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        while not stop.is_set():
            client.cookies.clear()  # a new visitor: a login with a cookie would end that session
            t = time.monotonic() - started
            status, ms, response, foreign = _answer(
                client, "POST", "/login", username, json={"username": username, "password": password}
            )
            session = response.cookies.get(cookie_name) if status == 200 else None
            out.append(Outcome(t, "login", status, ms, session, foreign=foreign))
            for _ in range(me_per_login if session else 0):
                if stop.is_set():
                    break
                t = time.monotonic() - started
                status, ms, _, foreign = _answer(client, "GET", "/me", username)
                out.append(Outcome(t, "me", status, ms, foreign=foreign))


def _reader(
    app: FastAPI,
    label: str,
    username: str,
    cookie: str,
    started: float,
    stop: threading.Event,
    out: list[Outcome],
    cookie_name: str,
) -> None:
    """Call /me with one session's cookie again and again until ``stop``."""
    from .. import web

    with web.TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        while not stop.is_set():
            client.cookies.clear()
            client.cookies.set(cookie_name, cookie)  # no domain: sent to the test server
            t = time.monotonic() - started
            status, ms, _, foreign = _answer(client, "GET", "/me", username)
            out.append(Outcome(t, "me", status, ms, group=label, foreign=foreign))


def run_load(
    app: FastAPI,
    users: Mapping[str, Any],
    seconds: float,
    *,
    events: Mapping[float, Callable[[], object]] | None = None,
    me_per_login: int = 4,
    readers: Mapping[str, tuple[str, str]] | None = None,
    cookie_name: str = "session_id",
) -> LoadRun:
    """One worker thread per user in ``users`` ({name: password}) drives ``app`` in-process
    (FastAPI's TestClient over https, so the Secure cookie comes back) for ``seconds``: log in,
    then ``me_per_login`` calls of ``GET /me``, again and again. ``readers`` ({label: (user
    name, cookie value)}): one more thread each, calling ``GET /me`` with that session only.
    ``events``: {seconds after the start: callable}, run in this thread at those times (e.g.
    killing a master); each one's start and end are in ``marks`` as ``"<i>"`` and
    ``"<i> done"`` (i: its position)."""
    started = time.monotonic()
    stop = threading.Event()
    outcomes: list[Outcome] = []  # list.append is atomic: the workers share it
    marks: dict[str, float] = {}
    threads = [
        threading.Thread(
            target=_worker,
            daemon=True,
            args=(app, name, str(pw), me_per_login, started, stop, outcomes, cookie_name),
        )
        for name, pw in users.items()
    ]
    threads += [
        threading.Thread(
            target=_reader, daemon=True, args=(app, label, name, cookie, started, stop, outcomes, cookie_name)
        )
        for label, (name, cookie) in (readers or {}).items()
    ]
    for t in threads:
        t.start()
    try:
        for i, (at, action) in enumerate(sorted((events or {}).items())):
            time.sleep(max(0.0, started + at - time.monotonic()))
            marks[str(i)] = time.monotonic() - started
            action()
            marks[f"{i} done"] = time.monotonic() - started
        time.sleep(max(0.0, started + seconds - time.monotonic()))
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    return LoadRun(sorted(outcomes, key=lambda o: o.t), time.monotonic() - started, marks)


def invariants(run: LoadRun) -> list[str]:
    """What must hold in every run, whatever the failover did (the same text every time unless
    the app has a bug): no 500, no answer naming another user, no status but 200, 401 and 503."""
    others = sorted({o.status for o in run.outcomes} - {200, 401, 503})
    return [
        _(
            "requests answered 500 (an error the app did not handle): {n}",
            n=sum(o.status == 500 for o in run.outcomes),
        ),
        _("answers that named another user than the one who asked: {n}", n=len(run.foreign())),
        _(
            "answers other than 200, 401 (no session) and 503 (try again): {statuses}",
            statuses=", ".join(map(str, others)) or _("none"),
        ),
    ]


def group_label(group: str) -> str:
    """A group of requests as the course prints it, in the current language (``""``: the
    login workers; ``/me, session on master i``: a reader, as ``cluster_demo.readers`` names it)."""
    if not group or group == LOGIN_GROUP:
        return _("log in, then /me")
    reader = re.fullmatch(r"/me, session on master (\d+)", group)
    return _("/me, session on master {i}", i=reader[1]) if reader else group


def _counts(statuses: Mapping[int, int]) -> str:
    return ", ".join(f"{n} × {status}" for status, n in statuses.items())


def describe_run(run: LoadRun, lost: int | None = None, master: str = "master 0") -> list[str]:
    """What happened in this run, in sentences chosen by its outcome (a measurement: numbers
    and outcome vary from run to run). ``lost``: how many sessions acknowledged before the
    kill are gone now (``lost_sessions``)."""
    lines = []
    if "0" in run.marks and "0 done" in run.marks:
        lines.append(
            _(
                "{master} was killed {at:.2f} s into the load; the event ended (replica "
                "serving its slots) {took:.2f} s later",
                master=master,
                at=run.marks["0"],
                took=run.marks["0 done"] - run.marks["0"],
            )
        )
    for group, statuses in run.by_group().items():
        slowest = max(o.ms for o in run.outcomes if o.group == group)
        lines.append(
            _(
                "{group}: {counts}; slowest {seconds:.2f} s",
                group=group_label(group),
                counts=_counts(statuses),
                seconds=slowest / 1000,
            )
        )
    unavailable = [o for o in run.outcomes if o.status == 503]
    no_session = [o for o in run.outcomes if o.status == 401]
    if not run.failures():
        lines.append(
            _(
                "No request failed in this run: requests that needed {master} waited "
                "(the cluster client retries, pausing longer each time) until its replica "
                "answered; see the slowest times.",
                master=master,
            )
        )
    if unavailable:
        lines.append(
            _(
                "{n} requests were answered 503 (try again shortly), from {start:.2f} s to "
                "{end:.2f} s: the client's retries ran out before the replica took over.",
                n=len(unavailable),
                start=unavailable[0].t,
                end=max(o.t + o.ms / 1000 for o in unavailable),
            )
        )
    if no_session:
        lines.append(
            _(
                "{n} calls of /me were answered 401: their session was not on the replica "
                "that took over (written to {master}, not yet copied: see the next section), "
                "so that user is logged out.",
                n=len(no_session),
                master=master,
            )
        )
    if lost is not None:
        lines.append(
            _("sessions of logins answered 200 before the kill that are gone now: {lost}", lost=lost)
        )
    return lines


def lost_sessions(logins: Iterable[Outcome], store: SessionStore) -> list[str]:
    """Session IDs of ``logins`` (answered 200) that the store no longer has: one GET each."""
    return [o.session for o in logins if o.session and store.get(o.session) is None]


def create_latencies(*stores: SessionStore, n: int = 200, user_id: int = 1) -> list[list[float]]:
    """Milliseconds each of ``n`` ``store.create({"user_id": user_id})`` calls took, per store,
    the stores taking turns (so that a busy moment of the machine hits all of them alike). The
    sessions are deleted afterwards (one GETDEL + ZREM each)."""
    times: list[list[float]] = [[] for _ in stores]
    created: list[tuple[SessionStore, str]] = []
    for _round in range(n):
        for store, record in zip(stores, times):
            begin = time.perf_counter()
            created.append((store, store.create({"user_id": user_id})))
            record.append((time.perf_counter() - begin) * 1000)
    for store, sid in created:
        store.delete(sid)
    return times


def latency_line(label: str, values: list[float]) -> str:
    """``label: median X ms, 95th percentile Y ms (n calls)`` (``lessons.percentile``)."""
    return _(
        "{label}: median {median:.2f} ms, 95th percentile {p95:.2f} ms ({n} calls)",
        label=label,
        median=median(values),
        p95=percentile(values, 95),
        n=len(values),
    )


def plot_timeline(
    run: LoadRun, title: str, bin_s: float = 0.25, marks: Mapping[str, str] | None = None
) -> Any:
    """One row per group of requests (the login workers, then each reader): requests answered
    200 and not 200 per ``bin_s`` seconds, by start time. ``marks`` ({mark key in
    ``run.marks``: label}) draws a vertical line at each (labelled in the top row), and the
    time between the first two is shaded. Returns the figure."""
    import matplotlib.pyplot as plt

    from ..plots import apply_style

    apply_style()
    groups = run.groups() or [""]
    bins = int(run.seconds / bin_s) + 1
    x = [i * bin_s for i in range(bins)]
    fig, axes = plt.subplots(
        len(groups), 1, figsize=(10, 1.2 + 1.5 * len(groups)), sharex=True, squeeze=False
    )
    at = [run.marks[key] for key in (marks or {}) if key in run.marks]
    for row, (ax, group) in enumerate(zip(axes[:, 0], groups)):
        ok, failed = [0] * bins, [0] * bins
        for o in run.outcomes:
            if o.group == group:
                (ok if o.status == 200 else failed)[min(bins - 1, int(o.t / bin_s))] += 1
        ax.bar(x, ok, width=bin_s, align="edge", color="#2a9d8f", label=_("answered 200"))
        ax.bar(
            x, failed, width=bin_s, align="edge", bottom=ok, color="#e63946", label=_("not 200 (503 or 401)")
        )
        if len(at) >= 2:
            ax.axvspan(at[0], at[1], color="#e63946", alpha=0.08)
        for key, label in (marks or {}).items():
            if key in run.marks:
                ax.axvline(run.marks[key], color="black", linestyle="--", linewidth=1.5)
                if row == 0:  # the label beside its line, on the side with room
                    right = run.marks[key] < 0.7 * run.seconds
                    ax.text(
                        run.marks[key] + (0.05 if right else -0.05),
                        0.95,
                        label,
                        transform=ax.get_xaxis_transform(),
                        ha="left" if right else "right",
                        va="top",
                        fontsize=11,
                    )
        ax.set_ylim(0, max(a + b for a, b in zip(ok, failed)) * 1.3 + 1)
        ax.set_ylabel(_("requests"), fontsize=10)
        ax.set_title(group_label(group), loc="left", fontsize=11)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower right", ncol=2, fontsize=10, frameon=False)
    axes[-1, 0].set_xlim(0, run.seconds)
    axes[-1, 0].set_xlabel(
        _("time since the load started (s); bars: requests started per {ms:.0f} ms", ms=bin_s * 1000)
    )
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.04, 1, 1))  # room for the legend under the x axis
    return fig
