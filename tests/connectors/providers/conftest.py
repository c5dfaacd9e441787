"""Fixtures for the HTTP provider tests: one real mock server, each transport on each backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from meshkit.testing.mock_server import MockOpenAIServer

BACKENDS_AND_TRANSPORTS = [
    pytest.param(("asyncio", "httpx"), id="asyncio-httpx"),
    pytest.param(("asyncio", "aiohttp"), id="asyncio-aiohttp"),
    pytest.param(("trio", "httpx"), id="trio-httpx"),
]


@pytest.fixture(scope="session")
def running_server() -> Iterator[MockOpenAIServer]:
    """One server for the whole session (it starts in a few milliseconds, but why repeat it)."""
    with MockOpenAIServer(models=["small", "large"]) as server:
        yield server


@pytest.fixture
def server(running_server: MockOpenAIServer) -> Iterator[MockOpenAIServer]:
    """The shared server, with no script, no recorded requests and no latency."""
    running_server.reset()
    yield running_server
    running_server.reset()


@pytest.fixture(params=BACKENDS_AND_TRANSPORTS)
def backend_and_transport(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def anyio_backend(backend_and_transport: tuple[str, str]) -> str:
    """asyncio with either transport, trio with httpx's (aiohttp needs asyncio)."""
    return backend_and_transport[0]


@pytest.fixture
def transport(backend_and_transport: tuple[str, str]) -> str:
    """The provider's ``transport`` setting for this run."""
    return backend_and_transport[1]
