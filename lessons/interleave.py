"""Make a race happen on purpose: pause code between two Redis commands and let someone else act.

Races between servers sharing one Redis depend on timing, so they are rare in a demo and common
in production. ``pause_before`` turns one into a deterministic experiment:

    a = pause_before(client, "setex", lambda: store_b.update(sid, {"cart": [1]}))
    lesson_store_a.r = a        # server A now runs B's whole update right before its SETEX
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["pause_before"]


class _PausingClient:
    def __init__(self, client: Any, command: str, action: Callable[[], object], times: int):
        self._client, self._command, self._action, self._left = client, command, action, times
        self.log: list[str] = []  # what ran, in order, for printing

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            if name == self._command and self._left > 0:
                self._left -= 1
                self.log.append(f"(paused before {name.upper()}: someone else acts)")
                self._action()
            self.log.append(name.upper())
            return attr(*args, **kwargs)

        return call


def pause_before(client: Any, command: str, action: Callable[[], object], times: int = 1) -> Any:
    """A stand-in for ``client`` that runs ``action()`` right before its next ``command`` call.

    Only direct method calls on the client are intercepted (``client.get``, ``client.setex``…), the
    way the lesson's code uses its client. ``times`` is how many such calls pause (default 1).
    The stand-in's ``log`` lists the commands in the order they ran.
    """
    return _PausingClient(client, command.lower(), action, times)
