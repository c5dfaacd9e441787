"""What a transport's exceptions (httpx's, aiohttp's, the OS's) mean as ProviderErrors."""

from __future__ import annotations

import httpx

from ..errors import ProviderError, ProviderProtocolError, ProviderTimeoutError, ProviderUnavailableError

__all__ = ["CallDeadlinePassed", "map_transport_exception", "url_of"]


class CallDeadlinePassed(TimeoutError):
    """The whole-call bound a transport enforces itself (``fetch_whole``'s ``within``) passed."""


def map_transport_exception(exc: BaseException) -> ProviderError | None:
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


def url_of(exc: BaseException) -> str | None:
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
