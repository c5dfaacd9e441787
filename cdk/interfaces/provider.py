"""The provider interface, and the HTTP base most providers are built on."""

from __future__ import annotations

import contextlib
import email.utils
import json
import math
import sys
import time
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

import anyio
import attrs
import httpx

from ..config import check
from ..connector import ConfigT, Connector
from ..enums import AuthMethod, ConnectorType, ProviderFeature
from ..errors import (
    AuthenticationError,
    BadRequestError,
    ContextWindowExceededError,
    FeatureNotSupportedError,
    ModelAccessError,
    ProviderError,
    ProviderProtocolError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    RateLimitError,
)
from ..types import (
    CompletionChunk,
    CompletionRequest,
    CompletionResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    ModelInfo,
    ModelPricing,
    ProbeResult,
    Secret,
)
from .redaction import scrubber

if sys.version_info >= (3, 13):
    from typing import TypeVar
else:  # a TypeVar default (PEP 696) needs the backport before 3.13
    from typing_extensions import TypeVar

__all__ = [
    "HTTPProvider",
    "HTTPProviderConfig",
    "Provider",
    "error_for_status",
    "model_not_found",
    "parse_retry_after",
]

INTERFACE_VERSION = 1

_Parsed = TypeVar("_Parsed")

_QUOTA_MARKERS = (
    "insufficient_quota",
    "quota exceeded",
    "quota_exceeded",
    "exceeded your current quota",
    "billing",
    "credit balance",
)
#: Words of a 404 that says the model is unknown, or not open to this key (not a wrong URL).
_MODEL_NOT_FOUND_MARKERS = (
    "model_not_found",
    "not found",
    "not_found",
    "does not exist",
    "do not have access",
    "no access",
    "no such model",
    "unknown model",
)
_CONTEXT_MARKERS = (
    "context_length_exceeded",
    "context length",
    "context window",
    "maximum context",
    "too many tokens",
    "prompt is too long",
)


class Provider(Connector[ConfigT]):
    """Talks to one AI service. Providers never retry: the router is the one retry loop."""

    connector_type: ClassVar[ConnectorType] = ConnectorType.PROVIDER
    interface_version: ClassVar[int] = INTERFACE_VERSION
    auth_method: ClassVar[AuthMethod] = AuthMethod.API_KEY
    #: The secrets last scrubbed for, and the scrubber built for them.
    _scrub: tuple[tuple[str, ...], Callable[[str], str]] | None = None

    @abstractmethod
    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Run one completion; raise a ProviderError subclass on failure."""

    def stream(self, request: CompletionRequest) -> AsyncIterator[CompletionChunk]:
        """Yield completion chunks; requires the STREAMING feature."""
        raise FeatureNotSupportedError(f"{self.connector_id} does not support streaming")

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """Embed the request's texts, one vector per input in input order; requires EMBEDDINGS."""
        raise FeatureNotSupportedError(f"{self.connector_id} does not support embeddings")

    async def list_models(self) -> list[ModelInfo]:
        """The models the service offers; requires LIST_MODELS."""
        raise FeatureNotSupportedError(f"{self.connector_id} cannot list models")

    async def pricing(self, model_id: str) -> ModelPricing | None:
        """The price of ``model_id`` if the provider knows it."""
        return None

    async def probe(self) -> ProbeResult:
        """A cheap health check. The default lists models when it can, else reports ok."""
        started = time.perf_counter()
        try:
            if ProviderFeature.LIST_MODELS in self.features:
                await self.list_models()
        except Exception as exc:  # a probe reports, it does not raise
            err = self.classify_error(exc)
            return ProbeResult(
                provider_id=self.name,
                ok=False,
                checked_at=self.clock.now(),
                latency_ms=_ms_since(started),
                error=self.redact(str(err)),
                status_code=err.status_code,
            )
        return ProbeResult(
            provider_id=self.name, ok=True, checked_at=self.clock.now(), latency_ms=_ms_since(started)
        )

    def classify_error(self, exc: BaseException) -> ProviderError:
        """Map any exception raised while talking to the service to a ProviderError."""
        if isinstance(exc, ProviderError):
            return exc
        mapped = _map_transport_exception(exc)
        if mapped is not None:
            return mapped
        if isinstance(exc, ValueError | KeyError | TypeError | json.JSONDecodeError):
            return ProviderProtocolError(self.redact(f"malformed response: {exc}"))
        return ProviderError(self.redact(f"{type(exc).__name__}: {exc}"))

    def secrets(self) -> list[str]:
        """Plain secret values this provider holds, so that messages can be scrubbed."""
        found: list[str] = []
        config: Any = self.config  # any attrs class: only its Secret fields matter here
        if attrs.has(type(config)):
            for a in attrs.fields(type(config)):
                value = getattr(config, a.name)
                if isinstance(value, Secret) and value.reveal():
                    found.append(value.reveal())
        return found

    def redact(self, text: str) -> str:
        """``text`` with every secret this provider holds masked, in each form it takes on the wire.

        Raw, URL-encoded, JSON-escaped and base64 spellings are all masked (see ``scrubber``).
        """
        secrets = tuple(self.secrets())
        cached = self._scrub
        if cached is None or cached[0] != secrets:
            cached = (secrets, scrubber(secrets))
            self._scrub = cached
        return cached[1](text)


def _positive_duration(value: timedelta) -> bool:
    return value > timedelta(0)


def _positive(value: int) -> bool:
    return value > 0


_POSITIVE_DURATION = check(_positive_duration, "a positive duration such as 30s")

#: The default bound on one response body (or one whole stream), read or not.
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024


@attrs.frozen(kw_only=True)
class HTTPProviderConfig:
    """Settings shared by HTTP providers."""

    base_url: str = "http://127.0.0.1:8000/v1"
    api_key: Secret | None = None
    #: The whole of one call that is not streamed: connecting, sending, waiting and reading.
    timeout: timedelta = attrs.field(default=timedelta(seconds=30), validator=_POSITIVE_DURATION)
    connect_timeout: timedelta = attrs.field(default=timedelta(seconds=5), validator=_POSITIVE_DURATION)
    #: A stream's longest wait for its first chunk, from the request on (default: ``timeout``).
    first_token_timeout: timedelta | None = attrs.field(default=None, validator=_POSITIVE_DURATION)
    #: A stream's longest wait between two chunks (default: ``timeout``).
    stall_timeout: timedelta | None = attrs.field(default=None, validator=_POSITIVE_DURATION)
    #: The most bytes one answer (a body, or a whole stream) may bring; past it the call fails.
    max_response_bytes: int = attrs.field(
        default=DEFAULT_MAX_RESPONSE_BYTES, validator=check(_positive, "a positive number of bytes")
    )
    transport: Literal["auto", "httpx", "aiohttp"] = "auto"
    headers: dict[str, str] = attrs.field(factory=dict)
    max_connections: int = attrs.field(default=100, validator=check(_positive, "at least 1"))


#: The configuration of an HTTP provider: HTTPProviderConfig or a subclass of it.
HTTPConfigT = TypeVar("HTTPConfigT", bound=HTTPProviderConfig, default=HTTPProviderConfig)


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
        self._prepared: _Prepared | None = None
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
            aiohttp_transport = _aiohttp_transport(required=choice == "aiohttp", limits=limits)
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
            request = httpx.Request(method, url, headers=prepared.headers, extensions=extensions)
        else:
            body = _json_bytes(json)
            # A stream, not ``content=``: the headers are complete already but for the length.
            request = httpx.Request(
                method, url, headers=json_headers, stream=httpx.ByteStream(body), extensions=extensions
            )
            request.headers["Content-Length"] = str(len(body))
            request.read()
        return request

    def request_headers(self) -> dict[str, str]:
        """Headers on every request ``http_request`` builds: ``default_headers()`` and any a subclass
        keeps out of the client's defaults (a credential added when sending)."""
        return self.default_headers()

    def _prepare(self) -> _Prepared:
        cfg = self.config
        headers = httpx.Headers({"Accept": "*/*", "Accept-Encoding": _ACCEPT_ENCODING})
        headers["Connection"] = "keep-alive"
        headers["User-Agent"] = _USER_AGENT
        headers.update(self.request_headers())
        self._prepared = _Prepared(
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

    async def _send(self, request: httpx.Request) -> httpx.Response:
        # A request from ``http_request`` holds all the client would add: straight to the transport.
        if request.extensions.get(_PREPARED):
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
        """Map a non-2xx response to the right ProviderError."""
        body = _safe_text(response)
        return error_for_status(
            response.status_code,
            self.redact(body),
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            provider_id=self.name,
        )

    # --- the calls --------------------------------------------------------------

    def attempt_timeout(self, request: CompletionRequest | EmbeddingRequest | None = None) -> float:
        """Seconds one call may take in all: the request's own ``timeout``, else the config's."""
        if request is not None and request.timeout is not None:
            return request.timeout
        return float(self.config.timeout.total_seconds())

    async def fetch(self, http_request: httpx.Request, *, timeout: float | None = None) -> httpx.Response:
        """Send ``http_request`` and read its whole body, within ``timeout`` seconds in all.

        The body is read up to ``max_response_bytes``; a longer one fails the call with
        ``ProviderProtocolError`` before it is all in memory. Any status is returned.
        """
        limit = self.attempt_timeout() if timeout is None else timeout
        with _Wait(self, anyio.current_time() + limit, _NO_ANSWER, limit) as wait:
            response = await self._send(http_request)
            wait.body = response.status_code < 400
            try:
                body = await self._read_bounded(response)
            finally:
                await _closed(response)
        # What ``aread`` would have stored: the decoded body, for ``.content``, ``.text``, ``.json()``.
        response._content = body
        return response

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        response = await self._exchange(
            self.build_request(request, stream=False), self.attempt_timeout(request)
        )
        return self._parsed(response, lambda: self.parse_response(response, request))

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        if ProviderFeature.EMBEDDINGS not in self.features:
            raise FeatureNotSupportedError(f"{self.connector_id} does not support embeddings")
        response = await self._exchange(self.build_embedding_request(request), self.attempt_timeout(request))
        return self._parsed(response, lambda: self.parse_embedding_response(response, request))

    async def _exchange(self, http_request: httpx.Request, timeout: float) -> httpx.Response:
        """Send one request and read its whole body; a non-2xx status raises the mapped error."""
        response = await self.fetch(http_request, timeout=timeout)
        if response.status_code >= 400:
            raise self.error_from_response(response)
        return response

    def _parsed(self, response: httpx.Response, parse: Callable[[], _Parsed]) -> _Parsed:
        try:
            return parse()
        except ProviderError:
            raise
        except Exception as exc:
            raise ProviderProtocolError(
                self.redact(f"malformed response body: {exc}"),
                status_code=response.status_code,
                provider_id=self.name,
            ) from exc

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
        with _Wait(self, deadline, _NO_FIRST_CHUNK, first_wait):
            response = await self._send(http_request)
        try:
            if response.status_code >= 400:
                with _Wait(self, deadline, _NO_FIRST_CHUNK, first_wait):
                    response._content = await self._read_bounded(response)
                raise self.error_from_response(response)
            parse = self.stream_parser(request)
            lines = self._bounded_lines(response)
            message, seconds = _NO_FIRST_CHUNK, first_wait
            while True:
                with _Wait(self, deadline, message, seconds, body=True):
                    chunk = await self._next_chunk(lines, parse)
                if chunk is None:
                    raise ProviderProtocolError("stream ended before its end marker", provider_id=self.name)
                if chunk is False:
                    return
                yield chunk
                deadline = anyio.current_time() + stall
                message, seconds = _STALLED, stall
        finally:
            await _closed(response)

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
    def _deadline(self, deadline: float, message: str) -> Iterator[None]:
        # Our own deadline, raised as a typed timeout; a cancellation from outside passes through.
        with anyio.CancelScope(deadline=deadline) as scope:
            yield
        if scope.cancelled_caught:
            raise ProviderTimeoutError(message, provider_id=self.name)

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
        mapped = _map_transport_exception(exc)
        if mapped is None:
            return None
        if body and isinstance(mapped, ProviderUnavailableError):
            mapped = ProviderProtocolError(f"response cut short: {mapped.message}")
        elif isinstance(mapped, ProviderUnavailableError | ProviderTimeoutError):
            url = _url_of(exc) or getattr(self.config, "base_url", None)
            if url:  # say where: a wrong base_url or port is the usual cause
                mapped.message = f"could not reach {url}: {mapped.message}"
        mapped.provider_id = self.name
        mapped.message = self.redact(mapped.message)
        mapped.args = (mapped.message,)
        return mapped


_NO_ANSWER = "no complete answer within {}"
_NO_FIRST_CHUNK = "no first chunk within {}"
_STALLED = "the stream stalled: no chunk for {}"


class _Wait:
    """One wait of a call, under a deadline: a typed timeout when it passes, transport errors mapped.

    A class rather than two generator context managers: it is entered once or twice per call.
    A cancellation from outside passes through.
    """

    __slots__ = ("_scope", "body", "message", "provider", "seconds")

    def __init__(
        self,
        provider: HTTPProvider[Any],
        deadline: float,
        message: str,
        seconds: float,
        *,
        body: bool = False,
    ) -> None:
        self.provider = provider
        self.message = message  # formatted with ``seconds`` only when the deadline passes
        self.seconds = seconds
        #: True while reading a 2xx body: a connection lost there is a cut answer, not an outage.
        self.body = body
        self._scope = anyio.CancelScope(deadline=deadline)

    def __enter__(self) -> _Wait:
        self._scope.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> bool:
        if isinstance(exc, Exception):
            mapped = self.provider._transport_error(exc, body=self.body)
            if mapped is not None:
                self._scope.__exit__(type(mapped), mapped, tb)
                raise mapped from exc
        swallowed = bool(self._scope.__exit__(kind, exc, tb))
        if self._scope.cancelled_caught:
            message = self.message.format(_seconds(self.seconds))
            raise ProviderTimeoutError(message, provider_id=self.provider.name) from None
        return swallowed


async def _closed(response: httpx.Response) -> None:
    # Closing gives the connection back: it must finish even when the call is being cancelled.
    with anyio.CancelScope(shield=True):
        await response.aclose()


#: The headers httpx's client sends by default, sent by ``http_request`` too.
_USER_AGENT = f"python-httpx/{httpx.__version__}"
_ACCEPT_ENCODING = "gzip, deflate"
#: The extension that marks a request ``http_request`` built (see ``HTTPProvider._send``).
_PREPARED = "meshkit.prepared"
_json_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _json_bytes(value: Any) -> bytes:
    # What httpx's ``json=`` sends: compact, UTF-8, no NaN.
    return _json_encoder.encode(value).encode("utf-8")


class _Prepared:
    """What every request of one provider shares: the base URL, the headers, the timeouts."""

    __slots__ = ("_connect", "_routes", "_timeout", "base", "extensions", "headers", "json_headers")

    def __init__(
        self, base: httpx.URL, headers: httpx.Headers, timeout: dict[str, Any], connect: float
    ) -> None:
        raw_path = base.raw_path
        self.base = base if raw_path.endswith(b"/") else base.copy_with(raw_path=raw_path + b"/")
        self.headers = headers
        self.json_headers = httpx.Headers(headers)
        self.json_headers["Content-Type"] = "application/json"
        self._timeout = timeout
        self._connect = connect
        self.extensions: dict[str, Any] = {"timeout": timeout, _PREPARED: True}
        self._routes: dict[str, tuple[httpx.URL, httpx.Headers]] = {}

    def route(self, path: str) -> tuple[httpx.URL, httpx.Headers]:
        """The URL of ``path`` under the base URL (as httpx's client merges them; an absolute URL
        as it is), and the headers of a JSON request to it, ``Host`` included."""
        found = self._routes.get(path)
        if found is None:
            url = httpx.URL(path)
            if url.is_relative_url:
                url = self.base.copy_with(raw_path=self.base.raw_path + url.raw_path.lstrip(b"/"))
            headers = httpx.Headers({"Host": url.netloc.decode("ascii")})
            headers.update(self.json_headers)
            found = (url, headers)
            if len(self._routes) < 64:
                self._routes[path] = found
        return found

    def timed(self, seconds: float) -> dict[str, Any]:
        """The extensions of a request with its own timeout of ``seconds``."""
        timeout = {"connect": min(self._connect, seconds), "read": seconds, "write": seconds, "pool": seconds}
        return {"timeout": timeout, _PREPARED: True}


def _aiohttp_transport(
    *, required: bool, limits: httpx.Limits | None = None
) -> httpx.AsyncBaseTransport | None:
    on_asyncio = _running_under_asyncio()
    if not on_asyncio:
        if required:
            raise RuntimeError("transport 'aiohttp' needs asyncio; use 'auto' or 'httpx' under trio")
        return None
    try:
        from .aiohttp_transport import AiohttpTransport
    except ImportError:
        if required:
            raise RuntimeError("transport 'aiohttp' needs the extra: pip install 'meshkit[fast]'") from None
        return None
    return AiohttpTransport(limits=limits) if limits is not None else AiohttpTransport()


def _running_under_asyncio() -> bool:
    # Imported here, not at the top: listing connectors should not pay for asyncio.
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _map_transport_exception(exc: BaseException) -> ProviderError | None:
    aiohttp_error = _aiohttp_origin(exc)
    if aiohttp_error is not None:
        # httpx-aiohttp reports most aiohttp connection errors as ConnectTimeout; judge by the original.
        if isinstance(aiohttp_error, TimeoutError):
            return ProviderTimeoutError(f"timed out: {type(aiohttp_error).__name__}")
        return ProviderUnavailableError(f"connection failed: {type(aiohttp_error).__name__}: {aiohttp_error}")
    if isinstance(exc, httpx.TimeoutException):
        return ProviderTimeoutError(f"timed out: {type(exc).__name__}")
    if isinstance(exc, httpx.RemoteProtocolError):
        return ProviderUnavailableError(f"connection broken: {exc}")
    if isinstance(exc, httpx.NetworkError):
        return ProviderUnavailableError(f"network error: {type(exc).__name__}: {exc}")
    if isinstance(exc, httpx.DecodingError):
        return ProviderProtocolError(f"undecodable body: {exc}")
    if isinstance(exc, TimeoutError):
        return ProviderTimeoutError("timed out")
    if isinstance(exc, ConnectionError | OSError):
        return ProviderUnavailableError(f"connection failed: {type(exc).__name__}: {exc}")
    return None


def _url_of(exc: BaseException) -> str | None:
    """The URL an httpx error was about, when it knows."""
    if isinstance(exc, httpx.RequestError):
        try:
            return str(exc.request.url)
        except RuntimeError:  # an error raised outside a request has none
            return None
    return None


def _aiohttp_origin(exc: BaseException) -> BaseException | None:
    for candidate in (exc, exc.__cause__):
        if candidate is not None and type(candidate).__module__.split(".")[0] == "aiohttp":
            return candidate
    return None


def error_for_status(
    status: int,
    body: str = "",
    *,
    retry_after: float | None = None,
    provider_id: str | None = None,
) -> ProviderError:
    """The ProviderError for an HTTP status and its body (already redacted).

    A refused credential (401) is the whole provider's failure; a refused model (403, or a
    404 whose body says the model is unknown or not open to this key) is that model's only.
    """
    lowered = body.lower()
    detail = _short(body)
    message = f"HTTP {status}" + (f": {detail}" if detail else "")
    kwargs: dict[str, Any] = {"status_code": status, "retry_after": retry_after, "provider_id": provider_id}
    if any(m in lowered for m in _QUOTA_MARKERS) and status in (402, 403, 429):
        return QuotaExhaustedError(message, **kwargs)
    if status == 401:
        return AuthenticationError(message, **kwargs)
    if status == 403 or (status == 404 and model_not_found(body)):
        return ModelAccessError(message, **kwargs)
    if status == 429:
        return RateLimitError(message, **kwargs)
    if status in (408, 504):
        return ProviderTimeoutError(message, **kwargs)
    if status >= 500:
        return ProviderUnavailableError(message, **kwargs)
    if status in (400, 413, 422) and any(m in lowered for m in _CONTEXT_MARKERS):
        return ContextWindowExceededError(message, **kwargs)
    if 400 <= status < 500:
        return BadRequestError(message, **kwargs)
    return ProviderProtocolError(f"unexpected status {status}", **kwargs)


def model_not_found(body: str) -> bool:
    """True when an error body says the model is unknown, or not open to this key."""
    lowered = body.lower()
    return "model" in lowered and any(m in lowered for m in _MODEL_NOT_FOUND_MARKERS)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        # NaN or infinity would make the router wait forever, or compare false everywhere.
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _safe_text(response: httpx.Response) -> str:
    try:
        return response.text
    except Exception:
        return ""


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _seconds(value: float) -> str:
    return f"{value:g}s"


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
