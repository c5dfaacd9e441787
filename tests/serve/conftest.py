"""Fixtures for the `meshkit serve` tests: the mock upstream, a real redis-server."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator

import pytest

from meshkit.connectors.storage.redis_server import RedisServer, RedisServerNotFoundError, start_redis_server
from meshkit.testing.mock_server import MockOpenAIServer


@pytest.fixture(scope="module")
def upstream() -> Iterator[MockOpenAIServer]:
    with MockOpenAIServer(models=["small", "large"]) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh(request: pytest.FixtureRequest) -> None:
    if "upstream" in request.fixturenames:
        request.getfixturevalue("upstream").reset()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port (skipped loudly without one, failed under CI)."""
    pytest.importorskip("redis", reason="the redis library is not installed: pip install 'meshkit[redis]'")
    try:
        server = start_redis_server(tmp_path_factory.mktemp("redis"))
    except RedisServerNotFoundError as exc:
        reason = f"Redis serve tests NOT RUN: {exc}; install redis-server (apt-get install redis-server)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} — it is required under CI", pytrace=False)
        warnings.warn(reason, stacklevel=1)
        pytest.skip(reason)
    yield server
    server.stop()
