"""Keys that leak tokens: what SCAN, MONITOR and a dump show, and the hashed key that shows nothing.

A session key ``{prefix}:{token}`` puts the token (the cookie value, as good as a password) into
every SCAN, MONITOR line, slow log and backup. ``SessionStore(hash_ids=True)`` keys each session by
SHA-256 of the token instead (``token_handle``; ``lessons.keys.KeySchema`` defines it once);
``SessionAdmin.for_store(store)`` lists those stored IDs, ``store.delete_stored(stored_id)`` ends a
session by one.
"""

from __future__ import annotations

import json
from typing import Any

from .. import backend
from ..keys import KeySchema
from ..roundtrips import RoundTrips, counting_client

__all__ = ["CommandLog", "command_log_client", "export_snapshot", "token_handle"]

#: The key schema of a ``SessionStore(hash_ids=True)`` (the prefix does not change a stored ID).
_HASHED = KeySchema(hash_ids=True)


class CommandLog:
    """The commands a client sent, with every argument: a view of its ``RoundTrips``
    (``lessons.roundtrips``, the course's one instrumented client), printed as MONITOR shows them."""

    def __init__(self, trips: RoundTrips) -> None:
        self.trips = trips

    @property
    def commands(self) -> list[list[str]]:
        """Each command as ``[name, arg, …]``, in the order they were sent."""
        return [list(c) for c in self.trips.sent_commands()]

    @property
    def lines(self) -> list[str]:
        """``"SET" "session:…" "{…}" "EX" "3600"``: one line per command, every argument."""
        return self.trips.log_lines()

    def short(self, max_arg: int | None = 80) -> list[str]:
        """The log with arguments longer than ``max_arg`` (Lua scripts, JSON values) as ``"…"``."""
        return self.trips.log_lines(max_arg)

    def clear(self) -> None:
        """Forget everything logged so far."""
        self.trips.reset()


def command_log_client(url: str | None = None, **kwargs: Any) -> tuple[backend.Client, CommandLog]:
    """A client like ``backend.connect(url)`` that logs each command with its arguments.

    This is what ``MONITOR`` would show an operator (or a log shipper) for this client, without
    running ``MONITOR`` on a shared server: the log is taken in the client, where redis-py packs
    each command (``lessons.roundtrips.counting_client``). No command runs yet; the log starts empty.
    """
    client, trips = counting_client(url, **kwargs)
    return client, CommandLog(trips)


def export_snapshot(client: backend.Client, match: str) -> str:
    """A JSON backup of the keys matching ``match`` ({key: {"type", "ttl", "value"}}), like the
    dumps that backup scripts and support tickets carry around (an RDB or AOF file holds the same
    names). SCAN, then two pipelined round trips: TYPE + TTL of every key, then its value (GET,
    HGETALL, ZRANGE, SMEMBERS or LRANGE by type)."""
    keys = sorted(set(client.scan_iter(match=match, count=1000)))
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.type(key)
        pipe.ttl(key)
    replies = pipe.execute()
    types, ttls = replies[0::2], replies[1::2]
    readers = {
        "string": lambda p, k: p.get(k),
        "hash": lambda p, k: p.hgetall(k),
        "zset": lambda p, k: p.zrange(k, 0, -1, withscores=True),
        "set": lambda p, k: p.smembers(k),
        "list": lambda p, k: p.lrange(k, 0, -1),
    }
    pipe = client.pipeline(transaction=False)
    for key, kind in zip(keys, types):
        readers.get(kind, lambda p, k: p.exists(k))(pipe, key)
    values = pipe.execute()
    snapshot = {
        k: {"type": t, "ttl": ttl, "value": sorted(v) if isinstance(v, set) else v}
        for k, t, ttl, v in zip(keys, types, ttls, values)
    }
    return json.dumps(snapshot, indent=1, ensure_ascii=False)


def token_handle(token: str) -> str:
    """SHA-256 of ``token`` in hex (64 characters): the stored ID a ``SessionStore(hash_ids=True)``
    keeps the session under (``{prefix}:{handle}``) and ``SessionAdmin`` lists. No Redis.

    A plain (unsalted, fast) hash is enough here, unlike for passwords: the token has 256 random
    bits, so nobody can search for the token that gives a handle.
    """
    return _HASHED.stored_id(token)
