"""Count network round trips to Redis, and record what each one sent, instead of claiming it.

A round trip is one request written to the socket and its reply(ies) read back: a single
command, a whole pipeline, or a whole MULTI/EXEC block. redis-py packs every command it sends
(``pack_command``, ``pack_commands``, ``send_command``) and writes each request with one
``send_packed_command`` call. The counting connection records each command's arguments where it
is packed, and turns the commands packed so far into one round trip when they are sent. Nothing
is parsed back out of the bytes, so a stored value that looks like a command is just a value.

    client, trips = counting_client()
    store = SessionStore(client=client)
    with trips.measure() as m:
        store.create({"user_id": 1})
    m.count        # -> 1
    m.commands     # -> ["ZADD PEXPIRE PEXPIRE SET"]     (names, one string per round trip)
    m.requests     # -> [[("ZADD", "session-by-user:1", …), …]]   (full commands, per round trip)
    m.log_lines(max_arg=40)                              # MONITOR-style lines, one per command

Connecting is not counted: the handshake a new connection sends (CLIENT SETINFO, SELECT,
READONLY on a cluster replica…) is setup, not the cost of an operation. The same client works
for a single Redis and for ``redis.cluster.RedisCluster`` (there, a pipeline costs one round
trip per node it touches).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import redis

from . import backend

__all__ = ["Command", "RoundTrips", "counting_client", "counting_connection_class"]

Command = tuple[str, ...]
"""One command as sent: its name upper-case, then every argument as text."""


@dataclass
class RoundTrips:
    """A thread-safe record of the requests a client sent to Redis.

    ``count``: how many round trips; ``commands``: per round trip, the command names joined by
    spaces (``"MULTI SET EXPIRE EXEC"``); ``requests``: per round trip, the full commands.
    """

    count: int = 0
    commands: list[str] = field(default_factory=list)
    requests: list[list[Command]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, request: Iterable[Command]) -> None:
        """Add one round trip that sent ``request`` (its commands, in order)."""
        commands = list(request)
        with self._lock:
            self.count += 1
            self.commands.append(" ".join(c[0] for c in commands if c))
            self.requests.append(commands)

    def reset(self) -> None:
        """Forget every round trip recorded so far."""
        with self._lock:
            self.count = 0
            self.commands.clear()
            self.requests.clear()

    @contextmanager
    def measure(self) -> Iterator[RoundTrips]:
        """Count only what happens inside the ``with`` block (the result is a fresh RoundTrips)."""
        result = RoundTrips()
        with self._lock:
            start = len(self.requests)
        try:
            yield result
        finally:
            with self._lock:
                new = [list(r) for r in self.requests[start:]]
            for request in new:
                result.record(request)

    def sent_commands(self) -> list[Command]:
        """Every command sent, in order, whichever round trip carried it."""
        with self._lock:
            return [c for request in self.requests for c in request]

    def log_lines(self, max_arg: int | None = None) -> list[str]:
        """One line per command, as ``MONITOR`` shows it: ``"SET" "session:…" "{…}" "EX" "3600"``.

        Arguments longer than ``max_arg`` characters (Lua scripts, JSON values) print as ``"…"``.
        """
        return [
            " ".join(
                '"…"' if max_arg is not None and len(a) > max_arg else json.dumps(a, ensure_ascii=False)
                for a in command
            )
            for command in self.sent_commands()
        ]


def _text(arg: Any) -> str:
    """An argument as the text redis-py sends for it (bytes decoded as UTF-8, numbers by repr)."""
    if isinstance(arg, (bytes, bytearray, memoryview)):
        return bytes(arg).decode("utf-8", errors="replace")
    if isinstance(arg, (int, float)) and not isinstance(arg, bool):
        return repr(arg)
    return str(arg)


def _command(args: tuple[Any, ...]) -> Command:
    """The command redis-py packs for ``args``: like redis-py, a first argument such as
    ``"SCRIPT LOAD"`` is split into words; the name is upper-cased."""
    if not args:
        return ()
    first, rest = args[0], args[1:]
    words = _text(first).split() if isinstance(first, (str, bytes, bytearray)) else [_text(first)]
    if not words:
        words = [""]
    return (words[0].upper(), *words[1:], *(_text(a) for a in rest))


class _Recording:
    """Mixin for a redis-py connection class: records commands where they are packed.

    Every path that packs a command (``pack_command``, ``pack_commands``, ``send_command``) adds
    it to this connection's pending list (only at the outermost call, so a redis-py version whose
    ``send_command`` calls ``pack_command`` records it once); ``send_packed_command`` turns the
    pending list into one round trip. Commands sent while connecting are not recorded.
    """

    trips: RoundTrips  # set by counting_connection_class

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._pending: list[Command] = []
        self._packing = 0  # > 0 inside one of our packing methods
        self._connecting = 0  # > 0 while the connection runs its handshake
        super().__init__(*args, **kwargs)

    @contextmanager
    def _nested(self, name: str) -> Iterator[bool]:
        """Count nesting of ``name`` ("_packing" or "_connecting"); yields True when outermost."""
        depth = getattr(self, name)
        setattr(self, name, depth + 1)
        try:
            yield depth == 0
        finally:
            setattr(self, name, depth)

    def pack_command(self, *args: Any) -> Any:
        with self._nested("_packing") as outermost:
            packed = super().pack_command(*args)  # type: ignore[misc]
        if outermost:
            self._pending.append(_command(args))
        return packed

    def pack_commands(self, commands: Iterable[Any]) -> Any:
        commands = [tuple(c) for c in commands]
        with self._nested("_packing") as outermost:
            packed = super().pack_commands(commands)  # type: ignore[misc]
        if outermost:
            self._pending.extend(_command(c) for c in commands)
        return packed

    def send_command(self, *args: Any, **kwargs: Any) -> None:
        # redis-py 8 packs here without calling pack_command, and sends at once: stage first.
        staged = len(self._pending)
        if not self._packing:
            self._pending.append(_command(args))
        try:
            with self._nested("_packing"):
                super().send_command(*args, **kwargs)  # type: ignore[misc]
        finally:
            del self._pending[staged:]  # sent (already taken) or failed to pack: never re-sent

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        request, self._pending = self._pending, []
        packing, self._packing = self._packing, 0  # a handshake inside may pack its own commands
        try:
            super().send_packed_command(command, check_health)  # type: ignore[misc]
        finally:
            self._packing = packing
        if not self._connecting:
            self.trips.record(request)

    def connect(self) -> None:
        with self._nested("_connecting"):
            super().connect()  # type: ignore[misc]

    def connect_check_health(self, *args: Any, **kwargs: Any) -> None:
        with self._nested("_connecting"):
            super().connect_check_health(*args, **kwargs)  # type: ignore[misc]


def counting_connection_class(
    trips: RoundTrips,
    base: type[redis.connection.AbstractConnection] = redis.Connection,
) -> type[redis.connection.AbstractConnection]:
    """A subclass of ``base`` whose connections record into ``trips`` (pass it as
    ``connection_class=`` to ``redis.Redis`` or ``redis.cluster.RedisCluster``)."""
    return type(f"Counting{base.__name__}", (_Recording, base), {"trips": trips})


def _base_for(url: str) -> type[redis.connection.AbstractConnection]:
    """The connection class redis-py would pick for ``url`` (TLS, Unix socket or TCP)."""
    if url.startswith("rediss://"):
        return redis.SSLConnection
    if url.startswith("unix://"):
        return redis.UnixDomainSocketConnection
    return redis.Connection


def counting_client(url: str | None = None, **kwargs: Any) -> tuple[backend.Client, RoundTrips]:
    """A client like ``backend.connect(url)`` plus the ``RoundTrips`` that records its requests.

    Runs one PING now (so an unreachable Redis fails here), then starts the record empty.
    """
    url = url or backend.redis_url()
    trips = RoundTrips()
    connection_class = counting_connection_class(trips, _base_for(url))
    client = backend.connect(url, connection_class=connection_class, **kwargs)
    client.ping()
    trips.reset()
    return client, trips
