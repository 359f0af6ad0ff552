"""lessons.checks.hardening: notebook 05's login-throttle check passes a fixed-window counter,
fails a stub with no ✓, names what is wrong in each faulty variant, and leaves no key behind
(on both backends)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lessons.backend import Client
from lessons.checks.hardening import check_login_throttle


@pytest.fixture
def on_backend(checks_on: Callable[[str], object]) -> object:
    """Run the check against the backend under test (``checks_on`` in conftest)."""
    return checks_on("05")


def incr_expire_nx(r: Client, key: str, window: int) -> int:
    count = r.incr(key)
    r.expire(key, window, nx=True)
    return count


def at_limit(r: Client, key: str, limit: int) -> bool:
    return int(r.get(key) or 0) >= limit


def lines(out: str) -> dict[str, str]:
    """Each property's text -> its mark (✓, ✗ or ·)."""
    return {line[2:]: line[0] for line in out.splitlines() if line[:1] in "✓✗·"}


def test_fixed_window_solution_passes(on_backend: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_login_throttle(incr_expire_nx, at_limit) is True
    out = capsys.readouterr().out
    assert out.count("✓") == 12 and "✗" not in out and "·" not in out
    assert out.rstrip().endswith("All checks passed.")


def test_set_nx_then_incr_passes_too(on_backend: object, capsys: pytest.CaptureFixture[str]) -> None:
    def set_nx_then_incr(r: Client, key: str, window: int) -> int:
        r.set(key, 0, ex=window, nx=True)
        return r.incr(key)

    assert check_login_throttle(set_nx_then_incr, at_limit) is True


def test_stub_earns_no_tick(on_backend: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_login_throttle(lambda r, key, window: 0, lambda r, key, limit: False) is False
    out = capsys.readouterr().out
    assert "✓" not in out
    assert "✗ record_failure returns the count: 1, 2, 3 (saw [0, 0, 0])" in out
    assert "✗ the first failure starts a 60 s window (TTL 60 s) (saw 'PTTL -2')" in out
    assert "· every key written has a TTL" in out
    assert "Not yet: 8 of 12 checks failed." in out


def test_expire_without_nx_extends_the_window_and_fails(
    on_backend: object, capsys: pytest.CaptureFixture[str]
) -> None:
    def incr_expire(r: Client, key: str, window: int) -> int:
        count = r.incr(key)
        r.expire(key, window)  # every failure restarts the window
        return count

    assert check_login_throttle(incr_expire, at_limit) is False
    marks = lines(capsys.readouterr().out)
    restarted = "a later failure does not extend the window (5 s left stays 5 s) (saw 'TTL about 60 s')"
    assert marks[restarted] == "✗"
    assert list(marks.values()).count("✗") == 1


def test_counter_without_ttl_fails(on_backend: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_login_throttle(lambda r, key, window: r.incr(key), at_limit) is False
    marks = lines(capsys.readouterr().out)
    assert marks["the first failure starts a 60 s window (TTL 60 s) (saw 'PTTL -1')"] == "✗"
    assert any(
        text.startswith("every key written has a TTL (saw") and mark == "✗" for text, mark in marks.items()
    )


def test_off_by_one_lock_fails(on_backend: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_login_throttle(incr_expire_nx, lambda r, key, limit: int(r.get(key) or 0) > limit) is False
    marks = lines(capsys.readouterr().out)
    assert marks["is_locked: locked at the limit (5 failures)"] == "✗"
    assert marks["is_locked: locked above the limit (7 failures)"] == "✓"
    assert (
        marks[
            "together: locked after the 5th failure, not before "
            "(saw 'locked after each failure: [False, False, False, False, False]')"
        ]
        == "✗"
    )


def test_is_locked_that_writes_fails(on_backend: object, capsys: pytest.CaptureFixture[str]) -> None:
    def incr_to_read(r: Client, key: str, limit: int) -> bool:
        return r.incr(key) > limit  # counts a failure on every look

    assert check_login_throttle(incr_expire_nx, incr_to_read) is False
    marks = lines(capsys.readouterr().out)
    assert marks["is_locked: no failures, not locked, and no key written"] == "✗"


def test_sorted_set_counter_is_a_line_not_a_traceback(
    on_backend: object, capsys: pytest.CaptureFixture[str]
) -> None:
    def zadd(r: Client, key: str, window: int) -> int:
        r.zadd(key, {str(r.zcard(key)): 0})
        r.expire(key, window, nx=True)
        return r.zcard(key)

    assert check_login_throttle(zadd, at_limit) is False
    out = capsys.readouterr().out
    assert "✗ the counter in Redis holds 3 after 3 failures (saw 'a key of type zset')" in out
    assert "✗ your code raised ResponseError" in out  # at_limit's GET on a sorted set


def test_exception_is_a_line_not_a_traceback(on_backend: object, capsys: pytest.CaptureFixture[str]) -> None:
    def broken(r: Client, key: str, window: int) -> int:
        raise RuntimeError("oops")

    assert check_login_throttle(broken, at_limit) is False
    assert "✗ your code raised RuntimeError: oops" in capsys.readouterr().out
