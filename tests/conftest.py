"""Fixtures shared by the tests: every test that takes ``redis_url`` runs on both backends.

- ``embedded``: the course's embedded fakeredis TCP server (always).
- ``real``: the Redis at ``$REDIS_URL`` (only when it is set; CI sets it). It may be any node of
  a Redis Cluster (CI's third pass, ``tools/ci-cluster-pass``): ``backend.connect`` then returns a
  ``RedisCluster``. A test that cannot make sense there (one MULTI over keys in several slots,
  exact single-server round-trip counts, the single-node SCAN cursor) carries
  ``@pytest.mark.cluster_unsupported("why")`` and is skipped with that reason on a cluster.

Each test gets its own key prefix; at teardown the test fails if any key under that prefix has
no TTL, then every key under it is deleted. Nothing else on a shared Redis is touched.

Shared fixtures for the session code: ``store`` (a ``SessionStore`` under the test's prefix, its
round trips counted by ``trips``, idle TTL ``session_ttl``), ``app`` (``create_app(store)``),
``log_in`` (a browser that has logged in) and ``learner`` (a ``COURSE_LEARNER`` of the test's own,
so that two test runs on one Redis never share the course's namespaced keys). A module that needs
something else overrides the fixture by defining one of the same name.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator

# Build matplotlib's font cache now, so that its one-time notice never lands in a notebook
# output that nbval compares.
import matplotlib
import pytest
from fastapi import FastAPI
from pytest import FixtureRequest, MonkeyPatch
from redis.cluster import RedisCluster

from lessons import backend, classroom
from lessons.admin import keys_without_ttl
from lessons.backend import Client
from lessons.rediscluster.local import INSTALL_HINT, LocalRedisCluster, local_cluster
from lessons.roundtrips import RoundTrips, counting_client
from lessons.store import SessionStore
from lessons.web import TestClient, create_app

matplotlib.use("Agg")
import matplotlib.pyplot

BACKENDS = ["embedded", "real"]


#: Test modules that never use the Redis that ``REDIS_URL`` names: pure functions, the notebooks'
#: structure and the builds, grading (always on the embedded backend), and the Redis Cluster tests
#: that start clusters of their own. A pass with ``COURSE_SKIP_EMBEDDED=1`` (CI's real-Redis pass,
#: after the embedded pass ran everything) skips them instead of running the same thing twice.
SAME_ON_EVERY_BACKEND = {
    "test_backoff",
    "test_grading",
    "test_i18n_notebooks",
    "test_layers",
    "test_learner_edition",
    "test_lock",
    "test_notebook_structure",
    "test_percentile",
    "test_processes",
    "test_rediscluster_durability",
    "test_rediscluster_failover",
    "test_rediscluster_local",
    "test_scan_model",
    "test_slides",
    "test_study_time",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``COURSE_SKIP_EMBEDDED=1``, skip the modules of ``SAME_ON_EVERY_BACKEND``."""
    if os.environ.get("COURSE_SKIP_EMBEDDED") != "1":
        return
    skip = pytest.mark.skip(reason="COURSE_SKIP_EMBEDDED=1: does not use REDIS_URL, ran in the embedded pass")
    for item in items:
        if item.path.stem in SAME_ON_EVERY_BACKEND and item.path.parent.name == "tests":
            item.add_marker(skip)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "cluster_unsupported(reason): skip this test when the backend is a Redis "
        "Cluster, saying why (a single-server assumption, not a bug being hidden)",
    )


def skip_if_cluster(request: FixtureRequest, url: str) -> None:
    """Skip the running test if it is marked ``cluster_unsupported`` and ``url`` is a cluster."""
    marker = request.node.get_closest_marker("cluster_unsupported")
    if marker is not None and backend.is_cluster(url):
        reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
        pytest.skip(f"not on a Redis Cluster: {reason}")


def url_for_backend(name: str) -> str:
    """The URL for backend ``name`` ("embedded" or "real"); skips the test when "real" has no REDIS_URL."""
    if name == "embedded":
        if os.environ.get("COURSE_SKIP_EMBEDDED") == "1":
            pytest.skip("COURSE_SKIP_EMBEDDED=1: the embedded backend ran in another pass")
        return backend.embedded_url()
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set: no real Redis to test against")
    return url


@pytest.fixture
def real_redis_url(request: FixtureRequest) -> str:
    """``$REDIS_URL`` (skips the test when it is not set, or when the test is marked
    ``cluster_unsupported`` and it is a cluster)."""
    url = url_for_backend("real")
    skip_if_cluster(request, url)
    return url


@pytest.fixture(params=BACKENDS)
def redis_url(request: FixtureRequest) -> str:
    """The URL of the backend under test."""
    url = url_for_backend(request.param)
    skip_if_cluster(request, url)
    return url


@pytest.fixture
def client(redis_url: str) -> Iterator[Client]:
    """A decode_responses client for the backend under test."""
    c = backend.connect(redis_url)
    yield c
    c.close()


@pytest.fixture
def counted_client(redis_url: str) -> Iterator[tuple[Client, RoundTrips]]:
    """(client, trips): a client for the backend under test that counts its round trips."""
    client, trips = counting_client(redis_url)
    yield client, trips
    client.close()


@pytest.fixture
def trips(counted_client: tuple[Client, RoundTrips]) -> RoundTrips:
    """The round-trip counter of ``counted_client``."""
    return counted_client[1]


@pytest.fixture
def prefix(client: Client) -> Iterator[str]:
    """A key prefix owned by this test; keys under it must all have a TTL at teardown."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    immortal = keys_without_ttl(client, f"{name}*")
    backend.delete_prefix(client, name)
    assert not immortal, f"keys without a TTL were left behind: {immortal}"


@pytest.fixture
def session_ttl() -> int:
    """The idle TTL (seconds) of the shared ``store``; a module overrides this fixture to change it."""
    return 60


@pytest.fixture
def store(counted_client: tuple[Client, RoundTrips], prefix: str, session_ttl: int) -> SessionStore:
    """A ``SessionStore`` on the backend under test, under this test's ``prefix``, on the
    counting client (so ``trips`` counts its round trips), idle TTL ``session_ttl``."""
    return SessionStore(client=counted_client[0], prefix=prefix, default_ttl=session_ttl)


@pytest.fixture
def app(store: SessionStore) -> FastAPI:
    """The course's web app (``create_app``, demo users) on ``store``."""
    return create_app(store)


@pytest.fixture
def log_in() -> Callable[..., TestClient]:
    """``log_in(app, username="alice", password="wonderland")``: an https ``TestClient`` (a
    browser) that has logged in, asserting the 200."""

    def log_in(app: FastAPI, username: str = "alice", password: str = "wonderland") -> TestClient:
        browser = TestClient(app, base_url="https://testserver")
        response = browser.post("/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return browser

    return log_in


@pytest.fixture
def learner(monkeypatch: MonkeyPatch) -> str:
    """A ``COURSE_LEARNER`` of this test's own, set in the environment: the course's namespaced
    keys (``lessons.classroom``) then never meet those of a second test run on the same Redis."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("COURSE_LEARNER", name)
    return name


@pytest.fixture
def checks_on(redis_url: str, monkeypatch: MonkeyPatch, learner: str) -> Iterator[Callable[[str], object]]:
    """``checks_on("05")``: a client of the backend under test, with ``REDIS_URL`` pointing there
    and a ``COURSE_LEARNER`` of this test's own, for running that notebook's "Your turn" checks.
    At teardown the test fails if a check left a key under ``course:{learner}:{notebook}:check-…``,
    and those keys are deleted."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    client = backend.connect(redis_url)
    notebooks: list[str] = []

    def on(notebook: str) -> object:
        notebooks.append(notebook)
        return client

    yield on
    try:
        for notebook in notebooks:
            prefix = classroom.namespace(notebook, "check-")
            left = list(client.scan_iter(match=prefix + "*", count=1000))
            backend.delete_prefix(client, prefix)
            assert not left, f"a check of notebook {notebook} left keys behind: {left}"
    finally:
        client.close()


@pytest.fixture(scope="module")
def ha_cluster() -> Iterator[LocalRedisCluster]:
    """A local Redis Cluster of 3 masters + 3 replicas for one test module (its tests may kill
    masters), from ``redis-server``; skipped, saying how to install it, when there is none."""
    if shutil.which("redis-server") is None:
        pytest.skip(INSTALL_HINT)
    with local_cluster(masters=3, replicas=1, progress=False) as cluster:
        print(f"\n3+3 cluster ready in {cluster.start_seconds:.2f} s")
        yield cluster


@pytest.fixture
def ha_rc(ha_cluster: LocalRedisCluster) -> Iterator[RedisCluster]:
    """A cluster client for ``ha_cluster``."""
    client = ha_cluster.client()
    yield client
    client.close()
