"""What the course's store and admin did before they ran on Redis Cluster (commit 42805c2), cut
down to the four steps that break there, for notebook 06 to run on a cluster and watch fail.

Each function is the old step, unchanged in what it sends; key names come from ``KeySchema``
like everything else. Each breaks one rule: an atomic step may only touch keys of one slot, and
a script only the keys it is given in ``KEYS``.

- ``old_create``: one MULTI over the session key and the user's index key (two slots).
- ``old_sliding_read``: a script given only the session key that builds the index key from
  ``ARGV`` + the session's ``user_id`` and touches it (a key it was not given).
- ``old_list_sessions``: one ``MGET`` of the user's sessions (many slots).
- ``old_revoke``: one ``DEL`` of all the user's sessions (many slots).
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any, cast

from ..backend import Client
from ..keys import KeySchema, UserId

__all__ = ["old_create", "old_list_sessions", "old_revoke", "old_sliding_read"]

# The old sliding script, cut to what matters here: it builds the index key itself.
_OLD_TOUCH_LUA = """
local value = redis.call('GET', KEYS[1])
if not value then return false end
local session = cjson.decode(value)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
if session['user_id'] then
  local index = ARGV[2] .. cjson.encode(session['user_id'])
  redis.call('PEXPIRE', index, ARGV[1], 'GT')
end
return value
"""


def old_create(client: Client, keys: KeySchema, data: dict[str, Any], ttl: int = 600) -> str:
    """MULTI / SET session / ZADD index / EXPIRE index / EXEC: one transaction, two slots."""
    sid = secrets.token_urlsafe(32)
    pipe = client.pipeline(transaction=True)
    pipe.set(keys.session_key(sid), json.dumps(data), ex=ttl, nx=True)
    pipe.zadd(keys.index_key(data["user_id"]), {keys.stored_id(sid): int(time.time() * 1000)})
    pipe.expire(keys.index_key(data["user_id"]), ttl)
    pipe.execute()
    return sid


def old_sliding_read(client: Client, keys: KeySchema, sid: str, ttl: int = 600) -> Any:
    """EVAL of the old sliding script with KEYS = [session key] only."""
    return client.eval(_OLD_TOUCH_LUA, 1, keys.session_key(sid), ttl * 1000, keys.index_prefix)


def old_list_sessions(client: Client, keys: KeySchema, user_id: UserId) -> list[Any]:
    """ZRANGE the index, then one MGET of every listed session."""
    ids = cast("list[str]", client.zrange(keys.index_key(user_id), 0, -1))
    return list(client.mget([keys.key_of(i) for i in ids])) if ids else []


def old_revoke(client: Client, keys: KeySchema, user_id: UserId) -> int:
    """ZRANGE the index, then one DEL of every listed session and the index (a raw command,
    as the old MULTI block sent it: redis-py's cluster ``delete`` would split it per slot)."""
    ids = cast("list[str]", client.zrange(keys.index_key(user_id), 0, -1))
    return int(
        client.execute_command(
            "DEL",
            *[keys.key_of(i) for i in ids],  # type: ignore[no-untyped-call]
            keys.index_key(user_id),
        )
    )
