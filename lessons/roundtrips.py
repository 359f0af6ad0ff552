"""Count network round trips to Redis, instead of claiming them.

A round trip is one request written to the socket and its reply(ies) read back: a single
command, a whole pipeline, or a whole MULTI/EXEC block. redis-py writes each of those with one
``send_packed_command`` call, so counting those calls counts round trips.

    client, trips = counting_client()
    store = SessionStore(client=client)
    with trips.measure() as m:
        store.create({"user_id": 1})
    m.count   # -> 1
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import redis

from . import backend

__all__ = ["RoundTrips", "counting_client"]


@dataclass
class RoundTrips:
    """A thread-safe counter of requests sent to Redis, with their command names."""

    count: int = 0
    commands: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, names: list[str]) -> None:
        with self._lock:
            self.count += 1
            self.commands.append(" ".join(names))

    def reset(self) -> None:
        with self._lock:
            self.count = 0
            self.commands.clear()

    @contextmanager
    def measure(self) -> Iterator["RoundTrips"]:
        """Count only what happens inside the ``with`` block (the result is a fresh RoundTrips)."""
        result = RoundTrips()
        with self._lock:
            start = len(self.commands)
        try:
            yield result
        finally:
            with self._lock:
                new = self.commands[start:]
            result.count = len(new)
            result.commands = list(new)


def _command_names(args: tuple) -> list[str]:
    """Command names in what redis-py is about to send (one list of packed chunks per request)."""
    packed = args[0] if args else b""
    if isinstance(packed, (list, tuple)):
        packed = b"".join(bytes(p) if not isinstance(p, bytes) else p for p in packed)
    names = []
    lines = bytes(packed).split(b"\r\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(b"*") and i + 2 < len(lines):
            names.append(lines[i + 2].decode(errors="replace").upper())
            count = int(line[1:] or 0)
            i += 1 + 2 * count
        else:
            i += 1
    return names


def counting_client(url: str | None = None, **kwargs) -> tuple[redis.Redis, RoundTrips]:
    """A client like ``backend.connect(url)`` plus the ``RoundTrips`` that counts its requests."""
    trips = RoundTrips()

    class CountingConnection(redis.Connection):
        def send_packed_command(self, command, check_health=True):  # type: ignore[override]
            trips.record(_command_names((command,)))
            return super().send_packed_command(command, check_health)

    client = backend.connect(url, connection_class=CountingConnection, **kwargs)
    client.ping()  # open the connection now, so its handshake is not counted later
    trips.reset()
    return client, trips
