"""Capabilities end to end over real HTTP on loopback: embeddings, and what a request needs of a model.

The mesh talks to the local mock server through the built-in providers (openai-compatible,
anthropic); every upstream call is recorded by the server, so "0 calls to a model" is what
the server saw.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from runtime_helpers import Recorder

from meshkit import EventType
from meshkit.runtime.mesh import Mesh
from meshkit.testing import FakeClock, fake_embedding
from meshkit.testing.mock_server import Fault, MockOpenAIServer

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

EMBED = "understanding.embeddings.text-embeddings"


@pytest.fixture(scope="module")
def server() -> Iterator[MockOpenAIServer]:
    with MockOpenAIServer(models=["m1", "m2", "m3", "m4", "emb1", "emb2"]) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(server: MockOpenAIServer) -> None:
    server.reset()


def providers(server: MockOpenAIServer) -> dict[str, Any]:
    http = {"base_url": server.base_url, "timeout": "5s", "connect_timeout": "5s"}
    return {
        "local": {"connector": "openai-compatible", "config": http},
        "claude": {"connector": "anthropic", "config": {**http, "api_key": "test-key"}},
    }


def called(server: MockOpenAIServer, path: str) -> list[str]:
    return [r.json["model"] for r in server.requests if r.path.endswith(path)]


async def test_embeddings_fail_over_across_a_503_model(server: MockOpenAIServer, clock: FakeClock) -> None:
    server.script("emb1", Fault.status(503))
    config = {
        "providers": providers(server),
        "models": {
            "local.emb1": {"provider": "local", "capabilities": [EMBED]},
            "local.emb2": {"provider": "local", "capabilities": [EMBED]},
        },
        "pools": {"vectors": {"capability": "understanding.embeddings"}},
    }
    recorder = Recorder()
    async with Mesh.from_config(config, clock=clock, observability=[recorder]) as mesh:
        reply = await mesh.embed(model="vectors", input=["alpha", "beta"], dimensions=5)
    assert reply.model == "local.emb2"
    assert reply.vectors == [fake_embedding(t, model="emb2", dimensions=5) for t in ("alpha", "beta")]
    assert called(server, "/embeddings") == ["emb1", "emb2"]
    (rotated,) = recorder.of(EventType.MODEL_ROTATED)
    assert (rotated.metadata["from"], rotated.metadata["to"]) == ("local.emb1", "local.emb2")
    assert rotated.metadata["error_type"] == "ProviderUnavailableError"
