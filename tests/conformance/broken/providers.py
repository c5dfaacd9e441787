"""A reference OpenAI-style HTTP provider, and copies of it that each get one thing wrong."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import attrs
import httpx

from meshkit.enums import ProviderFeature
from meshkit.errors import (
    ProviderError,
    ProviderProtocolError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
)
from meshkit.interfaces import HTTPProvider, error_for_status, parse_retry_after
from meshkit.types import (
    ChatMessage,
    Choice,
    ChunkChoice,
    CompletionChunk,
    CompletionRequest,
    CompletionResponse,
    Delta,
    Embedding,
    EmbeddingRequest,
    EmbeddingResponse,
    ModelInfo,
    TokenUsage,
)


class ReferenceHTTPProvider(HTTPProvider):
    """Does everything right: the control the defects below are measured against."""

    connector_id = "reference.http.v1"
    features = frozenset(
        {
            ProviderFeature.STREAMING,
            ProviderFeature.LIST_MODELS,
            ProviderFeature.USAGE_IN_STREAM,
            ProviderFeature.TOOLS,
            ProviderFeature.JSON_MODE,
        }
    )

    def request_body(self, request: CompletionRequest, *, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "messages": [m.to_dict() for m in request.messages],
            "stream": stream,
        }
        optional = {
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "stop": list(request.stop) if request.stop else None,
            "tools": [dict(t) for t in request.tools] if request.tools else None,
            "tool_choice": request.tool_choice,
            "response_format": request.response_format,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        if stream:
            body["stream_options"] = {"include_usage": True}
        return body

    def build_request(self, request: CompletionRequest, *, stream: bool) -> httpx.Request:
        return self.client.build_request(
            "POST",
            f"{self.config.base_url}/chat/completions",
            json=self.request_body(request, stream=stream),
            headers=self.default_headers(),
        )

    def parse_response(self, response: httpx.Response, request: CompletionRequest) -> CompletionResponse:
        data = response.json()
        if data.get("error"):  # some services answer 200 and put the error in the body
            raise self.error_in_body(data["error"], response.headers)
        choice = data["choices"][0]
        message = choice["message"]
        calls = message.get("tool_calls")
        return CompletionResponse(
            id=data["id"],
            model=data.get("model") or request.model or "",
            choices=(
                Choice(
                    index=0,
                    message=ChatMessage(
                        role=message.get("role") or "assistant",
                        content=message.get("content"),
                        tool_calls=tuple(calls) if calls else None,
                    ),
                    finish_reason=choice["finish_reason"],
                ),
            ),
            created=_created(data.get("created")),
            usage=self.usage_of(data.get("usage") or {}),
            provider_id=self.name,
        )

    def usage_of(self, usage: Mapping[str, Any]) -> TokenUsage:
        return TokenUsage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))

    def parse_stream_line(
        self, line: str, request: CompletionRequest
    ) -> CompletionChunk | Literal[False] | None:
        if not line.startswith("data:"):
            return None
        payload = line[5:].strip()
        if payload == "[DONE]":
            return False
        data = json.loads(payload)
        if data.get("error"):
            raise self.error_in_body(data["error"], None)
        usage = data.get("usage")
        return CompletionChunk(
            id=data["id"],
            model=data.get("model") or request.model or "",
            choices=tuple(
                ChunkChoice(index=c["index"], delta=_delta(c["delta"]), finish_reason=c.get("finish_reason"))
                for c in data["choices"]
            ),
            usage=self.usage_of(usage) if usage else None,
        )

    def error_in_body(self, error: Any, headers: httpx.Headers | None) -> ProviderError:
        """An ``{"error": ...}`` in a 200 or a stream: its numeric code is the status, else its words."""
        text = json.dumps(error)
        code = error.get("code") if isinstance(error, dict) else None
        if isinstance(code, int):
            status = code
        elif "rate_limit" in text:
            status = 429
        elif "invalid_api_key" in text or "authentication" in text:
            status = 401
        elif "invalid_request" in text or "context_length" in text:
            status = 400
        else:
            status = 500
        return error_for_status(
            status, self.redact(text), retry_after=self.retry_after(headers), provider_id=self.name
        )

    def retry_after(self, headers: httpx.Headers | None) -> float | None:
        """``retry-after-ms`` (OpenAI's precise form) when it parses, else Retry-After."""
        if headers is None:
            return None
        try:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        except (KeyError, ValueError):
            return parse_retry_after(headers.get("retry-after"))

    def error_from_response(self, response: httpx.Response) -> ProviderError:
        return error_for_status(
            response.status_code,
            self.redact(response.text),
            retry_after=self.retry_after(response.headers),
            provider_id=self.name,
        )

    async def list_models(self) -> list[ModelInfo]:
        with self._mapped_errors():
            response = await self.client.get(f"{self.config.base_url}/models", headers=self.default_headers())
        if response.status_code >= 400:
            raise self.error_from_response(response)
        try:
            return [ModelInfo(id=m["id"], provider_id=self.name) for m in response.json()["data"]]
        except Exception as exc:
            raise self.classify_error(exc) from exc


def _created(value: Any) -> datetime | None:
    """``created``: seconds since the epoch, in UTC."""
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int | float) else None


def _delta(delta: dict[str, Any]) -> Delta:
    calls = delta.get("tool_calls")
    return Delta(
        role=delta.get("role"), content=delta.get("content"), tool_calls=tuple(calls) if calls else None
    )


class SwallowsRateLimit(ReferenceHTTPProvider):
    """Defect: a 429 comes back as an empty "successful" answer."""

    connector_id = "defect.swallows-429.v1"

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        try:
            return await super().complete(request)
        except RateLimitError:
            return CompletionResponse(id="rate-limited", model=request.model or "", choices=())


class LeaksKeyInErrors(ReferenceHTTPProvider):
    """Defect: error messages quote the upstream body and the request headers verbatim."""

    connector_id = "defect.leaky-errors.v1"

    def error_from_response(self, response: httpx.Response) -> ProviderError:
        err = super().error_from_response(response)
        err.message = f"{err.message} (body: {response.text}; sent {dict(response.request.headers)})"
        err.args = (err.message,)
        return err


class RetriesInternally(ReferenceHTTPProvider):
    """Defect: retries 5xx answers itself, hiding them from the router."""

    connector_id = "defect.retrying.v1"

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        for _ in range(2):
            try:
                return await super().complete(request)
            except ProviderError as exc:
                if exc.status_code is None or exc.status_code < 500:
                    raise
        return await super().complete(request)


class IgnoresRetryAfterDates(ReferenceHTTPProvider):
    """Defect: reads Retry-After only as a number of seconds, never as an HTTP date."""

    connector_id = "defect.no-retry-after-date.v1"

    def error_from_response(self, response: httpx.Response) -> ProviderError:
        raw = response.headers.get("retry-after", "")
        retry_after = float(raw) if raw.replace(".", "", 1).isdigit() else None
        return error_for_status(response.status_code, self.redact(response.text), retry_after=retry_after)


class LeaksConnectionOnCancel(ReferenceHTTPProvider):
    """Defect: its stream closes the response only when it runs to the end."""

    connector_id = "defect.leaks-connection.v1"

    async def stream(self, request: CompletionRequest) -> AsyncIterator[CompletionChunk]:  # type: ignore[override]
        response = await self.client.send(self.build_request(request, stream=True), stream=True)
        if response.status_code >= 400:
            await response.aread()
            raise self.error_from_response(response)
        async for line in response.aiter_lines():
            if not line.strip():
                continue
            try:
                chunk = self.parse_stream_line(line, request)
            except Exception as exc:
                await response.aclose()
                raise self.classify_error(exc) from exc
            if chunk is False:
                await response.aclose()
                return
            if chunk is not None:
                yield chunk
        await response.aclose()
        raise self.classify_error(ValueError("stream ended before its end marker"))


class EmbeddingsInListOrder(ReferenceHTTPProvider):
    """Defect: embeds, but hands the vectors back in the order the answer lists them, not by index."""

    connector_id = "defect.embeddings-out-of-order.v1"
    features = ReferenceHTTPProvider.features | {ProviderFeature.EMBEDDINGS}

    def build_embedding_request(self, request: EmbeddingRequest) -> httpx.Request:
        body = {"model": request.model, "input": list(request.input)}
        return self.client.build_request(
            "POST", f"{self.config.base_url}/embeddings", json=body, headers=self.default_headers()
        )

    def parse_embedding_response(
        self, response: httpx.Response, request: EmbeddingRequest
    ) -> EmbeddingResponse:
        data = response.json()
        vectors = tuple(
            Embedding(index=i, embedding=[float(x) for x in item["embedding"]])
            for i, item in enumerate(data["data"])
        )
        tokens = int(data["usage"]["prompt_tokens"])
        return EmbeddingResponse(model=data["model"], data=vectors, usage=TokenUsage(tokens, 0, tokens))


# --- what reaches the wire -------------------------------------------------------------


class DropsSystemMessages(ReferenceHTTPProvider):
    """Defect: keeps only user and assistant turns ("the API has no system role", it thought)."""

    connector_id = "defect.drops-system.v1"

    def request_body(self, request: CompletionRequest, *, stream: bool) -> dict[str, Any]:
        body = super().request_body(request, stream=stream)
        body["messages"] = [m for m in body["messages"] if m["role"] in ("user", "assistant")]
        return body


class IgnoresStop(ReferenceHTTPProvider):
    """Defect: never sends the stop sequences."""

    connector_id = "defect.ignores-stop.v1"

    def request_body(self, request: CompletionRequest, *, stream: bool) -> dict[str, Any]:
        body = super().request_body(request, stream=stream)
        body.pop("stop", None)
        return body


class DefaultModelOnly(ReferenceHTTPProvider):
    """Defect: always asks for the first model the upstream lists, whatever the request names."""

    connector_id = "defect.default-model.v1"

    def request_body(self, request: CompletionRequest, *, stream: bool) -> dict[str, Any]:
        body = super().request_body(request, stream=stream)
        body["model"] = (request.model or "").removesuffix("-large")
        return body


class DropsTopP(ReferenceHTTPProvider):
    """Defect: leaves ``top_p`` out ("temperature is enough; some models refuse both")."""

    connector_id = "defect.drops-top-p.v1"

    def request_body(self, request: CompletionRequest, *, stream: bool) -> dict[str, Any]:
        body = super().request_body(request, stream=stream)
        body.pop("top_p", None)
        return body


# --- errors in the upstream's words ---------------------------------------------------


class StatusOnlyErrors(ReferenceHTTPProvider):
    """Defect: maps errors by HTTP status alone and never reads the body ("it might hold secrets")."""

    connector_id = "defect.status-only-errors.v1"

    def error_from_response(self, response: httpx.Response) -> ProviderError:
        return error_for_status(
            response.status_code, retry_after=self.retry_after(response.headers), provider_id=self.name
        )


class StreamErrorEndsStream(ReferenceHTTPProvider):
    """Defect: takes an error event in a stream for the end of the answer."""

    connector_id = "defect.stream-error-ends-stream.v1"

    def parse_stream_line(
        self, line: str, request: CompletionRequest
    ) -> CompletionChunk | Literal[False] | None:
        if line.startswith("data:") and '"error"' in line:
            return False
        return super().parse_stream_line(line, request)


class IgnoresRetryAfterMs(ReferenceHTTPProvider):
    """Defect: reads Retry-After only, and so waits seconds where OpenAI asked for milliseconds."""

    connector_id = "defect.no-retry-after-ms.v1"

    def retry_after(self, headers: httpx.Headers | None) -> float | None:
        return parse_retry_after(headers.get("retry-after")) if headers is not None else None


class TrustsEveryField(ReferenceHTTPProvider):
    """Defect: reads ``model`` and ``usage.total_tokens`` as if every server sent them."""

    connector_id = "defect.trusts-every-field.v1"

    def parse_response(self, response: httpx.Response, request: CompletionRequest) -> CompletionResponse:
        parsed = super().parse_response(response, request)
        data = response.json()
        usage = data["usage"]
        return attrs.evolve(
            parsed,
            model=data["model"],
            usage=TokenUsage(usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]),
        )


class StreamChunkNeedsModel(ReferenceHTTPProvider):
    """Defect: every stream chunk must name its model, or the stream fails."""

    connector_id = "defect.stream-chunk-needs-model.v1"

    def parse_stream_line(
        self, line: str, request: CompletionRequest
    ) -> CompletionChunk | Literal[False] | None:
        chunk = super().parse_stream_line(line, request)
        if chunk:
            return attrs.evolve(chunk, model=json.loads(line[5:])["model"])
        return chunk


class ForgetsWhenMade(ReferenceHTTPProvider):
    """Defect: never reads when the answer was made."""

    connector_id = "defect.forgets-created.v1"

    def parse_response(self, response: httpx.Response, request: CompletionRequest) -> CompletionResponse:
        return attrs.evolve(super().parse_response(response, request), created=None)


class CopiesErrorPages(ReferenceHTTPProvider):
    """Defect: an outage's error page goes into the message whole ("for debugging")."""

    connector_id = "defect.copies-error-pages.v1"

    def error_from_response(self, response: httpx.Response) -> ProviderError:
        if response.status_code >= 500:
            return ProviderUnavailableError(
                self.redact(f"HTTP {response.status_code}: {response.text}"),
                status_code=response.status_code,
                provider_id=self.name,
            )
        return super().error_from_response(response)


# --- streaming -------------------------------------------------------------------------


class BuffersWholeStream(ReferenceHTTPProvider):
    """Defect: reads the whole stream into memory, then yields its chunks."""

    connector_id = "defect.buffers-stream.v1"

    async def stream(self, request: CompletionRequest) -> AsyncIterator[CompletionChunk]:  # type: ignore[override]
        with self._mapped_errors():
            response = await self.client.send(self.build_request(request, stream=True))
        if response.status_code >= 400:
            raise self.error_from_response(response)
        for line in response.text.splitlines():
            if not line.strip():
                continue
            chunk = self.parse_stream_line(line, request)
            if chunk is False:
                return
            if chunk is not None:
                yield chunk


class LosesFinalUsage(ReferenceHTTPProvider):
    """Defect: skips stream chunks without choices, and with them the usage chunk."""

    connector_id = "defect.loses-final-usage.v1"

    def parse_stream_line(
        self, line: str, request: CompletionRequest
    ) -> CompletionChunk | Literal[False] | None:
        chunk = super().parse_stream_line(line, request)
        if chunk and not chunk.choices:
            return None
        return chunk


# --- resources -------------------------------------------------------------------------


class LeaksClientOnClose(ReferenceHTTPProvider):
    """Defect: overrides closing to log, and forgets to close the HTTP client."""

    connector_id = "defect.leaks-client.v1"

    async def _aclose(self) -> None:
        self.closed_cleanly = True


class IgnoresTimeout(ReferenceHTTPProvider):
    """Defect: sends completions itself, on a client built with no timeout ("long answers must not fail")."""

    connector_id = "defect.no-timeout.v1"

    def _make_client(self) -> httpx.AsyncClient:
        client = super()._make_client()
        client.timeout = httpx.Timeout(None)
        return client

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        with self._mapped_errors():
            response = await self.client.send(self.build_request(request, stream=False))
        if response.status_code >= 400:
            raise self.error_from_response(response)
        return self.parse_response(response, request)


class OverpromisesItsBound(ReferenceHTTPProvider):
    """Defect: tries a timed-out call twice more itself, and still promises one timeout as its bound."""

    connector_id = "defect.overpromises-call-bound.v1"

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        for _ in range(2):
            try:
                return await super().complete(request)
            except ProviderTimeoutError:
                pass
        return await super().complete(request)

    def call_bound(self, request: CompletionRequest | EmbeddingRequest) -> float | None:
        return self.attempt_timeout(request)


# --- declared features -----------------------------------------------------------------


class DeclaresToolsDropsThem(ReferenceHTTPProvider):
    """Defect: declares tools, but never sends them (copied from a provider without tools)."""

    connector_id = "defect.drops-tools.v1"

    def request_body(self, request: CompletionRequest, *, stream: bool) -> dict[str, Any]:
        body = super().request_body(request, stream=stream)
        body.pop("tools", None)
        body.pop("tool_choice", None)
        return body


class DropsToolCalls(ReferenceHTTPProvider):
    """Defect: reads only the text of an answer; tool calls are lost."""

    connector_id = "defect.drops-tool-calls.v1"

    def parse_response(self, response: httpx.Response, request: CompletionRequest) -> CompletionResponse:
        parsed = super().parse_response(response, request)
        choices = tuple(
            Choice(
                index=c.index,
                message=ChatMessage(role="assistant", content=c.message.content or ""),
                finish_reason=c.finish_reason,
            )
            for c in parsed.choices
        )
        return CompletionResponse(id=parsed.id, model=parsed.model, choices=choices, usage=parsed.usage)


class DeclaresJsonModeDropsIt(ReferenceHTTPProvider):
    """Defect: declares JSON mode, and sends ``response_format`` only on streams."""

    connector_id = "defect.drops-json-mode.v1"

    def request_body(self, request: CompletionRequest, *, stream: bool) -> dict[str, Any]:
        body = super().request_body(request, stream=stream)
        if not stream:
            body.pop("response_format", None)
        return body


class EmptyOnMalformedListing(ReferenceHTTPProvider):
    """Defect: a listing it cannot read is an empty one ("discovery copes with no models")."""

    connector_id = "defect.empty-on-malformed-listing.v1"

    async def list_models(self) -> list[ModelInfo]:
        try:
            return await super().list_models()
        except ProviderProtocolError:
            return []


class EmbedsWithoutCounting(ReferenceHTTPProvider):
    """Defect: embeds in input order, and never checks that every input got its vector."""

    connector_id = "defect.embeds-without-counting.v1"
    features = ReferenceHTTPProvider.features | {ProviderFeature.EMBEDDINGS}

    def embedding_body(self, request: EmbeddingRequest) -> dict[str, Any]:
        return {"model": request.model, "input": list(request.input)}

    def build_embedding_request(self, request: EmbeddingRequest) -> httpx.Request:
        return self.client.build_request(
            "POST",
            f"{self.config.base_url}/embeddings",
            json=self.embedding_body(request),
            headers=self.default_headers(),
        )

    def parse_embedding_response(
        self, response: httpx.Response, request: EmbeddingRequest
    ) -> EmbeddingResponse:
        data = response.json()
        items = sorted(data["data"], key=lambda item: item["index"])
        vectors = tuple(
            Embedding(index=i, embedding=[float(x) for x in item["embedding"]])
            for i, item in enumerate(items)
        )
        tokens = int(data["usage"]["prompt_tokens"])
        model = data.get("model") or request.model or ""
        return EmbeddingResponse(model=model, data=vectors, usage=TokenUsage(tokens, 0, tokens))


class CountsTooFewOnly(EmbedsWithoutCounting):
    """Defect: checks that no input went without a vector, not that no vector is left over."""

    connector_id = "defect.counts-too-few-only.v1"

    def embedding_body(self, request: EmbeddingRequest) -> dict[str, Any]:
        body = super().embedding_body(request)
        if request.dimensions is not None:
            body["dimensions"] = request.dimensions
        return body

    def parse_embedding_response(
        self, response: httpx.Response, request: EmbeddingRequest
    ) -> EmbeddingResponse:
        found = len(response.json()["data"])
        if found < len(request.input):
            raise ProviderProtocolError(f"{len(request.input)} inputs, {found} vectors")
        return super().parse_embedding_response(response, request)


class DropsDimensions(CountsTooFewOnly):
    """Defect: counts the vectors both ways, and never sends the `dimensions` asked for."""

    connector_id = "defect.drops-dimensions.v1"

    def embedding_body(self, request: EmbeddingRequest) -> dict[str, Any]:
        return EmbedsWithoutCounting.embedding_body(self, request)

    def parse_embedding_response(
        self, response: httpx.Response, request: EmbeddingRequest
    ) -> EmbeddingResponse:
        reply = super().parse_embedding_response(response, request)
        if len(reply.data) != len(request.input):
            raise ProviderProtocolError(f"{len(request.input)} inputs, {len(reply.data)} vectors")
        return reply


class WantsSpaceAfterData(ReferenceHTTPProvider):
    """Defect: reads only `data: ` lines, with the space the format makes optional."""

    connector_id = "defect.wants-space-after-data.v1"

    def parse_stream_line(
        self, line: str, request: CompletionRequest
    ) -> CompletionChunk | Literal[False] | None:
        if not line.startswith("data: "):
            return None
        return super().parse_stream_line(line, request)


class HardCodedModelList(ReferenceHTTPProvider):
    """Defect: declares model listing, and returns the models it knew of when it was written."""

    connector_id = "defect.hard-coded-models.v1"

    async def list_models(self) -> list[ModelInfo]:
        return [ModelInfo(id=m, provider_id=self.name) for m in ("gpt-4o", "gpt-4o-mini")]


class DeclaresPricingWithoutPrices(ReferenceHTTPProvider):
    """Defect: declares pricing, and inherits the base's "no price known" for every model."""

    connector_id = "defect.no-prices.v1"
    features = ReferenceHTTPProvider.features | {ProviderFeature.PRICING}


CONNECTORS: list[type[Any]] = [
    ReferenceHTTPProvider,
    SwallowsRateLimit,
    LeaksKeyInErrors,
    RetriesInternally,
    IgnoresRetryAfterDates,
    LeaksConnectionOnCancel,
    EmbeddingsInListOrder,
    DropsSystemMessages,
    IgnoresStop,
    DefaultModelOnly,
    BuffersWholeStream,
    LosesFinalUsage,
    LeaksClientOnClose,
    IgnoresTimeout,
    OverpromisesItsBound,
    DropsTopP,
    StatusOnlyErrors,
    StreamErrorEndsStream,
    IgnoresRetryAfterMs,
    TrustsEveryField,
    StreamChunkNeedsModel,
    ForgetsWhenMade,
    CopiesErrorPages,
    EmptyOnMalformedListing,
    EmbedsWithoutCounting,
    CountsTooFewOnly,
    DropsDimensions,
    WantsSpaceAfterData,
    DeclaresToolsDropsThem,
    DropsToolCalls,
    DeclaresJsonModeDropsIt,
    HardCodedModelList,
    DeclaresPricingWithoutPrices,
]
EXPECTED = {
    "defect.swallows-429.v1": "test_rate_limit_with_retry_after_seconds",
    "defect.leaky-errors.v1": "test_api_key_never_leaks",
    "defect.retrying.v1": "test_no_internal_retries",
    "defect.no-retry-after-date.v1": "test_rate_limit_with_retry_after_http_date",
    "defect.leaks-connection.v1": "test_cancelled_stream_releases_the_connection",
    "defect.embeddings-out-of-order.v1": "test_embed_returns_one_vector_per_input_in_input_order",
    "defect.drops-system.v1": "test_every_message_reaches_the_wire",
    "defect.ignores-stop.v1": "test_sampling_parameters_reach_the_wire",
    "defect.default-model.v1": "test_model_name_reaches_the_wire",
    "defect.buffers-stream.v1": "test_stream_is_delivered_as_it_arrives",
    "defect.loses-final-usage.v1": "test_usage_on_its_own_last_chunk_is_kept",
    "defect.leaks-client.v1": "test_aclose_closes_every_connection",
    "defect.no-timeout.v1": "test_configured_timeout_is_enforced",
    "defect.overpromises-call-bound.v1": "test_a_promised_call_bound_is_kept",
    "defect.drops-top-p.v1": "test_sampling_parameters_reach_the_wire",
    "defect.status-only-errors.v1": "test_error_bodies_are_mapped_by_what_they_say",
    "defect.stream-error-ends-stream.v1": "test_an_error_event_in_a_stream_is_mapped",
    "defect.no-retry-after-ms.v1": "test_retry_after_in_milliseconds_is_read",
    "defect.trusts-every-field.v1": "test_answers_missing_optional_fields_are_read",
    "defect.stream-chunk-needs-model.v1": "test_stream_chunks_missing_optional_fields_are_read",
    "defect.forgets-created.v1": "test_answers_missing_optional_fields_are_read",
    "defect.copies-error-pages.v1": "test_long_upstream_text_keeps_errors_short",
    "defect.empty-on-malformed-listing.v1": "test_a_failing_listing_is_mapped",
    "defect.embeds-without-counting.v1": "test_embedding_answers_are_read_and_checked",
    "defect.counts-too-few-only.v1": "test_embedding_answers_are_read_and_checked",
    "defect.drops-dimensions.v1": "test_embedding_answers_are_read_and_checked",
    "defect.wants-space-after-data.v1": "test_terse_server_sent_events_are_read",
    "defect.drops-tools.v1": "test_tools_and_tool_choice_reach_the_wire",
    "defect.drops-tool-calls.v1": "test_tool_calls_are_parsed",
    "defect.drops-json-mode.v1": "test_json_mode_reaches_the_wire_and_comes_back",
    "defect.hard-coded-models.v1": "test_list_models_reports_what_the_upstream_lists",
    "defect.no-prices.v1": "test_declared_pricing_gives_a_price",
}
