"""How an optimistic transaction (``WATCH`` … ``EXEC``) waits and retries after a conflict.

When ``EXEC`` is refused, another writer changed the key between our ``WATCH`` and our ``EXEC``:
someone else's update went through, so the system as a whole made progress. Retrying at once
meets the same crowd again; with many writers on one key a fixed number of immediate retries
can all lose, and the update gives up while everyone else is doing fine.

``Backoff`` waits a random time after each conflict ("full jitter": uniform between 0 and a
limit that doubles with each conflict, up to ``cap``), which spreads the writers out, and gives
up (``RetryLimitExceeded``) only when a time budget (``seconds``) is spent, not after a count:

    for attempt in Backoff().attempts("update"):   # before each retry: a random wait, or
        try:                                        # RetryLimitExceeded once the budget is spent
            ...                                     # WATCH, GET, MULTI, SET, EXEC
            break
        except redis.WatchError:
            continue

``clock``, ``sleep`` and ``random`` can be replaced (tests drive them by hand). No Redis here.
"""

from __future__ import annotations

import random as _random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .errors import RetryLimitExceeded

__all__ = ["Attempt", "Backoff"]


@dataclass(frozen=True)
class Backoff:
    """A retry policy: full-jitter exponential back-off with a time budget.

    After conflict number ``n`` (1, 2, …) the wait is ``random() * min(cap, base * 2**(n-1))``
    seconds. ``seconds``: give up once this long has passed since the first attempt;
    ``max_retries`` (optional): also give up after that many retries.
    """

    seconds: float = 10.0
    max_retries: int | None = None
    base: float = 0.001
    cap: float = 0.05
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    sleep: Callable[[float], object] = field(default=time.sleep, repr=False)
    random: Callable[[], float] = field(default=_random.random, repr=False)

    def __post_init__(self) -> None:
        if not self.seconds > 0:
            raise ValueError(f"seconds must be > 0 (got {self.seconds})")
        if self.max_retries is not None and (
            isinstance(self.max_retries, bool)
            or not isinstance(self.max_retries, int)
            or self.max_retries < 0
        ):
            raise ValueError(f"max_retries must be None or a whole number >= 0 (got {self.max_retries!r})")
        if not 0 < self.base <= self.cap:
            raise ValueError(f"need 0 < base <= cap (got base={self.base}, cap={self.cap})")

    def attempts(self, what: str = "update") -> Iterator[Attempt]:
        """Yield once per attempt of one operation, without end: the first at once, each later
        one after ``Attempt.conflict``'s wait; raises ``RetryLimitExceeded`` (naming ``what``)
        instead when the budget is spent. Leave the loop with ``break`` on success."""
        attempt = Attempt(self, self.clock())
        yield attempt
        while True:
            attempt.conflict(what)
            yield attempt


@dataclass
class Attempt:
    """One operation's retries so far, under a ``Backoff`` policy."""

    policy: Backoff
    started: float
    retries: int = 0  #: how many times the operation has been retried
    waited: float = 0.0  #: seconds slept between attempts, in all

    def conflict(self, what: str = "update") -> None:
        """The attempt just lost to another writer: wait before the next one, or raise
        ``RetryLimitExceeded`` if the time budget (or ``max_retries``) is spent."""
        policy = self.policy
        elapsed = policy.clock() - self.started
        if elapsed >= policy.seconds or (
            policy.max_retries is not None and self.retries >= policy.max_retries
        ):
            raise RetryLimitExceeded(
                f"{what} gave up after {self.retries + 1} conflicting writes in {elapsed:.1f} s "
                "(another writer changed the key every time)"
            )
        limit = min(policy.cap, policy.base * 2.0 ** min(self.retries, 64))  # no overflow
        delay = min(policy.random() * limit, policy.seconds - elapsed)
        self.retries += 1
        self.waited += delay
        policy.sleep(delay)
