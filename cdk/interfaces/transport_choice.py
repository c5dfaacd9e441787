"""Which transport an HTTP provider sends through when none is injected, and what a fast one offers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

__all__ = ["WholeFetch", "aiohttp_if_there"]

#: A transport's ``fetch_whole(request, max_bytes, on_status, within)``: the whole exchange, a
#: plain body read by the transport itself (see ``AiohttpTransport.fetch_whole``).
WholeFetch = Callable[
    [httpx.Request, int, Callable[[int], None], float], Awaitable[tuple[httpx.Response, bytes | None]]
]


def aiohttp_if_there(
    *, required: bool, limits: httpx.Limits | None = None
) -> httpx.AsyncBaseTransport | None:
    """meshkit's aiohttp transport, or None under another event loop or without the ``fast``
    extra (an error instead when ``required``: the configuration asked for it by name)."""
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
