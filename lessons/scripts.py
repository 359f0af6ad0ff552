"""Lua scripts that cost one round trip, the first call included.

The first call sends the source with EVAL (which also caches it on the server); later calls send
only its SHA1 with EVALSHA. If the server forgot it (restart, SCRIPT FLUSH, or another node of a
cluster), EVALSHA answers NOSCRIPT and the call falls back to EVAL once. (redis-py's
``register_script`` would spend three round trips on a first call: EVALSHA, SCRIPT LOAD, EVALSHA.)

Scripts get every key they touch through ``KEYS`` (never built from ``ARGV`` or a value): Redis
Cluster routes a script by its keys, and ACL key patterns check them.
"""

from __future__ import annotations

import hashlib
from typing import Any

import redis

__all__ = ["Script"]


class Script:
    """``Script(client, source)(keys=[...], args=[...])`` runs ``source`` with EVALSHA/EVAL."""

    def __init__(self, client: Any, source: str):
        self.client, self.source = client, source
        self.sha = hashlib.sha1(source.encode()).hexdigest()
        self.loaded = False

    def __call__(self, keys: list[str], args: list[Any]) -> Any:
        if self.loaded:
            try:
                return self.client.evalsha(self.sha, len(keys), *keys, *args)
            except redis.exceptions.NoScriptError:
                pass
        result = self.client.eval(self.source, len(keys), *keys, *args)
        self.loaded = True
        return result
