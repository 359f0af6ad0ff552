"""Three ways to keep "one user's sessions" on Redis Cluster, measured side by side (notebook 06).

- ``"single keys"``: sessions only, ``{prefix}:a:{id}``; finding a user's sessions means SCAN on
  every primary and a GET of every session.
- ``"user hash tag"``: ``{prefix}:b:{u<user>}:{id}`` and the index ``{prefix}:b-idx:{u<user>}``:
  the ``{…}`` hash tag puts a user's sessions and index in one slot, so one MULTI writes both and
  one MULTI revokes them all; but the ID alone no longer names the key (the cookie must carry
  the user too), and all of a user's sessions live on one node.
- ``"course store"``: ``lessons.store.SessionStore`` and ``lessons.admin.SessionAdmin``: a
  session keyed by its ID alone (spread over every node), an index in another slot, written
  first and cleaned up per key, without a transaction.

``measure(cluster_url, prefix)`` writes a population through each design on a round-trip
counting client and returns one ``DesignRow`` per design.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass
from typing import Any, Protocol, cast

from redis.cluster import RedisCluster

from ..admin import SessionAdmin
from ..backend import Client
from ..i18n import _, pad
from ..roundtrips import RoundTrips, counting_client
from ..store import SessionStore

__all__ = ["DESIGNS", "DesignRow", "format_rows", "measure"]

TTL = 600


class Design(Protocol):
    def create(self, user: int) -> str: ...
    def revoke(self, user: int) -> int: ...


class SingleKeys:
    """Sessions only. create: one SET. revoke: SCAN every primary + GETs + DELs."""

    def __init__(self, client: Client, prefix: str):
        self.r, self.prefix = client, f"{prefix}:a"

    def create(self, user: int) -> str:
        key = f"{self.prefix}:{secrets.token_urlsafe(32)}"
        self.r.set(key, f'{{"user_id": {user}}}', ex=TTL)
        return key

    def revoke(self, user: int) -> int:
        keys = list(self.r.scan_iter(match=f"{self.prefix}:*", count=1000))
        pipe = self.r.pipeline(transaction=False)
        for key in keys:
            pipe.get(key)
        mine = [k for k, v in zip(keys, pipe.execute()) if v == f'{{"user_id": {user}}}']
        pipe = self.r.pipeline(transaction=False)
        for key in mine:
            pipe.delete(key)
        return sum(pipe.execute())


class UserHashTag:
    """Keys tagged ``{u<user>}``: create is one MULTI (SET + ZADD + EXPIRE), revoke ZRANGE +
    one MULTI (DEL each + DEL index), all on the user's node."""

    def __init__(self, client: Client, prefix: str):
        self.r, self.prefix = client, prefix

    def index(self, user: int) -> str:
        return f"{self.prefix}:b-idx:{{u{user}}}"

    def create(self, user: int) -> str:
        key = f"{self.prefix}:b:{{u{user}}}:{secrets.token_urlsafe(32)}"
        pipe = self.r.pipeline(transaction=True)
        pipe.set(key, f'{{"user_id": {user}}}', ex=TTL)
        pipe.zadd(self.index(user), {key: 0})
        pipe.expire(self.index(user), TTL)
        pipe.execute()
        return key

    def revoke(self, user: int) -> int:
        keys = cast("list[str]", self.r.zrange(self.index(user), 0, -1))
        pipe = self.r.pipeline(transaction=True)
        for key in keys:
            pipe.delete(key)
        pipe.delete(self.index(user))
        return sum(pipe.execute()[:-1])


class CourseStore:
    """``SessionStore.create`` and ``SessionAdmin.revoke_all_sessions``."""

    def __init__(self, client: Client, prefix: str):
        self.store = SessionStore(client=client, prefix=f"{prefix}-c", default_ttl=TTL)
        self.admin = SessionAdmin.for_store(self.store)

    def create(self, user: int) -> str:
        return self.store.key(self.store.create({"user_id": user}))

    def revoke(self, user: int) -> int:
        return self.admin.revoke_all_sessions(user)


DESIGNS: dict[str, type[SingleKeys] | type[UserHashTag] | type[CourseStore]] = {
    "single keys": SingleKeys,
    "user hash tag": UserHashTag,
    "course store": CourseStore,
}


@dataclass(frozen=True)
class DesignRow:
    """One design's measured costs. ``create_trips``: (fewest, most) round trips per create;
    ``revoke_trips``: round trips to revoke a user with ``revoked`` sessions among all;
    ``keys_per_node`` / ``heavy_per_node``: session keys per master (largest first), for the
    whole population and for the one very active user."""

    design: str
    create_trips: tuple[int, int]
    revoke_trips: int
    revoked: int
    keys_per_node: list[int]
    heavy_per_node: list[int]


def _per_node(client: RedisCluster, keys: list[str], masters: int) -> list[int]:
    """How many of ``keys`` each master serves (the client's slot map: no round trip)."""
    counts = Counter(client.get_node_from_key(k).name for k in keys)
    return sorted([*counts.values(), *[0] * (masters - len(counts))], reverse=True)


def measure(
    cluster_url: str, prefix: str, users: int = 200, per_user: int = 3, heavy: int = 600, heavy_user: int = 0
) -> list[DesignRow]:
    """For each design: ``users`` users with ``per_user`` sessions each, plus user
    ``heavy_user`` with ``heavy`` sessions (a very active user, or a bot); count round trips of
    each create, then revoke user 1 and count. Every key written has a TTL of 10 minutes;
    ``lessons.classroom.reset`` (or ``delete_prefix``) removes them."""
    rows = []
    for name, design_class in DESIGNS.items():
        client: Any
        client, trips = counting_client(cluster_url)
        design: Design = design_class(client, f"{prefix}-{name.split()[-1]}")
        masters = len(client.get_primaries())
        keys: list[str] = []
        heavy_keys: list[str] = []
        counts: list[int] = []
        for n in range(users * per_user + heavy):
            user = heavy_user if n >= users * per_user else 1 + n % users
            with trips.measure() as m:
                key = design.create(user)
            counts.append(m.count)
            (heavy_keys if user == heavy_user else keys).append(key)
        revoke: RoundTrips
        with trips.measure() as revoke:
            revoked = design.revoke(1)
        rows.append(
            DesignRow(
                name,
                (min(counts), max(counts)),
                revoke.count,
                revoked,
                _per_node(client, keys, masters),
                _per_node(client, heavy_keys, masters),
            )
        )
        client.close()
    return rows


def format_rows(rows: list[DesignRow]) -> str:
    """A text table of ``rows``."""
    lines = [
        pad(_("design"), 14)
        + f" {'create':>7} {'revoke':>7}  "
        + pad(_("keys per node"), 18)
        + " "
        + _("very active user")
    ]
    for r in rows:
        low, high = r.create_trips
        create = str(high) if low == high else f"{low}-{high}"
        lines.append(
            f"{r.design:<14} {create:>7} {r.revoke_trips:>7}  "
            f"{' / '.join(map(str, r.keys_per_node)):<18} "
            f"{' / '.join(map(str, r.heavy_per_node))}"
        )
    return "\n".join(lines)
