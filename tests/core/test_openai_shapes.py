"""``to_dict()`` gives OpenAI's shapes: the official SDK's own models read them back."""

from __future__ import annotations

import base64
import json
import struct
from datetime import UTC, datetime

import pytest

from meshkit import (
    ChatMessage,
    Choice,
    ChunkChoice,
    CompletionChunk,
    CompletionResponse,
    Delta,
    Embedding,
    EmbeddingResponse,
    TokenUsage,
)

openai_types = pytest.importorskip("openai.types")
chat_types = pytest.importorskip("openai.types.chat")

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CALL = {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Rome"}'}}


def reply() -> CompletionResponse:
    return CompletionResponse(
        id="chatcmpl-1",
        model="local.small",
        created=AT,
        choices=(
            Choice(0, ChatMessage(role="assistant", content="Sunny."), finish_reason="stop"),
            Choice(1, ChatMessage(role="assistant", tool_calls=(CALL,)), finish_reason="tool_calls"),
        ),
        usage=TokenUsage(prompt_tokens=9, completion_tokens=2),
        cost=0.001,
        provider_id="local",
    )


def test_a_completion_is_a_chat_completion_the_sdk_reads() -> None:
    body = reply().to_dict()
    parsed = chat_types.ChatCompletion.model_validate(body)
    assert (parsed.id, parsed.object, parsed.model) == ("chatcmpl-1", "chat.completion", "local.small")
    assert parsed.created == int(AT.timestamp())
    assert parsed.choices[0].message.content == "Sunny."
    assert parsed.choices[0].finish_reason == "stop"
    (call,) = parsed.choices[1].message.tool_calls or []
    assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
        "call_1",
        "weather",
        {"city": "Rome"},
    )
    assert parsed.usage is not None
    assert (parsed.usage.prompt_tokens, parsed.usage.completion_tokens, parsed.usage.total_tokens) == (
        9,
        2,
        11,
    )
    json.dumps(body)  # plain JSON data, nothing left as an attrs object or a tuple of them


def test_created_may_be_given_and_is_always_whole_seconds() -> None:
    assert reply().to_dict(created=1234)["created"] == 1234
    undated = CompletionResponse(id="x", model="m", choices=())
    assert isinstance(undated.to_dict()["created"], int)


def test_a_chunk_is_a_chat_completion_chunk_with_only_what_it_adds() -> None:
    chunk = CompletionChunk(
        id="chatcmpl-2",
        model="local.small",
        choices=(ChunkChoice(0, Delta(content="Sun")),),
    )
    body = chunk.to_dict(created=77)
    parsed = chat_types.ChatCompletionChunk.model_validate(body)
    assert (parsed.object, parsed.created, parsed.choices[0].delta.content) == (
        "chat.completion.chunk",
        77,
        "Sun",
    )
    assert body["choices"][0]["delta"] == {"content": "Sun"}  # no role, no tool calls: not set
    assert "usage" not in body


def test_a_tool_call_delta_and_the_usage_chunk_read_back() -> None:
    piece = CompletionChunk(
        id="c",
        model="m",
        choices=(
            ChunkChoice(
                0,
                Delta(
                    role="assistant",
                    tool_calls=({"index": 0, "id": "call_1", "function": {"name": "weather"}},),
                ),
            ),
        ),
    )
    parsed = chat_types.ChatCompletionChunk.model_validate(piece.to_dict(created=1))
    (delta,) = parsed.choices[0].delta.tool_calls or []
    assert (delta.index, delta.id, delta.function and delta.function.name) == (0, "call_1", "weather")

    last = CompletionChunk(id="c", model="m", usage=TokenUsage(prompt_tokens=3, completion_tokens=4))
    parsed = chat_types.ChatCompletionChunk.model_validate(last.to_dict(created=1))
    assert parsed.choices == []
    assert parsed.usage is not None and parsed.usage.total_tokens == 7


def embeddings() -> EmbeddingResponse:
    return EmbeddingResponse(
        model="local.embed",
        data=(Embedding(0, [0.5, -0.25]), Embedding(1, [1.0, 0.0])),
        usage=TokenUsage(prompt_tokens=4, total_tokens=4),
    )


def test_embeddings_are_a_create_embedding_response() -> None:
    parsed = openai_types.CreateEmbeddingResponse.model_validate(embeddings().to_dict())
    assert [item.embedding for item in parsed.data] == [[0.5, -0.25], [1.0, 0.0]]
    assert [item.index for item in parsed.data] == [0, 1]
    assert (parsed.model, parsed.usage.prompt_tokens, parsed.usage.total_tokens) == ("local.embed", 4, 4)


def test_embeddings_in_base64_are_little_endian_float32() -> None:
    body = embeddings().to_dict(encoding_format="base64")
    first = base64.b64decode(body["data"][0]["embedding"])
    assert struct.unpack("<2f", first) == (0.5, -0.25)
    with pytest.raises(ValueError, match="'float' or 'base64'"):
        embeddings().to_dict(encoding_format="hex")  # type: ignore[arg-type]
