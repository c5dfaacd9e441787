"""Capabilities end to end over real HTTP on loopback: embeddings, and what a request needs of a model.

The mesh talks to the local mock server through the built-in providers (openai-compatible,
anthropic); every upstream call is recorded by the server, so "0 calls to a model" is what
the server saw.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from runtime_helpers import Recorder

from meshkit import EventType, NoCapableModelError
from meshkit.runtime.mesh import Mesh
from meshkit.testing import FakeClock, fake_embedding
from meshkit.testing.mock_server import Fault, MockOpenAIServer, Reply

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


# --- what a request needs -------------------------------------------------------------------

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "weather",
        "schema": {"type": "object", "properties": {"city": {"type": "string"}, "temp": {"type": "number"}}},
    },
}
PIXEL = "data:image/png;base64,iVBORw0KGgo="
LOOK = [
    {"type": "text", "text": "What is in this picture?"},
    {"type": "image_url", "image_url": {"url": PIXEL}},
]


def needs_config(server: MockOpenAIServer, *pool: str) -> dict[str, Any]:
    """``local.m1`` can only stream; ``local.m2`` has every openai-compatible feature;
    ``claude.m3`` is Anthropic (tools and vision, no JSON modes). Pool ``p`` holds ``pool``."""
    return {
        "providers": providers(server),
        "models": {
            "local.m1": {"provider": "local", "features": ["streaming"]},
            "local.m2": {"provider": "local"},
            "claude.m3": {"provider": "claude"},
        },
        "pools": {"p": {"models": list(pool)}},
    }


async def test_a_tools_request_skips_a_model_without_tools_and_keeps_its_tools(
    server: MockOpenAIServer, clock: FakeClock
) -> None:
    server.script("m2", Reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}]))
    async with Mesh.from_config(needs_config(server, "local.m1", "local.m2"), clock=clock) as mesh:
        reply = await mesh.complete(
            model="p",
            messages=[{"role": "user", "content": "Weather in Paris?"}],
            tools=[WEATHER],
            tool_choice="auto",
        )
        status = mesh.status()["models"]["local.m1"]
    assert called(server, "/chat/completions") == ["m2"]  # nothing was sent for m1
    sent = server.requests[0].json
    assert sent["tools"] == [WEATHER] and sent["tool_choice"] == "auto"
    assert reply.model == "local.m2"
    (call,) = reply.choices[0].message.tool_calls or ()
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert reply.choices[0].finish_reason == "tool_calls"
    assert (status["status"], status["counters"]["requests"]) == ("active", 0)


async def test_a_json_schema_request_skips_anthropic_and_keeps_its_schema(
    server: MockOpenAIServer, clock: FakeClock
) -> None:
    async with Mesh.from_config(needs_config(server, "claude.m3", "local.m2"), clock=clock) as mesh:
        reply = await mesh.complete(
            model="p", messages=[{"role": "user", "content": "?"}], response_format=SCHEMA
        )
    assert called(server, "/messages") == []
    assert called(server, "/chat/completions") == ["m2"]
    assert server.requests[0].json["response_format"] == SCHEMA
    answer = json.loads(reply.text)
    assert isinstance(answer["city"], str) and isinstance(answer["temp"], float)


async def test_an_image_request_skips_a_model_without_vision_and_reaches_anthropic_as_an_image(
    server: MockOpenAIServer, clock: FakeClock
) -> None:
    async with Mesh.from_config(needs_config(server, "local.m1", "claude.m3"), clock=clock) as mesh:
        reply = await mesh.complete(model="p", messages=[{"role": "user", "content": LOOK}])
    assert reply.model == "claude.m3"
    assert called(server, "/chat/completions") == []
    (sent,) = server.requests
    assert sent.json["messages"][0]["content"] == [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
    ]


async def test_a_stream_skips_a_model_that_cannot_stream(server: MockOpenAIServer, clock: FakeClock) -> None:
    config = needs_config(server, "local.m1", "local.m2")
    config["models"]["local.m1"]["features"] = ["tools"]
    async with Mesh.from_config(config, clock=clock) as mesh:
        chunks = [c async for c in mesh.stream(model="p", messages=[{"role": "user", "content": "hi"}])]
    assert "".join(c.text for c in chunks) == "Hello from m2."
    assert called(server, "/chat/completions") == ["m2"]


async def test_no_capable_model_is_raised_before_any_request(
    server: MockOpenAIServer, clock: FakeClock
) -> None:
    async with Mesh.from_config(needs_config(server, "local.m1", "claude.m3"), clock=clock) as mesh:
        with pytest.raises(NoCapableModelError) as info:
            await mesh.complete(
                model="p", messages=[{"role": "user", "content": LOOK}], response_format=SCHEMA
            )
    assert server.requests == []
    assert info.value.missing == ("json_schema", "vision")
    assert [(n.model_id, n.reason) for n in info.value.skipped] == [
        ("local.m1", "lacks json_schema, vision"),
        ("claude.m3", "lacks json_schema"),
    ]


# --- anthropic: tools and images there and back -----------------------------------------------------


async def test_anthropic_tools_and_images_round_trip(server: MockOpenAIServer, clock: FakeClock) -> None:
    server.script("m3", Reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}]))
    server.script("m3", Reply("It is sunny in Paris."))
    question = {
        "role": "user",
        "content": [{"type": "text", "text": "Weather where this was taken?"}, LOOK[1]],
    }
    async with Mesh.from_config(needs_config(server, "claude.m3"), clock=clock) as mesh:
        first = await mesh.complete(model="p", messages=[question], tools=[WEATHER])
        (call,) = first.choices[0].message.tool_calls or ()
        assert first.choices[0].finish_reason == "tool_calls"
        assert call.function.name == "get_weather"
        assert json.loads(call.function.arguments) == {"city": "Paris"}
        history = [
            question,
            first.choices[0].message.to_dict(),
            {"role": "tool", "tool_call_id": call.id, "content": '{"sky": "clear"}'},
        ]
        second = await mesh.complete(model="p", messages=history, tools=[WEATHER])
    assert second.text == "It is sunny in Paris."
    asked, answered = (r.json for r in server.requests)
    assert asked["tools"] == [
        {
            "name": "get_weather",
            "description": "The weather in a city",
            "input_schema": WEATHER["function"]["parameters"],
        }
    ]
    assert asked["messages"][0]["content"][1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
    }
    assistant, result = answered["messages"][1:]
    assert assistant == {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": call.id, "name": "get_weather", "input": {"city": "Paris"}}],
    }
    assert result == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": call.id, "content": '{"sky": "clear"}'}],
    }


# --- the attempt budget -------------------------------------------------------------------------


async def test_three_503s_in_a_pool_of_four_are_answered_by_the_fourth(
    server: MockOpenAIServer, clock: FakeClock
) -> None:
    for name in ("m1", "m2", "m3"):
        server.script(name, Fault.status(503))
    config = {
        "providers": providers(server),
        "models": {f"local.{n}": {"provider": "local"} for n in ("m1", "m2", "m3", "m4")},
        "pools": {"chat": {"capability": "chat-completion"}},  # every setting at its default
    }
    async with Mesh.from_config(config, clock=clock) as mesh:
        reply = await mesh.complete(model="chat", messages=[{"role": "user", "content": "hi"}])
    assert reply.model == "local.m4" and reply.text == "Hello from m4."
    assert called(server, "/chat/completions") == ["m1", "m2", "m3", "m4"]
