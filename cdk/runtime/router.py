"""The failover loop: the one place a routed request is retried or moved to another model."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine, Generator, Mapping
from typing import Any, TypeVar

from ..clock import Clock, SystemClock
from ..enums import EventType, Severity
from ..errors import (
    AllModelsExhaustedError,
    Attempt,
    BadRequestError,
    DeadlineExceeded,
    FeatureNotSupportedError,
    NoCapableModelError,
    NoModelAvailableError,
    ProviderError,
    ProviderProtocolError,
)
from ..events import RoutingEvent
from ..interfaces.provider import Provider
from ..trusted import copier
from ..types import (
    CompletionChunk,
    CompletionRequest,
    CompletionResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    TokenUsage,
)
from .attempt import (
    AttemptContext,
    FailedAttempt,
    RoutedRequest,
    attempt_cost,
    deadline_error,
    new_request_id,
)
from .attempt_log import AttemptLog
from .catalogue import ModelEntry
from .deadline import call_within
from .lifecycle import Lifecycle
from .needs import RequestNeeds, chat_needs, embedding_needs, skipped
from .pool import Pool, policy_view
from .state_sync import StateSync
from .stream_start import close_quietly, first_meaningful
from .telemetry import Telemetry
from .untried import not_tried, why_none

__all__ = ["Router"]

#: Less time than this left before the deadline counts as none (float sums are not exact).
_TIME_EPSILON = 1e-6
#: How much sooner than the deadline a provider's own bound must end a call for the router to
#: rely on it (the provider starts its clock a little after the router reads the time).
_BOUND_MARGIN = 0.001

# What the router renames in what it passes on, without running converters again (the values
# are its own, the rest already checked): the request's model becomes the upstream's name, an
# answer's the served model's, with its provider and price.
_UPSTREAM = ("model",)
_SERVED = ("model", "provider_id", "cost")
_NAMED = ("model", "provider_id")

#: What a routed call answers: a completion or the vectors of an embedding request.
_Answer = TypeVar("_Answer", CompletionResponse, EmbeddingResponse)


class Router:
    """Runs one request against a pool: select, call, count, retry or rotate, give up.

    It counts outcomes through the ``lifecycle``, calls ``providers``, reports through
    ``telemetry`` and lets ``sync`` take in and write shared state around each request.
    """

    def __init__(
        self,
        *,
        lifecycle: Lifecycle,
        providers: Mapping[str, Provider],
        telemetry: Telemetry,
        sync: StateSync,
        clock: Clock,
    ) -> None:
        self.lifecycle = lifecycle
        self.providers = providers
        self.entries: Mapping[str, ModelEntry] = lifecycle.entries
        self.telemetry = telemetry
        self.sync = sync
        self.clock = clock
        self._log = AttemptLog(telemetry=telemetry, clock=clock)
        # A provider's own timeout runs on real time; it stands in for the deadline only then.
        self._real_time = type(clock) is SystemClock
        # The real clock's reading is time.monotonic itself: called straight, a frame is saved.
        self._monotonic = time.monotonic if self._real_time else clock.monotonic
        self._trace = telemetry.tracer(__name__)

    # --- completion and embeddings -------------------------------------------------

    # ``complete`` and ``embed`` hand back ``_route``'s coroutine rather than awaiting it in one
    # of their own: every resumption of a call passes through each coroutine frame above it.

    def complete(
        self, pool: Pool, request: CompletionRequest, *, deadline: float | None = None
    ) -> Coroutine[Any, Any, CompletionResponse]:
        """The first successful answer, failing over as the pool's retry settings allow."""
        return self._route(pool, request, deadline, chat_needs(request, stream=False), _complete)

    def embed(
        self, pool: Pool, request: EmbeddingRequest, *, deadline: float | None = None
    ) -> Coroutine[Any, Any, EmbeddingResponse]:
        """The vectors from the first model that answers, failing over as for ``complete``."""
        return self._route(pool, request, deadline, embedding_needs(), _embed)

    async def _route(
        self,
        pool: Pool,
        request: RoutedRequest,
        deadline: float | None,
        needs: RequestNeeds,
        send: Callable[[Provider, Any], Awaitable[_Answer]],
    ) -> _Answer:
        sync = self.sync
        if sync.immediate:  # else there is nothing to take in or write, and no call to await
            await sync.before_route()
        attempts = self._attempts(pool, request, deadline, needs)
        try:
            for attempt in attempts:
                if isinstance(attempt, float):
                    await self.clock.sleep(attempt)
                    continue
                outcome = await self._call(attempt, send)
                if not isinstance(outcome, FailedAttempt):
                    return outcome
                attempt.failure = outcome
        finally:
            attempts.close()
            if sync.immediate:
                await sync.after_change()
        raise AssertionError("unreachable: the attempt loop raises when it runs out")  # pragma: no cover

    async def _call(
        self, attempt: AttemptContext, send: Callable[[Provider, Any], Awaitable[_Answer]]
    ) -> _Answer | FailedAttempt:
        entry, provider = attempt.entry, attempt.provider
        upstream = copier(type(attempt.request), _UPSTREAM)(attempt.request, entry.upstream)
        self.lifecycle.begin(attempt.model_id)
        attempt.started = self._monotonic()
        try:
            bound = provider.call_bound(upstream) if self._real_time else None
            if bound is not None and bound + _BOUND_MARGIN < attempt.remaining:
                # The provider's own timeout ends the call first: a timer of ours would never fire.
                response = await send(provider, upstream)
            else:
                response = await call_within(self.clock, attempt.remaining, lambda: send(provider, upstream))
        except DeadlineExceeded:
            return self._failed(attempt, deadline_error(entry))
        except Exception as exc:
            return self._failed(attempt, provider.classify_error(exc))
        except BaseException:
            self._cancelled(attempt)
            raise
        latency_ms = (self._monotonic() - attempt.started) * 1000.0
        cost = attempt_cost(entry, response.usage, response.cost)
        self.lifecycle.succeeded(
            attempt.model_id, attempt.pool, latency_ms=latency_ms, usage=response.usage, cost=cost
        )
        reply = copier(type(response), _SERVED)(response, attempt.model_id, entry.provider_id, cost)
        if self._log.wanted:
            logged = self._log.entry(attempt, latency_ms, usage=response.usage, cost=cost, reply=reply)
            self._log.record(logged)
        return reply

    # --- streaming -------------------------------------------------------------

    async def stream(
        self, pool: Pool, request: CompletionRequest, *, deadline: float | None = None
    ) -> AsyncGenerator[CompletionChunk, None]:
        """Chunks from the first model whose stream starts; no failover once a chunk is out."""
        await self.sync.before_route()
        opened: tuple[AttemptContext, list[CompletionChunk], AsyncIterator[CompletionChunk]] | None = None
        needs = chat_needs(request, stream=True)
        try:
            attempts = self._attempts(pool, request, deadline, needs)
            try:
                for attempt in attempts:
                    if isinstance(attempt, float):
                        await self.clock.sleep(attempt)
                        continue
                    outcome = await self._open_stream(attempt)
                    if isinstance(outcome, FailedAttempt):
                        attempt.failure = outcome
                        continue
                    opened = (attempt, *outcome)
                    break
            finally:
                attempts.close()
            assert opened is not None  # the loop either opened a stream or raised
            attempt, first, rest = opened
            model_id, provider_id = attempt.model_id, attempt.entry.provider_id
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
                    yield copier(type(chunk), _NAMED)(chunk, model_id, provider_id)
            except GeneratorExit:
                # The caller stopped reading: the model did serve, so it counts as a success.
                self._stream_succeeded(attempt, usage, words)
                await close_quietly(rest)
                raise
            except Exception as exc:
                error = attempt.provider.classify_error(exc)
                failure = self._failed(attempt, error)
                self._log.send(failure, "failed")  # chunks were handed out: no failover, the request is over
                await close_quietly(rest)
                raise error from exc
            except BaseException:
                self._cancelled(attempt)
                await close_quietly(rest)
                raise
            self._stream_succeeded(attempt, usage, words)
        finally:
            await self.sync.after_change()

    async def _open_stream(
        self, attempt: AttemptContext
    ) -> tuple[list[CompletionChunk], AsyncIterator[CompletionChunk]] | FailedAttempt:
        entry, provider, request = attempt.entry, attempt.provider, attempt.request
        assert isinstance(request, CompletionRequest)  # only chat requests stream
        upstream = copier(type(request), _UPSTREAM)(request, entry.upstream)
        self.lifecycle.begin(attempt.model_id)
        attempt.started = self._monotonic()
        chunks: AsyncIterator[CompletionChunk] | None = None
        try:
            chunks = provider.stream(upstream)
            stream = chunks
            first = await call_within(self.clock, attempt.remaining, lambda: first_meaningful(stream))
        except DeadlineExceeded:
            await close_quietly(chunks)
            return self._failed(attempt, deadline_error(entry))
        except StopAsyncIteration:
            error = ProviderProtocolError(
                "the stream ended before its first chunk", provider_id=entry.provider_id
            )
            return self._failed(attempt, error)
        except Exception as exc:
            await close_quietly(chunks)
            return self._failed(attempt, provider.classify_error(exc))
        except BaseException:
            self._cancelled(attempt)
            await close_quietly(chunks)
            raise
        return first, chunks

    def _stream_succeeded(self, attempt: AttemptContext, usage: TokenUsage | None, words: int) -> None:
        if usage is None:  # the provider did not report usage: estimate it
            usage = TokenUsage(
                prompt_tokens=attempt.request.estimated_prompt_tokens(), completion_tokens=words
            )
        latency_ms = (self._monotonic() - attempt.started) * 1000.0
        cost = attempt_cost(attempt.entry, usage, None)
        self.lifecycle.succeeded(
            attempt.model_id, attempt.pool, latency_ms=latency_ms, usage=usage, cost=cost
        )
        if self._log.wanted:
            self._log.record(self._log.entry(attempt, latency_ms, usage=usage, cost=cost))

    # --- the loop shared by both -----------------------------------------------------

    def _attempts(
        self, pool: Pool, request: RoutedRequest, deadline: float | None, needs: RequestNeeds
    ) -> Generator[AttemptContext | float, None, None]:
        """Yield one attempt after another until one succeeds (the caller stops) or all fail.

        A float between two attempts is a wait before a same-model retry, for the caller to
        sleep: a plain generator costs a fraction of an async one on every request.

        Members that lack what the request needs are passed over before any call, with no
        mark on their counters; they show in the final error's attempts and ``not_tried``.
        Every other active member may be tried once (plus same-model retries), within the
        deadline and ``max_attempts`` when one is set. The first pick is the policy's
        ``select``; the picks after a failure (and every pick of a request some members
        lack a feature for) are its ``fallback``, which leaves what the policy remembers
        alone, so only a deactivation moves a sticky policy's traffic.
        """
        request_id = new_request_id()
        target = pool.label
        gaps = pool.lacking(self.entries, self.providers, needs)
        passed_over = skipped(gaps)
        if gaps:
            if len(gaps) == len(pool.members):
                missing = [what for lacks in gaps.values() for what in lacks]
                raise NoCapableModelError(target, needs.describe(), passed_over, missing)
            self._trace(
                Severity.DEBUG,
                f"passed over for a {needs.describe()} request to {target!r}: "
                + "; ".join(n.describe() for n in passed_over),
                {"target": target, "skipped": {n.model_id: n.reason for n in passed_over}},
            )
        view = request if isinstance(request, CompletionRequest) else policy_view(request)
        retry = pool.retry
        cap = retry.max_attempts
        limit = deadline if deadline is not None else retry.deadline.total_seconds()
        started = self._monotonic()
        attempts: list[Attempt] = (
            [
                Attempt(
                    model_id=n.model_id,
                    provider_id=self.entries[n.model_id].provider_id,
                    error=FeatureNotSupportedError(f"{n.model_id} {n.reason}"),
                    latency_ms=0.0,
                    skipped=n.reason,
                )
                for n in passed_over
            ]
            if passed_over
            else []
        )
        excluded: set[str] = set(gaps)  # passed over, or tried already
        # A request that needs a feature some member lacks sees fewer candidates than usual:
        # its pick must not move what the policy remembers either.
        narrowed = bool(gaps) and any(lacks != (needs.operation.value,) for lacks in gaps.values())
        calls = 0
        stop: str | None = None  # why the loop stopped before running out of models
        previous: tuple[str, ProviderError] | None = None
        pending: FailedAttempt | None = None  # the last failure, until we know whether it was the last
        while stop is None:
            fallback = narrowed or previous is not None
            model_id = pool.select(self.lifecycle, view, exclude=excluded, fallback=fallback)
            if model_id is None:
                break
            if pending is not None:
                self._log.send(pending, "error")
                pending = None
            if previous is not None:
                self._rotated(pool, previous[0], model_id, previous[1])
            entry = self.entries[model_id]
            provider = self.providers[entry.provider_id]
            same_retries = 0
            while True:
                calls += 1
                remaining = limit - (self._monotonic() - started)
                attempt = AttemptContext(
                    pool, request, request_id, model_id, entry, provider, calls, remaining
                )
                yield attempt
                failure = attempt.failure
                if failure is None:
                    return  # the caller got its answer
                error = failure.error
                attempts.append(
                    Attempt(
                        model_id=model_id,
                        provider_id=entry.provider_id,
                        error=error,
                        latency_ms=failure.latency_ms,
                    )
                )
                if isinstance(error, BadRequestError):
                    self._log.send(failure, "error")
                    raise error  # no other model would accept it either
                remaining = limit - (self._monotonic() - started)
                if cap is not None and calls >= cap:
                    stop = f"attempt cap reached (max_attempts={cap})"
                    break
                if remaining <= _TIME_EPSILON:
                    stop = f"the {limit:g}s deadline ran out"
                    break
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
                self._log.send(failure, "error")
                self._trace(
                    Severity.DEBUG,
                    f"retrying {model_id} in {wait:.3f}s after {type(error).__name__}",
                    {"model_id": model_id, "wait": wait},
                )
                yield float(wait)
            excluded.add(model_id)
            previous = (model_id, error)
            pending = failure
        if pending is not None:
            self._log.send(pending, "exhausted")
        if calls == 0:
            raise NoModelAvailableError(
                f"no active model for {target!r}: {why_none(self.lifecycle.state, pool, gaps)}"
            )
        raise AllModelsExhaustedError(
            target, attempts, not_tried(self.lifecycle.state, pool, excluded, gaps, stop)
        )

    # --- bookkeeping ---------------------------------------------------------------

    def _failed(self, attempt: AttemptContext, error: ProviderError) -> FailedAttempt:
        latency_ms = (self._monotonic() - attempt.started) * 1000.0
        self.lifecycle.failed(attempt.model_id, attempt.pool, error, latency_ms=latency_ms)
        return FailedAttempt(error, latency_ms, self._log.entry(attempt, latency_ms, error=error))

    def _cancelled(self, attempt: AttemptContext) -> None:
        self.lifecycle.cancelled(attempt.model_id)
        latency_ms = (self._monotonic() - attempt.started) * 1000.0
        self._log.record(self._log.entry(attempt, latency_ms, status="cancelled"))

    def _rotated(self, pool: Pool, from_model: str, to_model: str, error: ProviderError) -> None:
        self.telemetry.emit(
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


def _complete(provider: Provider, request: CompletionRequest) -> Awaitable[CompletionResponse]:
    return provider.complete(request)


def _embed(provider: Provider, request: EmbeddingRequest) -> Awaitable[EmbeddingResponse]:
    return provider.embed(request)
