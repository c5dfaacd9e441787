"""The Anthropic Messages provider against the mock server's /v1/messages, over loopback HTTP."""

from __future__ import annotations

import json
import logging
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from provider_helpers import SECRET_KEY, WEATHER_TOOL, ask, collect, failure, running, text_before_failure

from meshkit.connectors.providers import AnthropicProvider
from meshkit.enums import ProviderFeature
from meshkit.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ContextWindowExceededError,
    FeatureNotSupportedError,
    ModelAccessError,
    ProviderError,
    ProviderProtocolError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    RateLimitError,
)
from meshkit.testing.mock_server import Fault, MockOpenAIServer, Reply
from meshkit.types import CompletionRequest, EmbeddingRequest

pytestmark = pytest.mark.anyio


def provider(
    server: MockOpenAIServer, transport: str, **config: Any
) -> AbstractAsyncContextManager[AnthropicProvider]:
    return running(AnthropicProvider, "claude", server, transport, **config)


# --- requests --------------------------------------------------------------------------


async def test_complete_hoists_system_and_sends_the_headers(server: MockOpenAIServer, transport: str) -> None:
    request = CompletionRequest(
        model="small",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": "Again"},
        ],
        temperature=0.3,
        top_p=0.8,
        stop=("END",),
    )
    async with provider(server, transport) as p:
        reply = await p.complete(request)
    assert reply.text == "Hello from small."
    assert reply.provider_id == "claude" and reply.model == "small"
    sent = server.requests[-1]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == SECRET_KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "Authorization" not in sent.headers
    assert sent.json == {
        "model": "small",
        "max_tokens": 1024,
        "system": "Be brief.",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Hello."}]},
            {"role": "user", "content": [{"type": "text", "text": "Again"}]},
        ],
        "temperature": 0.3,
        "top_p": 0.8,
        "stop_sequences": ["END"],
    }


async def test_max_tokens_default_is_configurable_and_a_request_overrides_it(
    server: MockOpenAIServer, transport: str
) -> None:
    async with provider(server, transport, default_max_tokens=77) as p:
        await p.complete(ask())
        assert server.requests[-1].json["max_tokens"] == 77
        await p.complete(ask(max_tokens=5))
        assert server.requests[-1].json["max_tokens"] == 5


async def test_version_and_beta_headers_are_configurable(server: MockOpenAIServer, transport: str) -> None:
    async with provider(server, transport, anthropic_version="2024-01-01", beta=["a-1", "b-2"]) as p:
        await p.complete(ask())
    headers = server.requests[-1].headers
    assert headers["anthropic-version"] == "2024-01-01"
    assert headers["anthropic-beta"] == "a-1,b-2"


@pytest.mark.parametrize(
    ("reply", "finish"),
    [
        (Reply("done"), "stop"),
        (Reply("cut", finish_reason="max_tokens"), "length"),
        (Reply("no", finish_reason="refusal"), "content_filter"),
        (Reply("halt", finish_reason="stop_sequence"), "stop"),
    ],
)
async def test_stop_reason_becomes_finish_reason(
    server: MockOpenAIServer, transport: str, reply: Reply, finish: str
) -> None:
    server.script("small", reply, reply)
    async with provider(server, transport) as p:
        assert (await p.complete(ask())).choices[0].finish_reason == finish
        chunks = await collect(p, ask())
    assert [c.choices[0].finish_reason for c in chunks if c.choices[0].finish_reason] == [finish]


async def test_max_tokens_reached_reports_length(server: MockOpenAIServer, transport: str) -> None:
    async with provider(server, transport) as p:
        reply = await p.complete(ask(max_tokens=2))
    assert reply.text == "Hello from" and reply.choices[0].finish_reason == "length"


async def test_stream_event_types_become_chunks(server: MockOpenAIServer, transport: str) -> None:
    async with provider(server, transport) as p:
        chunks = await collect(p, ask())
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.text for c in chunks) == "Hello from small."
    assert chunks[-1].choices[0].finish_reason == "stop"
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens == 3 and usage.prompt_tokens >= 1
    assert all(c.id.startswith("msg_") and c.model == "small" and c.provider_id == "claude" for c in chunks)
    assert server.requests[-1].json["stream"] is True


async def test_tools_are_translated_both_ways(server: MockOpenAIServer, transport: str) -> None:
    server.script(
        "small", Reply("Let me look.", tool_calls=[{"name": "get_weather", "arguments": {"city": "Rome"}}])
    )
    async with provider(server, transport) as p:
        reply = await p.complete(ask("Weather in Rome?", tools=(WEATHER_TOOL,), tool_choice="required"))
    body = server.requests[-1].json
    assert body["tools"] == [
        {
            "name": "get_weather",
            "description": "The weather in a city",
            "input_schema": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ]
    assert body["tool_choice"] == {"type": "any"}
    message = reply.choices[0].message
    assert reply.choices[0].finish_reason == "tool_calls"
    assert message.content == "Let me look."
    (call,) = message.tool_calls or ()
    assert call.id.startswith("toolu_") and call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Rome"}


@pytest.mark.parametrize(
    ("choice", "sent"),
    [
        ("auto", {"type": "auto"}),
        ({"type": "function", "function": {"name": "get_weather"}}, {"type": "tool", "name": "get_weather"}),
    ],
)
async def test_tool_choice_is_translated(
    server: MockOpenAIServer, transport: str, choice: Any, sent: dict[str, Any]
) -> None:
    async with provider(server, transport) as p:
        await p.complete(ask(tools=(WEATHER_TOOL,), tool_choice=choice))
    assert server.requests[-1].json["tool_choice"] == sent


async def test_tool_choice_none_sends_no_tools(server: MockOpenAIServer, transport: str) -> None:
    async with provider(server, transport) as p:
        await p.complete(ask(tools=(WEATHER_TOOL,), tool_choice="none"))
    body = server.requests[-1].json
    assert "tools" not in body and "tool_choice" not in body


async def test_streamed_tool_use_becomes_tool_call_deltas(server: MockOpenAIServer, transport: str) -> None:
    server.script("small", Reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Lima"}}]))
    async with provider(server, transport) as p:
        chunks = await collect(p, ask(tools=(WEATHER_TOOL,)))
    deltas = [call for c in chunks for call in c.choices[0].delta.tool_calls or ()]
    assert (deltas[0].id or "").startswith("toolu_") and deltas[0].function.name == "get_weather"
    assert all(d.index == 0 for d in deltas)
    assert json.loads("".join(d.function.arguments or "" for d in deltas)) == {"city": "Lima"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


async def test_tool_results_become_one_user_turn(server: MockOpenAIServer, transport: str) -> None:
    calls = [
        {
            "id": "toolu_a",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "A"}'},
        },
        {
            "id": "toolu_b",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "B"}'},
        },
    ]
    request = CompletionRequest(
        model="small",
        messages=[
            {"role": "user", "content": "Weather in A and B?"},
            {"role": "assistant", "content": None, "tool_calls": calls},
            {"role": "tool", "tool_call_id": "toolu_a", "content": "sunny"},
            {"role": "tool", "tool_call_id": "toolu_b", "content": "rain"},
        ],
    )
    async with provider(server, transport) as p:
        await p.complete(request)
    messages = server.requests[-1].json["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {"city": "A"}},
            {"type": "tool_use", "id": "toolu_b", "name": "get_weather", "input": {"city": "B"}},
        ],
    }
    assert messages[2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_a", "content": "sunny"},
            {"type": "tool_result", "tool_use_id": "toolu_b", "content": "rain"},
        ],
    }


PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


async def test_image_parts_become_image_blocks(server: MockOpenAIServer, transport: str) -> None:
    parts = [
        {"type": "text", "text": "Compare these."},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "low"}},
    ]
    request = CompletionRequest(
        model="small",
        messages=[
            {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
            {"role": "user", "content": parts},
        ],
    )
    async with provider(server, transport) as p:
        reply = await p.complete(request)
    body = server.requests[-1].json
    assert body["system"] == "Be brief."
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Compare these."},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
            ],
        }
    ]
    assert reply.text == "Hello from small."


async def test_tool_results_with_content_parts_keep_their_parts(
    server: MockOpenAIServer, transport: str
) -> None:
    call = {"id": "toolu_x", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    request = CompletionRequest(
        model="small",
        messages=[
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "toolu_x", "content": [{"type": "text", "text": "sunny"}]},
        ],
    )
    async with provider(server, transport) as p:
        await p.complete(request)
    messages = server.requests[-1].json["messages"]
    assert messages[2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_x", "content": [{"type": "text", "text": "sunny"}]}
        ],
    }


@pytest.mark.parametrize(
    ("url", "match"),
    [("ftp://example.com/cat.jpg", "data: or http"), ("data:image/png,notbase64", "base64")],
)
async def test_an_image_the_api_cannot_take_is_a_bad_request_before_any_io(
    server: MockOpenAIServer, transport: str, url: str, match: str
) -> None:
    request = CompletionRequest(
        model="small",
        messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}],
    )
    async with provider(server, transport) as p:
        with pytest.raises(BadRequestError, match=match):
            await p.complete(request)
    assert server.requests == []


async def test_json_mode_is_refused_before_any_io(server: MockOpenAIServer, transport: str) -> None:
    async with provider(server, transport) as p:
        with pytest.raises(FeatureNotSupportedError, match="JSON mode"):
            await p.complete(ask(response_format={"type": "json_object"}))
    assert server.requests == []


async def test_list_models_reads_the_anthropic_listing(server: MockOpenAIServer, transport: str) -> None:
    async with provider(server, transport) as p:
        models = await p.list_models()
        assert (await p.probe()).ok
    assert [m.id for m in models] == ["small", "large"]
    assert models[0].metadata["display_name"] == "Small"
    assert server.requests[-1].headers["anthropic-version"] == "2023-06-01"


async def test_declares_its_features() -> None:
    assert AnthropicProvider.features == {
        ProviderFeature.STREAMING,
        ProviderFeature.TOOLS,
        ProviderFeature.VISION,
        ProviderFeature.LIST_MODELS,
        ProviderFeature.USAGE_IN_STREAM,
    }


# --- errors ----------------------------------------------------------------------------

STATUS_FAULTS = [
    pytest.param(Fault.rate_limit(retry_after=3), RateLimitError, 429, True, 3.0, id="rate_limit_error"),
    pytest.param(Fault.overloaded(), ProviderUnavailableError, 529, True, None, id="overloaded_error"),
    pytest.param(Fault.quota(), QuotaExhaustedError, 402, True, None, id="billing_error"),
    pytest.param(
        Fault.status(400, "Your credit balance is too low to access the Anthropic API."),
        QuotaExhaustedError,
        400,
        True,
        None,
        id="credit_balance",
    ),
    pytest.param(Fault.auth(), AuthenticationError, 401, False, None, id="authentication_error"),
    pytest.param(Fault.status(403), ModelAccessError, 403, False, None, id="permission_error"),
    pytest.param(
        Fault.status(404, "model: claude-nope"), ModelAccessError, 404, False, None, id="model_not_found"
    ),
    pytest.param(Fault.status(404, "file: f-1"), BadRequestError, 404, False, None, id="other_not_found"),
    pytest.param(Fault.context_window(), ContextWindowExceededError, 400, False, None, id="prompt_too_long"),
    pytest.param(Fault.status(400, "messages: bad"), BadRequestError, 400, False, None, id="invalid_request"),
    pytest.param(Fault.status(500), ProviderUnavailableError, 500, True, None, id="api_error"),
    pytest.param(
        Fault.status(502, body="<html>bad gateway</html>"),
        ProviderUnavailableError,
        502,
        True,
        None,
        id="502-html",
    ),
]


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize(("fault", "error_type", "status", "retryable", "retry_after"), STATUS_FAULTS)
async def test_error_bodies_map_to_typed_errors(
    server: MockOpenAIServer,
    transport: str,
    stream: bool,
    fault: Fault,
    error_type: type[ProviderError],
    status: int,
    retryable: bool,
    retry_after: float | None,
) -> None:
    server.script("small", fault)
    async with provider(server, transport) as p:
        error = await failure(p, ask(), stream=stream)
    assert type(error) is error_type
    assert error.status_code == status
    assert error.retryable is retryable
    assert error.retry_after == retry_after
    assert error.provider_id == "claude"


@pytest.mark.parametrize(
    ("error", "error_type"),
    [("overloaded", ProviderUnavailableError), ("rate_limit", RateLimitError), ("auth", AuthenticationError)],
)
async def test_error_event_inside_a_stream_is_typed(
    server: MockOpenAIServer, transport: str, error: str, error_type: type[ProviderError]
) -> None:
    server.script("small", Fault.stream_error(after=1, error=error))
    async with provider(server, transport) as p:
        text, failed = await text_before_failure(p, ask())
    assert type(failed) is error_type
    assert text == "word1 "


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
async def test_garbage_and_cuts_are_protocol_errors(
    server: MockOpenAIServer, transport: str, stream: bool
) -> None:
    server.script("small", Fault.malformed(), Fault.cut_stream(after=1))
    async with provider(server, transport) as p:
        garbage = await failure(p, ask(), stream=stream)
        cut = await failure(p, ask(), stream=stream)
    assert isinstance(garbage, ProviderProtocolError)
    assert isinstance(cut, ProviderProtocolError) and "cut short" in str(cut)


async def test_timeout_against_a_hang(server: MockOpenAIServer, transport: str) -> None:
    server.script("small", Fault.hang())
    async with provider(server, transport, timeout="200ms") as p:
        error = await failure(p, ask(), stream=True)
    assert isinstance(error, ProviderTimeoutError)


async def test_missing_version_header_is_what_the_server_rejects(
    server: MockOpenAIServer, transport: str
) -> None:
    # The server enforces the real API's rules, so the header tests above are meaningful.
    async with provider(server, transport) as p:
        bare = p.client.build_request(
            "POST",
            "messages",
            json={"model": "small", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
        )
        del bare.headers["anthropic-version"]
        response = await p.client.send(bare)
    assert response.status_code == 400
    assert "anthropic-version" in response.text


# --- config and secrets ----------------------------------------------------------------


def test_the_hosted_api_without_a_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        AnthropicProvider({})
    assert "config.api_key" in str(info.value) and "ANTHROPIC_API_KEY" in str(info.value)


def test_a_bad_base_url_is_reported_by_path() -> None:
    with pytest.raises(ConfigError, match=r"config\.base_url: expected an http:// or https:// URL"):
        AnthropicProvider({"api_key": "k", "base_url": "api.anthropic.com"})


async def test_the_key_never_leaks(
    server: MockOpenAIServer, transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.script(
        "small", Fault.auth(), Fault.status(500, f"echo {SECRET_KEY}"), Fault.stream_error(error="auth")
    )
    seen: list[str] = []
    async with provider(server, transport) as p:
        seen += [repr(p), repr(p.config), repr(p.client.headers), repr(p.client.auth)]
        for stream in (False, False, True):
            error = await failure(p, ask(), stream=stream)
            seen += [str(error), repr(error)]
        server.script_listing(Fault.auth())
        seen.append(repr(await p.probe()))
    assert server.requests[0].headers["x-api-key"] == SECRET_KEY  # it was sent
    assert "invalid x-api-key: **********" in seen[4]  # the echoed key was scrubbed
    for text in [*seen, caplog.text]:
        assert SECRET_KEY not in text


async def test_a_tool_call_round_trip_with_an_image_is_accepted_by_the_messages_api(
    server: MockOpenAIServer, transport: str
) -> None:
    server.script("small", Reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Rome"}}]))
    photo = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}}
    question = {"role": "user", "content": [{"type": "text", "text": "Weather where this is?"}, photo]}
    async with provider(server, transport) as p:
        first = await p.complete(CompletionRequest(model="small", messages=[question], tools=(WEATHER_TOOL,)))
        assistant = first.choices[0].message
        (call,) = assistant.tool_calls or ()
        second = await p.complete(
            CompletionRequest(
                model="small",
                messages=[
                    question,
                    assistant,
                    {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
                ],
                tools=(WEATHER_TOOL,),
            )
        )
    assert second.text == "Hello from small."
    sent = server.requests[-1].json["messages"]
    assert sent[1]["content"] == [
        {"type": "tool_use", "id": call.id, "name": "get_weather", "input": {"city": "Rome"}}
    ]
    assert sent[2]["content"][0]["tool_use_id"] == call.id


async def test_the_messages_api_refuses_a_tool_result_without_its_tool_use(
    server: MockOpenAIServer, transport: str
) -> None:
    request = CompletionRequest(
        model="small",
        messages=[
            {"role": "user", "content": "?"},
            {"role": "tool", "tool_call_id": "toolu_none", "content": "x"},
        ],
    )
    async with provider(server, transport) as p:
        with pytest.raises(BadRequestError, match="unknown tool_use_id"):
            await p.complete(request)


async def test_embeddings_are_refused_before_any_io(server: MockOpenAIServer, transport: str) -> None:
    async with provider(server, transport) as p:
        with pytest.raises(FeatureNotSupportedError, match="embeddings"):
            await p.embed(EmbeddingRequest(model="small", input="x"))
    assert server.requests == []
