"""What the HTTP provider tests share: the key, a request, and ways to run and fail a call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import pytest

from meshkit.errors import ProviderError
from meshkit.interfaces import HTTPProvider
from meshkit.testing.mock_server import MockOpenAIServer
from meshkit.types import CompletionChunk, CompletionRequest

#: A key that must be sent to the server and must never show up anywhere else.
SECRET_KEY = "sk-test-7f3c9a1e5d2b4c6a8e0f"

#: A tool in OpenAI's shape; the Anthropic provider translates it.
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}

P = TypeVar("P", bound=HTTPProvider)


def ask(text: str = "Hi there", **kwargs: Any) -> CompletionRequest:
    """One user message, to model ``small`` unless told otherwise."""
    kwargs.setdefault("model", "small")
    return CompletionRequest(messages=[{"role": "user", "content": text}], **kwargs)


@asynccontextmanager
async def running(
    cls: type[P], name: str, server: MockOpenAIServer, transport: str, **config: Any
) -> AsyncIterator[P]:
    """A started provider of ``cls`` pointed at ``server`` with the secret key; ``config`` overrides."""
    settings = {"base_url": server.base_url, "api_key": SECRET_KEY, "transport": transport, **config}
    async with cls(settings, name=name) as provider:
        yield provider


async def collect(provider: HTTPProvider, request: CompletionRequest) -> list[CompletionChunk]:
    """Every chunk of one stream."""
    return [chunk async for chunk in provider.stream(request)]


async def failure(provider: HTTPProvider, request: CompletionRequest, *, stream: bool) -> ProviderError:
    """The error a call (streamed or not) must raise."""
    with pytest.raises(ProviderError) as info:
        if stream:
            await collect(provider, request)
        else:
            await provider.complete(request)
    return info.value


async def text_before_failure(
    provider: HTTPProvider, request: CompletionRequest
) -> tuple[str, ProviderError]:
    """The text a stream delivered before it failed, and the error it must fail with."""
    received: list[str] = []
    with pytest.raises(ProviderError) as info:
        async for chunk in provider.stream(request):
            received.append(chunk.text)
    return "".join(received), info.value
