"""``meshkit.opentelemetry.v1``: one span per routed request, one span event per attempt.

Needs ``opentelemetry-api`` (``pip install 'meshkit[otel]'``) and, to export anything,
an SDK ``TracerProvider`` configured by the application (the global one by default,
or ``tracer_provider=`` in code).

How request logs become spans: the router sends one ``RequestLogEntry`` per attempt,
stamped when the attempt ended, all attempts of a request sharing its ``request_id``.
The connector collects them and writes the span when the request is over:

* ``status == "ok"``: the request succeeded; the span ends with this attempt.
* ``status == "error"``: this attempt failed; the router may try again, so the span stays
  open, unless the error category is ``bad_request`` (returned to the caller at once).
* any other status (``"failed"``, ``"exhausted"``, ``"cancelled"`` …): the request is over,
  failed.
* a request with no new attempt for ``pending_timeout`` (on the injected clock) is over:
  its span ends at its last attempt, failed if that attempt failed. ``aclose()`` ends every
  open request the same way; those spans carry ``meshkit.incomplete = true``.

The span starts when the first attempt started (its timestamp minus its latency) and ends
when the last one ended; each attempt is a ``meshkit.attempt`` event, and a change of model
between attempts adds a ``meshkit.rotation`` event. Its parent is the span that was current
when the first attempt was logged (the application's span around ``mesh.complete``). At the
``full`` log level the span also carries the last attempt's request and response, as JSON.

Routing events and trace entries (at or above ``min_severity``) are short spans of their own,
``meshkit.event`` and ``meshkit.trace``, at their timestamp, children of the current span.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import anyio
import attrs

from meshkit import LogLevel, RequestLogEntry, RoutingEvent, TraceEntry
from meshkit.interfaces import Observability, ObservabilityConfig, check, redact, redact_entry, redact_text

logger = logging.getLogger("meshkit.observability")

#: Statuses that say "this attempt failed, another may follow".
RETRYING_STATUSES = frozenset({"error", "retry"})
#: Error categories the router never retries, so the attempt that hit one is the last.
FINAL_CATEGORIES = frozenset({"bad_request"})


@attrs.frozen(kw_only=True)
class OpenTelemetryConfig(ObservabilityConfig):
    """Span naming and how long an unfinished request is waited for."""

    #: Token attributes need usage, which the ``metadata`` level leaves out.
    log_level: LogLevel = LogLevel.SUMMARY
    #: Name of the span written for each request.
    span_name: str = attrs.field(default="meshkit.request", validator=check(bool, "a span name"))
    #: A request with no new attempt for this long is considered over.
    pending_timeout: timedelta = attrs.field(
        default=timedelta(minutes=2), validator=check(lambda v: v.total_seconds() > 0, "a positive duration")
    )
    #: Requests tracked at once at most; beyond it the oldest is ended as incomplete.
    max_pending: int = attrs.field(
        default=10_000, validator=check(lambda v: v > 0, "a positive whole number")
    )


@attrs.define
class _Pending:
    """The attempts of one request so far, and the context its span will belong to."""

    context: Any
    attempts: list[RequestLogEntry] = attrs.field(factory=list)


class OpenTelemetryObservability(Observability[OpenTelemetryConfig]):
    """Turns the request log into OpenTelemetry spans."""

    connector_id = "meshkit.opentelemetry.v1"
    description = "OpenTelemetry spans: one per request, an event per attempt"
    requires = {"opentelemetry": "meshkit[otel]"}
    Config = OpenTelemetryConfig

    def __init__(self, config: Any = None, *, tracer_provider: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        otel = _import_otel()
        self._trace_api = otel.trace
        self._context_api = otel.context
        self.tracer_provider = tracer_provider or otel.trace.get_tracer_provider()
        self.tracer = self.tracer_provider.get_tracer("meshkit")
        self._pending: OrderedDict[str, _Pending] = OrderedDict()
        #: Spans written so far.
        self.spans = 0

    @property
    def pending(self) -> int:
        """Requests whose span is not written yet."""
        return len(self._pending)

    def handle_log(self, entry: RequestLogEntry) -> None:
        try:
            self._expire()
            pending = self._pending.get(entry.request_id)
            if pending is None:
                pending = self._pending[entry.request_id] = _Pending(context=self._context_api.get_current())
            else:
                self._pending.move_to_end(entry.request_id)
            pending.attempts.append(redact_entry(entry))
            if _is_last(entry):
                self._finish(entry.request_id, complete=True)
            while len(self._pending) > self.config.max_pending:
                self._finish(next(iter(self._pending)), complete=False)
        except Exception:
            logger.exception("%s: could not record a request log entry", self.name)

    def handle_event(self, event: RoutingEvent) -> None:
        attributes = {
            "meshkit.event_type": event.event_type.value,
            "meshkit.pool": event.pool_id,
            "meshkit.model": event.model_id,
            "meshkit.provider": event.provider_id,
            **_metadata_attributes(event.metadata),
        }
        self._instant("meshkit.event", event.timestamp, attributes)

    def handle_trace(self, entry: TraceEntry) -> None:
        attributes = {
            "meshkit.severity": entry.severity.value,
            "meshkit.message": redact_text(entry.message),
            "meshkit.component": entry.component,
            **_metadata_attributes(entry.metadata),
        }
        self._instant("meshkit.trace", entry.timestamp, attributes)

    def _instant(self, name: str, when: datetime, attributes: dict[str, Any]) -> None:
        """A span of no length at ``when``, a child of the current span."""
        try:
            at = _ns(when)
            span = self.tracer.start_span(name, start_time=at, attributes=_clean(attributes))
            span.end(end_time=at)
            self.spans += 1
        except Exception:
            logger.exception("%s: could not record a %s span", self.name, name)

    def _expire(self) -> None:
        deadline = self.clock.now() - self.config.pending_timeout
        while self._pending:
            request_id, pending = next(iter(self._pending.items()))
            if pending.attempts[-1].timestamp > deadline:
                break
            self._finish(request_id, complete=False)

    def _finish(self, request_id: str, *, complete: bool) -> None:
        pending = self._pending.pop(request_id)
        attempts = pending.attempts
        first, last = attempts[0], attempts[-1]
        trace = self._trace_api
        span = self.tracer.start_span(
            self.config.span_name,
            context=pending.context,
            kind=trace.SpanKind.CLIENT,
            start_time=_ns(_started(first)),
            attributes=_span_attributes(request_id, attempts, complete),
        )
        if last.request is not None or last.response is not None:  # only at the full log level
            span.set_attributes(
                _clean({"meshkit.request": _json(last.request), "meshkit.response": _json(last.response)})
            )
        previous: RequestLogEntry | None = None
        for attempt in attempts:
            if previous is not None and attempt.model_id != previous.model_id:
                span.add_event(
                    "meshkit.rotation",
                    _clean(
                        {
                            "meshkit.from_model": previous.model_id,
                            "meshkit.to_model": attempt.model_id,
                            "meshkit.error_category": previous.error_category,
                        }
                    ),
                    timestamp=_ns(_started(attempt)),
                )
            span.add_event("meshkit.attempt", _attempt_attributes(attempt), timestamp=_ns(attempt.timestamp))
            previous = attempt
        if last.status != "ok":
            description = last.error or last.error_category or last.status
            span.set_status(trace.Status(trace.StatusCode.ERROR, redact_text(description)))
        span.end(end_time=_ns(last.timestamp))
        self.spans += 1

    async def flush(self) -> None:
        """Write the spans of requests that are over, and ask the provider to export them."""
        self._expire()
        await self._force_flush()

    async def _aclose(self) -> None:
        while self._pending:
            self._finish(next(iter(self._pending)), complete=False)
        await self._force_flush()

    async def _force_flush(self) -> None:
        force_flush = getattr(self.tracer_provider, "force_flush", None)
        if force_flush is not None:
            # The SDK's force_flush blocks on the exporter; keep it off the event loop.
            await anyio.to_thread.run_sync(force_flush)


def _import_otel() -> Any:
    try:
        from opentelemetry import context, trace
    except ImportError:
        raise ImportError(
            "meshkit.opentelemetry.v1 needs opentelemetry-api: pip install 'meshkit[otel]'"
        ) from None

    return SimpleNamespace(trace=trace, context=context)


def _is_last(entry: RequestLogEntry) -> bool:
    if entry.status == "ok":
        return True
    if entry.status in RETRYING_STATUSES:
        return entry.error_category in FINAL_CATEGORIES
    return True


def _started(entry: RequestLogEntry) -> datetime:
    return entry.timestamp - timedelta(milliseconds=max(0.0, entry.latency_ms or 0.0))


def _ns(when: datetime) -> int:
    return int(when.timestamp() * 1_000_000_000)


def _span_attributes(request_id: str, attempts: list[RequestLogEntry], complete: bool) -> dict[str, Any]:
    last = attempts[-1]
    costs = [a.cost for a in attempts if a.cost is not None]
    return _clean(
        {
            "meshkit.request_id": request_id,
            "meshkit.pool": last.pool_id,
            "meshkit.model": last.model_id,
            "meshkit.provider": last.provider_id,
            "meshkit.attempts": len(attempts),
            "meshkit.status": last.status,
            "meshkit.incomplete": None if complete else True,
            "meshkit.cost": sum(costs) if costs else None,
            "gen_ai.usage.input_tokens": last.usage.prompt_tokens if last.usage else None,
            "gen_ai.usage.output_tokens": last.usage.completion_tokens if last.usage else None,
            "error.type": last.error_category if last.status != "ok" else None,
        }
    )


def _attempt_attributes(attempt: RequestLogEntry) -> dict[str, Any]:
    return _clean(
        {
            "meshkit.attempt": attempt.attempt,
            "meshkit.model": attempt.model_id,
            "meshkit.provider": attempt.provider_id,
            "meshkit.status": attempt.status,
            "meshkit.latency_ms": attempt.latency_ms,
            "meshkit.error_category": attempt.error_category,
            "meshkit.error": attempt.error,
            "http.response.status_code": attempt.status_code,
        }
    )


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), default=str)


def _metadata_attributes(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Metadata as ``meshkit.metadata.<key>`` attributes: plain values as they are, others as JSON."""
    found: dict[str, Any] = {}
    for key, value in redact(dict(metadata)).items():
        plain = isinstance(value, str | bool | int | float)
        found[f"meshkit.metadata.{key}"] = value if plain else _json(value)
    return found


def _clean(attributes: dict[str, Any]) -> dict[str, Any]:
    # OpenTelemetry attributes take no None values.
    return {key: value for key, value in attributes.items() if value is not None}
