"""A provider that speaks HTTP without being an ``HTTPProvider``, and a copy with one defect.

It drives httpx itself, as an author wrapping a client of their own would. The suite cannot
plug its fault-injecting transport into it; it reads the ``base_url`` off its Config and
plays every fault from its local server instead.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import attrs
import httpx

from meshkit.enums import ProviderFeature
from meshkit.errors import (
    ProviderError,
    ProviderProtocolError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from meshkit.interfaces import Provider, error_for_status, parse_retry_after
from meshkit.types import (
    ChatMessage,
    Choice,
    ChunkChoice,
    CompletionChunk,
    CompletionRequest,
    CompletionResponse,
    Delta,
    ModelInfo,
    Secret,
    TokenUsage,
)


@attrs.frozen(kw_only=True)
class PlainConfig:
    base_url: str = "http://127.0.0.1:8000/v1"
    api_key: Secret | None = None
    timeout: timedelta = timedelta(seconds=30)


class ReferencePlainHTTPProvider(Provider[PlainConfig]):
    """Does everything right, over its own httpx client."""

    connector_id = "reference.plain-http.v1"
    Config = PlainConfig
    features = frozenset(
        {ProviderFeature.STREAMING, ProviderFeature.USAGE_IN_STREAM, ProviderFeature.LIST_MODELS}
    )

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            key = self.config.api_key
            headers = {"Authorization": f"Bearer {key.reveal()}"} if key else {}
            seconds = self.config.timeout.total_seconds()
            self._client = httpx.AsyncClient(
                base_url=self.config.base_url.rstrip("/") + "/", headers=headers, timeout=seconds
            )
        return self._client

    async def _start(self) -> None:
        _ = self.client  # built here, not inside the first call's time budget

    async def _aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # --- errors ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _mapped(self, *, reading_body: bool = False) -> Iterator[None]:
        seconds = self.config.timeout.total_seconds()
        try:
            with anyio.fail_after(seconds):
                yield
        except ProviderError:
            raise
        except TimeoutError as exc:
            raise ProviderTimeoutError(f"no answer within {seconds:g}s", provider_id=self.name) from exc
        except httpx.TimeoutException as exc:
            raise ProviderTimeoutError(f"timed out: {type(exc).__name__}", provider_id=self.name) from exc
        except httpx.TransportError as exc:
            kind = ProviderProtocolError if reading_body else ProviderUnavailableError
            raise kind(
                self.redact(f"connection failed: {type(exc).__name__}: {exc}"), provider_id=self.name
            ) from exc
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            message = self.redact(f"malformed answer: {exc}")[:300]  # an error quotes, it never copies
            raise ProviderProtocolError(message, provider_id=self.name) from exc

    def retry_after(self, headers: httpx.Headers | None) -> float | None:
        if headers is None:
            return None
        try:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        except (KeyError, ValueError):
            return parse_retry_after(headers.get("retry-after"))

    def status_error(self, response: httpx.Response) -> ProviderError:
        return error_for_status(
            response.status_code,
            self.redact(response.text),
            retry_after=self.retry_after(response.headers),
            provider_id=self.name,
        )

    def error_in_body(self, error: Any) -> ProviderError:
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
        return error_for_status(status, self.redact(text), provider_id=self.name)

    # --- calls -------------------------------------------------------------------------

    def body(self, request: CompletionRequest, *, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"model": request.model, "messages": [m.to_dict() for m in request.messages]}
        optional = {
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "stop": list(request.stop) if request.stop else None,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        with self._mapped():
            response = await self.client.post("chat/completions", json=self.body(request, stream=False))
        if response.status_code >= 400:
            raise self.status_error(response)
        with self._mapped():
            data = response.json()
            if data.get("error"):
                raise self.error_in_body(data["error"])
            choice = data["choices"][0]
            message = choice["message"]
            return CompletionResponse(
                id=str(data.get("id") or ""),
                model=data.get("model") or request.model or "",
                choices=(
                    Choice(
                        index=0,
                        message=ChatMessage(
                            role=message.get("role") or "assistant", content=message.get("content")
                        ),
                        finish_reason=choice.get("finish_reason"),
                    ),
                ),
                created=_created(data.get("created")),
                usage=_usage(data.get("usage") or {}),
                provider_id=self.name,
            )

    async def stream(self, request: CompletionRequest) -> AsyncIterator[CompletionChunk]:  # type: ignore[override]
        outgoing = self.client.build_request("POST", "chat/completions", json=self.body(request, stream=True))
        with self._mapped():
            response = await self.client.send(outgoing, stream=True)
        try:
            if response.status_code >= 400:
                with self._mapped():
                    await response.aread()
                raise self.status_error(response)
            lines = response.aiter_lines()
            while True:
                with self._mapped(reading_body=True):
                    chunk = await self._next_chunk(lines, request)
                if chunk is None:
                    raise ProviderProtocolError("the stream ended before [DONE]", provider_id=self.name)
                if chunk is False:
                    return
                yield chunk
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()

    async def _next_chunk(
        self, lines: AsyncIterator[str], request: CompletionRequest
    ) -> CompletionChunk | bool | None:
        async for line in lines:
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            if payload == "[DONE]":
                return False
            data = json.loads(payload)
            if data.get("error"):
                raise self.error_in_body(data["error"])
            usage = data.get("usage")
            return CompletionChunk(
                id=str(data.get("id") or ""),
                model=data.get("model") or request.model or "",
                choices=tuple(
                    ChunkChoice(
                        index=c.get("index", 0),
                        delta=Delta(role=c["delta"].get("role"), content=c["delta"].get("content")),
                        finish_reason=c.get("finish_reason"),
                    )
                    for c in data.get("choices") or ()
                ),
                usage=_usage(usage) if usage else None,
                provider_id=self.name,
            )
        return None

    async def list_models(self) -> list[ModelInfo]:
        with self._mapped():
            response = await self.client.get("models")
        if response.status_code >= 400:
            raise self.status_error(response)
        with self._mapped():
            return [ModelInfo(id=m["id"], provider_id=self.name) for m in response.json()["data"]]


def _created(value: Any) -> datetime | None:
    """``created``: seconds since the epoch, in UTC."""
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int | float) else None


def _usage(usage: Mapping[str, Any]) -> TokenUsage:
    return TokenUsage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))


class PlainHTTPIgnoresRetryAfter(ReferencePlainHTTPProvider):
    """Defect: a 429 is a RateLimitError, but when to come back is never read."""

    connector_id = "defect.plain-http-no-retry-after.v1"

    def retry_after(self, headers: httpx.Headers | None) -> float | None:
        return None


CONNECTORS: list[type[Any]] = [ReferencePlainHTTPProvider, PlainHTTPIgnoresRetryAfter]
EXPECTED = {"defect.plain-http-no-retry-after.v1": "test_rate_limit_with_retry_after_seconds"}
