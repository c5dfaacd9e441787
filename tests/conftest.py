"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

from meshkit.plugins import reset_registry
from meshkit.testing import FakeClock

if TYPE_CHECKING:
    from meshkit.connectors.storage.redis_server import RedisServer

# meshkit's own property tests: the same examples on every run and machine (derandomized, no
# example database), and no health check that reads the wall clock: a loaded machine must not
# fail a test that a quiet one passes.
settings.register_profile(
    "meshkit-tests",
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("meshkit-tests")


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every ``@pytest.mark.anyio`` test runs under asyncio and under trio."""
    return str(request.param)


@pytest.fixture
def clock() -> FakeClock:
    """A clock that moves only when the test advances it."""
    return FakeClock()


@pytest.fixture
def fresh_registry() -> object:
    """Forget the process-wide plugin registry before and after the test."""
    reset_registry()
    yield
    reset_registry()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port for the whole session (one for every folder).

    Without redis-server the tests that need it are skipped loudly (a warning and a skip
    reason in the summary), except under CI (``CI`` set), where that is a failure. Tests share
    the server, so each keeps to a key or namespace of its own.
    """
    pytest.importorskip("redis", reason="the redis library is not installed: pip install 'meshkit[redis]'")
    from meshkit.connectors.storage.redis_server import RedisServerNotFoundError, start_redis_server

    try:
        server = start_redis_server(tmp_path_factory.mktemp("redis"))
    except RedisServerNotFoundError as exc:
        reason = f"Redis tests NOT RUN: {exc}; install redis-server (apt-get install redis-server)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} — it is required under CI", pytrace=False)
        warnings.warn(reason, stacklevel=1)
        pytest.skip(reason)
    yield server
    server.stop()
