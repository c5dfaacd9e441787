"""The mock server's embeddings endpoint, and the checks it makes of tools, images and JSON schemas."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from meshkit.testing.mock_server import Fault, MockOpenAIServer
from meshkit.testing.vectors import fake_embedding

ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01"}
PIXEL = "iVBORw0KGgo="


@pytest.fixture(scope="module")
def running() -> Iterator[MockOpenAIServer]:
    with MockOpenAIServer(models=["small", "emb"]) as server:
        yield server


@pytest.fixture
def server(running: MockOpenAIServer) -> Iterator[MockOpenAIServer]:
    running.reset()
    yield running
    running.reset()


@pytest.fixture
def client(server: MockOpenAIServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url + "/", timeout=10) as c:
        yield c


# --- embeddings ---------------------------------------------------------------------------


def test_embeddings_answer_one_vector_per_input_in_order(client: httpx.Client) -> None:
    response = client.post("embeddings", json={"model": "emb", "input": ["one", "two"], "dimensions": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list" and body["model"] == "emb"
    assert [d["index"] for d in body["data"]] == [0, 1]
    assert [d["embedding"] for d in body["data"]] == [
        fake_embedding("one", model="emb", dimensions=3),
        fake_embedding("two", model="emb", dimensions=3),
    ]
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] >= 1


def test_a_single_string_is_one_input_and_base64_packs_float32(client: httpx.Client) -> None:
    body = client.post(
        "embeddings", json={"model": "emb", "input": "hello", "encoding_format": "base64"}
    ).json()
    (item,) = body["data"]
    raw = base64.b64decode(item["embedding"])
    assert list(struct.unpack(f"<{len(raw) // 4}f", raw)) == pytest.approx(
        fake_embedding("hello", model="emb")
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"input": ["x"]}, "model: Field required"),
        ({"model": "emb", "input": []}, "input: must not be an empty list"),
        ({"model": "emb", "input": [1, 2]}, "input: each item"),
        ({"model": "emb", "input": "x", "dimensions": 0}, "dimensions"),
        ({"model": "emb", "input": "x", "encoding_format": "int8"}, "encoding_format"),
    ],
)
def test_bad_embedding_requests_get_a_400(client: httpx.Client, body: dict[str, Any], message: str) -> None:
    response = client.post("embeddings", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_embedding_faults_are_scripted_per_model(server: MockOpenAIServer, client: httpx.Client) -> None:
    server.script("emb", Fault.status(503), Fault.rate_limit(retry_after=2))
    first = client.post("embeddings", json={"model": "emb", "input": "x"})
    second = client.post("embeddings", json={"model": "emb", "input": "x"})
    third = client.post("embeddings", json={"model": "emb", "input": "x"})
    assert [first.status_code, second.status_code, third.status_code] == [503, 429, 200]
    assert second.headers["Retry-After"] == "2"
    assert client.post("embeddings", json={"model": "nope", "input": "x"}).status_code == 404


# --- OpenAI chat checks -------------------------------------------------------------------


def chat(**fields: Any) -> dict[str, Any]:
    return {"model": "small", "messages": [{"role": "user", "content": "Hi"}], **fields}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            chat(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]),
            "image_url.url",
        ),
        (chat(messages=[{"role": "user", "content": [{"type": "audio"}]}]), "unsupported content part"),
        (chat(tools=[{"type": "function", "function": {}}]), "tools[0].function.name"),
        (chat(tools=[{"name": "f"}]), "tools[0]"),
        (chat(response_format={"type": "json_schema", "json_schema": {}}), "json_schema.name"),
        (chat(response_format={"type": "yaml"}), "response_format.type"),
    ],
)
def test_malformed_chat_requests_get_a_400(client: httpx.Client, body: dict[str, Any], message: str) -> None:
    response = client.post("chat/completions", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_a_json_schema_request_is_answered_with_an_object_of_that_shape(client: httpx.Client) -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "temp": {"type": "number"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
    }
    body = chat(response_format={"type": "json_schema", "json_schema": {"name": "w", "schema": schema}})
    text = client.post("chat/completions", json=body).json()["choices"][0]["message"]["content"]
    answer = json.loads(text)
    assert set(answer) == {"city", "temp", "tags"}
    assert (
        isinstance(answer["city"], str)
        and isinstance(answer["temp"], float)
        and isinstance(answer["tags"], list)
    )


def test_image_parts_are_accepted(client: httpx.Client) -> None:
    parts = [
        {"type": "text", "text": "?"},
        {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}},
    ]
    assert (
        client.post("chat/completions", json=chat(messages=[{"role": "user", "content": parts}])).status_code
        == 200
    )


# --- Anthropic checks ---------------------------------------------------------------------


def messages(*turns: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": "small", "max_tokens": 50, "messages": list(turns), **fields}


IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}}
TOOL_USE = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            messages({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}),
            "unsupported content block",
        ),
        (
            messages(
                {
                    "role": "user",
                    "content": [
                        {**IMAGE, "source": {"type": "base64", "media_type": "image/bmp", "data": "x"}}
                    ],
                }
            ),
            "media_type",
        ),
        (messages({"role": "user", "content": [TOOL_USE]}), "belong to assistant turns"),
        (
            messages(
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": "x"}],
                }
            ),
            "unknown tool_use_id",
        ),
        (messages({"role": "user", "content": "?"}, tools=[{"name": "f"}]), "input_schema"),
    ],
)
def test_malformed_messages_get_a_400(client: httpx.Client, body: dict[str, Any], message: str) -> None:
    response = client.post("messages", json=body, headers=ANTHROPIC_HEADERS)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_images_tool_uses_and_their_results_are_accepted(client: httpx.Client) -> None:
    body = messages(
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "?"},
                IMAGE,
                {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}},
            ],
        },
        {"role": "assistant", "content": [TOOL_USE]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "ok"}]}
            ],
        },
        tools=[{"name": "f", "input_schema": {"type": "object"}}],
    )
    assert client.post("messages", json=body, headers=ANTHROPIC_HEADERS).status_code == 200
