"""The settings every HTTP provider shares: where the service is, the key, the bounds of a call."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Literal

import attrs

from ..config import check
from ..types import Secret

if sys.version_info >= (3, 13):
    from typing import TypeVar
else:  # a TypeVar default (PEP 696) needs the backport before 3.13
    from typing_extensions import TypeVar

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "HTTPConfigT", "HTTPProviderConfig"]


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
