"""A failover under load: the course's web app logging users in while a Redis master dies.

    store = SessionStore(client=cluster.client(), prefix=…)
    run = run_load(create_app(store, users=USERS), USERS, seconds=5,
                   events={1.5: lambda: cluster.kill_master(0)})
    run.summary()                 # per endpoint and status: how many requests
    plot_timeline(run)            # successes and failures per 100 ms, the kill marked
    lost_sessions(run, store)     # logins answered 200 whose session is gone now

``ReplicatedStore`` is a ``SessionStore`` whose ``create`` returns only once ``replicas``
replicas hold the new session (``SET`` + ``WAIT`` in one request to the session key's node),
and ``create_latencies`` times ``create`` to show what that costs.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from statistics import median
from typing import Any

import redis
from fastapi import FastAPI

from .store import SessionStore

__all__ = ["LoadRun", "LossResult", "NotReplicated", "Outcome", "ReplicatedStore",
           "create_latencies", "cut_replication", "latency_line", "loss_experiment",
           "lost_sessions", "plot_timeline", "run_load"]


class NotReplicated(redis.exceptions.ConnectionError):
    """``WAIT`` timed out: fewer replicas than required acknowledged the new session. A
    ``redis.ConnectionError``, so the web app answers 503 ("try again") instead of handing out a
    session that a failover could lose."""


class ReplicatedStore(SessionStore):
    """``SessionStore`` whose ``create`` waits until ``replicas`` replicas have the session.

    The new session is written with ``SET … NX`` and ``WAIT replicas timeout_ms`` in one
    pipelined request on one connection to the node that serves the session key (WAIT counts
    the replicas that acknowledged the writes of its own connection; ``RedisCluster.wait`` would
    go to another node). With a user, the index pipeline goes first: create is then two round
    trips on one Redis too. Raises ``NotReplicated`` when WAIT times out.
    """

    _set_in_index_pipeline = False

    def __init__(self, *args: Any, replicas: int = 1, timeout_ms: int = 100, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.replicas, self.timeout_ms = replicas, timeout_ms

    def _node_client(self, key: str) -> Any:
        """The plain client of the node serving ``key`` (the client itself on one Redis)."""
        client: Any = self.r
        locate = getattr(client, "get_node_from_key", None)
        if not callable(locate):
            return client
        return client.get_redis_connection(locate(key))

    def _set_new(self, key: str, payload: str, ttl: int) -> bool:
        """``SET key payload EX ttl NX`` then ``WAIT``: one round trip, one connection."""
        pipe = self._node_client(key).pipeline(transaction=False)
        pipe.set(key, payload, ex=ttl, nx=True)
        pipe.wait(self.replicas, self.timeout_ms)
        created, acknowledged = pipe.execute()
        if created and int(acknowledged) < self.replicas:
            raise NotReplicated(f"{acknowledged} of {self.replicas} replicas acknowledged the "
                                f"session within {self.timeout_ms} ms")
        return bool(created)


@dataclass(frozen=True)
class Outcome:
    """One HTTP request: when it started (s since the run began), which endpoint, the status
    (500 would be a bug: an error the app did not handle), how long it took, and for a login
    answered 200 the session ID its cookie carried."""

    t: float
    endpoint: str  # "login" or "me"
    status: int
    ms: float
    session: str | None = None


@dataclass
class LoadRun:
    """What ``run_load`` recorded: every request, and when each event ran (``marks``)."""

    outcomes: list[Outcome]
    seconds: float
    marks: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, dict[int, int]]:
        """Requests per endpoint and status, e.g. ``{"login": {200: 41, 503: 3}, "me": …}``."""
        counts = Counter((o.endpoint, o.status) for o in self.outcomes)
        return {endpoint: {status: n for (e, status), n in sorted(counts.items()) if e == endpoint}
                for endpoint in sorted({o.endpoint for o in self.outcomes})}

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
        return [o for o in self.outcomes
                if o.endpoint == "login" and o.status == 200 and since <= o.t < until]


def _worker(app: FastAPI, username: str, password: str, me_per_login: int, started: float,
            stop: threading.Event, out: list[Outcome], cookie_name: str) -> None:
    """Log in, call /me ``me_per_login`` times with the new cookie, repeat until ``stop``."""
    from . import web  # FastAPI's TestClient, imported without Starlette's httpx notice

    with web.TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        while not stop.is_set():
            client.cookies.clear()  # a new visitor: a login with a cookie would end that session
            begin = time.monotonic()
            response = client.post("/login", json={"username": username, "password": password})
            ms = (time.monotonic() - begin) * 1000
            session = response.cookies.get(cookie_name) if response.status_code == 200 else None
            out.append(Outcome(begin - started, "login", response.status_code, ms, session))
            for _ in range(me_per_login if session else 0):
                if stop.is_set():
                    break
                begin = time.monotonic()
                status = client.get("/me").status_code
                out.append(Outcome(begin - started, "me", status, (time.monotonic() - begin) * 1000))


def run_load(app: FastAPI, users: Mapping[str, Any], seconds: float, *,
             events: Mapping[float, Callable[[], object]] | None = None, me_per_login: int = 4,
             cookie_name: str = "session_id") -> LoadRun:
    """One worker thread per user in ``users`` ({name: password}) drives ``app`` in-process
    (FastAPI's TestClient over https, so the Secure cookie comes back) for ``seconds``: log in,
    then ``me_per_login`` calls of ``GET /me``, again and again. ``events``: {seconds after the
    start: callable}, run in this thread at those times (e.g. killing a master); each one's
    start and end are in ``marks`` as ``"<i>"`` and ``"<i> done"`` (i: its position)."""
    started = time.monotonic()
    stop = threading.Event()
    outcomes: list[Outcome] = []  # list.append is atomic: the workers share it
    marks: dict[str, float] = {}
    threads = [threading.Thread(target=_worker, daemon=True,
                                args=(app, name, str(pw), me_per_login, started, stop, outcomes,
                                      cookie_name)) for name, pw in users.items()]
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


def lost_sessions(logins: Iterable[Outcome], store: SessionStore) -> list[str]:
    """Session IDs of ``logins`` (answered 200) that the store no longer has: one GET each."""
    return [o.session for o in logins if o.session and store.get(o.session) is None]


def create_latencies(*stores: SessionStore, n: int = 200, user_id: int = 1) -> list[list[float]]:
    """Milliseconds each of ``n`` ``store.create({"user_id": user_id})`` calls took, per store,
    the stores taking turns (so that a busy moment of the machine hits all of them alike). The
    sessions are deleted afterwards (one GETDEL + ZREM each)."""
    times: list[list[float]] = [[] for _ in stores]
    created: list[tuple[SessionStore, str]] = []
    for _ in range(n):
        for store, record in zip(stores, times):
            begin = time.perf_counter()
            created.append((store, store.create({"user_id": user_id})))
            record.append((time.perf_counter() - begin) * 1000)
    for store, sid in created:
        store.delete(sid)
    return times


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def latency_line(label: str, values: list[float]) -> str:
    """``label: median X ms, 95th percentile Y ms (n calls)``."""
    return (f"{label}: median {median(values):.2f} ms, 95th percentile "
            f"{percentile(values, 0.95):.2f} ms ({len(values)} calls)")


def plot_timeline(run: LoadRun, title: str, bin_s: float = 0.25,
                  marks: Mapping[str, str] | None = None) -> Any:
    """Requests answered 200 and not 200 per ``bin_s`` seconds (by start time), over the run;
    ``marks`` ({mark key in ``run.marks``: label}) draws a labelled vertical line at each, and
    the time between the first two is shaded. Returns the figure."""
    import matplotlib.pyplot as plt

    from .plots import apply_style

    apply_style()
    bins = int(run.seconds / bin_s) + 1
    ok, failed = [0] * bins, [0] * bins
    for o in run.outcomes:
        (ok if o.status == 200 else failed)[min(bins - 1, int(o.t / bin_s))] += 1
    x = [i * bin_s for i in range(bins)]
    fig, ax = plt.subplots(figsize=(10, 4.2))
    ax.bar(x, ok, width=bin_s, align="edge", color="#2a9d8f", label="answered 200")
    ax.bar(x, failed, width=bin_s, align="edge", bottom=ok, color="#e63946",
           label="failed (503)" if all(o.status == 503 for o in run.failures()) else "failed")
    at = [run.marks[key] for key in (marks or {}) if key in run.marks]
    if len(at) >= 2:
        ax.axvspan(at[0], at[1], color="#e63946", alpha=0.08)
    for key, label in (marks or {}).items():
        if key in run.marks:
            ax.axvline(run.marks[key], color="black", linestyle="--", linewidth=1.5)
            ax.text(run.marks[key] + 0.05, 0.97, label, transform=ax.get_xaxis_transform(),
                    ha="left", va="top", fontsize=12)
    ax.set_xlim(0, run.seconds)
    ax.set_ylim(0, max(a + b for a, b in zip(ok, failed)) * 1.25 + 1)
    ax.set_xlabel("time since the load started (s)")
    ax.set_ylabel(f"requests per {bin_s * 1000:.0f} ms")
    ax.set_title(title)
    ax.legend(loc="upper right", bbox_to_anchor=(1.0, 0.85))
    fig.tight_layout()
    return fig


def cut_replication(cluster: Any, master: int) -> None:
    """Take master ``master``'s replica off the replication stream, as a network partition
    would: give the replica a wrong ``masterauth`` (so it cannot reconnect: the master has no
    password and refuses AUTH) and close its link (``CLIENT KILL TYPE replica`` on the master).
    Writes the master acknowledges from now on exist only on the master."""
    node = [n for n in cluster.nodes if n.role == "master"][master]
    replica = next(n for n in cluster.nodes if n.master == node.index)
    with replica.connect() as r:
        r.config_set("masterauth", "partitioned")
    with node.connect() as m:
        m.client_kill_filter(_type="replica")


@dataclass
class LossResult:
    """A write loop through a failover: what was acknowledged, and what survived."""

    acknowledged: int  # creates answered OK before the kill
    refused: int  # creates that raised (the master was gone, or WAIT timed out)
    lost: list[str]  # acknowledged before the kill, gone after the failover
    takeover_s: float  # seconds from the kill until the replica served the slots


def loss_experiment(cluster: Any, store: SessionStore, master: int, *, cut_first: bool = True,
                    before_kill: float = 0.3) -> LossResult:
    """Create anonymous sessions in a loop (one thread, as fast as it goes); ``cut_first``:
    cut master ``master``'s replication (``cut_replication``); ``before_kill`` seconds later
    SIGKILL it; wait for its replica to take over; stop; GET every acknowledged session."""
    stop = threading.Event()
    acked: list[str] = []
    refused = [0]

    def writer() -> None:
        while not stop.is_set():
            try:
                acked.append(store.create({"cart": []}))
            except redis.RedisError:
                refused[0] += 1

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    time.sleep(0.2)
    if cut_first:
        cut_replication(cluster, master)
    time.sleep(before_kill)
    before = len(acked)
    cluster.kill_master(master)
    takeover = cluster.wait_for_failover()
    stop.set()
    thread.join(30)
    written = acked[:before]
    lost = [sid for sid in written if store.get(sid) is None]
    return LossResult(len(written), refused[0], lost, takeover)
