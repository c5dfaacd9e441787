"""A fault-injecting ``httpx`` transport: good canned answers, or the fault you queue.

Plug it in as an HTTP provider's ``transport=``. Each request takes the next queued
:class:`~meshkit.testing.Fault` (or a good answer when the queue is empty), and the
transport counts requests and opened / closed response streams, so a test can tell that a
provider did not retry on its own and that a cancelled stream gave its connection back.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import AsyncIterator, Mapping
from http import HTTPStatus
from typing import Any

import anyio
import httpx

from .faults import Fault
from .spec import HTTPPayloads

__all__ = ["FaultTransport"]

#: Error bodies for the named faults, in the common ``{"error": {...}}`` shape.
_NAMED_ERRORS = {
    "rate_limit": ("Rate limit reached for requests.", "rate_limit_exceeded"),
    "quota": ("You exceeded your current quota.", "insufficient_quota"),
    "auth": ("Incorrect API key provided.", "invalid_api_key"),
    "context_window": ("This model's maximum context length is 8192 tokens.", "context_length_exceeded"),
    "overloaded": ("The server is overloaded.", None),
}


class _TrackedStream(httpx.AsyncByteStream):
    """A response body that tells the transport when it is opened and closed."""

    def __init__(self, owner: FaultTransport, chunks: list[bytes], *, stall: bool, fail: bool) -> None:
        self._owner = owner
        self._chunks = chunks
        self._stall = stall
        self._fail = fail
        self.closed = False
        owner.opened_streams += 1

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            await anyio.lowlevel.checkpoint()
            yield chunk
        if self._stall:
            self._owner.stalled.set()
            await anyio.Event().wait()  # only cancellation gets a caller out of here
        if self._fail:
            raise httpx.ReadError("[Errno 104] Connection reset by peer")

    async def aclose(self) -> None:
        if not self.closed:
            self.closed = True
            self._owner.closed_streams += 1


class FaultTransport(httpx.AsyncBaseTransport):
    """Serves ``payloads`` and injects the queued faults, one per request."""

    def __init__(self, payloads: HTTPPayloads, *faults: Fault | None) -> None:
        self.payloads = payloads
        self._faults: deque[Fault | None] = deque()
        self.requests: list[httpx.Request] = []
        self.opened_streams = 0
        self.closed_streams = 0
        self.stalled = anyio.Event()
        self.queue(*faults)

    def queue(self, *faults: Fault | None) -> None:
        """Add faults (None: a good answer) for the next requests."""
        for fault in faults:
            if fault is not None and fault.kind == "stream_error":
                raise TypeError(
                    "FaultTransport cannot play Fault.stream_error(): the error event is in the API's "
                    "own wire format; use MockOpenAIServer, or Fault.reset_stream() / cut_stream()"
                )
        self._faults.extend(faults)

    @property
    def open_streams(self) -> int:
        """Response bodies handed out and not closed yet."""
        return self.opened_streams - self.closed_streams

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Record the request, then answer it with the next fault, or with a good answer when none is left."""
        self.requests.append(request)
        await request.aread()
        fault = self._faults.popleft() if self._faults else None
        await anyio.lowlevel.checkpoint()
        if fault is not None:
            if fault.kind == "connect_error":
                raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
            if fault.kind == "read_timeout":
                raise httpx.ReadTimeout("timed out waiting for the response", request=request)
            if fault.kind == "disconnect":
                raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request)
            if fault.kind == "hang" and fault.after is None:
                self.stalled.set()
                await anyio.Event().wait()  # only cancellation (a timeout) gets a caller out
            if fault.kind == "status":
                return self._error(fault, request)
        return self._good_answer(request, fault)

    def _error(self, fault: Fault, request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/json", **fault.headers}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        if fault.body is not None:
            body = fault.body
        else:
            message, code = _NAMED_ERRORS.get(fault.error or "", (None, None))
            error = {"message": fault.message or message or _phrase(fault.http_status), "code": code}
            body = json.dumps({"error": error})
        return self._response(fault.http_status, headers, [body.encode()], request)

    def _good_answer(self, request: httpx.Request, fault: Fault | None) -> httpx.Response:
        p = self.payloads
        path = request.url.path
        kind = fault.kind if fault is not None else None
        if isinstance(p.models_body, bytes) and path.endswith(p.models_path):
            body = b"{" if kind == "malformed" else p.models_body
            return self._response(200, {"content-type": "application/json"}, [body], request)
        if isinstance(p.embedding_body, bytes) and path.endswith(p.embedding_path):
            body = p.embedding_body[: max(1, len(p.embedding_body) // 2)] if kind else p.embedding_body
            return self._response(200, {"content-type": "application/json"}, [body], request)
        if self._is_stream(request):
            lines = list(p.stream_lines)
            stall = fail = False
            after = fault.after if fault is not None and fault.after is not None else 0
            if kind == "cut_stream":
                lines = lines[:after]
            elif kind == "reset_stream":
                lines, fail = lines[:after], True
            elif kind == "hang":
                lines, stall = lines[:after], True
            elif kind == "malformed":
                lines = [*lines[:1], p.malformed_stream_line, *lines[1:]]
            chunks = [f"{line}\n\n".encode() if line else b"\n" for line in lines]
            return self._response(
                200, {"content-type": p.stream_content_type}, chunks, request, stall=stall, fail=fail
            )
        body = p.completion_bytes
        if kind in ("malformed", "cut_stream", "reset_stream"):
            body = body[: max(1, len(body) // 2)]
        return self._response(200, {"content-type": "application/json"}, [body], request)

    def _is_stream(self, request: httpx.Request) -> bool:
        p = self.payloads
        if p.stream_path and p.stream_path != p.completion_path:
            return request.url.path.endswith(p.stream_path)
        try:
            payload: Any = json.loads(request.content or b"{}")
        except ValueError:
            return False
        return isinstance(payload, dict) and bool(payload.get("stream"))

    def _response(
        self,
        status: int,
        headers: Mapping[str, str],
        chunks: list[bytes],
        request: httpx.Request,
        *,
        stall: bool = False,
        fail: bool = False,
    ) -> httpx.Response:
        stream = _TrackedStream(self, chunks, stall=stall, fail=fail)
        return httpx.Response(status, headers=dict(headers), stream=stream, request=request)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"
