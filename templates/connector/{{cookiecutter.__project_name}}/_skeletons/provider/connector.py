"""{{ cookiecutter.description }}.

Connector id: ``{{ cookiecutter.__connector_id }}``.

The skeleton speaks an OpenAI-style JSON API (``POST chat/completions``, server-sent
events for streams, ``GET models``). Replace each part marked REPLACE with what your
service speaks; the base class owns the HTTP client, error mapping and stream
plumbing. Usable from mesh.yaml::

    providers:
      {{ cookiecutter.name }}:
        connector: {{ cookiecutter.__connector_id }}
        config:
          base_url: https://api.example.com/v1
          api_key: ${secrets:{{ cookiecutter.name.upper().replace('-', '_') }}_API_KEY}
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

import attrs
import httpx
from meshkit import (
    BadRequestError,
    ChatMessage,
    Choice,
    ChunkChoice,
    CompletionChunk,
    CompletionRequest,
    CompletionResponse,
    Delta,
    ModelInfo,
    ProviderFeature,
    ProviderProtocolError,
    TokenUsage,
)
from meshkit.interfaces import HTTPProvider, HTTPProviderConfig

__all__ = ["{{ cookiecutter.__class_name }}", "{{ cookiecutter.__class_name }}Config"]


@attrs.frozen(kw_only=True)
class {{ cookiecutter.__class_name }}Config(HTTPProviderConfig):
    """Where the service is and how to reach it (base_url, api_key, timeout... are inherited)."""

    # REPLACE: your service's address. api_key, timeout, headers and transport come from the base.
    base_url: str = "http://127.0.0.1:8000/v1"
    #: The model to ask for when a request names none.
    model: str | None = None


class {{ cookiecutter.__class_name }}(
    HTTPProvider[{{ cookiecutter.__class_name }}Config],
):
    """{{ cookiecutter.description }}."""

    connector_id = "{{ cookiecutter.__connector_id }}"
    Config = {{ cookiecutter.__class_name }}Config
    # Declare only what works: the suite tests every declared feature, and skips (with the
    # reason) the tests of those that are not declared.
    features = frozenset(
        {ProviderFeature.STREAMING, ProviderFeature.LIST_MODELS, ProviderFeature.USAGE_IN_STREAM}
    )
    description = {{ cookiecutter.__description_literal }}

    # REPLACE if your service does not take `Authorization: Bearer <key>`:
    # def auth_headers(self) -> dict[str, str]:
    #     key = self.config.api_key
    #     return {"x-api-key": key.reveal()} if key else {}

    # --- requests ------------------------------------------------------------------

    def build_request(self, request: CompletionRequest, *, stream: bool) -> httpx.Request:
        """REPLACE: the HTTP request your service expects for one completion."""
        model = request.model or self.config.model
        if not model:
            raise BadRequestError(
                f"{self.name}: the request names no model and the provider has no default `model`",
                provider_id=self.name,
            )
        body: dict[str, Any] = {"model": model, "messages": [m.to_dict() for m in request.messages]}
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.top_p is not None:
            body["top_p"] = request.top_p
        if request.stop:
            body["stop"] = list(request.stop)
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        # Relative to base_url, with the auth and configured headers; sent straight to the transport.
        return self.http_request("POST", "chat/completions", json=body, timeout=request.timeout)

    # --- responses -----------------------------------------------------------------

    def parse_response(self, response: httpx.Response, request: CompletionRequest) -> CompletionResponse:
        """REPLACE: turn your service's 2xx body into a CompletionResponse.

        Raising anything here (KeyError, TypeError, ValueError...) is reported to the
        router as a ProviderProtocolError: a malformed answer.
        """
        data = response.json()
        if data.get("error"):  # some services answer 200 with an error object
            raise self.error_from_body(data["error"], response.status_code, response.headers)
        choices = tuple(
            Choice(
                index=int(item.get("index", position)),
                message=ChatMessage(
                    role=str(item["message"].get("role") or "assistant"),
                    content=item["message"].get("content"),
                ),
                finish_reason=item.get("finish_reason"),
            )
            for position, item in enumerate(data["choices"])
        )
        return CompletionResponse(
            id=str(data.get("id") or ""),
            model=str(data.get("model") or request.model or ""),
            choices=choices,
            usage=_usage(data.get("usage")) or TokenUsage(),
            created=_created(data.get("created")),
            provider_id=self.name,
        )

    def parse_stream_line(
        self, line: str, request: CompletionRequest
    ) -> CompletionChunk | Literal[False] | None:
        """REPLACE: one line of your service's stream: a chunk, None to skip, False at the end."""
        if not line.startswith("data:"):
            return None  # SSE comments, event:, id: and retry: lines
        payload = line[len("data:") :].strip()
        if payload == "[DONE]":
            return False  # the end marker: a stream that stops without it was cut short
        data = json.loads(payload)
        if not isinstance(data, dict):
            raise ProviderProtocolError(
                f"stream chunk is not a JSON object: {payload[:80]}", provider_id=self.name
            )
        if data.get("error"):  # an error event mid-stream: no HTTP status, the object says what failed
            raise self.error_from_body(data["error"], None, None)
        choices = tuple(_chunk_choice(i, item) for i, item in enumerate(data.get("choices") or ()))
        usage = _usage(data.get("usage"))
        if not choices and usage is None:
            return None
        return CompletionChunk(
            id=str(data.get("id") or ""),
            model=str(data.get("model") or request.model or ""),
            choices=choices,
            usage=usage,
            provider_id=self.name,
        )

    # Errors: the base class maps every non-2xx answer. An OpenAI-style {"error": {"type",
    # "code", "message"}} body goes through error_from_body (quota, context window, rate limit,
    # auth...); any other body by its status and words; retry-after-ms, then Retry-After, say
    # how long to wait. REPLACE error_from_body(error, status, headers) if your service's error
    # objects look different, or error_from_response(response) if its bodies do.

    # --- catalogue -----------------------------------------------------------------

    async def list_models(self) -> list[ModelInfo]:
        """REPLACE: the models your service offers (LIST_MODELS; also the health probe)."""
        # fetch() bounds the call (timeout, max_response_bytes) and maps transport errors.
        response = await self.fetch(self.http_request("GET", "models"))
        if response.status_code >= 400:
            raise self.error_from_response(response)
        try:
            return [ModelInfo(id=str(item["id"]), provider_id=self.name) for item in response.json()["data"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderProtocolError(
                f"malformed model list: {type(exc).__name__}", provider_id=self.name
            ) from exc


def _chunk_choice(position: int, item: dict[str, Any]) -> ChunkChoice:
    """REPLACE: one choice of a stream chunk (a chunk may leave out the delta's role or content)."""
    delta = item.get("delta") or {}
    return ChunkChoice(
        index=int(item.get("index", position)),
        delta=Delta(role=delta.get("role"), content=delta.get("content")),
        finish_reason=item.get("finish_reason"),
    )


def _usage(value: Any) -> TokenUsage | None:
    """REPLACE: your service's token counts."""
    if not isinstance(value, dict):
        return None
    prompt = int(value.get("prompt_tokens") or 0)
    completion = int(value.get("completion_tokens") or 0)
    return TokenUsage(prompt, completion, prompt + completion)


def _created(value: Any) -> datetime | None:
    """REPLACE: when your service says the answer was made (OpenAI: Unix seconds in `created`)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return None
