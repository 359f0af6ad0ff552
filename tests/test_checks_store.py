"""lessons.checks.store: notebook 01's "Your turn" checks pass good code and fail bad code,
say why, and leave no key behind (on both backends)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lessons.backend import Client
from lessons.checks.store import check_refresh, check_update_keep_ttl


@pytest.fixture
def on_backend(checks_on: Callable[[str], object]) -> object:
    """Run the checks against the backend under test (``checks_on`` in conftest)."""
    return checks_on("01")


def test_refresh_solution_passes(on_backend: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_refresh(lambda r, key, ttl: bool(r.expire(key, ttl))) is True
    out = capsys.readouterr().out
    assert "✗" not in out and out.rstrip().endswith("All checks passed.")


def test_refresh_stub_fails_and_says_what_to_do(
    on_backend: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check_refresh(lambda r, key, ttl: None) is False
    out = capsys.readouterr().out
    assert "✗ returns True for a live session" in out
    assert "✗ resets its TTL to 60 s (it had 5 s left) (saw 'still 5 s or less: not reset')" in out
    assert "· does not create the missing session (counts once the rest works" in out
    assert "· leaves the value unchanged (counts once the rest works" in out
    assert "✓" not in out, "a stub that does nothing earns no ✓"
    assert "Not yet: 4 of 6 checks failed." in out


def test_refresh_that_only_answers_true_earns_the_trivial_lines_too(
    on_backend: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """Once one real property passes, the properties a stub also has count as ✓."""
    assert check_refresh(lambda r, key, ttl: True) is False
    out = capsys.readouterr().out
    assert "✓ returns True for a live session" in out
    assert "✓ leaves the value unchanged" in out and "✓ does not create the missing session" in out
    assert "✗ resets its TTL to 60 s (it had 5 s left) (saw 'still 5 s or less: not reset')" in out


def test_refresh_with_two_commands_fails(on_backend: object, capsys: pytest.CaptureFixture[str]) -> None:
    def exists_then_expire(r: Client, key: str, ttl: int) -> bool:
        return bool(r.exists(key)) and bool(r.expire(key, ttl))

    assert check_refresh(exists_then_expire) is False
    assert "✗ sends one command (one round trip) (saw ['EXISTS', 'EXPIRE'])" in capsys.readouterr().out


def test_refresh_that_creates_the_missing_session_fails(
    on_backend: object, capsys: pytest.CaptureFixture[str]
) -> None:
    def setex(r: Client, key: str, ttl: int) -> bool:
        return bool(r.set(key, "data", ex=ttl))

    assert check_refresh(setex) is False
    out = capsys.readouterr().out
    assert "✗ returns False for a missing session" in out
    assert "✗ does not create the missing session" in out


def test_refresh_exception_is_a_line_not_a_traceback(
    on_backend: object, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(r: Client, key: str, ttl: int) -> bool:
        raise RuntimeError("oops")

    assert check_refresh(broken) is False
    assert "✗ your code raised RuntimeError: oops" in capsys.readouterr().out


def test_update_keep_ttl_solution_passes(on_backend: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_update_keep_ttl(lambda r, key, value: r.set(key, value, keepttl=True)) is True
    assert capsys.readouterr().out.rstrip().endswith("All checks passed.")


def test_update_keep_ttl_stub_fails_every_write_check(
    on_backend: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check_update_keep_ttl(lambda r, key, value: None) is False
    out = capsys.readouterr().out
    assert "✗ writes the new value (saw 'old')" in out
    assert "✗ keeps the remaining TTL (about 50 s) while writing (nothing was written yet)" in out
    assert "· does not read the TTL first (counts once the rest works" in out
    assert "✓" not in out, "a stub that does nothing earns no ✓"
    assert "Not yet: 3 of 4 checks failed." in out


def test_update_that_drops_the_ttl_fails(on_backend: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_update_keep_ttl(lambda r, key, value: r.set(key, value)) is False
    out = capsys.readouterr().out
    assert "✗ keeps the remaining TTL (about 50 s) (saw -1)" in out
    assert "✓ writes the new value" in out and "✓ does not read the TTL first" in out


def test_update_that_reads_the_ttl_fails(on_backend: object, capsys: pytest.CaptureFixture[str]) -> None:
    def ttl_then_set(r: Client, key: str, value: str) -> None:
        r.set(key, value, ex=r.ttl(key))

    assert check_update_keep_ttl(ttl_then_set) is False
    out = capsys.readouterr().out
    assert "✗ does not read the TTL first" in out and "✗ uses one round trip" in out
