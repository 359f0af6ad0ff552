"""Make a race happen on purpose: stand-in Redis clients that log, remember replies, and pause.

Races between servers sharing one Redis depend on timing, so they are rare in a demo and common
in production. A stand-in client turns one into a deterministic experiment: give it to a store in
place of its client, and it runs "someone else's" action at exactly the moment you choose.

    a = pause_before(client, "setex", lambda: store_b.update(sid, {"cart": [1]}))
    lesson_store.r = a        # server A now runs B's whole update right before its SETEX
    a.log                     # ["GET", "(paused before SETEX: someone else acts)", "SETEX"]

    a = pause_after(client, "get", lambda: store_b.delete(sid))
    SessionStore(client=a)    # also pauses inside a pipeline the store makes (WATCH … GET)

    seen = recording(client)  # no pause: just the log and every reply
    seen.replies("ttl")       # what TTL answered, in order

Only method calls on the client (``client.get``, ``client.setex``…) and on the pipelines it
makes are intercepted: the way the course's stores use their clients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["StandIn", "pause_after", "pause_before", "recording"]


class _Shared:
    """What a stand-in and the pipelines it makes have in common."""

    def __init__(self, command: str | None, when: str | None, action: Callable[[], object] | None,
                 times: int):
        self.command, self.when, self.action, self.left = command, when, action, times
        self.log: list[str] = []
        self.calls: list[tuple[str, object]] = []  # (command, reply), in order

    def maybe_pause(self, name: str, when: str) -> None:
        if self.action is None or name != self.command or when != self.when or self.left <= 0:
            return
        self.left -= 1
        self.log.append(f"(paused {when} {name.upper()}: someone else acts)")
        self.action()


class StandIn:
    """A stand-in for a redis-py client (or pipeline) that logs each command it passes on.

    ``log``: command names in the order they ran, with the pause marked; ``replies(name)``: what
    each call of that command returned.
    """

    def __init__(self, client: Any, shared: _Shared):
        self._client, self._shared = client, shared

    @property
    def log(self) -> list[str]:
        return self._shared.log

    def replies(self, command: str) -> list[object]:
        """Every reply of ``command`` (e.g. ``"ttl"``), in order."""
        return [reply for name, reply in self._shared.calls if name == command.lower()]

    def __enter__(self) -> StandIn:
        self._client.__enter__()
        return self

    def __exit__(self, *exc: object) -> Any:
        return self._client.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr
        shared = self._shared

        def call(*args: Any, **kwargs: Any) -> Any:
            if name == "pipeline":  # the pipeline is a stand-in too, sharing log and pause
                return StandIn(attr(*args, **kwargs), shared)
            shared.maybe_pause(name, "before")
            label = name.upper()
            if name == "execute" and getattr(self._client, "transaction", False):
                label = "EXEC"
            try:
                reply = attr(*args, **kwargs)
            except Exception as exc:
                shared.log.append(f"{label} (refused: {type(exc).__name__})")
                raise
            shared.log.append(label)
            shared.calls.append((name, reply))
            shared.maybe_pause(name, "after")
            return reply

        return call


def recording(client: Any) -> StandIn:
    """A stand-in for ``client`` that only logs commands and remembers their replies."""
    return StandIn(client, _Shared(None, None, None, 0))


def pause_before(client: Any, command: str, action: Callable[[], object], times: int = 1) -> StandIn:
    """A stand-in for ``client`` that runs ``action()`` right before its next ``command`` call
    (``times`` calls in all, default 1)."""
    return StandIn(client, _Shared(command.lower(), "before", action, times))


def pause_after(client: Any, command: str, action: Callable[[], object], times: int = 1) -> StandIn:
    """A stand-in for ``client`` that runs ``action()`` right after its next ``command`` call
    has its reply, also inside pipelines it makes (``times`` calls in all, default 1)."""
    return StandIn(client, _Shared(command.lower(), "after", action, times))
