"""Lua scripts that cost one round trip, the first call included; and the store's one script.

The first call sends the source with EVAL (which also caches it on the server); later calls send
only its SHA1 with EVALSHA. On Redis Cluster each node has its own script cache, so the script
remembers, per node (found from ``KEYS[1]``'s slot without a round trip), whether that node has
seen it: the first call routed to a node is an EVAL too. If a server forgot it anyway (restart,
SCRIPT FLUSH, a replica promoted by a failover), EVALSHA answers NOSCRIPT and the call falls
back to EVAL once. (redis-py's
``register_script`` would spend three round trips on a first call: EVALSHA, SCRIPT LOAD, EVALSHA.)

Scripts get every key they touch through ``KEYS`` (never built from ``ARGV`` or a value): Redis
Cluster routes a script by its keys, and ACL key patterns check them.
"""

from __future__ import annotations

import hashlib
from typing import Any

import redis

from .backend import Client

__all__ = ["TAKE_LUA", "Script"]


class Script:
    """``Script(client, source)(keys=[...], args=[...])`` runs ``source`` with EVALSHA/EVAL."""

    def __init__(self, client: Client, source: str):
        self.client, self.source = client, source
        self.sha = hashlib.sha1(source.encode()).hexdigest()
        self._loaded_on: set[str] = set()  # "" on a single Redis; node names on a cluster
        self._locate = getattr(client, "get_node_from_key", None)  # a cluster client's slot map

    def _server(self, keys: list[str]) -> str:
        """Which server runs the call: "" for a single Redis, the node name (host:port) of the
        primary serving ``keys[0]``'s slot on a cluster (the client's slot map: no round trip)."""
        if self._locate is None or not keys:
            return ""
        try:
            return str(self._locate(keys[0]).name)
        except redis.exceptions.RedisClusterException:  # slot not covered now (a failover):
            return "?"  # EVAL is routed (and retried) by the client as usual

    def __call__(self, keys: list[str], args: list[Any]) -> Any:
        server = self._server(keys)
        if server in self._loaded_on:
            try:
                return self.client.evalsha(self.sha, len(keys), *keys, *args)
            except redis.exceptions.NoScriptError:
                pass
        result = self.client.eval(self.source, len(keys), *keys, *args)
        self._loaded_on.add(server)
        return result


# Take a session out: GET, PTTL and DEL in one atomic step (regenerate). Touches KEYS[1] only.
TAKE_LUA = """
local value = redis.call('GET', KEYS[1])
if not value then return false end
local pttl = redis.call('PTTL', KEYS[1])
redis.call('DEL', KEYS[1])
return {value, pttl}
"""
