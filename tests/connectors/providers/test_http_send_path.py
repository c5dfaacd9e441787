"""How an HTTP provider sends: requests built once per provider, handed straight to the transport.

The requests ``http_request`` builds must carry what httpx's client would have given them, and
reach the transport as they are; a request built with the client still goes through the client.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator

import httpx
import pytest
from hostile_server import HostileServer
from provider_helpers import SECRET_KEY, ask, running

from meshkit.connectors.providers import AnthropicProvider, OpenAICompatibleProvider
from meshkit.errors import ProviderProtocolError
from meshkit.interfaces import json_bytes
from meshkit.testing import FaultTransport, openai_payloads
from meshkit.testing.mock_server import MockOpenAIServer

pytestmark = pytest.mark.anyio

OPENAI_PAYLOADS = openai_payloads()
BODY = {"model": "small", "messages": [{"role": "user", "content": "héllo"}], "max_tokens": 5}


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


def same(built: httpx.Request, by_client: httpx.Request) -> None:
    assert built.method == by_client.method
    assert built.url == by_client.url
    assert sorted(built.headers.multi_items()) == sorted(by_client.headers.multi_items())
    assert built.content == by_client.content
    assert built.extensions["timeout"] == by_client.extensions["timeout"]


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1/", "http://h"])
async def test_a_built_request_is_what_the_client_would_build(base_url: str) -> None:
    config = {"base_url": base_url, "api_key": SECRET_KEY, "headers": {"X-Team": "a"}, "timeout": "7s"}
    async with OpenAICompatibleProvider(config, transport=FaultTransport(OPENAI_PAYLOADS)) as p:
        for path in ("chat/completions", "/chat/completions", "http://other:9/x"):
            same(p.http_request("POST", path, json=BODY), p.client.build_request("POST", path, json=BODY))
        same(p.http_request("GET", "models"), p.client.build_request("GET", "models"))
        own = httpx.Timeout(2.5, connect=2.5)
        same(
            p.http_request("POST", "chat/completions", json=BODY, timeout=2.5),
            p.client.build_request("POST", "chat/completions", json=BODY, timeout=own),
        )
        by_params = p.http_request("GET", "models", params={"limit": "10"})
        assert by_params.url == p.client.build_request("GET", "models", params={"limit": "10"}).url


async def test_a_built_request_reaches_the_transport_as_it_is() -> None:
    transport = FaultTransport(OPENAI_PAYLOADS)
    async with OpenAICompatibleProvider({"api_key": SECRET_KEY}, transport=transport) as p:
        request = p.build_request(ask(), stream=False)
        await p.fetch(request)
        await p.complete(ask())
    assert transport.requests[0] is request
    assert transport.requests[1].headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert json.loads(transport.requests[1].content)["messages"] == [{"role": "user", "content": "Hi there"}]


class _Signed(httpx.Auth):
    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["x-signed"] = "yes"
        yield request


class SigningProvider(OpenAICompatibleProvider):
    """A connector that signs requests through the client's auth, as httpx lets it."""

    def _make_client(self) -> httpx.AsyncClient:
        client = super()._make_client()
        client.auth = _Signed()
        return client


async def test_a_request_built_with_the_client_still_goes_through_the_client() -> None:
    transport = FaultTransport(OPENAI_PAYLOADS)
    async with SigningProvider({}, transport=transport) as p:
        response = await p.fetch(p.client.build_request("POST", "chat/completions", json=BODY))
    assert response.status_code == 200
    assert transport.requests[0].headers["x-signed"] == "yes"


async def test_the_anthropic_key_is_on_each_request_and_out_of_the_clients_defaults() -> None:
    async with AnthropicProvider({"api_key": SECRET_KEY}, transport=FaultTransport(OPENAI_PAYLOADS)) as p:
        request = p.build_request(ask(), stream=False)
        assert request.headers["x-api-key"] == SECRET_KEY
        assert "x-api-key" not in p.client.headers


async def test_a_compressed_body_is_decoded(hostile: HostileServer, transport: str) -> None:
    config = {"base_url": hostile.base_url, "transport": transport}
    async with OpenAICompatibleProvider(config) as p:
        reply = await p.complete(ask(model="gzipped"))
    assert reply.text == "Fine here."


async def test_the_configured_headers_reach_the_server(server: MockOpenAIServer, transport: str) -> None:
    async with running(OpenAICompatibleProvider, "local", server, transport, headers={"X-Team": "a"}) as p:
        await p.complete(ask())
    sent = server.requests[0].headers
    assert sent["X-Team"] == "a" and sent["Authorization"] == f"Bearer {SECRET_KEY}"


@pytest.mark.parametrize("backend_and_transport", [("asyncio", "aiohttp")], ids=["asyncio-aiohttp"])
async def test_the_aiohttp_transport_reads_a_plain_answer_whole_and_leaves_the_rest_to_httpx(
    hostile: HostileServer,
) -> None:
    async with OpenAICompatibleProvider({"base_url": hostile.base_url, "transport": "aiohttp"}) as p:
        transport = p.transport
        statuses: list[int] = []
        plain, body = await transport.fetch_whole(  # type: ignore[attr-defined]
            p.build_request(ask(model="healthy"), stream=False), 1 << 20, statuses.append, 30.0
        )
        assert body is not None and body == plain.content and json.loads(body)["model"] == "healthy"
        gzipped, unread = await transport.fetch_whole(  # type: ignore[attr-defined]
            p.build_request(ask(model="gzipped"), stream=False), 1 << 20, statuses.append, 30.0
        )
        assert unread is None and gzipped.headers["content-encoding"] == "gzip"
        assert json.loads(await gzipped.aread())["choices"][0]["message"]["content"] == "Fine here."
        longer, unread = await transport.fetch_whole(  # type: ignore[attr-defined]
            p.build_request(ask(model="healthy"), stream=False), 10, statuses.append, 30.0
        )
        assert unread is None and len(await longer.aread()) > 10
        assert statuses == [200, 200, 200]


async def test_a_declared_length_past_max_response_bytes_fails_typed(
    hostile: HostileServer, transport: str
) -> None:
    config = {"base_url": hostile.base_url, "transport": transport, "max_response_bytes": 64}
    async with OpenAICompatibleProvider(config) as p:
        with pytest.raises(ProviderProtocolError, match="larger than max_response_bytes"):
            await p.complete(ask(model="healthy"))


@pytest.mark.parametrize(
    "value",
    [BODY, {"a": [1, 2.5, None, True, 'ü\n"\\'], "b": {}}, [], "plain", 3, {"n": 1e300, "e": "\u2028"}],
)
def test_a_json_body_is_what_httpx_would_send(value: object) -> None:
    assert json_bytes(value) == httpx.Request("POST", "http://h", json=value).content


def test_a_json_body_refuses_what_json_refuses() -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        json_bytes({"x": float("nan")})
    with pytest.raises(TypeError, match="not JSON serializable"):
        json_bytes({"x": object()})
