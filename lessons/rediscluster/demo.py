"""Scaffolding for notebook 06 (Redis Cluster): start its cluster or explain why not, show
where code written for one Redis breaks on a cluster, and run its replication experiments.

    cluster, rc, NS = start("06")                    # the first cell: start_or_skip + a client
    cluster = start_or_skip(masters=3, replicas=1)   # None, and every later cell skipped, if
                                                     # redis-server is not installed
    master_of(cluster, key)                          # which master (as started) serves key
    cut_replication(cluster, 1)                      # master 1's replica stops following
    loss_experiment(cluster, store, master=1)        # acknowledged creates lost in a failover
    resurrection_experiment(cluster, stores, master=2)   # ended sessions back after a failover
    finish(cluster, rc)                              # the last cell: close clients, stop it
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import count
from typing import Any, cast

import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import RedisClusterException

from .. import classroom, progress
from ..admin import SessionAdmin
from ..backend import Client
from ..i18n import _, pad, set_language
from ..notebook import show_progress
from ..replicated import NotReplicated
from ..store import SessionStore
from .local import INSTALL_HINT, SLOTS, LocalRedisCluster, Node

__all__ = [
    "SKIPPED",
    "EndResult",
    "LossResult",
    "Resurrections",
    "cut_replication",
    "finish",
    "heal_replication",
    "login_keys",
    "loss_experiment",
    "master_of",
    "moved_error",
    "per_master",
    "reader_sessions",
    "refusal",
    "resurrection_experiment",
    "scan_one_node",
    "slot_ranges",
    "start",
    "start_or_skip",
    "sync_replica",
]

SKIPPED = "skipped: this cell needs redis-server (see the install line at the top)"


def _skip_every_later_cell() -> None:
    """In IPython: replace each cell run from now on by one printed line (no traceback)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - plain Python
        return
    shell = get_ipython()
    if shell is not None:
        shell.input_transformers_post.append(lambda lines: [f"print({SKIPPED!r})\n"])


def start_or_skip(masters: int = 3, replicas: int = 1) -> LocalRedisCluster | None:
    """Start a local cluster (``lessons.rediscluster.local``) and print what it is, or, without
    ``redis-server``, print how to install it and make every later notebook cell print one
    "skipped" line instead of running."""
    if shutil.which("redis-server") is None:
        print(f"{INSTALL_HINT}, then restart the kernel.")
        _skip_every_later_cell()
        return None
    print(_("Starting {n} redis-server processes (a few seconds)…", n=masters * (1 + replicas)))
    cluster = LocalRedisCluster(masters, replicas, progress=False).start()
    with cluster.nodes[0].connect() as node:
        version = node.info("server")["redis_version"]
    print(
        _(
            "Backend: a local Redis Cluster, {masters} masters + {replicas} replicas, Redis {version}, "
            "started by this notebook at {url}",
            masters=masters,
            replicas=masters * replicas,
            version=version,
            url=cluster.url,
        )
    )
    return cluster


def start(
    notebook: str, *, masters: int = 3, replicas: int = 1, edition: str | None = None
) -> tuple[LocalRedisCluster | None, Any, str]:
    """The notebook's first cell: ``start_or_skip``, then a cluster client on it and this
    notebook's namespace (reset: one SCAN per master), like ``lessons.notebook.start`` for the
    other notebooks (an ``edition`` also sets the language of what ``lessons/`` prints and plots).
    Prints where the keys live. Without ``redis-server``: ``(None, None, ns)``."""
    if edition is not None:
        set_language(edition)
    progress.use_notebook(notebook)  # its check and quizzes record under this notebook
    ns = classroom.namespace(notebook, edition=edition)
    cluster = start_or_skip(masters=masters, replicas=replicas)
    if cluster is None:
        return None, None, ns
    client = cluster.client()
    classroom.reset(notebook, client=client, edition=edition)
    print(_("This notebook's keys live under {ns}: (on its own cluster; stopped in the last cell)", ns=ns))
    return cluster, client, ns


def finish(cluster: LocalRedisCluster, *clients: Client) -> None:
    """The last cell: close ``clients``, stop the cluster (by PID) and say how many of its
    ``redis-server`` processes are still running (0); then the learner's progress in the course
    (``lessons.notebook.show_progress``)."""
    pids = cluster.pids
    for client in clients:
        client.close()
    cluster.stop()
    left = sum(os.path.exists(f"/proc/{pid}") for pid in pids)
    print(
        _(
            "Stopped this notebook's cluster: {left} of its {n} redis-server processes still running.",
            left=left,
            n=len(pids),
        )
    )
    show_progress()


def master_of(cluster: LocalRedisCluster, key: str) -> int:
    """Which master, numbered as started (0, 1, 2…), serves ``key``'s slot: ``CRC16(key) mod
    16384`` (only the ``{…}`` hash tag, if any) over the equal slot ranges ``LocalRedisCluster``
    gives its masters. After a failover the replica serves the same range. No round trip."""
    masters = sum(n.role == "master" for n in cluster.nodes)
    return min(key_slot(key.encode()) // (SLOTS // masters), masters - 1)


def login_keys(
    cluster: LocalRedisCluster,
    store: SessionStore,
    users: Mapping[str, Any],
    client_address: str = "testclient",
) -> str:
    """Where the keys a login touches live (``master_of``): the failed-login counter of the
    client address (FastAPI's test client is ``testclient``: one counter for every login), and
    per user the account's counter and the user's index. The new session lands on any master."""
    keys = store.keys
    shared = keys.login_failures_key("client", client_address)
    parts = [_("client counter → master {m}", m=master_of(cluster, shared))]
    for user in users:
        parts.append(
            _(
                "{user}: counter → master {counter}, index → master {index}",
                user=user,
                counter=master_of(cluster, keys.login_failures_key("account", user)),
                index=master_of(cluster, keys.index_key(user)),
            )
        )
    return _("keys every login reads or writes besides its new session: ") + "; ".join(parts)


def slot_ranges(cluster: LocalRedisCluster) -> list[str]:
    """One line per master: its slot range (CLUSTER SLOTS on one node)."""
    with cluster.nodes[0].connect() as node:
        slots = node.execute_command("CLUSTER SLOTS")
    return [
        _("master {n}: slots {start:>5} – {end:>5}", n=n, start=start, end=end)
        for n, (start, end, *_rest) in enumerate(sorted(slots))
    ]


def moved_error(cluster: LocalRedisCluster, key: str) -> str:
    """What a plain client connected to master 0 gets for ``GET key``: the value, or the
    MOVED redirection (``MOVED <slot> <host:port>``) when another master serves the key.

    The redirection is told by its class (``redis.exceptions.MovedError``) and rebuilt from a
    cluster client's slot map (a new client: CLUSTER SLOTS and COMMAND to start it), never
    from redis-py's text. Any other error reply is named by ``refusal``."""
    with cluster.nodes[0].connect() as node:
        try:
            return repr(node.get(key))
        except redis.exceptions.MovedError:
            pass
        except redis.ResponseError as exc:
            return refusal(exc)
    with cluster.client() as client:
        return f"MOVED {client.keyslot(key)} {client.get_node_from_key(key).name}"


def refusal(exc: BaseException) -> str:
    """Who refused a step on a cluster, in the course's words, from the exception's class alone
    (redis-py's messages, and the server's, may be reworded by any release)."""
    name = type(exc).__name__
    if isinstance(exc, redis.exceptions.MovedError):
        return _("Redis answered MOVED: another node serves the key's slot")
    if isinstance(exc, redis.exceptions.ClusterCrossSlotError):
        return _("Redis refused it (CROSSSLOT: its keys are in more than one slot)")
    if isinstance(exc, redis.ResponseError):
        return _("Redis refused it (an error reply: {error})", error=name)
    if isinstance(exc, RedisClusterException):
        return _("redis-py refused to send it ({error})", error=name)
    return _("it failed ({error})", error=name)


def scan_one_node(cluster: LocalRedisCluster, match: str) -> int:
    """How many keys matching ``match`` SCAN finds on master 0 alone (what a plain client sees)."""
    with cluster.nodes[0].connect() as node:
        return sum(1 for _ in node.scan_iter(match=match, count=1000))


def per_master(client: RedisCluster, keys: list[str]) -> list[int]:
    """How many of ``keys`` each master serves, largest first (the client's slot map)."""
    counts = {node.name: 0 for node in client.get_primaries()}
    for key in keys:
        counts[client.get_node_from_key(key).name] += 1
    return sorted(counts.values(), reverse=True)


def _master(cluster: LocalRedisCluster, master: int) -> tuple[Node, Node]:
    """Master ``master`` as started (0-based) and its replica."""
    node = [n for n in cluster.nodes if n.role == "master"][master]
    return node, next(n for n in cluster.nodes if n.master == node.index)


def _on_master(client: Client, key: str, node: Node) -> bool:
    """True if ``client``'s slot map puts ``key`` on ``node`` (no round trip; a cluster client)."""
    return int(cast(RedisCluster, client).get_node_from_key(key).port) == node.port


def cut_replication(cluster: LocalRedisCluster, master: int) -> None:
    """Take master ``master``'s replica off the replication stream, as a network partition
    would: give the replica a wrong ``masterauth`` (so it cannot reconnect: the master has no
    password and refuses AUTH) and close its link (``CLIENT KILL TYPE replica`` on the master).
    Writes the master acknowledges from now on exist only on the master."""
    node, replica = _master(cluster, master)
    with replica.connect() as r:
        r.config_set("masterauth", "partitioned")
    with node.connect() as m:
        m.client_kill_filter(_type="replica")


def sync_replica(cluster: LocalRedisCluster, master: int, timeout: float = 30.0) -> None:
    """Wait (polling INFO replication every 20 ms) until master ``master``'s replica is linked
    and has every write the master had when this was called."""
    node, replica = _master(cluster, master)
    with replica.connect() as r, node.connect() as m:
        target = int(m.info("replication")["master_repl_offset"])
        deadline = time.monotonic() + timeout
        while True:
            info = r.info("replication")
            if info.get("master_link_status") == "up" and int(info.get("slave_repl_offset", -1)) >= target:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the replica of master {master} did not catch up in {timeout:.0f} s")
            time.sleep(0.02)


def heal_replication(cluster: LocalRedisCluster, master: int, timeout: float = 30.0) -> None:
    """Undo ``cut_replication``: clear the replica's ``masterauth``, then ``sync_replica``."""
    _, replica = _master(cluster, master)
    with replica.connect() as r:
        r.config_set("masterauth", "")
    sync_replica(cluster, master, timeout)


@dataclass
class LossResult:
    """A write loop through a failover: what was acknowledged, and what survived."""

    acknowledged: int  # creates answered OK before the kill
    refused: int  # creates that raised (the master was gone, or WAIT timed out)
    lost: list[str]  # acknowledged before the kill, gone after the failover
    takeover_s: float  # seconds from the kill until the replica served the slots


def loss_experiment(
    cluster: LocalRedisCluster,
    store: SessionStore,
    master: int,
    *,
    cut_first: bool = True,
    before_kill: float = 0.3,
) -> LossResult:
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


@dataclass
class EndResult:
    """Sessions ended while their master's replica was cut off, counted after the failover."""

    answered_ok: int  # ends that returned normally: the user was told "done"
    not_replicated: int  # ends that raised NotReplicated: the caller was told it may not stick
    back_after_ok: int  # of the first, sessions alive again after the failover
    back_after_refused: int  # of the second, sessions alive again after the failover
    listed: int  # of the ended sessions, how many the user's index (``GET /sessions``) lists now


@dataclass
class Resurrections:
    """``resurrection_experiment``'s results: {(store label, how ended): EndResult}."""

    results: dict[tuple[str, str], EndResult] = field(default_factory=dict)
    takeover_s: float = 0.0

    def lines(self) -> list[str]:
        """A table: one row per store and way of ending (stable text: counts, no timings)."""
        out = [
            pad(_("ended by"), 11)
            + pad(_("store"), 17)
            + pad(_("answered OK"), 12, ">")
            + pad(_("back"), 6, ">")
            + pad(_("not replicated"), 16, ">")
            + pad(_("back"), 6, ">")
            + pad(_("still listed"), 14, ">")
        ]
        for (label, how), r in self.results.items():
            out.append(
                f"{how:<11}{label:<17}{r.answered_ok:>12}{r.back_after_ok:>6}"
                f"{r.not_replicated:>16}{r.back_after_refused:>6}{r.listed:>14}"
            )
        return out


def _admin(store: SessionStore) -> SessionAdmin:
    make = getattr(store, "admin", None)
    return make() if callable(make) else SessionAdmin.for_store(store)


def _users_elsewhere(store: SessionStore, node: Node, label: str, n: int) -> list[str]:
    """``n`` user IDs whose index key does not live on ``node`` (the master that will die)."""
    names = (f"{label}-{i}" for i in count())
    elsewhere = (u for u in names if not _on_master(store.r, store.keys.index_key(u), node))
    return [next(elsewhere) for _ in range(n)]


def resurrection_experiment(
    cluster: LocalRedisCluster, stores: Mapping[str, SessionStore], master: int, *, per_user: int = 10
) -> Resurrections:
    """Does a failover bring ended sessions back?

    For each store (all on ``cluster``'s client): three users whose index lives on another
    master, each with ``per_user`` sessions on master ``master``, which its replica has too
    (``sync_replica``). Then ``cut_replication(master)`` and, per store, end the first user's
    sessions one by one with ``store.delete`` (a logout), the second's with the admin's
    ``revoke_all_sessions`` ("log out everywhere"; ``store.admin()`` if the store has one), the
    third's with ``store.regenerate`` (its old IDs). Then SIGKILL master ``master``, wait for
    its replica to take over, and GET every ended session and list each user's index.
    """
    node, _ = _master(cluster, master)
    planned: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for label, store in stores.items():
        maker = SessionStore(
            client=store.r, prefix=store.prefix, hash_ids=store.hash_ids, default_ttl=store.default_ttl
        )
        for how, user in zip(("logout", "revoke", "regenerate"), _users_elsewhere(store, node, label, 3)):
            sids: list[str] = []
            while len(sids) < per_user:
                sid = maker.create({"user_id": user})
                if _on_master(store.r, store.key(sid), node):
                    sids.append(sid)
                else:
                    maker.delete(sid)
            planned[(label, how)] = (user, sids)
    sync_replica(cluster, master)  # the replica has every session: ending them is what we test
    cut_replication(cluster, master)
    told: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for (label, how), (user, sids) in planned.items():
        store, ok, refused = stores[label], [], []
        if how == "revoke":
            try:
                _admin(store).revoke_all_sessions(user)
                ok = sids
            except NotReplicated:
                refused = sids
        for sid in sids if how != "revoke" else []:
            try:
                store.delete(sid) if how == "logout" else store.regenerate(sid)
                ok.append(sid)
            except NotReplicated:
                refused.append(sid)
        told[(label, how)] = (ok, refused)
    cluster.kill_master(master)
    result = Resurrections(takeover_s=cluster.wait_for_failover())
    for (label, how), (ok, refused) in told.items():
        store = stores[label]
        listed = {s["session_id"] for s in _admin(store).list_sessions(planned[(label, how)][0])}
        result.results[(label, how)] = EndResult(
            len(ok),
            len(refused),
            sum(store.get(s) is not None for s in ok),
            sum(store.get(s) is not None for s in refused),
            sum(store.keys.stored_id(s) in listed for s in ok + refused),
        )
    return result


def reader_sessions(
    app: Any,
    store: SessionStore,
    cluster: LocalRedisCluster,
    users: Mapping[str, Any],
    cookie_name: str = "session_id",
) -> dict[str, tuple[str, str]]:
    """One session per master as started (by its slots: after a failover its replica serves
    them), made by logging in to ``app`` (the users in turn) until each has one:
    {"/me, session on master i": (user name, cookie value)}, for ``run_load(readers=…)``.
    The extra sessions are logged out again."""
    from .. import web

    masters = sum(n.role == "master" for n in cluster.nodes)
    share = SLOTS // masters  # master i was started with slots i * share … (as LocalRedisCluster)
    found: dict[int, tuple[str, str]] = {}
    names = list(users)
    with web.TestClient(app, base_url="https://testserver") as client:
        for attempt in range(200):
            if len(found) == masters:
                break
            name = names[attempt % len(names)]
            client.cookies.clear()
            response = client.post("/login", json={"username": name, "password": str(users[name])})
            response.raise_for_status()
            cookie = response.cookies[cookie_name]
            sid = cookie.split(".", 1)[0]  # with a secret key: "<session id>.<signature>"
            cluster_client: Any = store.r
            index = min(cluster_client.keyslot(store.key(sid)) // share, masters - 1)
            if index in found:
                client.post("/logout")
            else:
                found[index] = (name, cookie)
    return {f"/me, session on master {i}": found[i] for i in sorted(found)}
