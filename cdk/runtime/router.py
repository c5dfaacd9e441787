"""The failover loop: the one place a routed request is retried or moved to another model."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing
from typing import Any, TypeVar

import attrs

from ..clock import Clock
from ..enums import EventType, ModelStatus, Severity
from ..errors import (
    AllModelsExhaustedError,
    Attempt,
    BadRequestError,
    DeadlineExceeded,
    FeatureNotSupportedError,
    NoCapableModelError,
    NoModelAvailableError,
    NotTried,
    ProviderError,
    ProviderProtocolError,
    ProviderTimeoutError,
)
from ..events import RoutingEvent
from ..interfaces.provider import Provider
from ..types import (
    CompletionChunk,
    CompletionRequest,
    CompletionResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    RequestLogEntry,
    TokenUsage,
)
from .catalogue import ModelEntry
from .deadline import call_within
from .lifecycle import Lifecycle
from .needs import RequestNeeds, chat_needs, embedding_needs, lacking, skipped
from .pool import Pool, policy_view
from .state_sync import StateSync
from .telemetry import Telemetry

__all__ = ["Router"]

_ids = itertools.count(1)
#: Less time than this left before the deadline counts as none (float sums are not exact).
_TIME_EPSILON = 1e-6
_PREFIX = os.urandom(3).hex()


#: What a routed call answers: a completion or the vectors of an embedding request.
_Answer = TypeVar("_Answer", CompletionResponse, EmbeddingResponse)
_Request = CompletionRequest | EmbeddingRequest


def _request_id() -> str:
    return f"req-{_PREFIX}-{next(_ids)}"


@attrs.define
class _Failure:
    error: ProviderError
    latency_ms: float
    # Logged once the loop knows whether another attempt follows ("error") or not ("exhausted").
    entry: RequestLogEntry


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
        self._log = telemetry.log
        self._trace = telemetry.tracer(__name__)

    # --- completion and embeddings -------------------------------------------------

    async def complete(
        self, pool: Pool, request: CompletionRequest, *, deadline: float | None = None
    ) -> CompletionResponse:
        """The first successful answer, failing over as the pool's retry settings allow."""
        return await self._route(pool, request, deadline, chat_needs(request, stream=False), _complete)

    async def embed(
        self, pool: Pool, request: EmbeddingRequest, *, deadline: float | None = None
    ) -> EmbeddingResponse:
        """The vectors from the first model that answers, failing over as for ``complete``."""
        return await self._route(pool, request, deadline, embedding_needs(), _embed)

    async def _route(
        self,
        pool: Pool,
        request: _Request,
        deadline: float | None,
        needs: RequestNeeds,
        send: Callable[[Provider, Any], Awaitable[_Answer]],
    ) -> _Answer:
        await self.sync.before_route()
        try:
            async with aclosing(self._attempts(pool, request, deadline, needs)) as attempts:
                async for attempt in attempts:
                    outcome = await self._call(attempt, send)
                    if not isinstance(outcome, _Failure):
                        return outcome
                    attempt.failure = outcome
        finally:
            await self.sync.after_change()
        raise AssertionError("unreachable: the attempt loop raises when it runs out")  # pragma: no cover

    async def _call(
        self, attempt: _Attempt, send: Callable[[Provider, Any], Awaitable[_Answer]]
    ) -> _Answer | _Failure:
        entry, provider = attempt.entry, attempt.provider
        upstream = attrs.evolve(attempt.request, model=entry.upstream)
        self.lifecycle.begin(attempt.model_id)
        attempt.started = self.clock.monotonic()
        try:
            response = await call_within(self.clock, attempt.remaining, lambda: send(provider, upstream))
        except DeadlineExceeded:
            return self._failed(attempt, _deadline_error(entry))
        except Exception as exc:
            return self._failed(attempt, provider.classify_error(exc))
        except BaseException:
            self._cancelled(attempt)
            raise
        latency_ms = (self.clock.monotonic() - attempt.started) * 1000.0
        cost = _cost(entry, response.usage, response.cost)
        self.lifecycle.succeeded(
            attempt.model_id, attempt.pool, latency_ms=latency_ms, usage=response.usage, cost=cost
        )
        reply = attrs.evolve(response, model=attempt.model_id, provider_id=entry.provider_id, cost=cost)
        self._log(self._entry(attempt, latency_ms, usage=response.usage, cost=cost, reply=reply))
        return reply

    # --- streaming -------------------------------------------------------------

    async def stream(
        self, pool: Pool, request: CompletionRequest, *, deadline: float | None = None
    ) -> AsyncGenerator[CompletionChunk, None]:
        """Chunks from the first model whose stream starts; no failover once a chunk is out."""
        await self.sync.before_route()
        opened: tuple[_Attempt, list[CompletionChunk], AsyncIterator[CompletionChunk]] | None = None
        needs = chat_needs(request, stream=True)
        try:
            async with aclosing(self._attempts(pool, request, deadline, needs)) as attempts:
                async for attempt in attempts:
                    outcome = await self._open_stream(attempt)
                    if isinstance(outcome, _Failure):
                        attempt.failure = outcome
                        continue
                    opened = (attempt, *outcome)
                    break
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
                    yield attrs.evolve(chunk, model=model_id, provider_id=provider_id)
            except GeneratorExit:
                # The caller stopped reading: the model did serve, so it counts as a success.
                self._stream_succeeded(attempt, usage, words)
                await _close(rest)
                raise
            except Exception as exc:
                error = attempt.provider.classify_error(exc)
                failure = self._failed(attempt, error)
                self._send(failure, "failed")  # chunks were handed out: no failover, the request is over
                await _close(rest)
                raise error from exc
            except BaseException:
                self._cancelled(attempt)
                await _close(rest)
                raise
            self._stream_succeeded(attempt, usage, words)
        finally:
            await self.sync.after_change()

    async def _open_stream(
        self, attempt: _Attempt
    ) -> tuple[list[CompletionChunk], AsyncIterator[CompletionChunk]] | _Failure:
        entry, provider, request = attempt.entry, attempt.provider, attempt.request
        assert isinstance(request, CompletionRequest)  # only chat requests stream
        upstream = attrs.evolve(request, model=entry.upstream)
        self.lifecycle.begin(attempt.model_id)
        attempt.started = self.clock.monotonic()
        chunks: AsyncIterator[CompletionChunk] | None = None
        try:
            chunks = provider.stream(upstream)
            stream = chunks
            first = await call_within(self.clock, attempt.remaining, lambda: _first_meaningful(stream))
        except DeadlineExceeded:
            await _close(chunks)
            return self._failed(attempt, _deadline_error(entry))
        except StopAsyncIteration:
            error = ProviderProtocolError(
                "the stream ended before its first chunk", provider_id=entry.provider_id
            )
            return self._failed(attempt, error)
        except Exception as exc:
            await _close(chunks)
            return self._failed(attempt, provider.classify_error(exc))
        except BaseException:
            self._cancelled(attempt)
            await _close(chunks)
            raise
        return first, chunks

    def _stream_succeeded(self, attempt: _Attempt, usage: TokenUsage | None, words: int) -> None:
        if usage is None:  # the provider did not report usage: estimate it
            usage = TokenUsage(
                prompt_tokens=attempt.request.estimated_prompt_tokens(), completion_tokens=words
            )
        latency_ms = (self.clock.monotonic() - attempt.started) * 1000.0
        cost = _cost(attempt.entry, usage, None)
        self.lifecycle.succeeded(
            attempt.model_id, attempt.pool, latency_ms=latency_ms, usage=usage, cost=cost
        )
        self._log(self._entry(attempt, latency_ms, usage=usage, cost=cost))

    # --- the loop shared by both -----------------------------------------------------

    async def _attempts(
        self, pool: Pool, request: _Request, deadline: float | None, needs: RequestNeeds
    ) -> AsyncGenerator[_Attempt, None]:
        """Yield one attempt after another until one succeeds (the caller stops) or all fail.

        Members that lack what the request needs are passed over before any call, with no
        mark on their counters; they show in the final error's attempts and ``not_tried``.
        Every other active member may be tried once (plus same-model retries), within the
        deadline and ``max_attempts`` when one is set. The first pick is the policy's
        ``select``; the picks after a failure (and every pick of a request some members
        lack a feature for) are its ``fallback``, which leaves what the policy remembers
        alone, so only a deactivation moves a sticky policy's traffic.
        """
        request_id = _request_id()
        target = pool.label
        gaps = lacking(pool.members, self.entries, self.providers, needs)
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
        started = self.clock.monotonic()
        attempts: list[Attempt] = [
            Attempt(
                model_id=n.model_id,
                provider_id=self.entries[n.model_id].provider_id,
                error=FeatureNotSupportedError(f"{n.model_id} {n.reason}"),
                latency_ms=0.0,
                skipped=n.reason,
            )
            for n in passed_over
        ]
        excluded: set[str] = set(gaps)  # passed over, or tried already
        # A request that needs a feature some member lacks sees fewer candidates than usual:
        # its pick must not move what the policy remembers either.
        narrowed = any(lacks != (needs.operation.value,) for lacks in gaps.values())
        calls = 0
        stop: str | None = None  # why the loop stopped before running out of models
        previous: tuple[str, ProviderError] | None = None
        pending: _Failure | None = None  # the last failure, until we know whether it was the last
        while stop is None:
            fallback = narrowed or previous is not None
            model_id = pool.select(self.lifecycle, view, exclude=excluded, fallback=fallback)
            if model_id is None:
                break
            if pending is not None:
                self._send(pending, "error")
                pending = None
            if previous is not None:
                self._rotated(pool, previous[0], model_id, previous[1])
            entry = self.entries[model_id]
            provider = self.providers[entry.provider_id]
            same_retries = 0
            while True:
                calls += 1
                remaining = limit - (self.clock.monotonic() - started)
                attempt = _Attempt(pool, request, request_id, model_id, entry, provider, calls, remaining)
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
                    self._send(failure, "error")
                    raise error  # no other model would accept it either
                remaining = limit - (self.clock.monotonic() - started)
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
                self._send(failure, "error")
                self._trace(
                    Severity.DEBUG,
                    f"retrying {model_id} in {wait:.3f}s after {type(error).__name__}",
                    {"model_id": model_id, "wait": wait},
                )
                await self.clock.sleep(wait)
            excluded.add(model_id)
            previous = (model_id, error)
            pending = failure
        if pending is not None:
            self._send(pending, "exhausted")
        if calls == 0:
            raise NoModelAvailableError(f"no active model for {target!r}: {self._why_none(pool, gaps)}")
        raise AllModelsExhaustedError(target, attempts, self._not_tried(pool, excluded, gaps, stop))

    def _not_tried(
        self, pool: Pool, excluded: set[str], gaps: Mapping[str, tuple[str, ...]], stop: str | None
    ) -> list[NotTried]:
        """The members the request did not call, in pool order, each with why."""
        out: list[NotTried] = []
        for model_id in pool.members:
            if model_id in gaps:
                out.append(NotTried(model_id, "lacks " + ", ".join(gaps[model_id])))
            elif model_id not in excluded:
                standby = self._standby(model_id)
                if standby is not None:
                    out.append(NotTried(model_id, f"in standby: {standby}"))
                else:
                    out.append(NotTried(model_id, stop or "not picked by the rotation policy"))
        return out

    def _standby(self, model_id: str) -> str | None:
        """Why ``model_id`` cannot be called now (its reason, or its provider's), or None."""
        model = self.lifecycle.state.models[model_id]
        provider = self.lifecycle.state.providers.get(model.provider_id)
        if provider is not None and provider.deactivated:
            return f"provider {model.provider_id} deactivated: {provider.reason}"
        if model.status is not ModelStatus.ACTIVE:
            return model.reason.value if model.reason else model.status.value
        return None

    def _why_none(self, pool: Pool, gaps: Mapping[str, tuple[str, ...]]) -> str:
        if not pool.members:
            return "the pool has no models"
        parts = []
        for model_id in pool.members:
            if model_id in gaps:
                parts.append(f"{model_id} (lacks {', '.join(gaps[model_id])})")
            else:
                parts.append(f"{model_id} ({self._standby(model_id) or 'active'})")
        head = "every model that can serve the request is in standby" if gaps else "every model is in standby"
        return f"{head}: " + ", ".join(parts)

    # --- bookkeeping ---------------------------------------------------------------

    def _failed(self, attempt: _Attempt, error: ProviderError) -> _Failure:
        latency_ms = (self.clock.monotonic() - attempt.started) * 1000.0
        self.lifecycle.failed(attempt.model_id, attempt.pool, error, latency_ms=latency_ms)
        return _Failure(error, latency_ms, self._entry(attempt, latency_ms, error=error))

    def _send(self, failure: _Failure, status: str) -> None:
        """Log a failed attempt once its status is known."""
        self._log(attrs.evolve(failure.entry, status=status))

    def _cancelled(self, attempt: _Attempt) -> None:
        self.lifecycle.cancelled(attempt.model_id)
        latency_ms = (self.clock.monotonic() - attempt.started) * 1000.0
        self._log(self._entry(attempt, latency_ms, status="cancelled"))

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

    def _entry(
        self,
        attempt: _Attempt,
        latency_ms: float,
        *,
        status: str | None = None,
        usage: TokenUsage | None = None,
        cost: float | None = None,
        error: ProviderError | None = None,
        reply: CompletionResponse | EmbeddingResponse | None = None,
    ) -> RequestLogEntry:
        payloads = self.telemetry.wants_payloads
        return RequestLogEntry(
            timestamp=self.clock.now(),
            request_id=attempt.request_id,
            model_id=attempt.model_id,
            provider_id=attempt.entry.provider_id,
            pool_id=attempt.pool.id,
            attempt=attempt.number,
            latency_ms=latency_ms,
            status=status or ("ok" if error is None else "error"),
            status_code=error.status_code if error is not None else None,
            error_category=str(error.category) if error is not None else None,
            error=str(error) if error is not None else None,
            usage=usage,
            cost=cost,
            request=_request_payload(attempt.request) if payloads else None,
            response=_reply_payload(reply) if payloads and reply is not None else None,
        )


class _Attempt:
    """One call of the loop, with everything about it: the request, the model, its number.

    The caller sets ``failure`` when the call failed and leaves it None on success.
    """

    __slots__ = (
        "entry",
        "failure",
        "model_id",
        "number",
        "pool",
        "provider",
        "remaining",
        "request",
        "request_id",
        "started",
    )

    def __init__(
        self,
        pool: Pool,
        request: _Request,
        request_id: str,
        model_id: str,
        entry: ModelEntry,
        provider: Provider,
        number: int,
        remaining: float,
    ) -> None:
        self.pool = pool
        self.request = request
        self.request_id = request_id
        self.model_id = model_id
        self.entry = entry
        self.provider = provider
        self.number = number
        self.remaining = remaining
        self.started = 0.0  # the clock's monotonic time when the call was sent
        self.failure: _Failure | None = None


def _cost(entry: ModelEntry, usage: TokenUsage | None, reported: float | None) -> float:
    if entry.pricing is not None and usage is not None:
        return entry.pricing.cost(usage)
    return float(reported or 0.0)


def _deadline_error(entry: ModelEntry) -> ProviderTimeoutError:
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


def _complete(provider: Provider, request: CompletionRequest) -> Awaitable[CompletionResponse]:
    return provider.complete(request)


def _embed(provider: Provider, request: EmbeddingRequest) -> Awaitable[EmbeddingResponse]:
    return provider.embed(request)


def _request_payload(request: _Request) -> dict[str, Any]:
    if isinstance(request, EmbeddingRequest):
        out: dict[str, Any] = {"input": list(request.input)}
        if request.dimensions is not None:
            out["dimensions"] = request.dimensions
        return out
    out = {"messages": [m.to_dict() for m in request.messages]}
    for name in ("max_tokens", "temperature", "top_p", "session_id"):
        value = getattr(request, name)
        if value is not None:
            out[name] = value
    return out


def _reply_payload(reply: CompletionResponse | EmbeddingResponse) -> dict[str, Any]:
    if isinstance(reply, EmbeddingResponse):
        return {
            "model": reply.model,
            "data": [{"index": e.index, "embedding": list(e.embedding)} for e in reply.data],
        }
    return {
        "id": reply.id,
        "model": reply.model,
        "choices": [
            {"index": c.index, "message": c.message.to_dict(), "finish_reason": c.finish_reason}
            for c in reply.choices
        ],
    }
