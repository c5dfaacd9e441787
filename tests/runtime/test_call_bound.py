"""A provider's own bound on a call stands in for the router's deadline timer, only when it ends first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from meshkit import Mesh
from meshkit.connectors.providers import MockProvider, OpenAICompatibleProvider
from meshkit.errors import AllModelsExhaustedError
from meshkit.interfaces import Provider
from meshkit.runtime import router as router_module
from meshkit.testing.mock_server import MockOpenAIServer
from meshkit.types import CompletionRequest, CompletionResponse, EmbeddingRequest

pytestmark = pytest.mark.anyio

ASK = CompletionRequest(messages=[{"role": "user", "content": "hi"}], model="small")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def server() -> Iterator[MockOpenAIServer]:
    with MockOpenAIServer(models=["small", "slow"], latency={"slow": 30.0}) as running:
        yield running


class TwoCalls(OpenAICompatibleProvider):
    """A connector whose ``complete`` waits twice: the base's promise no longer holds."""

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        await super().complete(request)
        return await super().complete(request)


def test_an_http_provider_promises_its_attempt_timeout() -> None:
    provider = OpenAICompatibleProvider({"timeout": "7s"})
    assert provider.call_bound(ASK) == 7.0
    own = CompletionRequest(messages=[{"role": "user", "content": "hi"}], timeout=2.5)
    assert provider.call_bound(own) == 2.5
    assert provider.call_bound(EmbeddingRequest(input="x")) == 7.0


def test_a_provider_that_waits_elsewhere_promises_nothing() -> None:
    assert TwoCalls({"timeout": "7s"}).call_bound(ASK) is None
    # The base class promises nothing unless a provider says so (the mock promises its latency).
    assert Provider.call_bound(MockProvider({"models": ["m"]}), ASK) is None


def _mesh(server: MockOpenAIServer, **provider: Any) -> Mesh:
    return Mesh.from_config(
        {
            "providers": {
                "up": {"connector": "openai-compatible", "config": {"base_url": server.base_url, **provider}}
            },
            "models": {"up.small": {"provider": "up"}, "up.slow": {"provider": "up"}},
            "pools": {"chat": {"models": ["up.small"]}, "slow": {"models": ["up.slow"]}},
            "storage": {"sync_policy": "in-memory"},
        }
    )


@pytest.fixture
def timers(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The deadlines the router armed a timer for."""
    armed: list[float] = []
    original = router_module.call_within

    async def counted(clock: Any, seconds: float, fn: Any) -> Any:
        armed.append(seconds)
        return await original(clock, seconds, fn)

    monkeypatch.setattr(router_module, "call_within", counted)
    return armed


async def test_no_timer_of_the_routers_when_the_providers_timeout_ends_the_call_first(
    server: MockOpenAIServer, timers: list[float]
) -> None:
    async with _mesh(server, timeout="30s") as mesh:  # the pool's deadline: 60 s
        reply = await mesh.complete("chat", [{"role": "user", "content": "hi"}])
    assert reply.text and timers == []


async def test_the_router_arms_its_timer_when_the_deadline_comes_first(
    server: MockOpenAIServer, timers: list[float]
) -> None:
    async with _mesh(server, timeout="30s") as mesh:
        await mesh.complete("chat", [{"role": "user", "content": "hi"}], deadline=5.0)
        with pytest.raises(AllModelsExhaustedError, match="deadline ran out"):
            await mesh.complete("slow", [{"role": "user", "content": "hi"}], deadline=0.2)
    assert len(timers) == 2 and timers[0] <= 5.0 and timers[1] <= 0.2


async def test_the_providers_own_timeout_still_ends_a_slow_call(
    server: MockOpenAIServer, timers: list[float]
) -> None:
    async with _mesh(server, timeout="200ms") as mesh:
        with pytest.raises(AllModelsExhaustedError, match=r"no complete answer within 0\.2s"):
            await mesh.complete("slow", [{"role": "user", "content": "hi"}])
    assert timers == []
