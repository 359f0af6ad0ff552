"""A model of how Redis's SCAN walks a database: a hash table and a reverse-binary cursor.

Redis keeps a database's keys in a hash table of ``2**n`` buckets; a key lives in the bucket
``hash(key) & (2**n - 1)`` (its low ``n`` bits). SCAN's cursor is a bucket index. One call
visits buckets from the cursor on and returns every key they hold, until it has gathered about
``COUNT`` keys (a bucket's keys come all at once, so a batch can hold more) or has visited
``10 * COUNT`` buckets; MATCH filters the batch afterwards, so a batch can be empty while the
iteration goes on. The next cursor is the next bucket in *reverse-binary* order: reverse the
``n`` bits, add 1, reverse them back (for 8 buckets: 0, 4, 2, 6, 1, 5, 3, 7, then 0: done).

Why that order: when the table doubles between two calls, each bucket splits into two buckets
that sit next to each other in reverse-binary order, so the buckets already visited become
exactly the buckets behind the cursor: no key is missed and none comes back. When the table
halves, two buckets merge, and a merged bucket half-visited is visited again whole: no key is
missed, but some come back twice. A cursor that counts 0, 1, 2, 3… instead repeats keys when the
table grows and misses keys when it shrinks.

    table = HashTable([f"key:{n}" for n in range(40)], buckets=8)
    cursor, batch = table.scan(0, count=4)       # the first call
    bucket_order(8)                              # [0, 4, 2, 6, 1, 5, 3, 7]
    resize_during_scan(keys, 8, 16, at_call=3)   # a full iteration, the table doubling midway

Simplified on purpose: keys are placed by ``zlib.crc32`` (Redis uses SipHash with a random seed,
so its order changes at every server start), and a resize finishes at once (Redis rehashes step
by step, and SCAN then visits a bucket of both tables). No Redis here: the output is the same on
every machine.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

__all__ = ["HashTable", "Iteration", "bucket_order", "next_cursor", "resize_during_scan"]


def _check_size(buckets: int) -> int:
    if isinstance(buckets, bool) or not isinstance(buckets, int) or buckets < 1 or buckets & (buckets - 1):
        raise ValueError(f"a hash table has a power of two buckets (1, 2, 4, 8…), not {buckets!r}")
    return buckets


def _reverse(value: int, bits: int) -> int:
    """``value``'s lowest ``bits`` bits in reverse order."""
    return int(format(value, f"0{bits}b")[::-1], 2) if bits else 0


def next_cursor(cursor: int, buckets: int, *, order: str = "reverse") -> int:
    """The bucket after ``cursor`` in a table of ``buckets`` buckets; 0 when the walk is over.

    ``order="reverse"``: Redis's reverse-binary increment (bits above the table's size are
    dropped, as Redis does when the table has shrunk). ``order="in order"``: ``cursor + 1``.
    """
    _check_size(buckets)
    if order == "in order":
        return 0 if cursor + 1 >= buckets else cursor + 1
    if order != "reverse":
        raise ValueError(f"order is 'reverse' or 'in order', not {order!r}")
    bits = buckets.bit_length() - 1
    following = _reverse(cursor & (buckets - 1), bits) + 1
    return 0 if following >= buckets else _reverse(following, bits)


def bucket_order(buckets: int, *, order: str = "reverse") -> list[int]:
    """Every bucket of the table, in the order a full SCAN visits them."""
    visited, cursor = [0], next_cursor(0, buckets, order=order)
    while cursor:
        visited.append(cursor)
        cursor = next_cursor(cursor, buckets, order=order)
    return visited


class HashTable:
    """Keys in ``buckets`` buckets by ``crc32(key)``; ``scan`` works like Redis's SCAN."""

    def __init__(self, keys: Iterable[str] = (), buckets: int = 8, *, order: str = "reverse"):
        self.order = order
        self.slots: list[list[str]] = [[] for _ in range(_check_size(buckets))]
        for key in keys:
            self.add(key)

    @property
    def size(self) -> int:
        return len(self.slots)

    def bucket_of(self, key: str) -> int:
        """The low bits of the key's hash: which bucket holds it."""
        return zlib.crc32(key.encode()) & (self.size - 1)

    def add(self, key: str) -> None:
        bucket = self.slots[self.bucket_of(key)]
        if key not in bucket:
            bucket.append(key)

    def resize(self, buckets: int) -> None:
        """Rehash every key into a table of ``buckets`` buckets (Redis does it step by step)."""
        keys = [key for bucket in self.slots for key in bucket]
        self.slots = [[] for _ in range(_check_size(buckets))]
        for key in keys:
            self.add(key)

    def scan(self, cursor: int, count: int = 10, match: str | None = None) -> tuple[int, list[str]]:
        """One SCAN call: ``(next cursor, keys)``. Visits buckets from ``cursor`` until about
        ``count`` keys are gathered or ``10 * count`` buckets were visited, then filters by
        ``match`` (a glob pattern, as Redis's MATCH)."""
        gathered: list[str] = []
        visits = 10 * count
        if self.order == "in order" and cursor >= self.size:
            return 0, []  # an offset past the end of a table that shrank: nothing left to visit
        while True:
            gathered.extend(self.slots[cursor & (self.size - 1)])
            cursor = next_cursor(cursor, self.size, order=self.order)
            visits -= 1
            if cursor == 0 or visits <= 0 or len(gathered) >= count:
                break
        if match is not None:
            gathered = [key for key in gathered if fnmatchcase(key, match)]
        return cursor, gathered


@dataclass
class Iteration:
    """One full SCAN iteration: every call's ``(next cursor, keys)``, and what it found."""

    calls: list[tuple[int, list[str]]]
    keys: list[str]  # the keys that existed throughout

    @property
    def returned(self) -> list[str]:
        return [key for _, batch in self.calls for key in batch]

    @property
    def missed(self) -> int:
        """Keys that existed throughout and never came back."""
        return len(set(self.keys) - set(self.returned))

    @property
    def repeated(self) -> int:
        """Keys returned more than once."""
        returned = self.returned
        return len(returned) - len(set(returned))


def resize_during_scan(
    keys: Iterable[str],
    buckets: int,
    new_buckets: int,
    *,
    at_call: int,
    count: int = 10,
    order: str = "reverse",
) -> Iteration:
    """A full SCAN iteration (``count`` per call) over ``keys`` in a table of ``buckets``
    buckets, that becomes ``new_buckets`` buckets after the first ``at_call`` calls."""
    keys = list(keys)
    table = HashTable(keys, buckets, order=order)
    calls: list[tuple[int, list[str]]] = []
    cursor = 0
    while True:
        if len(calls) == at_call:
            table.resize(new_buckets)
        cursor, batch = table.scan(cursor, count)
        calls.append((cursor, batch))
        if cursor == 0:
            return Iteration(calls, keys)
