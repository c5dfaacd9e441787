"""The waits of one HTTP call: each under its deadline, a typed timeout when it passes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio
import httpx

from ..errors import ProviderTimeoutError

if TYPE_CHECKING:
    from .http_provider import HTTPProvider

__all__ = ["NO_ANSWER", "NO_FIRST_CHUNK", "STALLED", "Wait", "closed"]

NO_ANSWER = "no complete answer within {}"
NO_FIRST_CHUNK = "no first chunk within {}"
STALLED = "the stream stalled: no chunk for {}"


class Wait:
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

    def __enter__(self) -> Wait:
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


async def closed(response: httpx.Response) -> None:
    # Closing gives the connection back: it must finish even when the call is being cancelled.
    with anyio.CancelScope(shield=True):
        await response.aclose()


def _seconds(value: float) -> str:
    return f"{value:g}s"
