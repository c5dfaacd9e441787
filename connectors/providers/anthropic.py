"""``meshkit.anthropic.v1``: Anthropic's Messages API.

Usable from YAML::

    providers:
      claude:
        connector: anthropic
        config: {api_key: "${secrets:ANTHROPIC_API_KEY}", default_max_tokens: 2048}

Requests and answers keep meshkit's (OpenAI-shaped) types: system messages are hoisted into
``system``, tools, tool calls, tool results and images (``image_url`` content parts, as
data URLs or http(s) URLs) are translated both ways, and ``stop_reason`` becomes the usual
``finish_reason``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import attrs
import httpx

from meshkit import (
    AuthenticationError,
    BadRequestError,
    ChatMessage,
    Choice,
    ChunkChoice,
    CompletionChunk,
    CompletionRequest,
    CompletionResponse,
    ConfigError,
    ContextWindowExceededError,
    Delta,
    FeatureNotSupportedError,
    ModelAccessError,
    ModelInfo,
    ProviderError,
    ProviderFeature,
    ProviderProtocolError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    RateLimitError,
    TokenUsage,
)
from meshkit.interfaces import (
    HTTPProvider,
    HTTPProviderConfig,
    check,
    error_for_status,
    model_not_found,
    parse_retry_after,
    status_text,
)

from ._http import HTTP_URL, json_object, malformed_model_list, model_for

__all__ = ["AnthropicConfig", "AnthropicProvider"]

DEFAULT_BASE_URL = "https://api.anthropic.com/v1"

#: Messages API stop reasons → the finish reasons callers already know.
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

_ERROR_TYPES: dict[str, type[ProviderError]] = {
    "authentication_error": AuthenticationError,
    "permission_error": ModelAccessError,
    "billing_error": QuotaExhaustedError,
    "rate_limit_error": RateLimitError,
    "overloaded_error": ProviderUnavailableError,
    "api_error": ProviderUnavailableError,
    "not_found_error": BadRequestError,
    "request_too_large": BadRequestError,
}

_STATUS_BY_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


@attrs.frozen(kw_only=True)
class AnthropicConfig(HTTPProviderConfig):
    """The API key, the API version header, and the ``max_tokens`` sent when a request sets none."""

    base_url: str = attrs.field(default=DEFAULT_BASE_URL, validator=HTTP_URL)
    anthropic_version: str = "2023-06-01"
    #: Values for the ``anthropic-beta`` header.
    beta: list[str] = attrs.field(factory=list)
    #: The Messages API requires ``max_tokens``; this is sent when a request sets none.
    default_max_tokens: int = attrs.field(default=1024, validator=check(lambda n: n > 0, "a positive number"))
    #: The model to ask for when a request names none.
    model: str | None = None


class _HeaderAuth(httpx.Auth):
    """Adds the key at send time, so it never sits in the client's default headers."""

    def __init__(self, key: str) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["x-api-key"] = self._key
        yield request

    def __repr__(self) -> str:
        return "_HeaderAuth('**********')"


class AnthropicProvider(HTTPProvider[AnthropicConfig]):
    """Claude models through the Messages API: completion, streaming, tools, images and model listing."""

    connector_id = "meshkit.anthropic.v1"
    Config = AnthropicConfig
    features = frozenset(
        {
            ProviderFeature.STREAMING,
            ProviderFeature.TOOLS,
            ProviderFeature.VISION,
            ProviderFeature.LIST_MODELS,
            ProviderFeature.USAGE_IN_STREAM,
        }
    )
    description = "Anthropic Messages API (Claude)"

    @classmethod
    def config_defaults(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        """The hosted API reads ``${secrets:ANTHROPIC_API_KEY}`` unless a key is given."""
        out = dict(data)
        hosted = urlsplit(str(out.get("base_url") or DEFAULT_BASE_URL)).hostname == "api.anthropic.com"
        if hosted and "api_key" not in out:
            out["api_key"] = "${secrets:ANTHROPIC_API_KEY}"
        return out

    @classmethod
    def build_config(cls, config: Any, *, path: str = "config") -> Any:
        """Build the config; the hosted API needs a key."""
        built: AnthropicConfig = super().build_config(config, path=path)
        if urlsplit(built.base_url).hostname == "api.anthropic.com" and not built.api_key:
            raise ConfigError(
                f"{path}.api_key: the Anthropic API needs a key; set "
                'api_key: "${secrets:ANTHROPIC_API_KEY}" and provide ANTHROPIC_API_KEY',
                source=cls.connector_id,
            )
        return built

    # --- client ------------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        headers = {"anthropic-version": self.config.anthropic_version}
        if self.config.beta:
            headers["anthropic-beta"] = ",".join(self.config.beta)
        return headers

    def request_headers(self) -> dict[str, str]:
        """The version headers and the key, which ``http_request`` adds to each request it builds."""
        headers = super().request_headers()
        key = self.config.api_key
        if key:
            headers["x-api-key"] = key.reveal()
        return headers

    def _make_client(self) -> httpx.AsyncClient:
        client = super()._make_client()
        key = self.config.api_key
        if key:
            client.auth = _HeaderAuth(key.reveal())
        return client

    # --- requests ----------------------------------------------------------------

    def request_body(self, request: CompletionRequest, *, stream: bool) -> dict[str, Any]:
        """The JSON body of a Messages call."""
        model = model_for(self, request, self.config.model)
        if request.response_format is not None:
            raise FeatureNotSupportedError(f"{self.connector_id} has no JSON mode (response_format)")
        system = [m.text for m in request.messages if m.role in ("system", "developer") and m.text]
        body: dict[str, Any] = {
            "model": model,
            "max_tokens": request.max_tokens or self.config.default_max_tokens,
            "messages": _messages(request.messages),
        }
        if system:
            body["system"] = "\n\n".join(system)
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.top_p is not None:
            body["top_p"] = request.top_p
        if request.stop:
            body["stop_sequences"] = list(request.stop)
        if request.tools:
            body["tools"] = [_tool(t) for t in request.tools]
        if request.tool_choice is not None:
            choice = _tool_choice(request.tool_choice)
            if choice is None:
                body.pop("tools", None)  # "none": the model may not call a tool
            else:
                body["tool_choice"] = choice
        if stream:
            body["stream"] = True
        body.update(request.extra)
        return body

    def build_request(self, request: CompletionRequest, *, stream: bool) -> httpx.Request:
        return self.http_request(
            "POST", "messages", json=self.request_body(request, stream=stream), timeout=request.timeout
        )

    # --- responses ---------------------------------------------------------------

    def parse_response(self, response: httpx.Response, request: CompletionRequest) -> CompletionResponse:
        data = json_object(self, response)
        if data.get("type") == "error":
            raise self.error_from_body(data.get("error"), response.status_code, response.headers)
        blocks = data["content"]
        if not isinstance(blocks, list):
            raise ProviderProtocolError("the response 'content' is not a list", provider_id=self.name)
        text = "".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text")
        calls = tuple(
            {
                "id": b["id"],
                "type": "function",
                "function": {"name": b["name"], "arguments": json.dumps(b.get("input") or {})},
            }
            for b in blocks
            if b.get("type") == "tool_use"
        )
        message = ChatMessage(
            role="assistant", content=text if text or not calls else None, tool_calls=calls or None
        )
        return CompletionResponse(
            id=str(data.get("id") or ""),
            model=str(data.get("model") or request.model or ""),
            choices=(Choice(index=0, message=message, finish_reason=_finish(data.get("stop_reason"))),),
            usage=_usage(data.get("usage") or {}),
            provider_id=self.name,
        )

    def stream_parser(
        self, request: CompletionRequest
    ) -> Callable[[str], CompletionChunk | Literal[False] | None]:
        return _StreamParser(self, request).parse

    # --- errors ------------------------------------------------------------------

    def error_from_body(
        self, error: Any, status: int | None, headers: httpx.Headers | Mapping[str, str] | None
    ) -> ProviderError:
        """Map ``{"type": "error", "error": {"type": ..., "message": ...}}`` to a ProviderError."""
        kind = str(error.get("type") or "") if isinstance(error, Mapping) else ""
        message = str(error.get("message") or "") if isinstance(error, Mapping) else str(error or "")
        if status is None or status < 400:  # an error event inside a stream
            status = _STATUS_BY_TYPE.get(kind, 500)
        detail = self.redact(": ".join(part for part in (kind, message) if part))
        text = status_text(status, detail)
        # Anthropic sends Retry-After alone; a stray retry-after-ms from a proxy is not its word.
        retry_after = parse_retry_after(headers.get("retry-after")) if headers is not None else None
        kwargs: dict[str, Any] = {"status_code": status, "retry_after": retry_after, "provider_id": self.name}
        lowered = message.lower()
        if "credit balance" in lowered:
            return QuotaExhaustedError(text, **kwargs)
        if kind == "invalid_request_error" and (
            "prompt is too long" in lowered or "context window" in lowered
        ):
            return ContextWindowExceededError(text, **kwargs)
        if kind == "not_found_error" and model_not_found(f"{kind} {message}"):
            return ModelAccessError(text, **kwargs)  # "model: claude-x": that model, not the request
        cls = _ERROR_TYPES.get(kind)
        if cls is not None:
            return cls(text, **kwargs)
        return error_for_status(status, detail, retry_after=retry_after, provider_id=self.name)

    # --- catalogue ---------------------------------------------------------------

    async def list_models(self) -> list[ModelInfo]:
        models: list[ModelInfo] = []
        params: dict[str, str] = {"limit": "1000"}
        for _ in range(100):  # pages; a bound in case a server keeps saying has_more
            response = await self.fetch(self.http_request("GET", "models", params=params))
            if response.status_code >= 400:
                raise self.error_from_response(response)
            try:
                data = response.json()
                for item in data["data"]:
                    metadata = {k: item[k] for k in ("display_name", "created_at") if k in item}
                    models.append(ModelInfo(id=str(item["id"]), provider_id=self.name, metadata=metadata))
                if not data.get("has_more") or not data.get("last_id"):
                    break
                params = {"limit": "1000", "after_id": str(data["last_id"])}
            except (ValueError, KeyError, TypeError) as exc:
                raise malformed_model_list(self, response, exc) from exc
        return models


class _StreamParser:
    """The Messages API's event stream, turned into OpenAI-shaped chunks; one per stream."""

    def __init__(self, provider: AnthropicProvider, request: CompletionRequest) -> None:
        self.provider = provider
        self.request = request
        self.id = ""
        self.model = request.model or ""
        self.prompt_tokens = 0
        self.output_tokens = 0
        self.tool_index: dict[int, int] = {}  # content block index → tool call ordinal

    def parse(self, line: str) -> CompletionChunk | Literal[False] | None:
        if not line.startswith("data:"):
            return None  # "event:" lines repeat the type that the data carries
        event = json.loads(line[5:].strip())
        kind = event["type"]
        if kind == "message_start":
            message = event["message"]
            self.id = str(message.get("id") or "")
            self.model = str(message.get("model") or self.model)
            usage = message.get("usage") or {}
            self.prompt_tokens = _prompt_tokens(usage)
            self.output_tokens = int(usage.get("output_tokens") or 0)
            return self._chunk(Delta(role="assistant"))
        if kind == "content_block_start":
            block = event["content_block"]
            if block.get("type") == "tool_use":
                ordinal = self.tool_index.setdefault(int(event["index"]), len(self.tool_index))
                call = {
                    "index": ordinal,
                    "id": block["id"],
                    "type": "function",
                    "function": {"name": block["name"], "arguments": ""},
                }
                return self._chunk(Delta(tool_calls=(call,)))
            if block.get("type") == "text" and block.get("text"):
                return self._chunk(Delta(content=str(block["text"])))
            return None
        if kind == "content_block_delta":
            delta = event["delta"]
            if delta.get("type") == "text_delta":
                return self._chunk(Delta(content=str(delta["text"])))
            if delta.get("type") == "input_json_delta":
                ordinal = self.tool_index[int(event["index"])]
                part = {"index": ordinal, "function": {"arguments": str(delta.get("partial_json", ""))}}
                return self._chunk(Delta(tool_calls=(part,)))
            return None  # thinking and signature deltas have no OpenAI counterpart
        if kind == "message_delta":
            usage = event.get("usage") or {}
            if usage.get("output_tokens") is not None:
                self.output_tokens = int(usage["output_tokens"])
            if usage.get("input_tokens") is not None:
                self.prompt_tokens = _prompt_tokens(usage)
            reason = _finish((event.get("delta") or {}).get("stop_reason"))
            return self._chunk(
                Delta(), finish_reason=reason, usage=TokenUsage(self.prompt_tokens, self.output_tokens)
            )
        if kind == "message_stop":
            return False
        if kind == "error":
            raise self.provider.error_from_body(event.get("error"), None, None)
        return None  # ping, content_block_stop, and event types added later

    def _chunk(
        self, delta: Delta, *, finish_reason: str | None = None, usage: TokenUsage | None = None
    ) -> CompletionChunk:
        return CompletionChunk(
            id=self.id,
            model=self.model,
            choices=(ChunkChoice(index=0, delta=delta, finish_reason=finish_reason),),
            usage=usage,
            provider_id=self.provider.name,
        )


def _finish(stop_reason: Any) -> str | None:
    if stop_reason is None:
        return None
    return FINISH_REASONS.get(str(stop_reason), str(stop_reason))


def _prompt_tokens(usage: Mapping[str, Any]) -> int:
    # Cached prompt tokens are still prompt tokens, counted apart by the API.
    return sum(
        int(usage.get(k) or 0)
        for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )


def _usage(usage: Mapping[str, Any]) -> TokenUsage:
    return TokenUsage(_prompt_tokens(usage), int(usage.get("output_tokens") or 0))


def _tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    # OpenAI's {"type": "function", "function": {...}} or Anthropic's own {"name", "input_schema"}.
    if "input_schema" in tool:
        return dict(tool)
    fn = tool.get("function", tool)
    out: dict[str, Any] = {
        "name": fn["name"],
        "input_schema": fn.get("parameters") or {"type": "object", "properties": {}},
    }
    if fn.get("description"):
        out["description"] = fn["description"]
    return out


def _tool_choice(choice: str | Mapping[str, Any]) -> dict[str, Any] | None:
    if isinstance(choice, str):
        if choice == "none":
            return None
        return {"type": {"auto": "auto", "required": "any", "any": "any"}.get(choice, "auto")}
    if choice.get("type") == "function":
        return {"type": "tool", "name": choice["function"]["name"]}
    return dict(choice)


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw) if raw.strip() else {}
        except ValueError:
            return {"arguments": raw}
    return raw or {}


def _image(part: Mapping[str, Any]) -> dict[str, Any]:
    # OpenAI's {"type": "image_url", "image_url": {"url": ...}} → an Anthropic image block.
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, Mapping) else image
    if not isinstance(url, str) or not url:
        raise BadRequestError(f"an image_url content part needs a url: got {dict(part)!r}")
    if url.startswith("data:"):
        head, sep, data = url[5:].partition(",")
        media_type, _, encoding = head.partition(";")
        if not sep or encoding != "base64" or not media_type:
            raise BadRequestError("an image data URL must look like data:image/png;base64,<data>")
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise BadRequestError(f"an image url must be a data: or http(s) URL, got {url[:40]!r}")


def _blocks(content: str | tuple[Mapping[str, Any], ...] | None) -> list[dict[str, Any]]:
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            blocks.append({"type": "text", "text": str(part.get("text", ""))})
        elif kind == "image_url":
            blocks.append(_image(part))
        else:
            raise BadRequestError(f"the Messages API has no counterpart for a {kind!r} content part")
    return blocks


def _messages(messages: tuple[ChatMessage, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        # Consecutive messages of one role merge: parallel tool results go back as one user turn.
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for m in messages:
        if m.role in ("system", "developer"):
            continue
        if m.role == "tool":
            result = m.content if isinstance(m.content, str | None) else _blocks(m.content)
            block = {"type": "tool_result", "tool_use_id": m.tool_call_id or "", "content": result or ""}
            add("user", [block])
            continue
        blocks = _blocks(m.content)
        for call in m.tool_calls or ():
            blocks.append(
                {
                    "type": "tool_use",
                    "id": call.id,
                    "name": call.function.name,
                    "input": _arguments(call.function.arguments),
                }
            )
        add("assistant" if m.role == "assistant" else "user", blocks)
    return out
