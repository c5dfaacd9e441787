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

from collections.abc import Callable, Generator, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import attrs
import httpx

from meshkit import (
    Choice,
    CompletionChunk,
    CompletionRequest,
    CompletionResponse,
    ConfigError,
    FeatureNotSupportedError,
    ModelInfo,
    ProviderError,
    ProviderFeature,
    ProviderProtocolError,
)
from meshkit.interfaces import HTTPProvider, HTTPProviderConfig, check

from . import _anthropic_wire as wire
from ._anthropic_errors import error_from_body
from ._anthropic_stream import StreamParser
from ._http import HTTP_URL, json_object, malformed_model_list, model_for

__all__ = ["AnthropicConfig", "AnthropicProvider"]

DEFAULT_BASE_URL = "https://api.anthropic.com/v1"


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
            "messages": wire.messages(request.messages),
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
            body["tools"] = [wire.tool(t) for t in request.tools]
        if request.tool_choice is not None:
            choice = wire.tool_choice(request.tool_choice)
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
        message = wire.answer_message(blocks)
        return CompletionResponse(
            id=str(data.get("id") or ""),
            model=str(data.get("model") or request.model or ""),
            choices=(
                Choice(index=0, message=message, finish_reason=wire.finish_reason(data.get("stop_reason"))),
            ),
            usage=wire.usage(data.get("usage") or {}),
            provider_id=self.name,
        )

    def stream_parser(
        self, request: CompletionRequest
    ) -> Callable[[str], CompletionChunk | Literal[False] | None]:
        parser = StreamParser(
            request,
            provider_id=self.name,
            error_from_body=lambda error: self.error_from_body(error, None, None),
        )
        return parser.parse

    # --- errors ------------------------------------------------------------------

    def error_from_body(
        self, error: Any, status: int | None, headers: httpx.Headers | Mapping[str, str] | None
    ) -> ProviderError:
        """Map ``{"type": "error", "error": {"type": ..., "message": ...}}`` to a ProviderError."""
        return error_from_body(error, status, headers, provider_id=self.name, redact=self.redact)

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
