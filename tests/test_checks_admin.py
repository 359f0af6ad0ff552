"""The lock-out exercise of notebook 03 (``lessons.checks.admin.check_lock_out``), on both
backends: a stub earns no ✓, the reference passes, and each of the two races catches its own
mistake (no re-check after the create; revoking before disabling)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest import MonkeyPatch

from lessons.admin import SessionAdmin
from lessons.backend import Client
from lessons.checks.admin import check_lock_out, disabled_key
from lessons.classroom import namespace
from lessons.store import SessionStore

LOCK_SECONDS = 600
RACE_INSIDE_LOGIN = "race 1, lock_out runs while a login is between its check and its create"
RACE_INSIDE_LOCK_OUT = "race 2, a login runs in the middle of lock_out"


def disable(store: SessionStore, user_id: int, ttl: int | None = LOCK_SECONDS) -> None:
    if ttl is None:
        store.r.set(disabled_key(store.prefix, user_id), 1)
    else:
        store.r.set(disabled_key(store.prefix, user_id), 1, ex=ttl)


def revoke(store: SessionStore, user_id: int) -> None:
    SessionAdmin.for_store(store).revoke_all_sessions(user_id)


def lock_out(store: SessionStore, user_id: int) -> None:
    disable(store, user_id)
    revoke(store, user_id)


def login(store: SessionStore, user_id: int) -> str | None:
    key = disabled_key(store.prefix, user_id)
    if store.r.exists(key):
        return None
    sid = store.create({"user_id": user_id})
    if store.r.exists(key):  # disabled while the session was being created
        store.delete(sid)
        return None
    return sid


def login_without_recheck(store: SessionStore, user_id: int) -> str | None:
    if store.r.exists(disabled_key(store.prefix, user_id)):
        return None
    return store.create({"user_id": user_id})


def revoke_then_disable(store: SessionStore, user_id: int) -> None:
    revoke(store, user_id)
    disable(store, user_id)


def lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line[:1] in "✓✗·"]


@pytest.fixture
def checking(redis_url: str, client: Client, monkeypatch: MonkeyPatch, learner: str) -> Iterator[None]:
    """The check pointed at the backend under test; asserts it leaves no key behind."""
    monkeypatch.setattr("lessons.backend.redis_url", lambda: redis_url)
    before = set(client.scan_iter(match=f"{namespace('03')}:check-*"))
    yield
    assert set(client.scan_iter(match=f"{namespace('03')}:check-*")) == before


def test_a_stub_earns_no_tick(checking: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_lock_out(lambda store, user_id: None, lambda store, user_id: None) is False
    out = capsys.readouterr().out
    assert "✓" not in out
    assert [line[0] for line in lines(out)] == ["✗", "✗", "✗", "·", "·", "✗", "✗"]
    assert "login never reached store.create" in out
    assert "lock_out sent no command through store.r" in out
    assert out.rstrip().endswith("Edit your code above, run its cell, then run this check again.")


def test_the_reference_passes(checking: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_lock_out(lock_out, login) is True
    out = capsys.readouterr().out
    assert len(lines(out)) == 7 and all(line.startswith("✓") for line in lines(out))
    assert out.rstrip().endswith("All checks passed.")


def test_a_login_without_a_second_look_loses_the_race_inside_login(
    checking: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check_lock_out(lock_out, login_without_recheck) is False
    failed = [line for line in lines(capsys.readouterr().out) if line.startswith("✗")]
    assert len(failed) == 1 and RACE_INSIDE_LOGIN in failed[0]
    assert "login answered a session ID, 1 session(s) alive" in failed[0]


def test_revoking_before_disabling_lets_a_login_through(
    checking: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check_lock_out(revoke_then_disable, login) is False
    failed = [line for line in lines(capsys.readouterr().out) if line.startswith("✗")]
    assert len(failed) == 1 and RACE_INSIDE_LOCK_OUT in failed[0]
    assert "1 session(s) alive after lock_out" in failed[0]


def test_a_disabled_mark_without_ttl_fails_and_is_cleaned_up(
    checking: None, capsys: pytest.CaptureFixture[str]
) -> None:
    def lock_out_forever(store: SessionStore, user_id: int) -> None:
        disable(store, user_id, ttl=None)
        revoke(store, user_id)

    assert check_lock_out(lock_out_forever, login) is False
    failed = [line for line in lines(capsys.readouterr().out) if line.startswith("✗")]
    assert failed == [
        "✗ lock_out marks the account disabled: disabled_key(prefix, user_id), "
        "with a TTL (saw 'a key without a TTL')"
    ]


def test_a_login_that_raises_is_a_cross_not_a_traceback(
    checking: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check_lock_out(lock_out, lambda store, user_id: 1 / 0) is False
    assert "✗ your code raised ZeroDivisionError" in capsys.readouterr().out
