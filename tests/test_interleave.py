"""lessons.interleave: stand-in clients log commands, remember replies and pause exactly once
where asked, including inside a WATCH/MULTI pipeline (both backends)."""

from __future__ import annotations

import pytest
import redis

from lessons.interleave import pause_after, pause_before, recording


def test_recording_logs_commands_and_remembers_replies(client, prefix):
    stand_in = recording(client)
    key = f"{prefix}:k"
    stand_in.set(key, "v", px=1400)
    assert stand_in.ttl(key) == 1           # TTL rounds 1.4 s to the nearest second
    stand_in.pexpire(key, 1600)
    assert stand_in.ttl(key) == 2           # ... up as well as down
    assert stand_in.log == ["SET", "TTL", "PEXPIRE", "TTL"]
    assert stand_in.replies("ttl") == [1, 2] and stand_in.replies("TTL") == [1, 2]


def test_pause_before_runs_the_action_once_before_the_command(client, prefix):
    key = f"{prefix}:k"
    client.set(key, "v", ex=30)
    stand_in = pause_before(client, "ttl", lambda: client.delete(key))
    assert stand_in.get(key) == "v"
    assert stand_in.ttl(key) == -2          # someone else deleted it just before
    client.set(key, "v", ex=30)
    assert stand_in.ttl(key) == 30          # paused once only
    assert stand_in.log == ["GET", "(paused before TTL: someone else acts)", "TTL", "TTL"]


def test_refused_command_is_logged_and_raised(client, prefix):
    stand_in = recording(client)
    with pytest.raises(redis.ResponseError):
        stand_in.set(f"{prefix}:k", "v", ex=0)
    assert stand_in.log == ["SET (refused: ResponseError)"]


def test_pause_after_works_inside_a_watched_pipeline(client, prefix):
    key = f"{prefix}:k"
    client.set(key, "old", ex=30)
    stand_in = pause_after(client, "get", lambda: client.set(key, "theirs", ex=30))
    with stand_in.pipeline(transaction=True) as pipe:
        pipe.watch(key)
        assert pipe.get(key) == "old"       # the action ran right after this reply
        pipe.multi()
        pipe.set(key, "mine", ex=30)
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert client.get(key) == "theirs"
    assert stand_in.log == ["WATCH", "GET", "(paused after GET: someone else acts)", "MULTI",
                            "SET", "EXEC (refused: WatchError)"]


@pytest.mark.cluster_unsupported("it reads client.connection_pool, which a RedisCluster client does not have")
def test_non_callable_attributes_pass_through(client):
    assert recording(client).connection_pool is client.connection_pool
