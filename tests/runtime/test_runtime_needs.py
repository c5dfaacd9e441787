"""What a request needs follows from its content; a model lacks what its config and provider do not grant."""

from __future__ import annotations

from typing import Any

import pytest

from meshkit.enums import ProviderFeature as F
from meshkit.runtime.capabilities import Operation
from meshkit.runtime.catalogue import ModelEntry
from meshkit.runtime.needs import RequestNeeds, chat_needs, embedding_needs, model_lacks
from meshkit.types import CompletionRequest

CHAT = "generation.text-generation.chat-completion"
EMBED = "understanding.embeddings.text-embeddings"
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
OPENAI_LIKE = {F.STREAMING, F.TOOLS, F.JSON_MODE, F.JSON_SCHEMA, F.VISION, F.EMBEDDINGS, F.LIST_MODELS}


def request(**fields: Any) -> CompletionRequest:
    fields.setdefault("messages", [{"role": "user", "content": "hi"}])
    return CompletionRequest(**fields)


def entry(*capabilities: str, features: set[F] | None = None) -> ModelEntry:
    return ModelEntry(
        model_id="p.m",
        provider_id="p",
        upstream="m",
        capabilities=capabilities or (CHAT,),
        features=frozenset(features) if features is not None else None,
    )


@pytest.mark.parametrize(
    ("fields", "stream", "needed"),
    [
        ({}, False, set()),
        ({}, True, {F.STREAMING}),
        ({"tools": (TOOL,)}, False, {F.TOOLS}),
        ({"response_format": {"type": "json_object"}}, False, {F.JSON_MODE}),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}, False, {F.JSON_SCHEMA}),
        ({"response_format": {"type": "text"}}, False, set()),
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "?"}, IMAGE]}]},
            False,
            {F.VISION},
        ),
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": "?"}]}]}, False, set()),
        (
            {
                "messages": [
                    {"role": "user", "content": "?"},
                    {"role": "tool", "tool_call_id": "c", "content": "42"},
                ]
            },
            False,
            {F.TOOLS},
        ),
        (
            {"tools": (TOOL,), "response_format": {"type": "json_object"}},
            True,
            {F.TOOLS, F.JSON_MODE, F.STREAMING},
        ),
    ],
)
def test_chat_needs_follow_from_the_request(fields: dict[str, Any], stream: bool, needed: set[F]) -> None:
    assert chat_needs(request(**fields), stream=stream) == RequestNeeds(Operation.CHAT, frozenset(needed))


def test_embedding_requests_need_embeddings() -> None:
    assert embedding_needs() == RequestNeeds(Operation.EMBEDDINGS, frozenset({F.EMBEDDINGS}))
    assert embedding_needs().describe() == "embeddings"
    assert chat_needs(request(tools=(TOOL,)), stream=True).describe() == "chat with streaming, tools"


def test_without_features_a_model_has_its_providers() -> None:
    needs = chat_needs(request(tools=(TOOL,)), stream=True)
    assert model_lacks(entry(), OPENAI_LIKE, needs) == ()
    assert model_lacks(entry(), {F.STREAMING}, needs) == ("tools",)


def test_a_models_features_narrow_its_providers() -> None:
    needs = chat_needs(request(tools=(TOOL,), response_format={"type": "json_object"}), stream=True)
    assert model_lacks(entry(features={F.STREAMING}), OPENAI_LIKE, needs) == ("json_mode", "tools")
    # A feature the config names but the provider does not declare is not granted either.
    assert model_lacks(entry(features={F.TOOLS, F.JSON_MODE, F.STREAMING}), {F.STREAMING}, needs) == (
        "json_mode",
        "tools",
    )


def test_the_capability_decides_which_operation_a_model_serves() -> None:
    assert model_lacks(entry(EMBED), OPENAI_LIKE, embedding_needs()) == ()
    assert model_lacks(entry(CHAT), OPENAI_LIKE, embedding_needs()) == ("embeddings",)
    assert model_lacks(entry(EMBED), OPENAI_LIKE, chat_needs(request(), stream=False)) == ("chat",)
    # An embedding model whose provider cannot embed lacks embeddings once, not twice.
    assert model_lacks(entry(EMBED), {F.STREAMING}, embedding_needs()) == ("embeddings",)
    # Embeddings are not a request feature a model's `features` list can take away.
    assert model_lacks(entry(EMBED, features={F.STREAMING}), OPENAI_LIKE, embedding_needs()) == ()
