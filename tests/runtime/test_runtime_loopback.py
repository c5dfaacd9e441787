"""End to end over real HTTP on loopback: the mesh, the openai-compatible provider, the mock server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from runtime_helpers import USER, Recorder, drive_over_loopback

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


#: A deadline no test here waits out.
DAY = 86_400.0


def config(server: MockOpenAIServer, *, small_timeout: str | None = None, **retry: Any) -> dict[str, Any]:
    """Two models of one server; ``small_timeout`` puts local.small on a provider of its own with
    that timeout (a hang to wait out), so that local.large keeps a timeout a loaded machine meets."""

    def provider(timeout: str) -> dict[str, Any]:
        settings = {"base_url": server.base_url, "timeout": timeout, "connect_timeout": "2s"}
        return {"connector": "openai-compatible", "config": settings}

    providers = {"local": provider("30s")}
    small: dict[str, Any] = {"provider": "local"}
    if small_timeout is not None:
        providers["short"] = provider(small_timeout)
        small = {"provider": "short", "name": "small"}
    return {
        "providers": providers,
        "models": {"local.small": small, "local.large": {"provider": "local"}},
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
        # A day of clock time: the background jobs' wake-ups (every second) move the clock
        # while the request is on the wire, as many times as a slow round trip takes.
        reply, took = await drive_over_loopback(
            clock, lambda: mesh.complete(model="chat", messages=USER, deadline=DAY)
        )
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
    # Only a hang needs a short timeout; every other answer comes at once.
    settings = config(server, small_timeout="1s" if fault.kind == "hang" else None)
    async with Mesh.from_config(settings, observability=[recorder]) as mesh:
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


# --- authentication failures, scoped: the key (401) or one model (403, 404 model not found) ---


def two_providers(server: MockOpenAIServer, models: list[str]) -> dict[str, Any]:
    """Providers ``local`` and ``other`` on one server, each with its own key; one pool of ``models``."""

    def provider(key: str) -> dict[str, Any]:
        return {"connector": "openai-compatible", "config": {"base_url": server.base_url, "api_key": key}}

    return {
        "providers": {"local": provider("sk-local"), "other": provider("sk-other")},
        "models": {
            "local.small": {"provider": "local"},
            "local.large": {"provider": "local"},
            "local.ghost": {"provider": "local"},  # the server serves no model of that name
            "other.small": {"provider": "other", "name": "small"},
        },
        "pools": {
            "chat": {
                "models": models,
                "rotation": {"connector": "priority"},
                "retry": {"max_attempts": 4, "same_model_retries": 1},
            }
        },
    }


def calls(server: MockOpenAIServer) -> list[tuple[str, str]]:
    """(key, upstream model) of each chat request the server received."""
    return [
        (r.headers.get("Authorization", "").removeprefix("Bearer "), r.json["model"])
        for r in server.requests
        if r.path.endswith("/chat/completions")
    ]


@pytest.mark.parametrize(
    "refusal",
    [
        Fault.status(403, "You are not allowed to sample from this model"),
        Fault.status(404, "The model `small` does not exist or you do not have access to it."),
    ],
    ids=["403", "404 model not found"],
)
async def test_a_model_refused_to_the_key_leaves_the_providers_other_models_serving(
    server: MockOpenAIServer, refusal: Fault
) -> None:
    server.script("small", refusal)
    recorder = Recorder()
    config = two_providers(server, ["local.small", "local.large", "other.small"])
    async with Mesh.from_config(config, observability=[recorder]) as mesh:
        first = await mesh.complete(model="chat", messages=USER)
        second = await mesh.complete(model="chat", messages=USER)
        status = mesh.status()
    assert (first.model, second.model) == ("local.large", "local.large")
    # One call to the refused model (no same-model retry), then the same key's other model serves.
    assert calls(server) == [("sk-local", "small"), ("sk-local", "large"), ("sk-local", "large")]
    assert status["providers"]["local"]["status"] == "active"
    small = status["models"]["local.small"]
    assert (small["status"], small["reason"]) == ("standby", "error_threshold")
    assert small["counters"]["errors"] == {"model_access": 1}
    assert status["models"]["local.large"]["status"] == "active"
    assert recorder.of(EventType.PROVIDER_DEACTIVATED) == []
    (off,) = recorder.of(EventType.MODEL_DEACTIVATED)
    assert (off.model_id, off.metadata["error_type"]) == ("local.small", "ModelAccessError")


async def test_a_model_the_server_does_not_serve_fails_over_within_the_provider(
    server: MockOpenAIServer,
) -> None:
    config = two_providers(server, ["local.ghost", "local.small"])
    async with Mesh.from_config(config) as mesh:
        reply = await mesh.complete(model="chat", messages=USER)
        assert mesh.status()["models"]["local.ghost"]["status"] == "standby"
    assert reply.model == "local.small"
    assert calls(server) == [("sk-local", "ghost"), ("sk-local", "small")]


async def test_a_refused_key_sets_every_model_of_its_provider_aside(server: MockOpenAIServer) -> None:
    server.script("small", Fault.auth())
    recorder = Recorder()
    config = two_providers(server, ["local.small", "local.large", "other.small"])
    async with Mesh.from_config(config, observability=[recorder]) as mesh:
        first = await mesh.complete(model="chat", messages=USER)
        second = await mesh.complete(model="chat", messages=USER)
        status = mesh.status()
    assert (first.model, second.model) == ("other.small", "other.small")
    # local.large is never called: its provider's key was refused.
    assert calls(server) == [("sk-local", "small"), ("sk-other", "small"), ("sk-other", "small")]
    assert (status["providers"]["local"]["status"], status["providers"]["local"]["reason"]) == (
        "deactivated",
        "authentication",
    )
    for model_id in ("local.small", "local.large"):
        assert status["models"][model_id]["reason"] == "provider_deactivated"
    (off,) = recorder.of(EventType.PROVIDER_DEACTIVATED)
    assert off.metadata["models"] == ["local.ghost", "local.large", "local.small"]
