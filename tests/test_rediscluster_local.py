"""lessons.rediscluster.local and the cluster side of lessons.backend, on real redis-server processes.

One 3-master + 3-replica cluster is shared by the module's read-only tests (starting one takes
about 2 s: Redis keeps a new master out of service for 2 s). Tests that must see a start, a stop
or a failover start their own cluster, so the tests pass in any order and one by one. Waits for
something that must happen (a failover, a process exiting) poll with a generous hang guard;
none asserts how long it took.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis
from pytest import MonkeyPatch
from redis.cluster import RedisCluster

from lessons import backend
from lessons.rediscluster.local import INSTALL_HINT, LocalRedisCluster, RedisServerNotFound, local_cluster

needs_redis_server = pytest.mark.skipif(shutil.which("redis-server") is None, reason=INSTALL_HINT)
HANG_GUARD = 120.0  # seconds; a correct run never waits this long


def alive(pid: int) -> bool:
    """True if ``pid`` runs and is not a zombie (Linux /proc; elsewhere: kill -0)."""
    if os.path.isdir("/proc"):
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except FileNotFoundError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def nobody_listens(port: int) -> bool:
    """True if a connection to ``port`` is refused: no server listens there. (A bind test would
    fail whenever another program's outgoing connection happens to use the port.)"""
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) != 0


def wait_closed(ports: list[int], seconds: float) -> bool:
    """True once nobody listens on any of ``ports``, within ``seconds``. A killed redis-server's
    main thread shows as a zombie a moment before its last thread has closed its sockets."""
    deadline = time.monotonic() + seconds
    while not all(nobody_listens(p) for p in ports):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def wait_gone(pids: list[int], seconds: float) -> float:
    """Seconds until none of ``pids`` is alive; fails the test after ``seconds``."""
    started = time.monotonic()
    while any(alive(p) for p in pids):
        assert time.monotonic() - started < seconds, f"still running: {[p for p in pids if alive(p)]}"
        time.sleep(0.01)
    return time.monotonic() - started


def test_a_missing_redis_server_is_one_clear_line(monkeypatch: MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RedisServerNotFound, match="redis-server is not installed") as info:
        LocalRedisCluster().start()
    message = str(info.value)
    assert "\n" not in message
    assert "apt-get install redis-server" in message and "brew install redis" in message


@needs_redis_server
def test_start_and_stop_leave_nothing_behind() -> None:
    lines: list[str] = []
    c = LocalRedisCluster(masters=3, progress=lines.append)
    with c:
        pids, ports, tmpdir = c.pids, [n.port for n in c.nodes], c.directory
        assert len(pids) == 3 and all(alive(p) for p in pids)
        for node in c.nodes:
            with node.connect() as one:
                info = one.cluster("INFO")
                assert info["cluster_state"] == "ok"
                assert info["cluster_slots_assigned"] == "16384"
                assert info["cluster_known_nodes"] == "3"
        assert c.roles() == dict.fromkeys(ports, "master")
        start = c.start_seconds
        stopping = time.monotonic()
    stop = time.monotonic() - stopping
    print(f"\n3 masters: ready in {start:.2f} s, stopped in {stop:.2f} s")
    assert lines == ["Starting a local Redis Cluster (3 masters); this takes a few seconds…"]
    assert not any(alive(p) for p in pids)  # stop() waited for each PID
    assert all(nobody_listens(p) and nobody_listens(p + 10000) for p in ports)
    assert not os.path.exists(tmpdir)
    c.stop()  # twice is fine


@needs_redis_server
def test_a_failed_start_stops_what_it_started() -> None:
    ours = psutil.Process()
    before = {child.pid for child in ours.children()}
    c = LocalRedisCluster(masters=3, progress=False, config={"no-such-directive": "1"})
    with pytest.raises(RuntimeError, match=r"exited .*no-such-directive"):
        c.start()
    left = [
        child
        for child in ours.children()
        if child.pid not in before and child.status() != psutil.STATUS_ZOMBIE
    ]
    assert c.nodes == [] and left == [] and not os.path.exists(c.directory)  # nor the watchdog


def test_the_shared_cluster_is_ready(ha_cluster: LocalRedisCluster) -> None:
    assert [n.role for n in ha_cluster.nodes] == ["master"] * 3 + ["replica"] * 3
    roles = ha_cluster.roles()
    assert sorted(roles.values()) == ["master"] * 3 + ["replica"] * 3
    for node in ha_cluster.nodes[3:]:
        with node.connect() as one:
            repl = one.info("replication")
            assert repl["role"] == "slave" and repl["master_link_status"] == "up"
            assert node.master is not None  # a replica knows its master
            assert repl["master_port"] == ha_cluster.nodes[node.master].port


def test_client_routes_keys_to_every_master(ha_cluster: LocalRedisCluster, ha_rc: RedisCluster) -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    keys = [f"{prefix}:{i}" for i in range(60)]
    for key in keys:
        ha_rc.set(key, key, ex=60)
    assert ha_rc.mget_nonatomic(keys) == keys
    per_node = [
        sum(1 for k in ha_rc.scan_iter(match=f"{prefix}:*", target_nodes=node))
        for node in ha_rc.get_primaries()
    ]
    assert len(per_node) == 3 and all(n > 0 for n in per_node) and sum(per_node) == 60
    assert backend.delete_prefix(ha_rc, prefix) == 60


def test_connect_returns_a_cluster_client_for_any_node(ha_cluster: LocalRedisCluster) -> None:
    for node in (ha_cluster.nodes[1], ha_cluster.nodes[4]):  # a master and a replica
        client = backend.connect(node.url)
        assert isinstance(client, RedisCluster)
        assert client.get_connection_kwargs()["decode_responses"] is True
        assert len(client.get_primaries()) == 3
        client.close()


def test_cluster_detection_costs_one_round_trip_per_url(
    ha_cluster: LocalRedisCluster, monkeypatch: MonkeyPatch
) -> None:
    calls: list[str | None] = []
    real_info = redis.Redis.info

    def counting_info(self: redis.Redis, section: str | None = None, *args: Any, **kwargs: Any) -> Any:
        calls.append(section)
        return real_info(self, section, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "info", counting_info)
    url = f"{ha_cluster.nodes[2].url}/0?client_name=detect-{uuid.uuid4().hex[:8]}"  # not asked yet
    assert backend.is_cluster(url) and backend.is_cluster(url)
    backend.connect(url).close()
    assert calls == ["cluster"]
    calls.clear()
    assert backend.is_cluster(backend.embedded_url()) is False
    assert type(backend.connect(backend.embedded_url())) is redis.Redis
    assert calls == []  # the embedded server is never asked


def test_connect_returns_a_plain_client_for_a_single_redis() -> None:
    client = backend.connect("redis://127.0.0.1:6379/0")  # INFO only: nothing is written
    assert type(client) is redis.Redis
    client.close()


def test_describe_names_the_cluster(ha_cluster: LocalRedisCluster, monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", ha_cluster.url)
    line = backend.describe()
    assert re.fullmatch(
        r"Backend: Redis Cluster, 3 masters, Redis \d+\.\d+\.\d+, at "
        r"redis://127\.0\.0\.1:\d+ \(from REDIS_URL\)",
        line,
    ), line


def test_delete_prefix_on_a_cluster_deletes_only_its_prefix_across_slots(ha_rc: RedisCluster) -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    doomed = [f"{prefix}:a:{i}" for i in range(1200)]  # more than one UNLINK batch
    kept = [f"{prefix}:b:{i}" for i in range(50)] + [f"{prefix}:ax"]
    for i, key in enumerate(doomed + kept):
        ha_rc.set(key, i, ex=60)
    # really spread over slots and nodes: the 900 three-digit keys alone always fall in 900
    # different slots (CRC16 is linear: for keys of one length, the random prefix cannot make two
    # collide); all 1 200 together, in 982 to 1 200 slots depending on the prefix
    assert len({ha_rc.keyslot(k) for k in doomed}) >= 900
    assert backend.delete_prefix(ha_rc, f"{prefix}:a:") == 1200
    assert ha_rc.exists(*doomed) == 0
    assert ha_rc.exists(*kept) == len(kept)
    assert backend.delete_prefix(ha_rc, prefix) == len(kept)


@needs_redis_server
def test_failover_promotes_the_replica_and_keeps_waited_writes() -> None:
    """Kills master 0 of a 3+3 cluster of its own (the shared one stays whole for the others)."""
    with local_cluster(masters=3, replicas=1, progress=False) as ha_cluster:
        ha_rc = ha_cluster.client()
        try:
            check_failover(ha_cluster, ha_rc)
        finally:
            ha_rc.close()


def check_failover(ha_cluster: LocalRedisCluster, ha_rc: RedisCluster) -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    master0 = ha_cluster.nodes[0]
    keys = [k for k in (f"{prefix}:{i}" for i in range(400)) if ha_rc.keyslot(k) < 5461][:100]
    assert len(keys) == 100  # master 0 serves slots 0-5460
    node = ha_rc.get_node(host="127.0.0.1", port=master0.port)
    direct = ha_rc.get_redis_connection(node)
    with direct.pipeline(transaction=False) as pipe:  # one connection: WAIT covers these SETs
        for key in keys:
            pipe.set(key, key, ex=120)
        pipe.wait(1, 2000)
        replicated = pipe.execute()[-1]
    assert replicated == 1
    ha_cluster.kill_master(0)
    assert not alive(master0.pid)
    seconds = ha_cluster.wait_for_failover(timeout=HANG_GUARD)  # raises if it never happens
    print(f"\nfailover took {seconds:.2f} s")
    roles = ha_cluster.roles()
    assert roles[master0.port] == "down"
    assert roles[ha_cluster.nodes[3].port] == "master"  # master 0's replica took over
    after = ha_cluster.client()
    assert after.mget_nonatomic(keys) == keys  # nothing written before WAIT was lost
    assert backend.delete_prefix(after, prefix) == 100
    after.close()


@needs_redis_server
def test_servers_stop_when_the_process_that_started_them_is_killed(tmp_path: Path) -> None:
    """A notebook kernel killed with SIGKILL runs no exit code; the watchdog stops the servers."""
    code = textwrap.dedent("""
        import json, time
        from lessons.rediscluster.local import local_cluster
        c = local_cluster(masters=3, progress=False).start()
        print(json.dumps({"pids": c.pids, "ports": [n.port for n in c.nodes],
                          "dir": c.directory}), flush=True)
        time.sleep(120)
    """)
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.path.dirname(os.path.dirname(__file__)),
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line, "the child did not start its cluster"
        started = json.loads(line)
        assert all(alive(p) for p in started["pids"])
    finally:
        child.kill()
        child.wait()
    took = wait_gone(started["pids"], seconds=HANG_GUARD)
    print(f"\nservers gone {took:.2f} s after SIGKILL")
    assert wait_closed(started["ports"], seconds=HANG_GUARD)
    deadline = time.monotonic() + HANG_GUARD
    while os.path.exists(started["dir"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(started["dir"])


def test_kill_master_signature_errors(ha_cluster: LocalRedisCluster) -> None:
    with pytest.raises(IndexError, match="list index out of range"):
        ha_cluster.kill_master(7)
    fresh = LocalRedisCluster()
    with pytest.raises(RuntimeError, match="kill_master"):
        fresh.wait_for_failover()
    fresh.stop()
    with pytest.raises(ValueError, match="masters must be between 3 and 16"):
        LocalRedisCluster(masters=2)
    with pytest.raises(ValueError, match="replicas must be 0 or 1"):
        LocalRedisCluster(replicas=2)
