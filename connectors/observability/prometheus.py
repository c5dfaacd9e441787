"""``meshkit.prometheus.v1``: Prometheus metrics from request logs, events and reports.

Needs ``prometheus-client`` (``pip install 'meshkit[prometheus]'``), imported when the
connector is built. Each instance owns its ``CollectorRegistry``, so several meshes (or
tests) in one process never share or clash over metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from meshkit import (
    ConnectorError,
    EventType,
    LogLevel,
    ModelStatus,
    ObservabilityFeature,
    RequestLogEntry,
    RoutingEvent,
)
from meshkit.interfaces import Observability, ObservabilityConfig, check

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

logger = logging.getLogger("meshkit.observability")

_LATENCY_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0]
_TOKEN_BUCKETS = [16, 64, 256, 1024, 4096, 16384, 65536, 262144]
_MODEL_LABELS = ("pool", "model", "provider")
_STATES = [s.value for s in ModelStatus]


@attrs.frozen(kw_only=True)
class PrometheusConfig(ObservabilityConfig):
    """Metric names and the optional scrape endpoint."""

    #: Token and cost metrics need usage, which the ``metadata`` level leaves out.
    log_level: LogLevel = LogLevel.SUMMARY
    #: Prefix of every metric name.
    namespace: str = attrs.field(
        default="meshkit", validator=check(lambda v: v.isidentifier(), "a metric prefix")
    )
    #: Serve ``/metrics`` on this port; 0 serves nothing (expose ``registry`` yourself).
    port: int = attrs.field(default=0, validator=check(lambda v: 0 <= v <= 65535, "a port number (0 = off)"))
    #: Address the endpoint listens on; ``0.0.0.0`` to let another host scrape it.
    host: str = "127.0.0.1"
    #: Upper bounds, in seconds, of the request-latency histogram buckets.
    latency_buckets: list[float] = attrs.field(
        factory=lambda: list(_LATENCY_BUCKETS), validator=check(lambda v: len(v) > 0, "at least one bucket")
    )


class PrometheusObservability(Observability[PrometheusConfig]):
    """Counts requests, failures, tokens and cost, times latency, tracks model status.

    Request metrics come from ``log`` entries (one per attempt), model status and
    active models per pool from events and from ``report(stats)``; every event is
    counted by type. Updating a metric is an in-memory operation, so nothing is buffered.
    """

    connector_id = "meshkit.prometheus.v1"
    description = "Prometheus metrics, optional /metrics endpoint"
    requires = {"prometheus_client": "meshkit[prometheus]"}
    features = frozenset({ObservabilityFeature.METRICS})  # type: ignore[assignment]
    Config = PrometheusConfig

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        prom = _import_prometheus()
        ns = self.config.namespace
        self.registry = prom.CollectorRegistry()
        reg = self.registry
        self.requests = prom.Counter(
            f"{ns}_requests", "Attempts sent to a model, by outcome", [*_MODEL_LABELS, "status"], registry=reg
        )
        self.failures = prom.Counter(
            f"{ns}_request_failures",
            "Failed attempts, by error category",
            [*_MODEL_LABELS, "error_category"],
            registry=reg,
        )
        self.latency = prom.Histogram(
            f"{ns}_request_latency_seconds",
            "Time an attempt took",
            _MODEL_LABELS,
            buckets=self.config.latency_buckets,
            registry=reg,
        )
        self.tokens = prom.Counter(
            f"{ns}_tokens",
            "Tokens used, by direction (prompt, completion)",
            [*_MODEL_LABELS, "direction"],
            registry=reg,
        )
        self.request_tokens = prom.Histogram(
            f"{ns}_request_tokens",
            "Total tokens of one attempt",
            _MODEL_LABELS,
            buckets=_TOKEN_BUCKETS,
            registry=reg,
        )
        self.cost = prom.Counter(
            f"{ns}_cost", "Cost of the attempts, in the pricing's currency", _MODEL_LABELS, registry=reg
        )
        self.events = prom.Counter(
            f"{ns}_events", "Routing events, by type", ["event_type", "pool"], registry=reg
        )
        self.deactivations = prom.Counter(
            f"{ns}_model_deactivations",
            "Models moved to standby, by reason",
            ["pool", "model", "reason"],
            registry=reg,
        )
        self.model_status = prom.Enum(
            f"{ns}_model_status",
            "A model's status in a pool",
            ["pool", "model"],
            states=_STATES,
            registry=reg,
        )
        self.active_models = prom.Gauge(
            f"{ns}_pool_active_models", "Active models in a pool", ["pool"], registry=reg
        )
        self.provider_available = prom.Gauge(
            f"{ns}_provider_available",
            "1 while a provider is usable, 0 after it was deactivated",
            ["provider"],
            registry=reg,
        )
        self._generate_latest = prom.generate_latest
        self._start_http_server = prom.start_http_server
        self._status: dict[str, dict[str, str]] = {}  # pool -> model -> status
        self._server: WSGIServer | None = None

    # --- request logs ------------------------------------------------------------

    def handle_log(self, entry: RequestLogEntry) -> None:
        try:
            labels = (entry.pool_id or "", entry.model_id or "", entry.provider_id or "")
            self.requests.labels(*labels, entry.status).inc()
            if entry.status != "ok":
                self.failures.labels(*labels, entry.error_category or "unknown").inc()
            if entry.latency_ms is not None and entry.latency_ms >= 0:
                self.latency.labels(*labels).observe(entry.latency_ms / 1000.0)
            if entry.usage is not None:
                self.tokens.labels(*labels, "prompt").inc(max(0, entry.usage.prompt_tokens))
                self.tokens.labels(*labels, "completion").inc(max(0, entry.usage.completion_tokens))
                self.request_tokens.labels(*labels).observe(max(0, entry.usage.total_tokens))
            if entry.cost is not None and entry.cost > 0:
                self.cost.labels(*labels).inc(entry.cost)
        except Exception:
            logger.exception("%s: could not record a request log entry", self.name)

    # --- events ------------------------------------------------------------------

    def handle_event(self, event: RoutingEvent) -> None:
        try:
            self.events.labels(event.event_type.value, event.pool_id or "").inc()
            kind = event.event_type
            if kind is EventType.MODEL_ACTIVATED and event.model_id:
                self._set_status(event.pool_id, event.model_id, ModelStatus.ACTIVE.value)
            elif kind is EventType.MODEL_DEACTIVATED and event.model_id:
                reason = str(event.metadata.get("reason") or "unknown")
                for pool in self._pools_of(event.pool_id, event.model_id):
                    self.deactivations.labels(pool, event.model_id, reason).inc()
                self._set_status(event.pool_id, event.model_id, ModelStatus.STANDBY.value)
            elif kind is EventType.POOL_MEMBERSHIP_CHANGED and event.pool_id:
                self._membership_changed(event.pool_id, event.metadata)
            elif kind is EventType.PROVIDER_DEACTIVATED and event.provider_id:
                self.provider_available.labels(event.provider_id).set(0)
            elif kind is EventType.PROVIDER_RECOVERED and event.provider_id:
                self.provider_available.labels(event.provider_id).set(1)
            elif kind is EventType.PROVIDER_HEALTH_CHANGED and event.provider_id:
                available = _first_bool(event.metadata, ("available", "healthy", "ok"))
                if available is not None:
                    self.provider_available.labels(event.provider_id).set(1 if available else 0)
        except Exception:
            logger.exception("%s: could not record a %s event", self.name, event.event_type.value)

    def _pools_of(self, pool: str | None, model: str) -> list[str]:
        # An event without a pool concerns the model in every pool that holds it.
        if pool is not None:
            return [pool]
        return [p for p, models in self._status.items() if model in models] or [""]

    def _set_status(self, pool: str | None, model: str, status: str) -> None:
        for name in self._pools_of(pool, model):
            self._status.setdefault(name, {})[model] = status
            self.model_status.labels(name, model).state(status)
            self._count_active(name)

    def _membership_changed(self, pool: str, metadata: Mapping[str, Any]) -> None:
        for model in _names(metadata.get("removed")):
            if self._status.get(pool, {}).pop(model, None) is not None:
                self.model_status.remove(pool, model)
        for model in _names(metadata.get("added")):
            self._status.setdefault(pool, {})[model] = ModelStatus.ACTIVE.value
            self.model_status.labels(pool, model).state(ModelStatus.ACTIVE.value)
        self._count_active(pool)

    def _count_active(self, pool: str) -> None:
        active = sum(1 for s in self._status.get(pool, {}).values() if s == ModelStatus.ACTIVE.value)
        self.active_models.labels(pool).set(active)

    # --- reports -----------------------------------------------------------------

    def handle_report(self, stats: Mapping[str, Any]) -> None:
        """Take statuses from a ``mesh.status()``-shaped snapshot.

        ``{"pools": {pool: {"models": {model: {"status": ...}}}}, "providers": {provider:
        {"status": "active" | "deactivated", "available": bool}}}``; other keys are ignored.
        """
        try:
            self._report_providers(stats.get("providers"))
            pools = stats.get("pools")
            if not isinstance(pools, Mapping):
                return
            for pool, info in pools.items():
                models = info.get("models") if isinstance(info, Mapping) else None
                if models is None:
                    continue
                seen: dict[str, str] = {}
                for model, model_info in _model_items(models):
                    status = str(model_info.get("status", "")).lower()
                    if status in _STATES:
                        seen[model] = status
                # A report is a full snapshot: models it no longer lists are gone.
                for gone in set(self._status.get(str(pool), {})) - set(seen):
                    self.model_status.remove(str(pool), gone)
                self._status[str(pool)] = seen
                for model, status in seen.items():
                    self.model_status.labels(str(pool), model).state(status)
                self._count_active(str(pool))
        except Exception:
            logger.exception("%s: could not read a stats report", self.name)

    def _report_providers(self, providers: Any) -> None:
        if not isinstance(providers, Mapping):
            return
        for provider, info in providers.items():
            if isinstance(info, Mapping):
                usable = info.get("status") != "deactivated" and info.get("available") is not False
                self.provider_available.labels(str(provider)).set(1 if usable else 0)

    # --- exposition ----------------------------------------------------------------

    def metrics_text(self) -> str:
        """The registry in the Prometheus text format, as a scrape would see it."""
        return bytes(self._generate_latest(self.registry)).decode()

    @property
    def endpoint(self) -> str | None:
        """``http://host:port/metrics`` while the endpoint is served, else None."""
        if self._server is None:
            return None
        host, port = self._server.server_address[:2]
        if isinstance(host, bytes):  # an address family that reports bytes; ours reports str
            host = host.decode()
        return f"http://{host}:{port}/metrics"

    async def _start(self) -> None:
        if self.config.port:
            try:
                self._server, _ = self._start_http_server(
                    self.config.port, addr=self.config.host, registry=self.registry
                )
            except OSError as exc:
                where = f"{self.config.host}:{self.config.port}"
                raise ConnectorError(
                    f"{self.name}: cannot serve metrics on {where}: {exc.strerror or exc}; "
                    "set config.port to a free port, or 0 to serve none"
                ) from None

    async def _aclose(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            # shutdown() waits for the serving thread's poll loop, so keep it off the event loop.
            await anyio.to_thread.run_sync(server.shutdown)
            server.server_close()


def _import_prometheus() -> Any:
    try:
        import prometheus_client
    except ImportError:
        raise ImportError(
            "meshkit.prometheus.v1 needs prometheus-client: pip install 'meshkit[prometheus]'"
        ) from None
    return prometheus_client


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return [str(v) for v in value]
    return []


def _model_items(models: Any) -> list[tuple[str, Mapping[str, Any]]]:
    if isinstance(models, Mapping):
        return [(str(k), v) for k, v in models.items() if isinstance(v, Mapping)]
    if isinstance(models, Iterable) and not isinstance(models, str):
        items = []
        for info in models:
            if isinstance(info, Mapping) and (info.get("model_id") or info.get("id")):
                items.append((str(info.get("model_id") or info.get("id")), info))
        return items
    return []


def _first_bool(metadata: Mapping[str, Any], keys: tuple[str, ...]) -> bool | None:
    for key in keys:
        value = metadata.get(key)
        if isinstance(value, bool):
            return value
    return None
