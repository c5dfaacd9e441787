"""Time and memory stay bounded by configuration, whatever the upstream does.

Each hostile behaviour runs over real loopback HTTP (see hostile_server.py) on every transport;
the limits are small so that each test takes a fraction of a second.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from hostile_server import HostileServer
from provider_helpers import ask, failure, text_before_failure

from meshkit.connectors.providers import OpenAICompatibleProvider
from meshkit.errors import ConfigError, ProviderProtocolError, ProviderTimeoutError
from meshkit.runtime.mesh import Mesh

pytestmark = pytest.mark.anyio

#: httpx reads at most this much from the socket at once: the most a reader can overshoot by.
READ_SIZE = 65_536


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


class CountingTransport(httpx.AsyncBaseTransport):
    """httpx's own transport, counting every body byte handed to the client."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.bytes_read = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_Counted(self, response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Counted(httpx.AsyncByteStream):
    def __init__(self, owner: CountingTransport, inner: Any) -> None:
        self.owner = owner
        self.inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self.inner:
            self.owner.bytes_read += len(part)
            yield part

    async def aclose(self) -> None:
        await self.inner.aclose()


@asynccontextmanager
async def provider(
    server: HostileServer, transport: str | httpx.AsyncBaseTransport, **config: Any
) -> AsyncIterator[OpenAICompatibleProvider]:
    settings: dict[str, Any] = {"base_url": server.base_url, **config}
    if isinstance(transport, str):
        settings["transport"] = transport
        made = OpenAICompatibleProvider(settings, name="up")
    else:
        made = OpenAICompatibleProvider(settings, name="up", transport=transport)
    async with made as running:
        yield running


# --- time ------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["trickle", "trickle-declared"])  # chunked, or a declared length
async def test_a_trickling_body_is_cut_at_the_total_timeout(
    hostile: HostileServer, transport: str, model: str
) -> None:
    before = hostile.hung_up[model]
    async with provider(hostile, transport, timeout="300ms") as p:
        error = await failure(p, ask(model=model), stream=False)
    assert isinstance(error, ProviderTimeoutError)
    assert "no complete answer within 0.3s" in str(error)
    assert error.retryable
    assert hostile.wait_for_hang_up(model, before + 1)  # the connection was given up, not kept


async def test_a_request_timeout_overrides_the_configured_one(hostile: HostileServer, transport: str) -> None:
    async with provider(hostile, transport, timeout="30s") as p:
        error = await failure(p, ask(model="trickle", timeout=0.2), stream=False)
    assert isinstance(error, ProviderTimeoutError)
    assert "within 0.2s" in str(error)


async def test_a_stream_with_no_first_chunk_times_out_at_first_token_timeout(
    hostile: HostileServer, transport: str
) -> None:
    async with provider(hostile, transport, timeout="30s", first_token_timeout="200ms") as p:
        text, error = await text_before_failure(p, ask(model="stall-first"))
    assert text == ""
    assert isinstance(error, ProviderTimeoutError)
    assert "no first chunk within 0.2s" in str(error)


async def test_keep_alive_comments_do_not_count_as_chunks(hostile: HostileServer, transport: str) -> None:
    async with provider(hostile, transport, timeout="200ms") as p:
        text, error = await text_before_failure(p, ask(model="ping-forever"))
    assert text == ""
    assert isinstance(error, ProviderTimeoutError)
    assert hostile.sent["ping-forever"] > 0


async def test_a_stream_that_stalls_midway_fails_typed_after_its_chunks(
    hostile: HostileServer, transport: str
) -> None:
    async with provider(hostile, transport, timeout="30s", stall_timeout="200ms") as p:
        text, error = await text_before_failure(p, ask(model="stall-mid"))
    assert text == "Hello there"
    assert isinstance(error, ProviderTimeoutError)
    assert "stalled: no chunk for 0.2s" in str(error)


# --- memory ----------------------------------------------------------------------------------


async def test_a_huge_body_fails_typed_once_past_max_response_bytes(
    hostile: HostileServer, transport: str
) -> None:
    before = hostile.hung_up["huge"]
    async with provider(hostile, transport, max_response_bytes=200_000) as p:
        error = await failure(p, ask(model="huge"), stream=False)
    assert isinstance(error, ProviderProtocolError)
    assert "larger than max_response_bytes (200000 bytes)" in str(error)
    assert hostile.wait_for_hang_up("huge", before + 1)


async def test_an_endless_stream_line_fails_typed_once_past_max_response_bytes(
    hostile: HostileServer, transport: str
) -> None:
    async with provider(hostile, transport, max_response_bytes=100_000) as p:
        text, error = await text_before_failure(p, ask(model="endless-line"))
    assert text == ""
    assert isinstance(error, ProviderProtocolError)
    assert "has no end yet" in str(error)


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
@pytest.mark.parametrize("backend_and_transport", [("asyncio", "httpx"), ("trio", "httpx")], indirect=True)
async def test_what_is_read_stays_within_one_read_of_the_limit(hostile: HostileServer, stream: bool) -> None:
    counting = CountingTransport()
    limit = 300_000
    model = "endless-line" if stream else "huge"
    async with provider(hostile, counting, max_response_bytes=limit) as p:
        error = await failure(p, ask(model=model), stream=stream)
    assert isinstance(error, ProviderProtocolError)
    assert limit < counting.bytes_read <= limit + READ_SIZE


# --- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("timeout", "0s", "config.timeout: expected a positive duration such as 30s"),
        ("connect_timeout", 0, "config.connect_timeout: expected a positive duration"),
        ("first_token_timeout", "0ms", "config.first_token_timeout: expected a positive duration"),
        ("stall_timeout", "0s", "config.stall_timeout: expected a positive duration"),
        ("max_response_bytes", 0, "config.max_response_bytes: expected a positive number of bytes"),
        ("max_connections", 0, "config.max_connections: expected at least 1"),
    ],
)
def test_non_positive_limits_are_rejected_with_their_path(key: str, value: Any, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        OpenAICompatibleProvider({key: value})
    assert expected in str(info.value)


# --- the pool fails over -------------------------------------------------------------------


def mesh_config(server: HostileServer, transport: str, hostile_model: str) -> dict[str, Any]:
    # The tight limits belong to the hostile model's provider only: the healthy model's provider
    # keeps generous ones, so a loaded machine cannot make the healthy answer miss a limit too.
    limits = {
        "timeout": "300ms",
        "first_token_timeout": "200ms",
        "stall_timeout": "200ms",
        "max_response_bytes": 100_000,
    }
    return {
        "providers": {
            "hostile": {
                "connector": "openai-compatible",
                "config": {"base_url": server.base_url, "transport": transport, **limits},
            },
            "up": {
                "connector": "openai-compatible",
                "config": {"base_url": server.base_url, "transport": transport, "timeout": "30s"},
            },
        },
        "models": {
            "hostile.bad": {"provider": "hostile", "name": hostile_model},
            "up.good": {"provider": "up", "name": "healthy"},
        },
        "pools": {
            "chat": {
                "models": ["hostile.bad", "up.good"],
                "rotation": {"connector": "priority"},
                "retry": {"max_attempts": 2},
            }
        },
    }


@pytest.mark.parametrize("hostile_model", ["trickle", "huge"])
async def test_a_pool_fails_over_from_a_hostile_body_to_a_healthy_model(
    hostile: HostileServer, transport: str, hostile_model: str
) -> None:
    async with Mesh.from_config(mesh_config(hostile, transport, hostile_model)) as mesh:
        reply = await mesh.complete(model="chat", messages=[{"role": "user", "content": "hi"}])
    assert reply.model == "up.good"
    assert reply.text == "Fine here."


@pytest.mark.parametrize("hostile_model", ["stall-first", "endless-line", "ping-forever"])
async def test_a_pool_fails_over_from_a_stream_that_never_starts(
    hostile: HostileServer, transport: str, hostile_model: str
) -> None:
    async with Mesh.from_config(mesh_config(hostile, transport, hostile_model)) as mesh:
        chunks = [c async for c in mesh.stream(model="chat", messages=[{"role": "user", "content": "hi"}])]
    assert {c.model for c in chunks} == {"up.good"}
    assert "".join(c.text for c in chunks) == "Fine here."
