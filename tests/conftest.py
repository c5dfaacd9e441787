"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import pytest

from meshkit.plugins import reset_registry
from meshkit.testing import FakeClock


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
