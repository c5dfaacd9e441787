"""A reference OpenAI-style HTTP provider, and copies of it that each get one thing wrong."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Literal

import httpx

from meshkit.enums import ProviderFeature
from meshkit.errors import ProviderError, RateLimitError
from meshkit.interfaces.provider import HTTPProvider, error_for_status
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
        {ProviderFeature.STREAMING, ProviderFeature.LIST_MODELS, ProviderFeature.USAGE_IN_STREAM}
    )

    def build_request(self, request: CompletionRequest, *, stream: bool) -> httpx.Request:
        body = {"model": request.model, "messages": [m.to_dict() for m in request.messages], "stream": stream}
        return self.client.build_request(
            "POST", f"{self.config.base_url}/chat/completions", json=body, headers=self.default_headers()
        )

    def parse_response(self, response: httpx.Response, request: CompletionRequest) -> CompletionResponse:
        data = response.json()
        choice = data["choices"][0]
        return CompletionResponse(
            id=data["id"],
            model=data["model"],
            choices=(
                Choice(
                    index=0, message=ChatMessage(**choice["message"]), finish_reason=choice["finish_reason"]
                ),
            ),
            usage=TokenUsage(data["usage"]["prompt_tokens"], data["usage"]["completion_tokens"]),
            provider_id=self.name,
        )

    def parse_stream_line(
        self, line: str, request: CompletionRequest
    ) -> CompletionChunk | Literal[False] | None:
        if not line.startswith("data:"):
            return None
        payload = line[5:].strip()
        if payload == "[DONE]":
            return False
        data = json.loads(payload)
        usage = data.get("usage")
        return CompletionChunk(
            id=data["id"],
            model=data["model"],
            choices=tuple(
                ChunkChoice(index=c["index"], delta=Delta(**c["delta"]), finish_reason=c.get("finish_reason"))
                for c in data["choices"]
            ),
            usage=TokenUsage(usage["prompt_tokens"], usage["completion_tokens"]) if usage else None,
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


CONNECTORS: list[type[Any]] = [
    ReferenceHTTPProvider,
    SwallowsRateLimit,
    LeaksKeyInErrors,
    RetriesInternally,
    IgnoresRetryAfterDates,
    LeaksConnectionOnCancel,
    EmbeddingsInListOrder,
]
EXPECTED = {
    "defect.swallows-429.v1": "test_rate_limit_with_retry_after_seconds",
    "defect.leaky-errors.v1": "test_api_key_never_leaks",
    "defect.retrying.v1": "test_no_internal_retries",
    "defect.no-retry-after-date.v1": "test_rate_limit_with_retry_after_http_date",
    "defect.leaks-connection.v1": "test_cancelled_stream_releases_the_connection",
    "defect.embeddings-out-of-order.v1": "test_embed_returns_one_vector_per_input_in_input_order",
}
