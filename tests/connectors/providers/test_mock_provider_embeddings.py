"""The mock provider's embeddings: deterministic vectors in input order, scripted faults, usage."""

from __future__ import annotations

import math

import pytest

from meshkit.connectors.providers.mock import MockProvider
from meshkit.enums import ProviderFeature
from meshkit.errors import ProviderUnavailableError
from meshkit.types import EmbeddingRequest

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_vectors_come_in_input_order_and_repeat_for_the_same_text() -> None:
    async with MockProvider({"models": ["emb"]}, name="fake") as provider:
        first = await provider.embed(EmbeddingRequest(input=["alpha", "beta", "alpha"], model="emb"))
        again = await provider.embed(EmbeddingRequest(input="beta", model="emb"))
    assert [d.index for d in first.data] == [0, 1, 2]
    alpha, beta, alpha_again = first.vectors
    assert alpha == alpha_again and alpha != beta
    assert again.vectors == [beta]
    assert all(math.isclose(sum(x * x for x in v), 1.0) for v in first.vectors)
    assert first.model == "emb" and first.provider_id == "fake"
    assert first.usage.prompt_tokens == first.usage.total_tokens > 0
    assert first.usage.completion_tokens == 0
    assert [c.input for c in provider.embed_calls] == [("alpha", "beta", "alpha"), ("beta",)]
    assert provider.calls == []


async def test_dimensions_set_the_vector_length() -> None:
    async with MockProvider({"models": ["emb"]}) as provider:
        reply = await provider.embed(EmbeddingRequest(input=["x"], model="emb", dimensions=3))
    assert len(reply.vectors[0]) == 3


async def test_scripted_faults_apply_to_embeddings() -> None:
    async with MockProvider({"models": ["emb"], "script": [{"error": "unavailable"}]}) as provider:
        with pytest.raises(ProviderUnavailableError):
            await provider.embed(EmbeddingRequest(input="x", model="emb"))
        assert (await provider.embed(EmbeddingRequest(input="x", model="emb"))).vectors


def test_declares_embeddings() -> None:
    assert ProviderFeature.EMBEDDINGS in MockProvider.features
