"""The HTTP base most providers are built on: one long-lived transport, bounded calls, mapped errors."""

from __future__ import annotations

import contextlib
import json
import sys
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any, ClassVar, Literal

import anyio
import httpx

from ..enums import ProviderFeature
from ..errors import (
    FeatureNotSupportedError,
    ProviderError,
    ProviderProtocolError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from ..types import (
    CompletionChunk,
    CompletionRequest,
    CompletionResponse,
    EmbeddingRequest,
    EmbeddingResponse,
)
from .http_config import HTTPConfigT, HTTPProviderConfig
from .http_errors import error_for_status, error_from_envelope, response_text, retry_after_of
from .http_waits import NO_ANSWER, NO_FIRST_CHUNK, STALLED, Wait, closed
from .json_wire import json_bytes
from .prepared_requests import ACCEPT_ENCODING, PREPARED, USER_AGENT, PreparedRequests
from .provider import Provider
from .transport_choice import WholeFetch, aiohttp_if_there
from .transport_errors import map_transport_exception, url_of

if sys.version_info >= (3, 13):
    from typing import TypeVar
else:  # a TypeVar default (PEP 696) needs the backport before 3.13
    from typing_extensions import TypeVar

__all__ = ["HTTPProvider"]

_Parsed = TypeVar("_Parsed")


class HTTPProvider(Provider[HTTPConfigT]):
    """A provider over HTTP: one long-lived transport (httpx's interface), injectable.

    Every request goes through ``transport``: the injected one, else aiohttp's or httpx's as
    configured. A subclass usually overrides only ``build_request`` (with ``http_request``),
    ``parse_response``, ``parse_stream_line`` and, for unusual error bodies, ``error_from_response``.
    """

    Config: ClassVar[type] = HTTPProviderConfig

    def __init__(
        self,
        config: Any = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(config, **kwargs)
        self._transport = transport
        self._sender: httpx.AsyncBaseTransport | None = None
        self._client: httpx.AsyncClient | None = None
        self._prepared: PreparedRequests | None = None
        self.transport_name = "injected" if transport is not None else "unstarted"

    # --- client ----------------------------------------------------------------

    @property
    def client(self) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` over the provider's transport; created on first use.

        ``http_request`` builds the provider's own calls without it; a request built with the
        client's ``build_request`` still goes through the client (its auth, cookies, hooks).
        """
        if self._closed:
            raise RuntimeError(f"{self.connector_id} ({self.name}) is closed; make a new one")
        if self._client is None:
            self._client = self._make_client()
        return self._client

    @property
    def transport(self) -> httpx.AsyncBaseTransport:
        """The transport every request goes through: the injected one, else the configured one."""
        if self._closed:
            raise RuntimeError(f"{self.connector_id} ({self.name}) is closed; make a new one")
        if self._sender is None:
            self._sender = self._transport or self._select_transport(self._limits())
        return self._sender

    def _limits(self) -> httpx.Limits:
        n = self.config.max_connections
        return httpx.Limits(max_connections=n, max_keepalive_connections=n)

    def _client_timeout(self) -> httpx.Timeout:
        cfg = self.config
        # httpx bounds each read only; the deadlines in ``fetch`` and ``stream`` bound the whole
        # call on every transport. This per-read bound is a backstop no deadline is shorter than.
        backstop = max(cfg.timeout, cfg.first_token_timeout or cfg.timeout, cfg.stall_timeout or cfg.timeout)
        return httpx.Timeout(backstop.total_seconds(), connect=cfg.connect_timeout.total_seconds())

    def _make_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.config.base_url,
            timeout=self._client_timeout(),
            limits=self._limits(),
            transport=self.transport,
            headers=self.default_headers(),
        )

    def _select_transport(self, limits: httpx.Limits) -> httpx.AsyncBaseTransport:
        choice = self.config.transport
        if choice in ("auto", "aiohttp"):
            aiohttp_transport = aiohttp_if_there(required=choice == "aiohttp", limits=limits)
            if aiohttp_transport is not None:
                self.transport_name = "aiohttp"
                return aiohttp_transport
        self.transport_name = "httpx"
        return httpx.AsyncHTTPTransport(limits=limits)

    def http_request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Request:
        """The request for ``path`` under ``base_url``, with ``json`` as its body.

        It carries what the client would have added (its default headers, ``request_headers()``,
        the timeouts), worked out once per provider; ``timeout`` (seconds) replaces the
        configured per-read bound. ``fetch`` and ``stream`` hand it straight to the transport.
        """
        prepared = self._prepared or self._prepare()
        url, json_headers = prepared.route(path)
        if params is not None:
            url = httpx.URL(url, params=params)
        extensions = prepared.extensions if timeout is None else prepared.timed(timeout)
        if json is None:
            return httpx.Request(method, url, headers=prepared.headers, extensions=extensions)
        return prepared.with_body(method, url, json_headers, json_bytes(json), extensions)

    def request_headers(self) -> dict[str, str]:
        """Headers on every request ``http_request`` builds: ``default_headers()`` and any a subclass
        keeps out of the client's defaults (a credential added when sending)."""
        return self.default_headers()

    def _prepare(self) -> PreparedRequests:
        cfg = self.config
        headers = httpx.Headers({"Accept": "*/*", "Accept-Encoding": ACCEPT_ENCODING})
        headers["Connection"] = "keep-alive"
        headers["User-Agent"] = USER_AGENT
        headers.update(self.request_headers())
        self._prepared = PreparedRequests(
            httpx.URL(cfg.base_url),
            headers,
            self._client_timeout().as_dict(),
            cfg.connect_timeout.total_seconds(),
        )
        return self._prepared

    def secrets(self) -> list[str]:
        """The config's secrets, and the credentials of the ``Authorization`` header as sent."""
        found = super().secrets()
        for name, value in self.auth_headers().items():
            if name.lower() == "authorization":
                credentials = value.partition(" ")[2] or value
                if credentials not in found:
                    found.append(credentials)
        return found

    def default_headers(self) -> dict[str, str]:
        """Headers sent with every request: configured ones plus authentication."""
        headers = dict(self.config.headers)
        headers.update(self.auth_headers())
        return headers

    def auth_headers(self) -> dict[str, str]:
        """``Authorization: Bearer <key>`` when a key is configured."""
        key = self.config.api_key
        return {"Authorization": f"Bearer {key.reveal()}"} if key else {}

    async def _start(self) -> None:
        _ = self.transport

    async def _aclose(self) -> None:
        client, self._client = self._client, None
        sender, self._sender = self._sender, None
        if client is not None:
            await client.aclose()  # closes the transport it was given
        elif sender is not None:
            await sender.aclose()
        elif self._transport is not None:
            await self._transport.aclose()

    def _whole_fetcher(self, request: httpx.Request) -> WholeFetch | None:
        # aiohttp's transport reads a plain body and bounds the call itself, sparing httpx's
        # streaming layers and a timer; only for a request ``http_request`` built.
        if request.extensions.get(PREPARED):
            fetch_whole: WholeFetch | None = getattr(self.transport, "fetch_whole", None)
            return fetch_whole
        return None

    async def _send(self, request: httpx.Request) -> httpx.Response:
        # A request from ``http_request`` holds all the client would add: straight to the transport.
        if request.extensions.get(PREPARED):
            response = await self.transport.handle_async_request(request)
            response.request = request
            return response
        return await self.client.send(request, stream=True)

    # --- the four overridable pieces ------------------------------------------

    @abstractmethod
    def build_request(self, request: CompletionRequest, *, stream: bool) -> httpx.Request:
        """The HTTP request for ``request``."""

    @abstractmethod
    def parse_response(self, response: httpx.Response, request: CompletionRequest) -> CompletionResponse:
        """Turn a 2xx response into a CompletionResponse; raise on a malformed body."""

    def parse_stream_line(
        self, line: str, request: CompletionRequest
    ) -> CompletionChunk | Literal[False] | None:
        """Turn one SSE line into a chunk; None to skip the line, False at the end marker."""
        raise FeatureNotSupportedError(f"{self.connector_id} does not support streaming")

    def stream_parser(
        self, request: CompletionRequest
    ) -> Callable[[str], CompletionChunk | Literal[False] | None]:
        """A line parser for one stream; override when parsing needs state across lines."""
        return lambda line: self.parse_stream_line(line, request)

    def build_embedding_request(self, request: EmbeddingRequest) -> httpx.Request:
        """The HTTP request for an embedding call; override with ``parse_embedding_response``."""
        raise FeatureNotSupportedError(f"{self.connector_id} does not support embeddings")

    def parse_embedding_response(
        self, response: httpx.Response, request: EmbeddingRequest
    ) -> EmbeddingResponse:
        """Turn a 2xx embedding response into an EmbeddingResponse; raise on a malformed body."""
        raise FeatureNotSupportedError(f"{self.connector_id} does not support embeddings")

    def error_from_response(self, response: httpx.Response) -> ProviderError:
        """Map a non-2xx response to the right ProviderError.

        An ``{"error": ...}`` body goes through ``error_from_body``; any other body is judged by
        its status and its words.
        """
        data = _json_or_none(response)
        if isinstance(data, dict) and data.get("error"):
            return self.error_from_body(data["error"], response.status_code, response.headers)
        return error_for_status(
            response.status_code,
            self.redact(response_text(response)),
            retry_after=retry_after_of(response.headers),
            provider_id=self.name,
        )

    def error_from_body(
        self, error: Any, status: int | None, headers: httpx.Headers | Mapping[str, str] | None
    ) -> ProviderError:
        """Map an answer's error object: in an error body, inside a 200, or as a stream's error event.

        The default reads OpenAI's shape (``{"type", "code", "message"}``, see
        ``error_from_envelope``); a 2xx ``parse_response`` or a stream parser that meets an
        ``"error"`` member raises what this returns. ``status`` is None in a stream.
        """
        return error_from_envelope(error, status, headers, provider_id=self.name, redact=self.redact)

    # --- the calls --------------------------------------------------------------

    def attempt_timeout(self, request: CompletionRequest | EmbeddingRequest | None = None) -> float:
        """Seconds one call may take in all: the request's own ``timeout``, else the config's."""
        if request is not None and request.timeout is not None:
            return request.timeout
        return float(self.config.timeout.total_seconds())

    def call_bound(self, request: CompletionRequest | EmbeddingRequest) -> float | None:
        """``attempt_timeout(request)``: ``complete`` and ``embed`` wait only inside ``fetch``, under
        it. None for a subclass that replaces one of them (or ``fetch``), which may wait more."""
        cls = type(self)
        if (
            cls.complete is HTTPProvider.complete
            and cls.embed is HTTPProvider.embed
            and cls.fetch is HTTPProvider.fetch
        ):
            return self.attempt_timeout(request)
        return None

    async def fetch(self, http_request: httpx.Request, *, timeout: float | None = None) -> httpx.Response:
        """Send ``http_request`` and read its whole body, within ``timeout`` seconds in all.

        The body is read up to ``max_response_bytes``; a longer one fails the call with
        ``ProviderProtocolError`` before it is all in memory. Any status is returned.
        """
        limit = self.attempt_timeout() if timeout is None else timeout
        fetch_whole = self._whole_fetcher(http_request)
        # A transport that bounds the whole call itself needs no deadline of ours beside its own.
        deadline = None if fetch_whole is not None else anyio.current_time() + limit
        with Wait(self, deadline, NO_ANSWER, limit) as wait:
            if fetch_whole is not None:
                response, body = await fetch_whole(
                    http_request, self.config.max_response_bytes, wait.saw_status, limit
                )
                response.request = http_request
            else:
                response, body = await self._send(http_request), None
                wait.saw_status(response.status_code)
            if body is None:
                try:
                    body = await self._read_bounded(response)
                finally:
                    await closed(response)
                # What ``aread`` would have stored: the decoded body, for ``.content``, ``.json()``.
                response._content = body
        return response

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        http_request = self.build_request(request, stream=False)
        # The status checked in this frame: each coroutine frame costs every resumption.
        response = await self.fetch(http_request, timeout=self.attempt_timeout(request))
        if response.status_code >= 400:
            raise self.error_from_response(response)
        try:  # what ``_parsed`` does, without a closure per call
            return self.parse_response(response, request)
        except ProviderError:
            raise
        except Exception as exc:
            raise self._malformed(response, exc) from exc

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        if ProviderFeature.EMBEDDINGS not in self.features:
            raise FeatureNotSupportedError(f"{self.connector_id} does not support embeddings")
        http_request = self.build_embedding_request(request)
        response = await self.fetch(http_request, timeout=self.attempt_timeout(request))
        if response.status_code >= 400:
            raise self.error_from_response(response)
        return self._parsed(response, lambda: self.parse_embedding_response(response, request))

    def _parsed(self, response: httpx.Response, parse: Callable[[], _Parsed]) -> _Parsed:
        try:
            return parse()
        except ProviderError:
            raise
        except Exception as exc:
            raise self._malformed(response, exc) from exc

    def _malformed(self, response: httpx.Response, exc: Exception) -> ProviderProtocolError:
        return ProviderProtocolError(
            self.redact(f"malformed response body: {exc}"),
            status_code=response.status_code,
            provider_id=self.name,
        )

    async def stream(self, request: CompletionRequest) -> AsyncIterator[CompletionChunk]:  # type: ignore[override]
        if ProviderFeature.STREAMING not in self.features:
            raise FeatureNotSupportedError(f"{self.connector_id} does not support streaming")
        cfg = self.config
        overall = self.attempt_timeout(request)
        first_wait = cfg.first_token_timeout.total_seconds() if cfg.first_token_timeout else overall
        stall = cfg.stall_timeout.total_seconds() if cfg.stall_timeout else overall
        http_request = self.build_request(request, stream=True)
        # Each wait gets its own scope: a cancel scope must never stay open across a ``yield``.
        deadline = anyio.current_time() + first_wait
        with Wait(self, deadline, NO_FIRST_CHUNK, first_wait):
            response = await self._send(http_request)
        try:
            if response.status_code >= 400:
                with Wait(self, deadline, NO_FIRST_CHUNK, first_wait):
                    response._content = await self._read_bounded(response)
                raise self.error_from_response(response)
            parse = self.stream_parser(request)
            lines = self._bounded_lines(response)
            message, seconds = NO_FIRST_CHUNK, first_wait
            while True:
                with Wait(self, deadline, message, seconds, body=True):
                    chunk = await self._next_chunk(lines, parse)
                if chunk is None:
                    raise ProviderProtocolError("stream ended before its end marker", provider_id=self.name)
                if chunk is False:
                    return
                yield chunk
                deadline = anyio.current_time() + stall
                message, seconds = STALLED, stall
        finally:
            await closed(response)

    async def _next_chunk(
        self,
        lines: AsyncIterator[str],
        parse: Callable[[str], CompletionChunk | Literal[False] | None],
    ) -> CompletionChunk | Literal[False] | None:
        # The next chunk, False at the end marker, None when the stream ends without one.
        async for line in lines:
            if not line.strip():
                continue
            try:
                chunk = parse(line)
            except ProviderError:
                raise
            except Exception as exc:
                raise ProviderProtocolError(
                    self.redact(f"malformed stream line: {exc}"), provider_id=self.name
                ) from exc
            if chunk is not None:
                return chunk
        return None

    async def _read_bounded(self, response: httpx.Response) -> bytes:
        limit = self.config.max_response_bytes
        parts: list[bytes] = []
        size = 0
        async for part in response.aiter_bytes():
            size += len(part)
            if size > limit:
                raise self._too_large(response, limit)
            parts.append(part)
        return b"".join(parts)

    async def _bounded_lines(self, response: httpx.Response) -> AsyncIterator[str]:
        # httpx's own line reader keeps an unfinished line whole, however long; this one stops at
        # ``max_response_bytes`` for the stream as a whole, a line without an end included.
        limit = self.config.max_response_bytes
        pending = bytearray()
        size = 0
        async for part in response.aiter_bytes():
            size += len(part)
            if size > limit:
                raise self._too_large(response, limit, unfinished_line=len(pending) + len(part))
            pending += part
            lines = bytes(pending).splitlines(keepends=True)
            # A last piece without its line end (or ending in a CR that a LF may follow) waits.
            keep = b"" if lines and lines[-1].endswith(b"\n") else (lines.pop() if lines else b"")
            pending = bytearray(keep)
            for line in lines:
                yield line.rstrip(b"\r\n").decode("utf-8", errors="replace")
        if pending:
            yield bytes(pending).rstrip(b"\r\n").decode("utf-8", errors="replace")

    def _too_large(
        self, response: httpx.Response, limit: int, *, unfinished_line: int | None = None
    ) -> ProviderProtocolError:
        what = "the response body" if unfinished_line is None else "the stream"
        detail = ""
        if unfinished_line is not None and unfinished_line > limit // 2:
            detail = f" (one line of {unfinished_line} bytes has no end yet)"
        return ProviderProtocolError(
            f"{what} is larger than max_response_bytes ({limit} bytes){detail}; "
            "raise max_response_bytes if such answers are expected",
            status_code=response.status_code,
            provider_id=self.name,
        )

    @contextlib.contextmanager
    def _mapped_errors(self, *, body: bool = False) -> Iterator[None]:
        # body=True while reading a 2xx body: a connection lost there is a cut answer, not an outage.
        try:
            yield
        except Exception as exc:
            mapped = self._transport_error(exc, body=body)
            if mapped is None:
                raise
            raise mapped from exc

    def _transport_error(self, exc: Exception, *, body: bool) -> ProviderError | None:
        """The ProviderError for a transport's exception, or None when it is not one."""
        if isinstance(exc, ProviderError):
            return None
        mapped = map_transport_exception(exc)
        if mapped is None:
            return None
        if body and isinstance(mapped, ProviderUnavailableError):
            mapped = ProviderProtocolError(f"response cut short: {mapped.message}")
        elif isinstance(mapped, ProviderUnavailableError | ProviderTimeoutError):
            url = url_of(exc) or getattr(self.config, "base_url", None)
            if url:  # say where: a wrong base_url or port is the usual cause
                mapped.message = f"could not reach {url}: {mapped.message}"
        mapped.provider_id = self.name
        mapped.message = self.redact(mapped.message)
        mapped.args = (mapped.message,)
        return mapped


def _json_or_none(response: httpx.Response) -> Any:
    # An error body as JSON, or None when it is not JSON (an HTML gateway page...).
    try:
        return json.loads(response.content)
    except ValueError:
        return None
