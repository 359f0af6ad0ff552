"""lessons.interleave: stand-in clients log commands, remember replies and pause exactly where
asked: by command name or at any command (``"*"`` with ``skip``), inside a WATCH/MULTI pipeline,
and between the commands of a pipeline without MULTI (all backends).

Deterministic: every reply asserted here is fixed by the commands (no TTL that runs down while
the test waits, no time window).
"""

from __future__ import annotations

from typing import cast

import pytest
import redis

from lessons.backend import Client
from lessons.interleave import pause_after, pause_before, recording


def test_recording_logs_commands_and_remembers_replies(client: Client, prefix: str) -> None:
    stand_in = recording(client)
    key = f"{prefix}:k"
    assert stand_in.set(key, "v", ex=30) is True
    assert stand_in.exists(key) == 1
    assert stand_in.pexpire(key, 60_000, gt=True) is True  # 60 s > 30 s: extended
    assert stand_in.pexpire(key, 1_000, gt=True) is False  # never shortened by GT
    assert stand_in.delete(key) == 1
    assert stand_in.exists(key) == 0
    assert stand_in.log == ["SET", "EXISTS", "PEXPIRE", "PEXPIRE", "DELETE", "EXISTS"]
    assert stand_in.replies("exists") == [1, 0] and stand_in.replies("EXISTS") == [1, 0]
    assert stand_in.replies("pexpire") == [True, False]


def test_pause_before_runs_the_action_once_before_the_command(client: Client, prefix: str) -> None:
    key = f"{prefix}:k"
    client.set(key, "v", ex=30)
    stand_in = pause_before(client, "exists", lambda: client.delete(key))
    assert stand_in.get(key) == "v"
    assert stand_in.exists(key) == 0  # someone else deleted it just before
    client.set(key, "v", ex=30)
    assert stand_in.exists(key) == 1  # paused once only
    assert stand_in.log == ["GET", "(paused before EXISTS: someone else acts)", "EXISTS", "EXISTS"]


def test_any_command_with_skip_pauses_at_that_position(client: Client, prefix: str) -> None:
    key = f"{prefix}:k"
    seen: list[int] = []
    stand_in = pause_after(client, "*", lambda: seen.append(client.exists(key)), skip=1)
    stand_in.set(key, "v", ex=30)  # 1st command: let through
    stand_in.delete(key)  # 2nd: the action runs after it
    stand_in.set(key, "v", ex=30)
    assert seen == [0]
    assert stand_in.log == ["SET", "DELETE", "(paused after DELETE: someone else acts)", "SET"]


def test_refused_command_is_logged_and_raised(client: Client, prefix: str) -> None:
    stand_in = recording(client)
    with pytest.raises(redis.ResponseError, match="invalid expire time"):
        stand_in.set(f"{prefix}:k", "v", ex=0)
    assert stand_in.log == ["SET (refused: ResponseError)"]


def test_pause_after_works_inside_a_watched_pipeline(client: Client, prefix: str) -> None:
    key = f"{prefix}:k"
    client.set(key, "old", ex=30)
    stand_in = pause_after(client, "get", lambda: client.set(key, "theirs", ex=30))
    with stand_in.pipeline(transaction=True) as pipe:
        pipe.watch(key)
        assert pipe.get(key) == "old"  # the action ran right after this reply
        pipe.multi()
        pipe.set(key, "mine", ex=30)
        with pytest.raises(redis.WatchError, match="Watched variable changed"):
            pipe.execute()
    assert client.get(key) == "theirs"
    assert stand_in.log == [
        "WATCH",
        "GET",
        "(paused after GET: someone else acts)",
        "MULTI",
        "SET",
        "EXEC (refused: WatchError)",
    ]


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_pause_inside_a_pipeline_without_multi_splits_it_there(
    client: Client, prefix: str, when: str
) -> None:
    """Redis may run other clients' commands between those of a pipeline without MULTI: a pause
    at a queued command happens there, with the commands before it already applied."""
    first, second, third = (f"{prefix}:{n}" for n in ("a", "b", "c"))
    seen: list[list[int]] = []

    def look() -> None:
        seen.append([client.exists(k) for k in (first, second, third)])

    pause = pause_before if when == "before" else pause_after
    stand_in = pause(client, "set", look, skip=1)  # at the 2nd SET
    pipe = stand_in.pipeline(transaction=False)
    assert cast(object, pipe.set(first, "1", ex=30)) is pipe  # queued commands chain on the stand-in
    pipe.set(second, "2", ex=30)
    pipe.get(first)
    pipe.set(third, "3", ex=30)
    assert pipe.execute() == [True, True, "1", True]  # every reply, in order
    assert seen == ([[1, 0, 0]] if when == "before" else [[1, 1, 0]])
    assert [client.get(k) for k in (first, second, third)] == ["1", "2", "3"]
    marker = f"(paused {when} SET: someone else acts)"
    expected = ["SET", "SET", "GET", "SET", "EXECUTE"]
    expected.insert(1 if when == "before" else 2, marker)
    assert stand_in.log == expected


def test_a_pause_before_execute_sends_nothing_early(client: Client, prefix: str) -> None:
    key = f"{prefix}:k"
    seen: list[int] = []
    stand_in = pause_before(client, "execute", lambda: seen.append(client.exists(key)))
    pipe = stand_in.pipeline(transaction=False)
    pipe.set(key, "v", ex=30)
    assert pipe.execute() == [True]
    assert seen == [0] and client.get(key) == "v"


@pytest.mark.cluster_unsupported("it reads client.connection_pool, which a RedisCluster client does not have")
def test_non_callable_attributes_pass_through(client: Client) -> None:
    assert isinstance(client, redis.Redis)
    assert recording(client).connection_pool is client.connection_pool
