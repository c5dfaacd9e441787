"""Fixtures for the runtime tests: a real redis-server for the shared-state tests."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator

import pytest

from meshkit.connectors.storage.redis_server import (
    RedisServer,
    RedisServerNotFoundError,
    start_redis_server,
)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port for the whole session.

    Without redis-server the tests that need it are skipped loudly (a warning and a skip
    reason in the summary), except under CI (``CI`` set), where that is a failure.
    """
    pytest.importorskip("redis", reason="the redis library is not installed: pip install 'meshkit[redis]'")
    try:
        server = start_redis_server(tmp_path_factory.mktemp("redis"))
    except RedisServerNotFoundError as exc:
        reason = (
            f"Redis shared-state tests NOT RUN: {exc}; install redis-server (apt-get install redis-server)"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{reason} — it is required under CI", pytrace=False)
        warnings.warn(reason, stacklevel=1)
        pytest.skip(reason)
    yield server
    server.stop()
