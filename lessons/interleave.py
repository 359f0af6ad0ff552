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

    a = pause_after(client, "*", revoke, skip=2)   # "*": any command; skip the first 2 calls
    SessionStore(client=a).create({"user_id": 1})   # a revoke runs after the 3rd command

Only method calls on the client (``client.get``, ``client.setex``…) and on the pipelines it
makes are intercepted: the way the course's stores use their clients.

A pipeline without MULTI (``pipeline(transaction=False)``) is not atomic: Redis runs each of
its commands on its own and may run other clients' commands between them (it does, for example,
while a large value is still arriving). A pause at a command queued in such a pipeline happens
exactly there: the stand-in sends the commands queued before that point (and the command itself,
for ``pause_after``) and waits for their replies, then runs the action, and the pipeline's
``execute`` sends the rest and returns every reply in order. In a MULTI/EXEC transaction, which
Redis runs as one step, a pause at a queued command runs the action before EXEC.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .backend import Client
from .i18n import _

__all__ = ["StandIn", "pause_after", "pause_before", "recording"]

#: Pipeline methods that are not queued Redis commands (a pause there sends nothing early).
_NOT_QUEUED = frozenset({"execute", "reset", "watch", "unwatch", "multi", "close"})


def _atomic(pipe: Any) -> bool:
    """True for a MULTI/EXEC pipeline: ``redis.client.Pipeline`` with ``transaction=True``, or a
    ``ClusterPipeline`` made with ``transaction=True`` (it has a ``transaction`` method instead)."""
    flag = getattr(pipe, "transaction", None)
    if isinstance(flag, bool):
        return flag
    return type(getattr(pipe, "_execution_strategy", None)).__name__ == "TransactionStrategy"


class _Shared:
    """What a stand-in and the pipelines it makes have in common."""

    def __init__(
        self,
        command: str | None,
        when: str | None,
        action: Callable[[], object] | None,
        times: int,
        skip: int = 0,
    ):
        self.command, self.when, self.action, self.left = command, when, action, times
        self.skip = skip  # matching calls to let through before the first pause
        self.log: list[str] = []
        self.pauses = 0  # pauses done so far (the log says where, in the course's language)
        self.calls: list[tuple[str, object]] = []  # (command, reply), in order

    def due(self, name: str, when: str) -> bool:
        """True if this call (``name``, ``when``) is where the action must run now."""
        if self.action is None or when != self.when or self.left <= 0:
            return False
        if self.command not in ("*", name):
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        return True

    def pause(self, name: str, when: str) -> None:
        assert self.action is not None
        self.left -= 1
        self.pauses += 1
        self.log.append(
            _("(paused after {command}: someone else acts)", command=name.upper())
            if when == "after"
            else _("(paused before {command}: someone else acts)", command=name.upper())
        )
        self.action()


if TYPE_CHECKING:  # to the type checker, a stand-in is the client it passes every call on to
    from redis import Redis as _PassesCallsOn
else:
    _PassesCallsOn = object


class StandIn(_PassesCallsOn):
    """A stand-in for a redis-py client (or pipeline) that logs each command it passes on.

    ``log``: command names in the order they ran, with the pause marked; ``replies(name)``: what
    each call of that command returned.
    """

    def __init__(self, client: Any, shared: _Shared):  # a client or a pipeline
        self._client, self._shared = client, shared
        self._sent: list[object] = []  # replies of pipeline commands sent early, at a pause

    def _queues_without_multi(self, name: str) -> bool:
        """True if this wraps a pipeline without MULTI that queues ``name`` (not immediate)."""
        if name in _NOT_QUEUED or not hasattr(self._client, "command_stack"):
            return False  # not a pipeline, or not a command
        return not _atomic(self._client) and not getattr(self._client, "watching", False)

    def _pause(self, name: str, when: str) -> None:
        if self._queues_without_multi(name):  # what was queued so far runs first, as in Redis
            self._sent.extend(self._client.execute())
        self._shared.pause(name, when)

    @property
    def log(self) -> list[str]:
        return self._shared.log

    @property
    def pauses(self) -> int:
        """How many times this stand-in (or a pipeline it made) has paused so far."""
        return self._shared.pauses

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
            if shared.due(name, "before"):
                self._pause(name, "before")
            label = name.upper()
            if name == "execute" and _atomic(self._client):
                label = "EXEC"
            try:
                reply = attr(*args, **kwargs)
            except Exception as exc:
                shared.log.append(_("{command} (refused: {error})", command=label, error=type(exc).__name__))
                raise
            if name == "execute" and self._sent:  # replies sent early come first
                reply, self._sent = [*self._sent, *reply], []
            shared.log.append(label)
            shared.calls.append((name, reply))
            if shared.due(name, "after"):
                self._pause(name, "after")
            return self if reply is self._client else reply  # a queued command: the stand-in

        return call


def recording(client: Client) -> StandIn:
    """A stand-in for ``client`` that only logs commands and remembers their replies."""
    return StandIn(client, _Shared(None, None, None, 0))


def pause_before(
    client: Client, command: str, action: Callable[[], object], times: int = 1, skip: int = 0
) -> StandIn:
    """A stand-in for ``client`` that runs ``action()`` right before its next ``command`` call
    (``"*"``: any command), also inside pipelines it makes; ``skip`` such calls pass first, then
    ``times`` calls in all (default 1) pause."""
    return StandIn(client, _Shared(command.lower(), "before", action, times, skip))


def pause_after(
    client: Client, command: str, action: Callable[[], object], times: int = 1, skip: int = 0
) -> StandIn:
    """A stand-in for ``client`` that runs ``action()`` right after its next ``command`` call
    (``"*"``: any command) has its reply, also inside pipelines it makes; ``skip`` such calls
    pass first, then ``times`` calls in all (default 1) pause."""
    return StandIn(client, _Shared(command.lower(), "after", action, times, skip))
