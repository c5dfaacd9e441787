"""``meshkit.openai-compatible.v1``: any service that speaks OpenAI's chat-completions API.

Usable from YAML::

    providers:
      openai:
        connector: openai-compatible
        config: {preset: openai, api_key: "${secrets:OPENAI_API_KEY}"}
      local:
        connector: openai-compatible
        config: {base_url: "http://127.0.0.1:8000/v1", timeout: 30s}
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import attrs
import httpx

from meshkit import (
    Choice,
    ChunkChoice,
    CompletionChunk,
    CompletionRequest,
    CompletionResponse,
    ConfigError,
    Delta,
    Embedding,
    EmbeddingRequest,
    EmbeddingResponse,
    ModelInfo,
    ProviderFeature,
    ProviderProtocolError,
    TokenUsage,
    ToolCall,
    ToolCallDelta,
)
from meshkit.interfaces import HTTPProvider, HTTPProviderConfig

from ._answers import chat_message, choice, completion, token_usage
from ._http import HTTP_URL, json_object, malformed_model_list, model_for
from .presets import PRESETS, PresetName

__all__ = ["OpenAICompatibleConfig", "OpenAICompatibleProvider"]

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"


@attrs.frozen(kw_only=True)
class OpenAICompatibleConfig(HTTPProviderConfig):
    """Where the service is, how to authenticate, and a few wire-format choices."""

    #: A known service (fills ``base_url`` and says whether a key is needed).
    preset: PresetName | None = None
    #: Overrides the preset's URL; without either, a local server on port 8000.
    # None until build_config fills it from the preset, so never None on a built provider.
    base_url: str | None = attrs.field(default=None, validator=HTTP_URL)  # type: ignore[assignment]
    #: The model to ask for when a request names none.
    model: str | None = None
    #: Ask for token usage in the last stream chunk (``stream_options.include_usage``).
    stream_usage: bool = True
    #: Some models want ``max_completion_tokens`` instead of ``max_tokens``.
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"


class OpenAICompatibleProvider(HTTPProvider[OpenAICompatibleConfig]):
    """Chat completions (streaming, tools, JSON mode and schemas, images), embeddings and model listing.

    Tools, ``tool_choice``, ``response_format`` and image content parts are OpenAI's own
    shapes, so they go upstream unchanged.
    """

    connector_id = "meshkit.openai-compatible.v1"
    Config = OpenAICompatibleConfig
    features = frozenset(
        {
            ProviderFeature.STREAMING,
            ProviderFeature.TOOLS,
            ProviderFeature.JSON_MODE,
            ProviderFeature.JSON_SCHEMA,
            ProviderFeature.VISION,
            ProviderFeature.EMBEDDINGS,
            ProviderFeature.LIST_MODELS,
            ProviderFeature.USAGE_IN_STREAM,
        }
    )
    description = (
        "OpenAI chat-completions and embeddings API (OpenAI, Groq, Together, Mistral, Ollama, vLLM, ...)"
    )

    @classmethod
    def config_defaults(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        """A preset that needs a key reads its own (``${secrets:OPENAI_API_KEY}``) unless one is given."""
        out = dict(data)
        preset = PRESETS.get(str(out.get("preset")))
        if preset is not None and preset.key_name and "api_key" not in out:
            out["api_key"] = f"${{secrets:{preset.key_name}}}"
        return out

    @classmethod
    def build_config(cls, config: Any, *, path: str = "config") -> Any:
        """Build the config, then fill ``base_url`` from the preset and check the key it needs."""
        built: OpenAICompatibleConfig = super().build_config(config, path=path)
        preset = PRESETS[built.preset] if built.preset else None
        if preset is not None and preset.key_required and not built.api_key:
            raise ConfigError(
                f"{path}.api_key: the {preset.name!r} preset needs an API key; set "
                f'api_key: "${{secrets:{preset.key_name}}}" and provide {preset.key_name}',
                source=cls.connector_id,
            )
        base_url = built.base_url or (preset.base_url if preset else DEFAULT_BASE_URL)
        return attrs.evolve(built, base_url=base_url)

    # --- requests ----------------------------------------------------------------

    def request_body(self, request: CompletionRequest, *, stream: bool) -> dict[str, Any]:
        """The JSON body of a chat-completions call."""
        model = model_for(self, request, self.config.model)
        body: dict[str, Any] = {"model": model, "messages": [m.to_dict() for m in request.messages]}
        if request.max_tokens is not None:
            body[self.config.max_tokens_field] = request.max_tokens
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.top_p is not None:
            body["top_p"] = request.top_p
        if request.stop:
            body["stop"] = list(request.stop)
        if request.tools:
            body["tools"] = [dict(tool) for tool in request.tools]
        if request.tool_choice is not None:
            body["tool_choice"] = request.tool_choice
        if request.response_format is not None:
            body["response_format"] = dict(request.response_format)
        if stream:
            body["stream"] = True
            if self.config.stream_usage:
                body["stream_options"] = {"include_usage": True}
        body.update(request.extra)
        return body

    def build_request(self, request: CompletionRequest, *, stream: bool) -> httpx.Request:
        return self.http_request(
            "POST",
            "chat/completions",
            json=self.request_body(request, stream=stream),
            timeout=request.timeout,
        )

    def embedding_body(self, request: EmbeddingRequest) -> dict[str, Any]:
        """The JSON body of an embeddings call."""
        model = model_for(self, request, self.config.model)
        body: dict[str, Any] = {"model": model, "input": list(request.input), "encoding_format": "float"}
        if request.dimensions is not None:
            body["dimensions"] = request.dimensions
        body.update(request.extra)
        return body

    def build_embedding_request(self, request: EmbeddingRequest) -> httpx.Request:
        return self.http_request(
            "POST", "embeddings", json=self.embedding_body(request), timeout=request.timeout
        )

    # --- responses ---------------------------------------------------------------

    def parse_response(self, response: httpx.Response, request: CompletionRequest) -> CompletionResponse:
        data = json_object(self, response)
        if data.get("error"):
            raise self.error_from_body(data["error"], response.status_code, response.headers)
        choices = data.get("choices")
        if not isinstance(choices, list):
            raise ProviderProtocolError("the response has no 'choices' list", provider_id=self.name)
        # Every value is checked and in its final form here: the answer is built without
        # attrs' converters (see ``_answers``), in the order the public constructors would run.
        answer_id = str(data.get("id") or "")
        model = str(data.get("model") or request.model or "")
        parsed = tuple([_choice(i, c) for i, c in enumerate(choices)])
        usage = _usage(data.get("usage"))
        return completion(
            answer_id,
            model,
            parsed,
            usage if usage is not None else token_usage(0, 0, 0),
            _created(data.get("created")),
            self.name,
        )

    def parse_embedding_response(
        self, response: httpx.Response, request: EmbeddingRequest
    ) -> EmbeddingResponse:
        data = json_object(self, response)
        if data.get("error"):
            raise self.error_from_body(data["error"], response.status_code, response.headers)
        items = data.get("data")
        if not isinstance(items, list):
            raise ProviderProtocolError("the response has no 'data' list", provider_id=self.name)
        vectors = sorted((_embedding(i, item) for i, item in enumerate(items)), key=lambda e: e.index)
        if [e.index for e in vectors] != list(range(len(request.input))):
            raise ProviderProtocolError(
                f"{len(request.input)} inputs were sent and the answer holds the vectors of indexes "
                f"{[e.index for e in vectors]}",
                provider_id=self.name,
            )
        usage = _usage(data.get("usage")) or TokenUsage()
        return EmbeddingResponse(
            model=str(data.get("model") or request.model or ""),
            data=tuple(vectors),
            usage=TokenUsage(usage.prompt_tokens, 0, usage.prompt_tokens),
            provider_id=self.name,
        )

    def parse_stream_line(
        self, line: str, request: CompletionRequest
    ) -> CompletionChunk | Literal[False] | None:
        if not line.startswith("data:"):
            return None  # comments (": keep-alive"), event:, id: and retry: lines
        payload = line[5:].strip()
        if payload == "[DONE]":
            return False
        data = json.loads(payload)
        if not isinstance(data, dict):
            raise ProviderProtocolError(
                f"stream chunk is not a JSON object: {_clip(payload)}", provider_id=self.name
            )
        if data.get("error"):
            raise self.error_from_body(data["error"], None, None)
        choices = tuple(_chunk_choice(i, c) for i, c in enumerate(data.get("choices") or ()))
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

    # --- catalogue ---------------------------------------------------------------

    async def list_models(self) -> list[ModelInfo]:
        response = await self.fetch(self.http_request("GET", "models"))
        if response.status_code >= 400:
            raise self.error_from_response(response)
        try:
            data = response.json()
            items = data["data"] if isinstance(data, dict) else data
            return [self._model_info(item) for item in items]
        except (ValueError, KeyError, TypeError) as exc:
            raise malformed_model_list(self, response, exc) from exc

    def _model_info(self, item: Mapping[str, Any]) -> ModelInfo:
        window = item.get("context_length", item.get("context_window"))
        metadata = {k: item[k] for k in ("owned_by", "created") if k in item}
        return ModelInfo(
            id=str(item["id"]),
            provider_id=self.name,
            context_window=window if isinstance(window, int) else None,
            metadata=metadata,
        )


def _text(content: Any) -> str | None:
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    raise TypeError(f"message content is a {type(content).__name__}")


def _tool_calls(value: Any) -> tuple[ToolCall, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise TypeError(f"tool_calls is a {type(value).__name__}, not a list")
    return tuple(ToolCall.coerce(call) for call in value)


def _tool_call_deltas(value: Any) -> tuple[ToolCallDelta, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise TypeError(f"tool_calls is a {type(value).__name__}, not a list")
    return tuple(ToolCallDelta.coerce(call, i) for i, call in enumerate(value))


def _embedding(position: int, item: Any) -> Embedding:
    if not isinstance(item, Mapping):
        raise TypeError(f"an embedding is a {type(item).__name__}, not an object")
    vector = item["embedding"]
    if isinstance(vector, str):  # encoding_format: base64, little-endian float32
        raw = base64.b64decode(vector)
        values = list(struct.unpack(f"<{len(raw) // 4}f", raw))
    elif isinstance(vector, list) and all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in vector
    ):
        values = [float(x) for x in vector]
    else:
        raise TypeError("an embedding is a list of numbers")
    return Embedding(index=int(item.get("index", position)), embedding=values)


def _choice(position: int, item: Mapping[str, Any]) -> Choice:
    message = item["message"]
    index = int(item.get("index", position))
    role = str(message.get("role") or "assistant")
    content = _text(message.get("content"))
    calls = message.get("tool_calls")
    message = chat_message(role, content, None if calls is None else _tool_calls(calls))
    return choice(index, message, item.get("finish_reason"))


def _chunk_choice(position: int, item: Mapping[str, Any]) -> ChunkChoice:
    delta = item.get("delta") or {}
    return ChunkChoice(
        index=int(item.get("index", position)),
        delta=Delta(
            role=delta.get("role"),
            content=_text(delta.get("content")),
            tool_calls=_tool_call_deltas(delta.get("tool_calls")),
        ),
        finish_reason=item.get("finish_reason"),
    )


def _usage(value: Any) -> TokenUsage | None:
    if type(value) is not dict and not isinstance(value, Mapping):  # JSON's dict spares the ABC check
        return None
    prompt = int(value.get("prompt_tokens") or 0)
    completion = int(value.get("completion_tokens") or 0)
    total = value.get("total_tokens")
    return token_usage(prompt, completion, int(total) if total is not None else prompt + completion)


def _created(value: Any) -> datetime | None:
    if type(value) is int or (isinstance(value, int | float) and not isinstance(value, bool)):
        return datetime.fromtimestamp(value, UTC)
    return None


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
