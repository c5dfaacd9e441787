"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from meshkit.plugins import reset_registry
from meshkit.testing import FakeClock

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
