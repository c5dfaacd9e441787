"""``mesh.embed``: the same pools, failover, lifecycle, budgets, events and request log as chat."""

from __future__ import annotations

from typing import Any

import pytest
from runtime_helpers import Recorder, mock

from meshkit import AllModelsExhaustedError, EmbeddingResponse, EventType, LogLevel, Severity, SyncMesh
from meshkit.interfaces import ObservabilityConfig
from meshkit.runtime.mesh import Mesh
from meshkit.testing import FakeClock, fake_embedding

pytestmark = pytest.mark.anyio

EMBED = "understanding.embeddings.text-embeddings"


def config(*, pool: dict[str, Any] | None = None, **model_a: Any) -> dict[str, Any]:
    """Embedding models ``a.emb`` and ``b.emb`` (mock providers), pool ``vectors`` over both."""
    return {
        "providers": {
            "a": {"connector": "mock", "config": {"models": ["emb"]}},
            "b": {"connector": "mock", "config": {"models": ["emb"]}},
        },
        "models": {
            "a.emb": {"provider": "a", "capabilities": [EMBED], **model_a},
            "b.emb": {"provider": "b", "capabilities": [EMBED]},
        },
        "pools": {
            "vectors": {
                "capability": "understanding.embeddings",
                "rotation": {"connector": "stick-until-failure", "config": {"failure_threshold": 1}},
                **(pool or {}),
            }
        },
        "observability": {"logging": {"level": "full"}},
    }


def build(clock: FakeClock, **kwargs: Any) -> tuple[Mesh, Recorder]:
    recorder = Recorder(config=ObservabilityConfig(min_severity=Severity.DEBUG, log_level=LogLevel.FULL))
    return Mesh.from_config(config(**kwargs), clock=clock, observability=[recorder]), recorder


async def test_a_list_of_texts_comes_back_as_vectors_in_input_order(clock: FakeClock) -> None:
    mesh, recorder = build(clock)
    async with mesh:
        reply = await mesh.embed(model="vectors", input=["one", "two", "three"], dimensions=4)
    assert isinstance(reply, EmbeddingResponse)
    assert reply.model == "a.emb" and reply.provider_id == "a"
    assert [e.index for e in reply.data] == [0, 1, 2]
    assert reply.vectors == [fake_embedding(t, model="emb", dimensions=4) for t in ("one", "two", "three")]
    assert reply.usage.prompt_tokens == reply.usage.total_tokens >= 1
    (sent,) = mock(mesh, "a").embed_calls
    assert sent.model == "emb" and sent.input == ("one", "two", "three") and sent.dimensions == 4
    (log,) = recorder.logs
    assert (log.status, log.model_id, log.pool_id) == ("ok", "a.emb", "vectors")
    assert log.request == {"input": ["one", "two", "three"], "dimensions": 4}
    assert log.response is not None and log.response["data"][1]["embedding"] == reply.vectors[1]


@pytest.mark.parametrize("target", ["understanding.embeddings", "text-embeddings", "b.emb"])
async def test_a_capability_or_a_model_id_is_a_target_too(clock: FakeClock, target: str) -> None:
    mesh, _ = build(clock)
    async with mesh:
        reply = await mesh.embed(model=target, input="hello")
    assert reply.model in {"a.emb", "b.emb"} if target != "b.emb" else reply.model == "b.emb"
    assert len(reply.data) == 1


async def test_unknown_keywords_reach_the_provider_in_extra(clock: FakeClock) -> None:
    mesh, _ = build(clock)
    async with mesh:
        await mesh.embed(model="vectors", input="x", user="u-1", timeout=5.0)
    (sent,) = mock(mesh, "a").embed_calls
    assert sent.extra == {"user": "u-1"} and sent.timeout == 5.0


async def test_a_failing_model_fails_over_with_a_rotation_event_and_a_log_per_attempt(
    clock: FakeClock,
) -> None:
    mesh, recorder = build(clock)
    async with mesh:
        mock(mesh, "a").push({"error": "unavailable"})
        reply = await mesh.embed(model="vectors", input="hello")
        status = mesh.status()["models"]
    assert reply.model == "b.emb"
    (rotated,) = recorder.of(EventType.MODEL_ROTATED)
    assert (rotated.metadata["from"], rotated.metadata["to"]) == ("a.emb", "b.emb")
    assert [(log.model_id, log.status) for log in recorder.logs] == [("a.emb", "error"), ("b.emb", "ok")]
    # failure_threshold 1: the failed model is set aside as for a chat request.
    assert (status["a.emb"]["status"], status["a.emb"]["reason"]) == ("standby", "error_threshold")


async def test_when_every_model_fails_the_error_lists_the_attempts(clock: FakeClock) -> None:
    mesh, _ = build(clock)
    async with mesh:
        mock(mesh, "a").push({"error": "unavailable"})
        mock(mesh, "b").push({"error": "rate_limit"})
        with pytest.raises(AllModelsExhaustedError) as info:
            await mesh.embed(model="vectors", input="hello")
    assert [a.model_id for a in info.value.attempts] == ["a.emb", "b.emb"]


async def test_spend_is_input_tokens_at_the_input_price_and_budgets_apply(clock: FakeClock) -> None:
    pricing = {"input_per_1k": 10.0, "output_per_1k": 1000.0}
    mesh, recorder = build(clock, pricing=pricing, budget={"daily": 0.05})
    text = "x" * 20  # five tokens by the mock's estimate: 5 * 10 / 1000 = 0.05
    async with mesh:
        reply = await mesh.embed(model="vectors", input=text)
        assert reply.usage.prompt_tokens == 5 and reply.usage.completion_tokens == 0
        assert reply.cost == pytest.approx(0.05)
        model = mesh.status()["models"]["a.emb"]
        assert (model["status"], model["reason"]) == ("standby", "budget_exceeded")
        # The spent budget sends the next request to the other model.
        assert (await mesh.embed(model="vectors", input=text)).model == "b.emb"
    (deactivated,) = recorder.of(EventType.MODEL_DEACTIVATED, "a.emb")
    assert deactivated.metadata["reason"] == "budget_exceeded"


def test_sync_mesh_embeds_too() -> None:
    with SyncMesh.from_config(config()) as mesh:
        reply = mesh.embed(model="text-embeddings", input=["a", "b"], dimensions=3)
    assert reply.vectors == [fake_embedding(t, model="emb", dimensions=3) for t in ("a", "b")]
