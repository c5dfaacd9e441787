"""httpx's transport interface over one aiohttp session: the fast transport under asyncio.

An HTTP provider sends every request through an ``httpx.AsyncBaseTransport`` (the seam a test
plugs a fault-injecting transport into); this one hands the request to aiohttp as it is — URL,
headers and body already built — and gives the body back undecoded, for httpx's response to
decode. aiohttp's errors become httpx's, with the aiohttp error as their cause.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import httpx
import yarl

from .transport_errors import CallDeadlinePassed

__all__ = ["AiohttpTransport"]

#: aiohttp errors → the httpx error raised in their place (the first match wins).
_ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientOSError, httpx.NetworkError),
    (asyncio.TimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientError, httpx.TransportError),
)
_NEVER = float("inf")
#: Response extensions by reason phrase: the same few serve every response.
_EXTENSIONS: dict[str, dict[str, Any]] = {}


def _mapped(exc: BaseException, request: httpx.Request, *, bounded: bool = False) -> BaseException:
    if bounded and type(exc) is asyncio.TimeoutError:
        # aiohttp's total timeout raises the bare error (its connect and read timeouts subclass it)
        return CallDeadlinePassed()
    for source, target in _ERRORS:
        if isinstance(exc, source):
            mapped = target(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
            mapped.request = request
            return mapped
    return exc


def _headers(headers: httpx.Headers) -> list[tuple[str, str]]:
    # The names as they were given (httpx's ``multi_items`` lower-cases them).
    encoding = headers.encoding
    return [(name.decode(encoding), value.decode(encoding)) for name, value in headers.raw]


def _response(
    response: aiohttp.ClientResponse, request: httpx.Request, stream: httpx.AsyncByteStream
) -> httpx.Response:
    reason = response.reason or ""
    extensions = _EXTENSIONS.get(reason)
    if extensions is None:
        extensions = {"http_version": b"HTTP/1.1"}
        if reason:
            extensions["reason_phrase"] = reason.encode()
        if len(_EXTENSIONS) < 128:
            _EXTENSIONS[reason] = extensions
    if not _BY_FIELDS:
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=stream,
            request=request,
            extensions=extensions,
        )
    # What httpx's constructor sets for these arguments, without its checks of each header and
    # argument: aiohttp's raw headers are (bytes, bytes) pairs already.
    answer = httpx.Response.__new__(httpx.Response)
    answer.status_code = response.status
    answer.headers = headers = httpx.Headers.__new__(httpx.Headers)
    headers._list = [(name, name.lower(), value) for name, value in response.raw_headers]
    headers._encoding = None
    answer._request = request
    answer.next_request = None
    answer.extensions = dict(extensions)
    answer.history = []
    answer.is_closed = False
    answer.is_stream_consumed = False
    answer.default_encoding = "utf-8"
    answer.stream = stream
    answer._num_bytes_downloaded = 0
    return answer


#: The attributes the field-by-field response above sets.
_FIELDS = frozenset(
    {
        "status_code",
        "headers",
        "_request",
        "next_request",
        "extensions",
        "history",
        "is_closed",
        "is_stream_consumed",
        "default_encoding",
        "stream",
        "_num_bytes_downloaded",
    }
)
#: Whether this httpx's constructor sets just those (else ``_response`` calls it).
_BY_FIELDS = set(vars(httpx.Response(200, headers=[(b"a", b"b")], stream=httpx.ByteStream(b"")))) == _FIELDS


class _Body(httpx.AsyncByteStream):
    """An aiohttp response body as httpx reads it; closing gives the connection back."""

    __slots__ = ("_bounded", "_request", "_response")

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request, *, bounded: bool) -> None:
        self._response = response
        self._request = request
        self._bounded = bounded  # under a total timeout of its own, which CallDeadlinePassed reports

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _mapped(exc, self._request, bounded=self._bounded) from exc

    async def aclose(self) -> None:
        response = self._response
        if response.content.at_eof():
            response.release()  # read to the end: the connection goes back to the pool
        else:
            response.close()  # cut short: the connection cannot be reused


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests with aiohttp; the session opens on the first request (asyncio only)."""

    def __init__(self, *, limits: httpx.Limits | None = None) -> None:
        self.limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._session: aiohttp.ClientSession | None = None
        # The aiohttp timeout of each (timeout extension, whole-call bound) seen lately, by the
        # extension's identity: a provider hands the same extension to all its requests.
        self._timeouts: dict[tuple[int, float | None], tuple[Any, aiohttp.ClientTimeout]] = {}
        # The parsed aiohttp URL of each httpx URL object seen lately: a provider reuses its URLs.
        self._urls: dict[int, tuple[httpx.URL, yarl.URL]] = {}

    def _open(self) -> aiohttp.ClientSession:
        limits = self.limits
        connector = aiohttp.TCPConnector(
            limit=limits.max_connections or 0,
            keepalive_timeout=limits.keepalive_expiry,
            ssl=httpx.create_ssl_context(),  # the certificates httpx's own transport trusts
        )
        # Bodies stay encoded: httpx's response decodes them, as it does on every transport.
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        return self._session

    def _timeout(self, extension: Any, within: float | None) -> aiohttp.ClientTimeout | None:
        if not extension and within is None:
            return None
        key = (id(extension), within)
        found = self._timeouts.get(key)
        if found is not None and found[0] is extension:
            return found[1]
        given = extension or {}
        timeout = aiohttp.ClientTimeout(
            total=within,
            sock_connect=given.get("connect"),
            # A total bound makes the per-read one (never shorter) redundant: one timer, not two.
            sock_read=given.get("read") if within is None else None,
            connect=given.get("pool"),
            ceil_threshold=_NEVER,  # else aiohttp rounds 5 s and more up to a whole second
        )
        if len(self._timeouts) > 64:
            self._timeouts.clear()
        self._timeouts[key] = (extension, timeout)  # held, so that its id is not reused meanwhile
        return timeout

    def _url(self, url: httpx.URL) -> yarl.URL:
        found = self._urls.get(id(url))
        if found is not None and found[0] is url:
            return found[1]
        parsed = yarl.URL(str(url), encoded=True)
        if len(self._urls) > 256:
            self._urls.clear()
        self._urls[id(url)] = (url, parsed)
        return parsed

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._request(request, None)
        return _response(response, request, _Body(response, request, bounded=False))

    async def fetch_whole(
        self, request: httpx.Request, limit: int, on_status: Callable[[int], None], within: float
    ) -> tuple[httpx.Response, bytes | None]:
        """Send ``request``, the whole exchange within ``within`` seconds, and read a plain body.

        A body that declares a length up to ``limit`` bytes and no encoding is read here and
        comes back beside the response, which holds it too. Any other body (encoded, chunked
        or too long) is left unread (None) for the caller to read through httpx's decoders;
        ``within`` still bounds that reading. ``on_status`` hears the status before the body
        is read (a body cut short means something else after a 2xx). When ``within`` passes,
        ``CallDeadlinePassed`` is raised: aiohttp's own total timeout, so no other timer runs.
        """
        response = await self._request(request, within)
        on_status(response.status)
        headers = response.headers
        length = headers.get("Content-Length")
        if length is None or not length.isdigit() or int(length) > limit or "Content-Encoding" in headers:
            return _response(response, request, _Body(response, request, bounded=True)), None
        try:
            body = await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            response.close()
            raise _mapped(exc, request, bounded=True) from exc
        except BaseException:
            response.close()  # cancelled mid-body: the connection cannot be reused
            raise
        response.release()
        answer = _response(response, request, httpx.ByteStream(body))
        answer._content = body  # what ``aread`` stores: the body, already decoded
        return answer, body

    async def _request(self, request: httpx.Request, within: float | None) -> aiohttp.ClientResponse:
        session = self._session or self._open()
        try:
            data: Any = request.content or None
        except httpx.RequestNotRead:  # a streamed body: aiohttp reads it and frames it itself
            data = request.stream
            request.headers.pop("transfer-encoding", None)
        try:
            return await session.request(
                request.method,
                self._url(request.url),
                headers=_headers(request.headers),
                data=data,
                allow_redirects=False,
                compress=False,
                timeout=self._timeout(request.extensions.get("timeout"), within),
                server_hostname=request.extensions.get("sni_hostname"),
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _mapped(exc, request, bounded=within is not None) from exc

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
