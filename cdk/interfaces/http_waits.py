"""The waits of one HTTP call: each under its deadline, a typed timeout when it passes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio
import httpx

from ..errors import ProviderTimeoutError
from .transport_errors import CallDeadlinePassed

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
        deadline: float | None,
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
        # None: the transport bounds the call itself, and says so with CallDeadlinePassed.
        self._scope = anyio.CancelScope(deadline=deadline) if deadline is not None else None

    def saw_status(self, status: int) -> None:
        """The answer's status is in: a body cut short after a 2xx is a cut answer."""
        self.body = status < 400

    def __enter__(self) -> Wait:
        if self._scope is not None:
            self._scope.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> bool:
        scope = self._scope
        if isinstance(exc, Exception):
            mapped: Exception | None = (
                self._expired()
                if isinstance(exc, CallDeadlinePassed)
                else self.provider._transport_error(exc, body=self.body)
            )
            if mapped is not None:
                if scope is not None:
                    scope.__exit__(type(mapped), mapped, tb)
                raise mapped from (None if isinstance(exc, CallDeadlinePassed) else exc)
        if scope is None:
            return False
        swallowed = bool(scope.__exit__(kind, exc, tb))
        if scope.cancelled_caught:
            raise self._expired() from None
        return swallowed

    def _expired(self) -> ProviderTimeoutError:
        message = self.message.format(_seconds(self.seconds))
        return ProviderTimeoutError(message, provider_id=self.provider.name)


async def closed(response: httpx.Response) -> None:
    # Closing gives the connection back: it must finish even when the call is being cancelled.
    with anyio.CancelScope(shield=True):
        await response.aclose()


def _seconds(value: float) -> str:
    return f"{value:g}s"
