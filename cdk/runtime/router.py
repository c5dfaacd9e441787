"""The failover loop: the one place a routed request is retried or moved to another model."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing
from typing import Any

import attrs

from ..clock import Clock
from ..enums import EventType, Severity
from ..errors import (
    AllModelsExhaustedError,
    Attempt,
    BadRequestError,
    DeadlineExceeded,
    NoModelAvailableError,
    ProviderError,
    ProviderProtocolError,
    ProviderTimeoutError,
)
from ..events import EventEmitter, RoutingEvent
from ..interfaces.provider import Provider
from ..types import (
    CompletionChunk,
    CompletionRequest,
    CompletionResponse,
    RequestLogEntry,
    TokenUsage,
)
from .catalogue import ModelEntry
from .deadline import call_within
from .lifecycle import Lifecycle
from .pool import Pool

__all__ = ["Router"]

LogSink = Callable[[RequestLogEntry], None]
TraceSink = Callable[[Severity, str, dict[str, Any]], None]

_ids = itertools.count(1)
#: Less time than this left before the deadline counts as none (float sums are not exact).
_TIME_EPSILON = 1e-6
_PREFIX = os.urandom(3).hex()


def _request_id() -> str:
    return f"req-{_PREFIX}-{next(_ids)}"


@attrs.define
class _Failure:
    error: ProviderError
    latency_ms: float
    # Logged once the loop knows whether another attempt follows ("error") or not ("exhausted").
    entry: RequestLogEntry


class Router:
    """Runs one request against a pool: select, call, count, retry or rotate, give up."""

    def __init__(
        self,
        *,
        lifecycle: Lifecycle,
        providers: Mapping[str, Provider],
        entries: Mapping[str, ModelEntry],
        clock: Clock,
        events: EventEmitter,
        log: LogSink,
        trace: TraceSink,
        after_change: Callable[[], Awaitable[None]],
        wants_payloads: Callable[[], bool],
        before_route: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.lifecycle = lifecycle
        self.providers = providers
        self.entries = entries
        self.clock = clock
        self.events = events
        self._log = log
        self._trace = trace
        self._after_change = after_change
        self._wants_payloads = wants_payloads
        self._before_route = before_route

    # --- completion ------------------------------------------------------------

    async def complete(
        self, pool: Pool, request: CompletionRequest, *, deadline: float | None = None
    ) -> CompletionResponse:
        """The first successful answer, failing over as the pool's retry settings allow."""
        request_id = _request_id()
        if self._before_route is not None:
            await self._before_route()
        try:
            async with aclosing(self._attempts(pool, request, deadline)) as attempts:
                async for attempt in attempts:
                    outcome = await self._call(
                        pool, attempt.model_id, request, attempt.remaining, attempt.number, request_id
                    )
                    if isinstance(outcome, CompletionResponse):
                        return outcome
                    attempt.fail(outcome)
        finally:
            await self._after_change()
        raise AssertionError("unreachable: the attempt loop raises when it runs out")  # pragma: no cover

    async def _call(
        self,
        pool: Pool,
        model_id: str,
        request: CompletionRequest,
        remaining: float,
        number: int,
        request_id: str,
    ) -> CompletionResponse | _Failure:
        entry = self.entries[model_id]
        provider = self.providers[entry.provider_id]
        upstream = attrs.evolve(request, model=entry.upstream)
        self.lifecycle.begin(model_id)
        started = self.clock.monotonic()
        try:
            response = await call_within(self.clock, remaining, lambda: provider.complete(upstream))
        except DeadlineExceeded:
            return self._failed(
                pool, model_id, _deadline_error(pool, entry), started, number, request_id, request
            )
        except Exception as exc:
            error = provider.classify_error(exc)
            return self._failed(pool, model_id, error, started, number, request_id, request)
        except BaseException:
            self._cancelled(pool, model_id, started, number, request_id, request)
            raise
        latency_ms = (self.clock.monotonic() - started) * 1000.0
        cost = self._cost(entry, response.usage, response.cost)
        self.lifecycle.succeeded(model_id, pool.scope, latency_ms=latency_ms, usage=response.usage, cost=cost)
        reply = attrs.evolve(response, model=model_id, provider_id=entry.provider_id, cost=cost)
        self._log(
            self._entry(
                request_id,
                pool,
                model_id,
                number,
                latency_ms,
                request,
                usage=response.usage,
                cost=cost,
                reply=reply,
            )
        )
        return reply

    # --- streaming -------------------------------------------------------------

    async def stream(
        self, pool: Pool, request: CompletionRequest, *, deadline: float | None = None
    ) -> AsyncGenerator[CompletionChunk, None]:
        """Chunks from the first model whose stream starts; no failover once a chunk is out."""
        request_id = _request_id()
        if self._before_route is not None:
            await self._before_route()
        opened: tuple[str, int, list[CompletionChunk], AsyncIterator[CompletionChunk], float] | None = None
        try:
            async with aclosing(self._attempts(pool, request, deadline)) as attempts:
                async for attempt in attempts:
                    outcome = await self._open_stream(
                        pool, attempt.model_id, request, attempt.remaining, attempt.number, request_id
                    )
                    if isinstance(outcome, _Failure):
                        attempt.fail(outcome)
                        continue
                    first, rest, started = outcome
                    opened = (attempt.model_id, attempt.number, first, rest, started)
                    break
            assert opened is not None  # the loop either opened a stream or raised
            model_id, number, first, rest, started = opened
            entry = self.entries[model_id]
            provider = self.providers[entry.provider_id]
            usage: TokenUsage | None = None
            words = 0
            try:
                pending = list(first)
                while True:
                    if pending:
                        chunk = pending.pop(0)
                    else:
                        try:
                            chunk = await rest.__anext__()
                        except StopAsyncIteration:
                            break
                    if chunk.usage is not None:
                        usage = chunk.usage
                    words += len(chunk.text.split())
                    yield attrs.evolve(chunk, model=model_id, provider_id=entry.provider_id)
            except GeneratorExit:
                # The caller stopped reading: the model did serve, so it counts as a success.
                self._stream_succeeded(pool, model_id, request, usage, words, started, number, request_id)
                await _close(rest)
                raise
            except Exception as exc:
                error = provider.classify_error(exc)
                failure = self._failed(pool, model_id, error, started, number, request_id, request)
                self._send(failure, "failed")  # chunks were handed out: no failover, the request is over
                await _close(rest)
                raise error from exc
            except BaseException:
                self._cancelled(pool, model_id, started, number, request_id, request)
                await _close(rest)
                raise
            self._stream_succeeded(pool, model_id, request, usage, words, started, number, request_id)
        finally:
            await self._after_change()

    async def _open_stream(
        self,
        pool: Pool,
        model_id: str,
        request: CompletionRequest,
        remaining: float,
        number: int,
        request_id: str,
    ) -> tuple[list[CompletionChunk], AsyncIterator[CompletionChunk], float] | _Failure:
        entry = self.entries[model_id]
        provider = self.providers[entry.provider_id]
        upstream = attrs.evolve(request, model=entry.upstream)
        self.lifecycle.begin(model_id)
        started = self.clock.monotonic()
        chunks: AsyncIterator[CompletionChunk] | None = None
        try:
            chunks = provider.stream(upstream)
            stream = chunks
            first = await call_within(self.clock, remaining, lambda: _first_meaningful(stream))
        except DeadlineExceeded:
            await _close(chunks)
            return self._failed(
                pool, model_id, _deadline_error(pool, entry), started, number, request_id, request
            )
        except StopAsyncIteration:
            error = ProviderProtocolError(
                "the stream ended before its first chunk", provider_id=entry.provider_id
            )
            return self._failed(pool, model_id, error, started, number, request_id, request)
        except Exception as exc:
            await _close(chunks)
            return self._failed(
                pool, model_id, provider.classify_error(exc), started, number, request_id, request
            )
        except BaseException:
            self._cancelled(pool, model_id, started, number, request_id, request)
            await _close(chunks)
            raise
        return first, chunks, started

    def _stream_succeeded(
        self,
        pool: Pool,
        model_id: str,
        request: CompletionRequest,
        usage: TokenUsage | None,
        words: int,
        started: float,
        number: int,
        request_id: str,
    ) -> None:
        entry = self.entries[model_id]
        if usage is None:  # the provider did not report usage: estimate it
            usage = TokenUsage(prompt_tokens=request.estimated_prompt_tokens(), completion_tokens=words)
        latency_ms = (self.clock.monotonic() - started) * 1000.0
        cost = self._cost(entry, usage, None)
        self.lifecycle.succeeded(model_id, pool.scope, latency_ms=latency_ms, usage=usage, cost=cost)
        self._log(
            self._entry(request_id, pool, model_id, number, latency_ms, request, usage=usage, cost=cost)
        )

    # --- the loop shared by both -----------------------------------------------------

    async def _attempts(
        self, pool: Pool, request: CompletionRequest, deadline: float | None
    ) -> AsyncGenerator[_Attempt, None]:
        """Yield one attempt after another until one succeeds (the caller stops) or all fail."""
        retry = pool.retry
        limit = deadline if deadline is not None else retry.deadline.total_seconds()
        started = self.clock.monotonic()
        attempts: list[Attempt] = []
        tried: set[str] = set()
        calls = 0
        previous: tuple[str, ProviderError] | None = None
        pending: _Failure | None = None  # the last failure, until we know whether it was the last
        target = pool.target or pool.id
        while calls < retry.max_attempts:
            model_id = pool.select(self.lifecycle, request, exclude=tried)
            if model_id is None:
                break
            if pending is not None:
                self._send(pending, "error")
                pending = None
            if previous is not None:
                self._rotated(pool, previous[0], model_id, previous[1])
            same_retries = 0
            failure: _Failure | None = None
            while True:
                calls += 1
                remaining = limit - (self.clock.monotonic() - started)
                attempt = _Attempt(model_id, calls, remaining)
                yield attempt
                failure = attempt.failure
                if failure is None:
                    return  # the caller got its answer
                error = failure.error
                attempts.append(
                    Attempt(
                        model_id=model_id,
                        provider_id=self.entries[model_id].provider_id,
                        error=error,
                        latency_ms=failure.latency_ms,
                    )
                )
                if isinstance(error, BadRequestError):
                    self._send(failure, "error")
                    raise error  # no other model would accept it either
                remaining = limit - (self.clock.monotonic() - started)
                if calls >= retry.max_attempts or remaining <= _TIME_EPSILON:
                    self._send(failure, "exhausted")
                    raise AllModelsExhaustedError(target, attempts)
                if not (
                    error.retryable
                    and same_retries < retry.same_model_retries
                    and self.lifecycle.usable(model_id)
                ):
                    break
                wait = max(retry.delay(same_retries + 1), error.retry_after or 0.0)
                if wait >= remaining:
                    break  # waiting would use up the deadline: try another model instead
                same_retries += 1
                self._send(failure, "error")
                self._trace(
                    Severity.DEBUG,
                    f"retrying {model_id} in {wait:.3f}s after {type(error).__name__}",
                    {"model_id": model_id, "wait": wait},
                )
                await self.clock.sleep(wait)
            tried.add(model_id)
            previous = (model_id, error)
            pending = failure
        if pending is not None:
            self._send(pending, "exhausted")
        if not attempts:
            raise NoModelAvailableError(f"no active model for {target!r}: {self._why_none(pool)}")
        raise AllModelsExhaustedError(target, attempts)

    def _why_none(self, pool: Pool) -> str:
        if not pool.members:
            return "the pool has no models"
        parts = []
        for model_id in pool.members:
            model = self.lifecycle.state.models[model_id]
            provider = self.lifecycle.state.providers.get(model.provider_id)
            if provider is not None and provider.deactivated:
                parts.append(f"{model_id} (provider {model.provider_id} deactivated: {provider.reason})")
            else:
                reason = model.reason.value if model.reason else model.status.value
                parts.append(f"{model_id} ({reason})")
        return "every model is in standby: " + ", ".join(parts)

    # --- bookkeeping ---------------------------------------------------------------

    def _failed(
        self,
        pool: Pool,
        model_id: str,
        error: ProviderError,
        started: float,
        number: int,
        request_id: str,
        request: CompletionRequest,
    ) -> _Failure:
        latency_ms = (self.clock.monotonic() - started) * 1000.0
        self.lifecycle.failed(model_id, pool.scope, error, latency_ms=latency_ms)
        entry = self._entry(request_id, pool, model_id, number, latency_ms, request, error=error)
        return _Failure(error, latency_ms, entry)

    def _send(self, failure: _Failure, status: str) -> None:
        """Log a failed attempt once its status is known."""
        self._log(attrs.evolve(failure.entry, status=status))

    def _cancelled(
        self,
        pool: Pool,
        model_id: str,
        started: float,
        number: int,
        request_id: str,
        request: CompletionRequest,
    ) -> None:
        self.lifecycle.cancelled(model_id)
        latency_ms = (self.clock.monotonic() - started) * 1000.0
        entry = self._entry(request_id, pool, model_id, number, latency_ms, request, status="cancelled")
        self._log(entry)

    def _rotated(self, pool: Pool, from_model: str, to_model: str, error: ProviderError) -> None:
        self.events.emit(
            RoutingEvent(
                event_type=EventType.MODEL_ROTATED,
                timestamp=self.clock.now(),
                model_id=to_model,
                provider_id=self.entries[to_model].provider_id,
                pool_id=pool.id,
                metadata={
                    "from": from_model,
                    "to": to_model,
                    "error": str(error),
                    "error_type": type(error).__name__,
                    "error_category": str(error.category),
                },
            )
        )

    def _cost(self, entry: ModelEntry, usage: TokenUsage | None, reported: float | None) -> float:
        if entry.pricing is not None and usage is not None:
            return entry.pricing.cost(usage)
        return float(reported or 0.0)

    def _entry(
        self,
        request_id: str,
        pool: Pool,
        model_id: str,
        number: int,
        latency_ms: float,
        request: CompletionRequest,
        *,
        status: str | None = None,
        usage: TokenUsage | None = None,
        cost: float | None = None,
        error: ProviderError | None = None,
        reply: CompletionResponse | None = None,
    ) -> RequestLogEntry:
        payloads = self._wants_payloads()
        return RequestLogEntry(
            timestamp=self.clock.now(),
            request_id=request_id,
            model_id=model_id,
            provider_id=self.entries[model_id].provider_id,
            pool_id=pool.id,
            attempt=number,
            latency_ms=latency_ms,
            status=status or ("ok" if error is None else "error"),
            status_code=error.status_code if error is not None else None,
            error_category=str(error.category) if error is not None else None,
            error=str(error) if error is not None else None,
            usage=usage,
            cost=cost,
            request=_request_payload(request) if payloads else None,
            response=_reply_payload(reply) if payloads and reply is not None else None,
        )


class _Attempt:
    """One turn of the loop: the caller reports a failure, or says nothing on success."""

    __slots__ = ("failure", "model_id", "number", "remaining")

    def __init__(self, model_id: str, number: int, remaining: float) -> None:
        self.model_id = model_id
        self.number = number
        self.remaining = remaining
        self.failure: _Failure | None = None

    def fail(self, failure: _Failure) -> None:
        self.failure = failure


def _deadline_error(pool: Pool, entry: ModelEntry) -> ProviderTimeoutError:
    return ProviderTimeoutError(
        f"the request's deadline ran out while {entry.model_id} was answering",
        provider_id=entry.provider_id,
        model_id=entry.model_id,
        retryable=False,
    )


async def _first_meaningful(chunks: AsyncIterator[CompletionChunk]) -> list[CompletionChunk]:
    """Chunks up to the first that carries something (text, tool calls, an end, usage).

    A role-only opening chunk commits nothing, so a stream cut right after it still fails over.
    """
    held: list[CompletionChunk] = []
    while True:
        chunk = await chunks.__anext__()
        held.append(chunk)
        if chunk.usage is not None or any(
            c.delta.content or c.delta.tool_calls or c.finish_reason for c in chunk.choices
        ):
            return held


async def _close(chunks: AsyncIterator[CompletionChunk] | None) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:  # closing a failed stream must not hide the original error
            pass


def _request_payload(request: CompletionRequest) -> dict[str, Any]:
    out: dict[str, Any] = {"messages": [m.to_dict() for m in request.messages]}
    for name in ("max_tokens", "temperature", "top_p", "session_id"):
        value = getattr(request, name)
        if value is not None:
            out[name] = value
    return out


def _reply_payload(reply: CompletionResponse) -> dict[str, Any]:
    return {
        "id": reply.id,
        "model": reply.model,
        "choices": [
            {"index": c.index, "message": c.message.to_dict(), "finish_reason": c.finish_reason}
            for c in reply.choices
        ],
    }
