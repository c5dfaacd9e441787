"""A fault-injecting ``httpx`` transport: good canned answers, or the fault you queue.

Plug it in as an HTTP provider's ``transport=``. Each request takes the next queued
:class:`Fault` (or a good answer when the queue is empty), and the transport counts
requests and opened / closed response streams, so a test can tell that a provider did
not retry on its own and that a cancelled stream gave its connection back.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

import anyio
import attrs
import httpx

from .spec import HTTPPayloads

__all__ = ["Fault", "FaultTransport"]

FaultKind = Literal[
    "status",
    "connect_error",
    "read_timeout",
    "reset",
    "cut_stream",
    "reset_stream",
    "stall_stream",
    "malformed",
]


@attrs.frozen(kw_only=True)
class Fault:
    """One thing that goes wrong with one request."""

    kind: FaultKind
    status: int = 200
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes = b""
    after: int = 0

    @classmethod
    def http(cls, status: int, body: str | bytes = b"", **headers: str) -> Fault:
        """An error status with a body; ``retry_after="7"`` becomes a Retry-After header."""
        raw = body.encode() if isinstance(body, str) else body
        names = {k: v for k, v in headers.items()}
        if "retry_after" in names:
            names["Retry-After"] = names.pop("retry_after")
        return cls(kind="status", status=status, headers=names, body=raw)

    @classmethod
    def connect_error(cls) -> Fault:
        """The connection cannot be made."""
        return cls(kind="connect_error")

    @classmethod
    def read_timeout(cls) -> Fault:
        """The server accepts the request and never answers in time."""
        return cls(kind="read_timeout")

    @classmethod
    def reset(cls) -> Fault:
        """The peer resets the connection before answering."""
        return cls(kind="reset")

    @classmethod
    def cut_stream(cls, after: int) -> Fault:
        """A stream that ends cleanly after ``after`` lines, without its end marker."""
        return cls(kind="cut_stream", after=after)

    @classmethod
    def reset_stream(cls, after: int) -> Fault:
        """A stream whose connection is reset after ``after`` lines."""
        return cls(kind="reset_stream", after=after)

    @classmethod
    def stall_stream(cls, after: int) -> Fault:
        """A stream that sends ``after`` lines and then waits forever (until closed)."""
        return cls(kind="stall_stream", after=after)

    @classmethod
    def malformed(cls) -> Fault:
        """A 200 answer that is not the protocol: broken JSON, or a broken stream line."""
        return cls(kind="malformed")


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
        self._faults: deque[Fault | None] = deque(faults)
        self.requests: list[httpx.Request] = []
        self.opened_streams = 0
        self.closed_streams = 0
        self.stalled = anyio.Event()

    def queue(self, *faults: Fault | None) -> None:
        """Add faults (None: a good answer) for the next requests."""
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
            if fault.kind == "reset":
                raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request)
            if fault.kind == "status":
                headers = {"content-type": "application/json", **fault.headers}
                return self._response(fault.status, headers, [fault.body], request)
        return self._good_answer(request, fault)

    def _good_answer(self, request: httpx.Request, fault: Fault | None) -> httpx.Response:
        p = self.payloads
        path = request.url.path
        if isinstance(p.models_body, bytes) and path.endswith(p.models_path):
            body = b"{" if fault is not None and fault.kind == "malformed" else p.models_body
            return self._response(200, {"content-type": "application/json"}, [body], request)
        if self._is_stream(request):
            lines = list(p.stream_lines)
            stall = fail = False
            if fault is not None and fault.kind == "cut_stream":
                lines = lines[: fault.after]
            elif fault is not None and fault.kind == "reset_stream":
                lines, fail = lines[: fault.after], True
            elif fault is not None and fault.kind == "stall_stream":
                lines, stall = lines[: fault.after], True
            elif fault is not None and fault.kind == "malformed":
                lines = [*lines[:1], p.malformed_stream_line, *lines[1:]]
            chunks = [f"{line}\n\n".encode() if line else b"\n" for line in lines]
            return self._response(
                200, {"content-type": p.stream_content_type}, chunks, request, stall=stall, fail=fail
            )
        body = p.completion_bytes
        if fault is not None and fault.kind == "malformed":
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
