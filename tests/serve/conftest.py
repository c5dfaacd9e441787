"""Fixtures for the `meshkit serve` tests: the mock upstream (``redis_server`` is the suite's)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from meshkit.testing.mock_server import MockOpenAIServer


@pytest.fixture(scope="module")
def upstream() -> Iterator[MockOpenAIServer]:
    with MockOpenAIServer(models=["small", "large"]) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh(request: pytest.FixtureRequest) -> None:
    if "upstream" in request.fixturenames:
        request.getfixturevalue("upstream").reset()
