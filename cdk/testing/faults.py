"""What can go wrong with one request: the fault vocabulary of the whole testing kit.

One :class:`Fault` is played by either of the kit's two upstreams: the in-process
:class:`~meshkit.testing.FaultTransport` (plugged into an HTTP provider as its
``transport=``) and the loopback :class:`~meshkit.testing.mock_server.MockOpenAIServer`
(real HTTP on ``127.0.0.1``). Each plays the fault as close to the real thing as it can:

=====================  ================================  ====================================
fault                  FaultTransport                    MockOpenAIServer
=====================  ================================  ====================================
``status(...)`` etc.   the status, ``body`` or a generic  the status with the API's own error
                       ``{"error": {"message": ...}}``   body (OpenAI or Anthropic shape)
``connect_error()``    raises ``httpx.ConnectError``     closes the connection unanswered
``read_timeout()``     raises ``httpx.ReadTimeout``      never answers (as ``hang()``)
``disconnect()``       raises a connection reset         closes the connection unanswered
``hang(after)``        never answers / stalls a stream   never answers / stalls a stream
``cut_stream(after)``  the stream ends without its end   the connection drops after ``after``
                       marker after ``after`` lines      chunks (a plain answer: mid-body)
``reset_stream(..)``   the connection resets mid-stream  the connection drops mid-stream
``malformed()``        broken JSON / a broken SSE line   a 200 that is not the protocol
``stream_error(..)``   (not playable: a TypeError)       the API's error event mid-stream
=====================  ================================  ====================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import attrs

__all__ = ["Fault", "FaultKind"]

FaultKind = Literal[
    "status",
    "connect_error",
    "read_timeout",
    "disconnect",
    "hang",
    "cut_stream",
    "reset_stream",
    "malformed",
    "stream_error",
]

#: The status of each named API error (the Anthropic endpoint of the mock server uses its own).
_ERROR_STATUS = {"rate_limit": 429, "quota": 429, "auth": 401, "context_window": 400, "overloaded": 503}


@attrs.frozen(kw_only=True)
class Fault:
    """One thing that goes wrong with one request; build one with the class methods."""

    kind: FaultKind
    #: The HTTP status of a ``status`` (or ``stream_error``) fault.
    http_status: int = 200
    #: A named API error (rate_limit, quota, auth, context_window, overloaded) the server renders.
    error: str | None = None
    #: The error message (the server puts it in the API's error body).
    message: str | None = None
    #: Sent as ``Retry-After``: seconds or an HTTP date.
    retry_after: float | str | None = None
    #: Chunks (or stream lines) sent before a stream fault strikes; None: before answering.
    after: int | None = None
    #: The response body verbatim, instead of a generated error body.
    body: str | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)

    @classmethod
    def status(
        cls,
        code: int,
        message: str | None = None,
        *,
        retry_after: float | str | None = None,
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Fault:
        """Answer with HTTP ``code`` and an error body (or ``body`` verbatim), plus ``headers``."""
        return cls(
            kind="status",
            http_status=code,
            message=message,
            retry_after=retry_after,
            body=body,
            headers=dict(headers or {}),
        )

    @classmethod
    def rate_limit(cls, retry_after: float | str | None = None) -> Fault:
        """429 rate limited, with ``Retry-After`` when given."""
        return cls._named("rate_limit", retry_after=retry_after)

    @classmethod
    def quota(cls) -> Fault:
        """The quota for the period is spent (OpenAI: 429 insufficient_quota; Anthropic: 402)."""
        return cls._named("quota")

    @classmethod
    def auth(cls) -> Fault:
        """401: the key is refused."""
        return cls._named("auth")

    @classmethod
    def context_window(cls) -> Fault:
        """400: the prompt is longer than the model's context window."""
        return cls._named("context_window")

    @classmethod
    def overloaded(cls, retry_after: float | str | None = None) -> Fault:
        """The service is overloaded (503; 529 on the Anthropic endpoint)."""
        return cls._named("overloaded", retry_after=retry_after)

    @classmethod
    def connect_error(cls) -> Fault:
        """The connection cannot be made."""
        return cls(kind="connect_error")

    @classmethod
    def read_timeout(cls) -> Fault:
        """The server accepts the request and never answers in time."""
        return cls(kind="read_timeout")

    @classmethod
    def disconnect(cls) -> Fault:
        """The peer closes (resets) the connection without answering."""
        return cls(kind="disconnect")

    @classmethod
    def hang(cls, after: int | None = None) -> Fault:
        """Never answer; with ``after``, stall a stream after that many chunks (until closed)."""
        return cls(kind="hang", after=after)

    @classmethod
    def cut_stream(cls, after: int = 2) -> Fault:
        """A stream that stops after ``after`` chunks without its end marker."""
        return cls(kind="cut_stream", after=after)

    @classmethod
    def reset_stream(cls, after: int = 2) -> Fault:
        """A stream whose connection is reset after ``after`` chunks."""
        return cls(kind="reset_stream", after=after)

    @classmethod
    def malformed(cls) -> Fault:
        """A 200 answer that is not the protocol: broken JSON, or a broken stream line."""
        return cls(kind="malformed")

    @classmethod
    def stream_error(cls, after: int = 1, error: str = "overloaded") -> Fault:
        """A stream that sends the API's error event after ``after`` chunks (a plain request gets the status).

        ``error`` is one of rate_limit, quota, auth, context_window, overloaded.
        """
        return cls(kind="stream_error", http_status=_ERROR_STATUS.get(error, 503), error=error, after=after)

    @classmethod
    def _named(cls, error: str, *, retry_after: float | str | None = None) -> Fault:
        return cls(kind="status", http_status=_ERROR_STATUS[error], error=error, retry_after=retry_after)
