"""lessons.classroom: one namespace per distinct learner name, resets that touch only their own
learner's keys, editions kept apart, and a CLI that refuses a malformed REDIS_URL (issue 16,
items 7 and 8)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unicodedata
import uuid
from pathlib import Path

import pytest
from pytest import MonkeyPatch

from lessons import backend, classroom
from lessons.backend import Client
from lessons.classroom import learner_key, namespace

SANITIZE = Path(__file__).resolve().parent / "nbval_sanitize.cfg"

# Names that shared a namespace before (issue 16, item 7): every pair must differ.
COLLIDED = [
    ("たろう", "はなこ"),
    ("はなこ", "アリス"),
    ("アリス", "🐱"),
    ("たろう", "🐱"),
    ("*", "?"),
    ("*", ":"),
    (".", "-"),
    ("?", "learner"),
    (":", "たろう"),
    ("Alice", "alice"),
    ("José", "jos"),
    ("José", "jose"),
    ("ｱﾘｽ", "アリス"),
    ("x" * 40 + "a", "x" * 40 + "b"),
    ("x" * 40, "x" * 41),
    ("太郎", "花子"),
    ("alice", "alice-" + learner_key("Alice").rsplit("-", 1)[1]),
]
NAMES = sorted({name for pair in COLLIDED for name in pair})


def sanitized(text: str) -> str:
    """``text`` with the sanitize file's [learner-namespace] rule applied, as nbval does."""
    section = SANITIZE.read_text().split("[learner-namespace]", 1)[1]
    regex = re.search(r"^regex: (.*)$", section, re.MULTILINE)
    replace = re.search(r"^replace: (.*)$", section, re.MULTILINE)
    assert regex and replace, "the [learner-namespace] rule lacks its regex: or replace: line"
    return re.sub(regex.group(1), replace.group(1), text)


@pytest.mark.parametrize(("first", "second"), COLLIDED, ids=lambda n: n.encode("unicode_escape").decode())
def test_names_that_collided_get_their_own_namespaces(
    first: str, second: str, monkeypatch: MonkeyPatch
) -> None:
    monkeypatch.setenv("COURSE_LEARNER", first)
    one = namespace("01")
    monkeypatch.setenv("COURSE_LEARNER", second)
    assert namespace("01") != one


def test_every_name_has_a_distinct_segment_that_is_key_safe_and_sanitizes() -> None:
    segments = {name: learner_key(name) for name in NAMES}
    assert len(set(segments.values())) == len(NAMES)
    for name, segment in segments.items():
        assert not set(segment) & set("*?[]\\: "), (name, segment)
        assert re.fullmatch(r"[a-z0-9_-]{1,32}", segment), (name, segment)
        # the namespace hides whatever the name, and no other rule (a 43-character token) takes it
        assert (
            sanitized(f"keys under course:{segment}:01:lesson:x") == "keys under course:<LEARNER>:01:lesson:x"
        )
        assert not re.search(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])", segment)


def test_readable_slugs_and_plain_names() -> None:
    assert learner_key("alice") == "alice" and learner_key("local") == "local"
    assert learner_key("  alice ") == "alice"
    assert learner_key("たろう").startswith("tarou-")
    assert learner_key("はなこ").startswith("hanako-")
    assert learner_key("アリス").startswith("arisu-")
    assert learner_key("きょうこ").startswith("kyouko-")
    assert learner_key("まっちゃ").startswith("matcha-")
    assert learner_key("🐱").startswith("cat-face-")
    assert learner_key("José").startswith("jose-")
    assert learner_key("太郎").startswith("learner-")  # kanji: no reading without a dictionary
    assert re.fullmatch(r"alice-[0-9a-f]{8}", learner_key("Alice"))


def test_a_name_typed_decomposed_is_the_same_learner() -> None:
    """NFC: が as one code point or as か + a combining mark (what macOS sends) is one name."""
    composed = "がくと"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert learner_key(composed) == learner_key(decomposed)


def test_the_english_namespace_is_unchanged_and_editions_are_apart(monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_LEARNER", "alice")
    assert namespace("01") == "course:alice:01"
    assert namespace("02", "lesson") == "course:alice:02:lesson"
    assert namespace("01", edition="en") == namespace("01")
    assert namespace("01", edition="ja") == namespace("ja-01") == "course:alice:ja-01"
    assert namespace("02", "lesson", edition="ja") == "course:alice:ja-02:lesson"


@pytest.mark.parametrize("part", ["", "*", "0?", "[01]", "a\\b", "01:x", "0 1"])
def test_a_part_cannot_widen_a_pattern(part: str, monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_LEARNER", "alice")
    with pytest.raises(ValueError, match="a namespace part must be one non-empty key segment"):
        namespace(part)


@pytest.mark.parametrize("edition", ["*", "j", "JA", "ja-01", ""])
def test_an_edition_is_a_language_code(edition: str) -> None:
    with pytest.raises(ValueError, match="an edition is a language code"):
        namespace("01", edition=edition)
    with pytest.raises(ValueError, match="an edition belongs to a notebook"):
        namespace(edition="ja")  # an edition belongs to a notebook


def _write(
    client: Client, monkeypatch: MonkeyPatch, name: str, *parts: str, edition: str | None = None
) -> list[str]:
    monkeypatch.setenv("COURSE_LEARNER", name)
    ns = namespace(*parts, edition=edition)
    keys = [f"{ns}:lesson:{i}" for i in range(3)]
    for key in keys:
        client.set(key, name, ex=120)
    return keys


@pytest.fixture
def tag() -> str:
    """A suffix that makes this test's learner names its own on a shared Redis."""
    return uuid.uuid4().hex[:8]


@pytest.mark.parametrize(
    ("first", "second"),
    [("たろう", "はなこ"), ("アリス", "🐱"), ("*", "?"), ("Alice", "alice"), ("José", "jos")],
)
def test_one_learners_reset_leaves_anothers_keys(
    client: Client, monkeypatch: MonkeyPatch, tag: str, first: str, second: str
) -> None:
    """はなこ's reset("01") deleted たろう's keys: both were course:learner:01:…"""
    theirs = _write(client, monkeypatch, f"{first}{tag}", "01")
    mine = _write(client, monkeypatch, f"{second}{tag}", "01")
    try:
        assert classroom.reset("01", client=client) == len(mine)  # as the second learner
        assert client.exists(*mine) == 0
        assert client.exists(*theirs) == len(theirs)
        assert {client.get(k) for k in theirs} == {f"{first}{tag}"}
    finally:
        for key in theirs + mine:
            client.delete(key)


def test_a_glob_name_cannot_widen_the_reset(client: Client, monkeypatch: MonkeyPatch, tag: str) -> None:
    """A learner called '*' resets only '*': its namespace holds no glob character."""
    others = _write(client, monkeypatch, f"bob{tag}", "01") + _write(client, monkeypatch, f"?{tag}", "01")
    mine = _write(client, monkeypatch, f"*{tag}", "01")
    try:
        assert not set(namespace("01")) & set("*?[]\\")
        assert classroom.reset("01", client=client) == len(mine)
        assert client.exists(*others) == len(others)
    finally:
        for key in others + mine:
            client.delete(key)


def test_reset_of_one_edition_leaves_the_other(client: Client, monkeypatch: MonkeyPatch, tag: str) -> None:
    english = _write(client, monkeypatch, f"たろう{tag}", "01")
    japanese = _write(client, monkeypatch, f"たろう{tag}", "01", edition="ja")
    try:
        assert classroom.reset("01", client=client) == len(english)
        assert client.exists(*japanese) == len(japanese)
        assert classroom.reset("01", client=client, edition="ja") == len(japanese)
        assert client.exists(*japanese) == 0
    finally:
        for key in english + japanese:
            client.delete(key)


MALFORMED = [
    "redis://127.0.0.1:6379/13x",
    "redis://127.0.0.1:6379/three",
    "redis://127.0.0.1:6379/abc",
    "redsi://127.0.0.1:6379/0",
    "redis://127.0.0.1:63x9/0",
]


@pytest.mark.parametrize("url", MALFORMED)
def test_clean_refuses_a_malformed_url_in_one_line(
    url: str, monkeypatch: MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REDIS_URL", url)
    assert classroom.main(["clean"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("lessons.classroom: REDIS_URL ")


def test_clean_from_the_command_line_refuses_and_deletes_nothing() -> None:
    """/13x used to clean database 0: every learner's keys there. The command runs against this
    process's embedded server (never a shared Redis, in case it does clean); a course key in
    database 0 is still there after each refused clean."""
    client = backend.connect(backend.embedded_url())
    key = f"course:test-{uuid.uuid4().hex[:8]}:01:sentinel"
    client.set(key, "1", ex=120)
    base = backend.embedded_url().rsplit("/", 1)[0]
    try:
        for bad in (f"{base}/13x", f"{base}/three", f"{base}/99999", f"{base}/0?db=x"):
            env = {**os.environ, "REDIS_URL": bad}
            done = subprocess.run(
                [sys.executable, "-m", "lessons.classroom", "clean"],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 2, done.stderr
            assert done.stdout == "" and done.stderr.count("\n") == 1, done.stderr
            assert client.exists(key) == 1
        done = subprocess.run(
            [sys.executable, "-m", "lessons.classroom", "clean"],
            env={**os.environ, "REDIS_URL": f"{base}/0"},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0 and done.stdout.startswith("Deleted "), done.stderr
        assert client.exists(key) == 0  # the same command with a good URL does clean
    finally:
        client.delete(key)
