"""End to end over real HTTP on loopback: the mesh, the openai-compatible provider, the mock server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from runtime_helpers import USER, Recorder, drive

from meshkit import EventType, ProviderProtocolError
from meshkit.runtime.mesh import Mesh
from meshkit.testing import FakeClock
from meshkit.testing.mock_server import Fault, MockOpenAIServer

pytestmark = [pytest.mark.slow, pytest.mark.anyio]


@pytest.fixture(scope="module")
def server() -> Iterator[MockOpenAIServer]:
    with MockOpenAIServer(models=["small", "large"]) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(server: MockOpenAIServer) -> None:
    server.reset()


def config(server: MockOpenAIServer, **retry: Any) -> dict[str, Any]:
    return {
        "providers": {
            "local": {
                "connector": "openai-compatible",
                "config": {"base_url": server.base_url, "timeout": "1s", "connect_timeout": "2s"},
            }
        },
        "models": {"local.small": {"provider": "local"}, "local.large": {"provider": "local"}},
        "pools": {
            "chat": {
                "models": ["local.small", "local.large"],
                "rotation": {"connector": "stick-until-failure", "config": {"failure_threshold": 3}},
                "retry": {"max_attempts": 4, **retry},
            }
        },
    }


def models_called(server: MockOpenAIServer) -> list[str]:
    return [r.json["model"] for r in server.requests if r.path.endswith("/chat/completions")]


async def test_a_plain_request_goes_through_the_real_provider(server: MockOpenAIServer) -> None:
    async with Mesh.from_config(config(server)) as mesh:
        reply = await mesh.complete(model="chat", messages=USER)
    assert reply.choices[0].message.content == "Hello from small."
    assert reply.model == "local.small"
    assert reply.usage.total_tokens > 0
    assert models_called(server) == ["small"]


async def test_a_429_with_retry_after_is_waited_out_on_the_same_model(server: MockOpenAIServer) -> None:
    clock = FakeClock()
    server.script("small", Fault.rate_limit(retry_after=2))
    async with Mesh.from_config(
        config(server, same_model_retries=1, initial_delay="10ms"), clock=clock
    ) as mesh:
        reply, took = await drive(clock, lambda: mesh.complete(model="chat", messages=USER), step=0.05)
    assert not isinstance(reply, Exception), reply
    assert reply.model == "local.small"
    assert models_called(server) == ["small", "small"]
    assert took >= 2.0  # the Retry-After, measured on the mesh clock


@pytest.mark.parametrize(
    "fault",
    [Fault.status(503), Fault.status(500), Fault.malformed(), Fault.hang(), Fault.disconnect()],
    ids=["503", "500", "garbage", "hang", "disconnect"],
)
async def test_a_failing_model_fails_over_to_the_next(server: MockOpenAIServer, fault: Fault) -> None:
    server.script("small", fault)
    recorder = Recorder()
    async with Mesh.from_config(config(server), observability=[recorder]) as mesh:
        reply = await mesh.complete(model="chat", messages=USER)
        assert mesh.status()["models"]["local.small"]["counters"]["failures"] == 1
    assert reply.model == "local.large"
    assert reply.text == "Hello from large."
    assert models_called(server) == ["small", "large"]
    (rotated,) = recorder.of(EventType.MODEL_ROTATED)
    assert (rotated.metadata["from"], rotated.metadata["to"]) == ("local.small", "local.large")


async def test_a_stream_cut_before_its_first_chunk_fails_over(server: MockOpenAIServer) -> None:
    server.script("small", Fault.cut_stream(after=0))
    async with Mesh.from_config(config(server)) as mesh:
        chunks = [c async for c in mesh.stream(model="chat", messages=USER)]
    assert "".join(c.text for c in chunks) == "Hello from large."
    assert {c.model for c in chunks} == {"local.large"}


async def test_a_stream_cut_after_chunks_reached_the_caller_is_an_error(server: MockOpenAIServer) -> None:
    server.script("small", Fault.cut_stream(after=2))
    received: list[str] = []
    async with Mesh.from_config(config(server)) as mesh:
        with pytest.raises(ProviderProtocolError):
            async for chunk in mesh.stream(model="chat", messages=USER):
                received.append(chunk.text)
        assert mesh.status()["models"]["local.small"]["counters"]["in_flight"] == 0
    assert received
    assert models_called(server) == ["small"]


async def test_a_quota_answer_sets_the_model_aside(server: MockOpenAIServer) -> None:
    server.script("small", Fault.quota())
    async with Mesh.from_config(config(server)) as mesh:
        reply = await mesh.complete(model="chat", messages=USER)
        assert reply.model == "local.large"
        assert mesh.status()["models"]["local.small"]["reason"] == "quota_exhausted"
