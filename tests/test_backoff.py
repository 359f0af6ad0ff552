"""lessons.backoff: the waits between retries, and when an operation gives up (no Redis, no
real sleeping: the clock and the sleep are driven by hand)."""

from __future__ import annotations

from typing import Any

import pytest

from lessons.backoff import Attempt, Backoff
from lessons.errors import CourseError, RetryLimitExceeded


class Clock:
    """A clock that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def policy(clock: Clock, **kwargs: Any) -> Backoff:
    return Backoff(clock=lambda: clock.now, sleep=clock.sleep, **kwargs)


def run(backoff: Backoff, conflicts: int) -> Attempt:
    """Pretend an operation conflicts ``conflicts`` times, then succeeds; its Attempt."""
    for attempt in backoff.attempts("test"):
        if attempt.retries == conflicts:
            return attempt
    raise AssertionError("attempts() ended")  # pragma: no cover


def test_the_wait_limit_doubles_up_to_the_cap_with_full_jitter() -> None:
    clock = Clock()
    attempt = run(policy(clock, base=0.25, cap=2.0, random=lambda: 1.0), conflicts=6)
    assert clock.sleeps == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
    assert (attempt.retries, attempt.waited) == (6, 7.75)
    clock = Clock()
    run(policy(clock, base=0.25, cap=2.0, random=lambda: 0.5), conflicts=4)
    assert clock.sleeps == [0.125, 0.25, 0.5, 1.0]  # a random fraction of the limit


def test_no_conflict_no_wait() -> None:
    clock = Clock()
    attempt = run(policy(clock), conflicts=0)
    assert (attempt.retries, clock.sleeps) == (0, [])


def test_it_gives_up_only_when_the_time_budget_is_spent() -> None:
    clock = Clock()
    backoff = policy(clock, seconds=2.0, base=0.5, cap=1.0, random=lambda: 1.0)
    with pytest.raises(RetryLimitExceeded, match="test gave up after 4 conflicting writes") as info:
        run(backoff, conflicts=1000)
    assert clock.sleeps == [0.5, 1.0, 0.5]  # the last wait ends exactly at the budget
    assert str(info.value) == (
        "test gave up after 4 conflicting writes in 2.0 s (another writer changed the key every time)"
    )
    assert isinstance(info.value, CourseError)


def test_a_budget_of_many_retries_is_not_a_count() -> None:
    clock = Clock()
    attempt = run(policy(clock, seconds=10.0, base=0.001, cap=0.001, random=lambda: 1.0), 5000)
    assert attempt.retries == 5000 and clock.now == pytest.approx(5.0)


def test_max_retries_caps_the_count_too() -> None:
    clock = Clock()
    with pytest.raises(RetryLimitExceeded, match="after 3 conflicting writes"):
        run(policy(clock, max_retries=2), conflicts=3)
    assert len(clock.sleeps) == 2
    with pytest.raises(RetryLimitExceeded, match="after 1 conflicting writes"):
        run(policy(Clock(), max_retries=0), conflicts=1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"seconds": 0},
        {"seconds": -1},
        {"max_retries": -1},
        {"max_retries": 1.5},
        {"max_retries": True},
        {"base": 0},
        {"base": 0.1, "cap": 0.01},
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"seconds must be > 0|max_retries must be|need 0 < base <= cap"):
        Backoff(**kwargs)
