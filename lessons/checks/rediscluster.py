"""Check for notebook 06's "Your turn" (Redis Cluster): key names that keep a user's keys together.

    check_user_keys(my_keys_for, cluster.url)   # my_keys_for(prefix, user_id) -> list of 3 names

The learner's function names three keys of one user (say its session index, its cart and its
profile). On the cluster at ``cluster_url`` the check writes them in one MULTI (which only works
within one hash slot), under a prefix of its own in this learner's namespace that it deletes
afterwards, and looks at where 60 users' keys land: they must not all share one node.

A stub that returns nothing fails the first property, and the check stops there: no ✓. Names
outside ``prefix`` stop it too (it writes only under its own prefix).
Redis commands: one MULTI/EXEC of 3 SETs (one round trip), then a SCAN + UNLINK per master to
delete what the check wrote; the slot map answers the rest (no round trip).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import redis
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException

from .. import backend
from ..classroom import namespace
from ..i18n import _
from . import Report

__all__ = ["check_user_keys"]


def check_user_keys(keys_for: Callable[[str, int], object], cluster_url: str) -> bool:
    """``keys_for(prefix, user_id)`` must return 3 distinct key names under ``prefix`` that one
    MULTI can write on Redis Cluster, different for different users, spread over the nodes."""
    report = Report()
    client = RedisCluster.from_url(cluster_url, decode_responses=True)
    prefix = namespace("06", f"check-{uuid.uuid4().hex[:8]}")
    try:
        with report.guard():
            names = keys_for(prefix, 42)
            ok = (
                isinstance(names, (list, tuple))
                and len(names) == 3
                and all(isinstance(n, str) for n in names)
                and len(set(names)) == 3
            )
            report.check(ok, _("returns {n} different key names for one user", n=3), names)
            if not ok:
                return report.finish()
            assert isinstance(names, (list, tuple))
            if not report.check(
                all(n.startswith(f"{prefix}:") for n in names),
                _("every name starts with the prefix and a colon"),
                names,
            ):
                return report.finish()  # write nothing outside the check's own prefix
            report.check(
                list(keys_for(prefix, 42)) == list(names),  # type: ignore[call-overload]
                _("the same user gets the same names every time"),
            )
            try:
                pipe = client.pipeline(transaction=True)
                for name in names:
                    pipe.set(name, "x", ex=60)
                pipe.execute()
                report.check(True, _("one MULTI writes all three on the cluster (one slot)"))
            except (redis.RedisError, RedisClusterException) as exc:
                report.check(
                    False, _("one MULTI writes all three on the cluster (one slot)"), type(exc).__name__
                )
            others = keys_for(prefix, 7)
            report.check(
                isinstance(others, (list, tuple)) and not set(others) & set(names),
                _("user {other} gets other names than user {user}", other=7, user=42),
                others,
            )
            firsts = [next(iter(keys_for(prefix, user))) for user in range(60)]  # type: ignore[call-overload]
            nodes = {client.get_node_from_key(name).name for name in firsts}
            report.check(
                len(nodes) == len(client.get_primaries()),
                _("{users} users' keys spread over every master (no single global tag)", users=60),
                _("{nodes} of {masters} masters", nodes=len(nodes), masters=len(client.get_primaries())),
            )
    finally:
        backend.delete_prefix(client, prefix + ":")
        client.close()
    return report.finish()
