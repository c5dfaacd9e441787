"""The OpenAI-compatible provider against the real mock server, over loopback HTTP."""

from __future__ import annotations

import json
import logging
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from provider_helpers import SECRET_KEY, WEATHER_TOOL, ask, collect, failure, running, text_before_failure

from meshkit.connectors.providers import OpenAICompatibleProvider
from meshkit.enums import ErrorCategory, ProviderFeature
from meshkit.errors import (
    AuthenticationError,
    BadRequestError,
    ContextWindowExceededError,
    ModelAccessError,
    ProviderError,
    ProviderProtocolError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    RateLimitError,
)
from meshkit.testing.mock_server import Fault, MockOpenAIServer, Reply
from meshkit.testing.vectors import fake_embedding
from meshkit.types import CompletionRequest, EmbeddingRequest

pytestmark = pytest.mark.anyio


def provider(
    server: MockOpenAIServer, transport: str, **config: Any
) -> AbstractAsyncContextManager[OpenAICompatibleProvider]:
    return running(OpenAICompatibleProvider, "local", server, transport, **config)


# --- the happy paths -------------------------------------------------------------------


async def test_complete_returns_text_usage_and_model(server: MockOpenAIServer, transport: str) -> None:
    async with provider(server, transport) as p:
        assert p.transport_name == transport
        reply = await p.complete(ask())
    assert reply.text == "Hello from small."
    assert reply.model == "small"
    assert reply.provider_id == "local"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.completion_tokens == 3
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + 3
    assert reply.created is not None and reply.created.tzinfo is not None


async def test_request_carries_every_option_and_the_bearer_key(
    server: MockOpenAIServer, transport: str
) -> None:
    request = CompletionRequest(
        model="large",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        max_tokens=50,
        temperature=0.2,
        top_p=0.9,
        stop=("END",),
        extra={"seed": 7},
    )
    async with provider(server, transport) as p:
        await p.complete(request)
    sent = server.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    assert sent.json == {
        "model": "large",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "max_tokens": 50,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": ["END"],
        "seed": 7,
    }


async def test_max_completion_tokens_field_is_configurable(server: MockOpenAIServer, transport: str) -> None:
    async with provider(server, transport, max_tokens_field="max_completion_tokens") as p:
        await p.complete(ask(max_tokens=2))
    body = server.requests[-1].json
    assert body["max_completion_tokens"] == 2 and "max_tokens" not in body


async def test_default_model_is_used_when_the_request_names_none(
    server: MockOpenAIServer, transport: str
) -> None:
    async with provider(server, transport, model="large") as p:
        reply = await p.complete(CompletionRequest(messages=[{"role": "user", "content": "hi"}]))
    assert reply.model == "large"


async def test_no_model_at_all_is_a_bad_request_before_any_io(
    server: MockOpenAIServer, transport: str
) -> None:
    async with provider(server, transport) as p:
        with pytest.raises(BadRequestError, match="names no model"):
            await p.complete(CompletionRequest(messages=[{"role": "user", "content": "hi"}]))
    assert server.requests == []


async def test_stream_yields_deltas_then_usage(server: MockOpenAIServer, transport: str) -> None:
    async with provider(server, transport) as p:
        chunks = await collect(p, ask())
    assert "".join(c.text for c in chunks) == "Hello from small."
    assert chunks[0].choices[0].delta.role == "assistant"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3
    assert all(c.provider_id == "local" and c.model == "small" for c in chunks)
    body = server.requests[-1].json
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


async def test_stream_usage_request_can_be_turned_off(server: MockOpenAIServer, transport: str) -> None:
    async with provider(server, transport, stream_usage=False) as p:
        chunks = await collect(p, ask())
    assert "stream_options" not in server.requests[-1].json
    assert all(c.usage is None for c in chunks)
    assert "".join(c.text for c in chunks) == "Hello from small."


async def test_tool_calls_are_sent_and_parsed(server: MockOpenAIServer, transport: str) -> None:
    server.script("small", Reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}]))
    async with provider(server, transport) as p:
        reply = await p.complete(ask("Weather in Paris?", tools=(WEATHER_TOOL,), tool_choice="auto"))
    body = server.requests[-1].json
    assert body["tools"] == [WEATHER_TOOL] and body["tool_choice"] == "auto"
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls or ()
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}


async def test_streamed_tool_call_deltas_add_up_to_the_call(server: MockOpenAIServer, transport: str) -> None:
    server.script("small", Reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}}]))
    async with provider(server, transport) as p:
        chunks = await collect(p, ask(tools=(WEATHER_TOOL,)))
    deltas = [call for c in chunks if c.choices for call in c.choices[0].delta.tool_calls or ()]
    assert deltas[0].function.name == "get_weather" and deltas[0].id
    arguments = "".join(d.function.arguments or "" for d in deltas)
    assert json.loads(arguments) == {"city": "Oslo"}
    assert all(d.index == 0 for d in deltas)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"


async def test_tool_results_go_back_in_openai_shape(server: MockOpenAIServer, transport: str) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    request = CompletionRequest(
        model="small",
        messages=[
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
    )
    async with provider(server, transport) as p:
        await p.complete(request)
    messages = server.requests[-1].json["messages"]
    assert messages[1] == {"role": "assistant", "content": None, "tool_calls": [call]}
    assert messages[2] == {"role": "tool", "content": "sunny", "tool_call_id": "call_1"}


async def test_json_mode_sends_response_format(server: MockOpenAIServer, transport: str) -> None:
    async with provider(server, transport) as p:
        reply = await p.complete(ask(response_format={"type": "json_object"}))
    assert server.requests[-1].json["response_format"] == {"type": "json_object"}
    assert json.loads(reply.text) == {"model": "small", "reply": "Hello from small."}


async def test_json_schema_and_image_parts_go_upstream_unchanged(
    server: MockOpenAIServer, transport: str
) -> None:
    schema = {
        "type": "json_schema",
        "json_schema": {
            "name": "weather",
            "schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            "strict": True,
        },
    }
    parts = [
        {"type": "text", "text": "Which city is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/city.jpg", "detail": "high"}},
    ]
    request = CompletionRequest(
        model="small", messages=[{"role": "user", "content": parts}], response_format=schema
    )
    async with provider(server, transport) as p:
        await p.complete(request)
    body = server.requests[-1].json
    assert body["response_format"] == schema
    assert body["messages"] == [{"role": "user", "content": parts}]


async def test_max_tokens_cut_reports_length(server: MockOpenAIServer, transport: str) -> None:
    async with provider(server, transport) as p:
        reply = await p.complete(ask(max_tokens=2))
    assert reply.text == "Hello from"
    assert reply.choices[0].finish_reason == "length"


async def test_list_models_returns_model_info(server: MockOpenAIServer, transport: str) -> None:
    async with provider(server, transport) as p:
        models = await p.list_models()
    assert [m.id for m in models] == ["small", "large"]
    assert all(m.provider_id == "local" for m in models)
    assert models[0].metadata["owned_by"] == "meshkit"
    assert server.requests[-1].path == "/v1/models"


async def test_probe_is_ok_when_the_listing_works(server: MockOpenAIServer, transport: str) -> None:
    async with provider(server, transport) as p:
        result = await p.probe()
    assert result.ok and result.error is None and result.provider_id == "local"
    assert server.requests[-1].path == "/v1/models"


async def test_probe_reports_a_failing_listing_without_raising(
    server: MockOpenAIServer, transport: str
) -> None:
    server.script_listing(Fault.status(503))
    async with provider(server, transport) as p:
        result = await p.probe()
    assert not result.ok
    assert result.status_code == 503
    assert result.error is not None and "503" in result.error


async def test_declares_its_features() -> None:
    assert OpenAICompatibleProvider.features == {
        ProviderFeature.STREAMING,
        ProviderFeature.TOOLS,
        ProviderFeature.JSON_MODE,
        ProviderFeature.JSON_SCHEMA,
        ProviderFeature.VISION,
        ProviderFeature.EMBEDDINGS,
        ProviderFeature.LIST_MODELS,
        ProviderFeature.USAGE_IN_STREAM,
    }


# --- every fault becomes its typed error ---------------------------------------------

STATUS_FAULTS = [
    pytest.param(Fault.rate_limit(retry_after=2), RateLimitError, 429, True, 2.0, id="rate_limit"),
    pytest.param(Fault.quota(), QuotaExhaustedError, 429, True, None, id="quota"),
    pytest.param(Fault.auth(), AuthenticationError, 401, False, None, id="auth"),
    pytest.param(Fault.status(403, "forbidden"), ModelAccessError, 403, False, None, id="forbidden"),
    pytest.param(Fault.context_window(), ContextWindowExceededError, 400, False, None, id="context_window"),
    pytest.param(Fault.overloaded(retry_after=5), ProviderUnavailableError, 503, True, 5.0, id="overloaded"),
    pytest.param(Fault.status(500), ProviderUnavailableError, 500, True, None, id="500"),
    pytest.param(
        Fault.status(502, body="<html>bad gateway</html>"),
        ProviderUnavailableError,
        502,
        True,
        None,
        id="502-html",
    ),
    pytest.param(Fault.status(504), ProviderTimeoutError, 504, True, None, id="504"),
    pytest.param(Fault.status(400, "bad parameter"), BadRequestError, 400, False, None, id="400"),
]


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize(("fault", "error_type", "status", "retryable", "retry_after"), STATUS_FAULTS)
async def test_status_faults_map_to_typed_errors(
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
    assert error.provider_id == "local"
    assert str(status) in str(error)


async def test_retry_after_as_an_http_date(server: MockOpenAIServer, transport: str) -> None:
    when = datetime.now(UTC) + timedelta(hours=1)
    server.script("small", Fault.rate_limit(retry_after=format_datetime(when, usegmt=True)))
    async with provider(server, transport) as p:
        error = await failure(p, ask(), stream=False)
    assert isinstance(error, RateLimitError)
    assert error.retry_after is not None and 3500 < error.retry_after <= 3600


async def test_retry_after_ms_header_wins(server: MockOpenAIServer, transport: str) -> None:
    server.script("small", Fault.status(429, retry_after=20, headers={"retry-after-ms": "1500"}))
    async with provider(server, transport) as p:
        error = await failure(p, ask(), stream=False)
    assert isinstance(error, RateLimitError) and error.retry_after == 1.5


async def test_ollama_style_string_error_body(server: MockOpenAIServer, transport: str) -> None:
    server.script("small", Fault.status(404, body=json.dumps({"error": "model 'small' not found"})))
    async with provider(server, transport) as p:
        error = await failure(p, ask(), stream=False)
    assert isinstance(error, ModelAccessError) and "model 'small' not found" in str(error)


async def test_unknown_model_is_that_models_failure(server: MockOpenAIServer, transport: str) -> None:
    async with provider(server, transport) as p:
        error = await failure(p, ask(model="nope"), stream=False)
    assert isinstance(error, ModelAccessError) and error.status_code == 404
    assert not error.retryable


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
async def test_garbage_is_a_protocol_error(server: MockOpenAIServer, transport: str, stream: bool) -> None:
    server.script("small", Fault.malformed())
    async with provider(server, transport) as p:
        error = await failure(p, ask(), stream=stream)
    assert isinstance(error, ProviderProtocolError) and error.retryable
    assert error.category is ErrorCategory.PROTOCOL


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
async def test_cut_answer_is_a_protocol_error(server: MockOpenAIServer, transport: str, stream: bool) -> None:
    server.script("small", Fault.cut_stream(after=2))
    async with provider(server, transport) as p:
        error = await failure(p, ask(), stream=stream)
    assert isinstance(error, ProviderProtocolError), repr(error)
    assert "cut short" in str(error)


async def test_cut_stream_delivers_what_came_before_the_cut(server: MockOpenAIServer, transport: str) -> None:
    server.script("small", Fault.cut_stream(after=2))
    async with provider(server, transport) as p:
        text, failed = await text_before_failure(p, ask())
    assert isinstance(failed, ProviderProtocolError)
    assert text == "word1 word2 "


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
async def test_dropped_connection_is_unavailable(
    server: MockOpenAIServer, transport: str, stream: bool
) -> None:
    server.script("small", Fault.disconnect())
    async with provider(server, transport) as p:
        error = await failure(p, ask(), stream=stream)
    assert isinstance(error, ProviderUnavailableError) and error.retryable


@pytest.mark.parametrize(
    ("error", "error_type"),
    [
        ("overloaded", ProviderUnavailableError),
        ("quota", QuotaExhaustedError),
        ("rate_limit", RateLimitError),
    ],
)
async def test_error_inside_a_stream_is_typed(
    server: MockOpenAIServer, transport: str, error: str, error_type: type[ProviderError]
) -> None:
    server.script("small", Fault.stream_error(after=1, error=error))
    async with provider(server, transport) as p:
        text, failed = await text_before_failure(p, ask())
    assert type(failed) is error_type
    assert text == "word1 "


async def test_configured_timeout_against_a_hang(server: MockOpenAIServer, transport: str) -> None:
    server.script("small", Fault.hang())
    async with provider(server, transport, timeout="200ms") as p:
        error = await failure(p, ask(), stream=False)
    assert isinstance(error, ProviderTimeoutError) and error.retryable
    assert error.category is ErrorCategory.TIMEOUT


async def test_request_timeout_against_a_stalled_stream(server: MockOpenAIServer, transport: str) -> None:
    server.script("small", Fault.hang(after=1))
    async with provider(server, transport) as p:
        # The whole attempt must fit the first chunk before the hang: a second leaves room for a
        # loaded machine while the hang itself never ends.
        text, failed = await text_before_failure(p, ask(timeout=1.0))
    assert isinstance(failed, ProviderTimeoutError)
    assert text == "word1 "


async def test_connection_refused_is_unavailable(transport: str) -> None:
    with MockOpenAIServer() as gone:
        url = gone.base_url  # a port that was just free and is closed again
    async with OpenAICompatibleProvider({"base_url": url, "transport": transport}) as p:
        with pytest.raises(ProviderUnavailableError):
            await p.complete(ask())


async def test_the_provider_never_retries(server: MockOpenAIServer, transport: str) -> None:
    server.script("small", Fault.status(503), Fault.rate_limit(retry_after=1))
    async with provider(server, transport) as p:
        await failure(p, ask(), stream=False)
        assert len(server.requests) == 1
        await failure(p, ask(), stream=True)
        assert len(server.requests) == 2
        assert (await p.complete(ask())).text == "Hello from small."


async def test_error_inside_a_200_body_is_typed(server: MockOpenAIServer, transport: str) -> None:
    body = {"error": {"message": "Upstream rate limited", "code": 429}}
    server.script("small", Fault.status(200, body=json.dumps(body)))
    async with provider(server, transport) as p:
        error = await failure(p, ask(), stream=False)
    assert isinstance(error, RateLimitError) and error.status_code == 429


# --- secrets ---------------------------------------------------------------------------


async def test_the_key_never_leaks(
    server: MockOpenAIServer, transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.script(
        "small", Fault.auth(), Fault.status(500, f"echo {SECRET_KEY}"), Fault.stream_error(error="auth")
    )
    seen: list[str] = []
    async with provider(server, transport) as p:
        seen += [repr(p), str(p), repr(p.config), repr(p.client.headers)]
        for stream in (False, False, True):
            error = await failure(p, ask(), stream=stream)
            seen += [str(error), repr(error), repr(error.args)]
        server.script_listing(Fault.auth())
        result = await p.probe()
        seen += [repr(result)]
    assert server.requests[0].headers["Authorization"] == f"Bearer {SECRET_KEY}"  # it was sent
    assert "Incorrect API key provided: **********" in seen[4]  # the echoed key was scrubbed
    for text in [*seen, caplog.text]:
        assert SECRET_KEY not in text


# --- transport choice ----------------------------------------------------------------------


async def test_auto_transport_is_aiohttp_under_asyncio_and_httpx_under_trio(
    server: MockOpenAIServer, anyio_backend: str
) -> None:
    async with provider(server, "auto") as p:
        assert (await p.complete(ask())).text == "Hello from small."
        assert p.transport_name == ("aiohttp" if anyio_backend == "asyncio" else "httpx")


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_forcing_aiohttp_under_trio_says_what_to_do(server: MockOpenAIServer) -> None:
    p = OpenAICompatibleProvider({"base_url": server.base_url, "transport": "aiohttp"})
    with pytest.raises(RuntimeError, match="needs asyncio; use 'auto' or 'httpx' under trio"):
        await p.start()
    await p.aclose()


# --- embeddings ------------------------------------------------------------------------


async def test_embed_posts_to_embeddings_and_keeps_input_order(
    server: MockOpenAIServer, transport: str
) -> None:
    async with provider(server, transport) as p:
        reply = await p.embed(EmbeddingRequest(model="small", input=["alpha", "beta", "gamma"], dimensions=5))
        again = await p.embed(EmbeddingRequest(model="small", input="beta"))
    sent = server.requests[-2]
    assert sent.path == "/v1/embeddings"
    assert sent.json == {
        "model": "small",
        "input": ["alpha", "beta", "gamma"],
        "encoding_format": "float",
        "dimensions": 5,
    }
    assert sent.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    assert [d.index for d in reply.data] == [0, 1, 2]
    assert reply.vectors == [
        fake_embedding(t, model="small", dimensions=5) for t in ("alpha", "beta", "gamma")
    ]
    assert again.vectors == [fake_embedding("beta", model="small")]
    assert reply.model == "small" and reply.provider_id == "local"
    assert reply.usage.prompt_tokens == reply.usage.total_tokens > 0 and reply.usage.completion_tokens == 0


async def test_embed_decodes_base64_vectors(server: MockOpenAIServer, transport: str) -> None:
    async with provider(server, transport) as p:
        reply = await p.embed(
            EmbeddingRequest(model="small", input=["x"], dimensions=4, extra={"encoding_format": "base64"})
        )
    assert server.requests[-1].json["encoding_format"] == "base64"
    assert reply.vectors[0] == pytest.approx(fake_embedding("x", model="small", dimensions=4), abs=1e-6)


@pytest.mark.parametrize(
    ("fault", "error_type"),
    [
        (Fault.rate_limit(retry_after=4), RateLimitError),
        (Fault.status(503), ProviderUnavailableError),
        (Fault.auth(), AuthenticationError),
        (Fault.malformed(), ProviderProtocolError),
        (Fault.disconnect(), ProviderUnavailableError),
    ],
)
async def test_embed_faults_map_to_typed_errors(
    server: MockOpenAIServer, transport: str, fault: Fault, error_type: type[ProviderError]
) -> None:
    server.script("small", fault)
    async with provider(server, transport) as p:
        with pytest.raises(error_type) as info:
            await p.embed(EmbeddingRequest(model="small", input=["x"]))
    assert len(server.requests) == 1
    if isinstance(info.value, RateLimitError):
        assert info.value.retry_after == pytest.approx(4.0)


async def test_an_answer_missing_a_vector_is_a_protocol_error(transport: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        data = [{"object": "embedding", "index": 1, "embedding": [0.5, 0.5]}]
        return httpx.Response(
            200, json={"data": data, "model": "m", "usage": {"prompt_tokens": 2, "total_tokens": 2}}
        )

    async with OpenAICompatibleProvider(
        {"base_url": "http://embed.test/v1"}, transport=httpx.MockTransport(handler)
    ) as p:
        with pytest.raises(ProviderProtocolError, match="indexes"):
            await p.embed(EmbeddingRequest(model="m", input=["a", "b"]))


async def test_vectors_out_of_order_are_put_back_in_input_order(transport: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        data = [
            {"object": "embedding", "index": 1, "embedding": [0.0, 1.0]},
            {"object": "embedding", "index": 0, "embedding": [1.0, 0.0]},
        ]
        return httpx.Response(
            200, json={"data": data, "model": "m", "usage": {"prompt_tokens": 2, "total_tokens": 2}}
        )

    async with OpenAICompatibleProvider(
        {"base_url": "http://embed.test/v1"}, transport=httpx.MockTransport(handler)
    ) as p:
        reply = await p.embed(EmbeddingRequest(model="m", input=["a", "b"]))
    assert reply.vectors == [[1.0, 0.0], [0.0, 1.0]]


async def test_a_bad_embedding_request_is_not_retryable(server: MockOpenAIServer, transport: str) -> None:
    async with provider(server, transport) as p:
        with pytest.raises(BadRequestError, match="dimensions"):
            await p.embed(EmbeddingRequest(model="small", input=["x"], dimensions=0))
