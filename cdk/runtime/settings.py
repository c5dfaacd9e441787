"""The mesh configuration, as attrs classes built by the shared cattrs converter.

Each class is one section (or sub-section) of ``mesh.yaml``; docs/configuration.md lists
every key with its type, default and meaning, and a test keeps the two in step.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

import attrs

from ..config import check
from ..connector import module_available
from ..enums import (
    DeprecationAction,
    EventType,
    LogLevel,
    ProviderFeature,
    SerializationFormat,
    Severity,
    SyncAction,
    SyncPolicy,
)
from ..types import ModelPricing
from .maintenance import validate_cron
from .periods import Period

__all__ = [
    "REQUEST_FEATURES",
    "BudgetSettings",
    "ConnectorSettings",
    "DiscoverySettings",
    "HealthSettings",
    "LimitSettings",
    "LoggingSettings",
    "MaintenanceSettings",
    "MeshSettings",
    "ModelSettings",
    "ObservabilitySettings",
    "PoolSettings",
    "ProviderSettings",
    "RetrySettings",
    "RotationSettings",
    "RoutingEventsSettings",
    "RoutingSettings",
    "SecretsSettings",
    "ServeAuthSettings",
    "ServeSettings",
    "StorageSettings",
    "SyncSettings",
    "TracingSettings",
]

#: The most calls one request may make; more is a typo, and would hold a request for hours.
MAX_ATTEMPTS = 1000
DEFAULT_CAPABILITY = "generation.text-generation.chat-completion"

#: The features a request can need that a model's ``features`` list may name.
REQUEST_FEATURES: frozenset[ProviderFeature] = frozenset(
    {
        ProviderFeature.STREAMING,
        ProviderFeature.TOOLS,
        ProviderFeature.JSON_MODE,
        ProviderFeature.JSON_SCHEMA,
        ProviderFeature.VISION,
    }
)


def _request_features(value: list[ProviderFeature] | None) -> bool:
    return value is None or all(f in REQUEST_FEATURES for f in value)


_REQUEST_FEATURES_TEXT = "a list drawn from " + ", ".join(sorted(REQUEST_FEATURES))


def _positive(value: Any) -> bool:
    return bool(value > 0)


def _non_negative(value: Any) -> bool:
    return bool(value >= 0)


def _positive_duration(value: timedelta) -> bool:
    return value > timedelta(0)


@attrs.frozen(kw_only=True)
class SecretsSettings:
    """Where ``${secrets:NAME}`` references are resolved."""

    store: str = "env"
    config: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class BudgetSettings:
    """Spend caps in the pricing currency, per UTC day and per UTC month."""

    daily: float | None = attrs.field(default=None, validator=check(_non_negative, "a positive amount"))
    monthly: float | None = attrs.field(default=None, validator=check(_non_negative, "a positive amount"))


@attrs.frozen(kw_only=True)
class ProviderSettings:
    """One provider instance: which connector, its config, an optional budget."""

    connector: str
    config: dict[str, Any] = attrs.field(factory=dict)
    budget: BudgetSettings | None = None


@attrs.frozen(kw_only=True)
class LimitSettings:
    """Request and token caps per window (REQUEST_LIMIT / TOKEN_LIMIT), and per-minute rates.

    The per-minute rates are not enforced by the runtime: they reach rotation policies in
    ``ModelSnapshot.limits`` so that one such as ``rate-limit-aware`` can steer around them.
    """

    requests: int | None = attrs.field(default=None, validator=check(_positive, "at least 1"))
    tokens: int | None = attrs.field(default=None, validator=check(_positive, "at least 1"))
    window: Period = Period.DAILY
    requests_per_minute: int | None = attrs.field(default=None, validator=check(_positive, "at least 1"))
    tokens_per_minute: int | None = attrs.field(default=None, validator=check(_positive, "at least 1"))


def _cron_library(_: Any, attribute: attrs.Attribute[Any], __: Any) -> None:
    if not module_available("cronsim"):
        raise ValueError(
            f"{attribute.name}: maintenance windows need the 'cronsim' library: pip install 'meshkit[cron]'"
        )


@attrs.frozen(kw_only=True)
class MaintenanceSettings:
    """A recurring maintenance window: starts at each cron time, lasts ``duration``."""

    cron: str = attrs.field(
        validator=[_cron_library, check(validate_cron, "a cron expression such as '0 3 * * *'")]
    )
    duration: timedelta = attrs.field(validator=check(_positive_duration, "a positive duration"))


@attrs.frozen(kw_only=True)
class ModelSettings:
    """One model: its provider, upstream name, capabilities, price, caps and windows."""

    provider: str
    name: str | None = None
    capabilities: list[str] = attrs.field(factory=lambda: [DEFAULT_CAPABILITY])
    pricing: ModelPricing | None = None
    limits: LimitSettings | None = None
    budget: BudgetSettings | None = None
    maintenance: list[MaintenanceSettings] = attrs.field(factory=list)
    quota_reset: Period | None = None
    priority: int = 0
    weight: float = attrs.field(default=1.0, validator=check(_non_negative, "a weight of 0 or more"))
    #: What the model can do with a request; None: what its provider connector declares.
    features: list[ProviderFeature] | None = attrs.field(
        default=None, validator=check(_request_features, _REQUEST_FEATURES_TEXT)
    )


@attrs.frozen(kw_only=True)
class RotationSettings:
    """The pool's rotation-policy connector and its config."""

    connector: str = "stick-until-failure"
    config: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class RetrySettings:
    """The failover loop: how many calls, how long to wait between them, the overall deadline.

    ``max_attempts`` None (the default): every active model of the target once, plus
    ``same_model_retries`` each, within ``deadline``; a number caps the calls.
    """

    max_attempts: int | None = attrs.field(
        default=None,
        validator=check(lambda n: 1 <= n <= MAX_ATTEMPTS, f"a whole number from 1 to {MAX_ATTEMPTS}"),
    )
    same_model_retries: int = attrs.field(
        default=0,
        validator=check(lambda n: 0 <= n <= MAX_ATTEMPTS, f"a whole number from 0 to {MAX_ATTEMPTS}"),
    )
    backoff: Literal["exponential", "constant"] = "exponential"
    initial_delay: timedelta = timedelta(milliseconds=200)
    max_delay: timedelta = timedelta(seconds=5)
    deadline: timedelta = attrs.field(
        default=timedelta(seconds=60), validator=check(_positive_duration, "a positive duration")
    )

    def delay(self, retry: int) -> float:
        """Seconds to wait before same-model retry number ``retry`` (1-based)."""
        base = self.initial_delay.total_seconds()
        if self.backoff == "exponential":
            base *= 2 ** (retry - 1)
        return min(base, self.max_delay.total_seconds())


@attrs.frozen(kw_only=True)
class PoolSettings:
    """A pool: a capability node or an explicit model list, a policy, retries and a budget."""

    capability: str | None = None
    models: list[str] | None = None
    providers: list[str] | None = None
    rotation: RotationSettings = attrs.field(factory=RotationSettings)
    retry: RetrySettings = attrs.field(factory=RetrySettings)
    budget: BudgetSettings | None = None


@attrs.frozen(kw_only=True)
class StorageSettings:
    """Where model state is kept, and when it is written."""

    connector: str = "memory"
    config: dict[str, Any] = attrs.field(factory=dict)
    sync_policy: SyncPolicy = SyncPolicy.SYNC_ON_BOUNDARY
    sync_interval: timedelta = attrs.field(
        default=timedelta(seconds=30), validator=check(_positive_duration, "a positive duration")
    )
    format: SerializationFormat = SerializationFormat.JSON
    key: str = "meshkit/state"


@attrs.frozen(kw_only=True)
class ConnectorSettings:
    """A connector named by id, ``vendor.name`` or unique name, with its config."""

    connector: str
    config: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class RoutingEventsSettings:
    """Which event types the mesh's EventEmitter publishes (default: all)."""

    events: list[EventType] | None = None


@attrs.frozen(kw_only=True)
class LoggingSettings:
    """How much of each request the request log carries."""

    level: LogLevel = LogLevel.METADATA


@attrs.frozen(kw_only=True)
class TracingSettings:
    """The lowest severity of trace entries the mesh hands out."""

    min_severity: Severity = Severity.INFO


@attrs.frozen(kw_only=True)
class ObservabilitySettings:
    """Observability connectors, and what they receive."""

    connectors: list[ConnectorSettings] = attrs.field(factory=list)
    routing: RoutingEventsSettings = attrs.field(factory=RoutingEventsSettings)
    logging: LoggingSettings = attrs.field(factory=LoggingSettings)
    tracing: TracingSettings = attrs.field(factory=TracingSettings)
    report_interval: timedelta = timedelta(seconds=60)  # 0 turns periodic reports off


@attrs.frozen(kw_only=True)
class SyncSettings:
    """Catalogue sync: how often, and what to do with new and deprecated models."""

    interval: timedelta | None = attrs.field(
        default=timedelta(hours=1), validator=check(_positive_duration, "a positive duration")
    )
    on_new_model: SyncAction = SyncAction.NOTIFY
    on_deprecated_model: DeprecationAction = DeprecationAction.NOTIFY


@attrs.frozen(kw_only=True)
class HealthSettings:
    """Provider probing: how often (default: the connector's ``interval``, else 60s)."""

    interval: timedelta | None = attrs.field(
        default=None, validator=check(_positive_duration, "a positive duration")
    )


@attrs.frozen(kw_only=True)
class DiscoverySettings:
    """The discovery connector (optional) and its schedules."""

    connector: str | None = None
    config: dict[str, Any] = attrs.field(factory=dict)
    sync: SyncSettings = attrs.field(factory=SyncSettings)
    health: HealthSettings = attrs.field(factory=HealthSettings)


@attrs.frozen(kw_only=True)
class RoutingSettings:
    """Mesh-wide lifecycle settings."""

    error_window: timedelta = attrs.field(
        default=timedelta(minutes=5), validator=check(_positive_duration, "a positive duration")
    )
    check_interval: timedelta = attrs.field(
        default=timedelta(seconds=1), validator=check(_positive_duration, "a positive duration")
    )
    rotation: RotationSettings = attrs.field(factory=RotationSettings)
    retry: RetrySettings = attrs.field(factory=RetrySettings)


@attrs.frozen(kw_only=True)
class ServeAuthSettings:
    """Bearer tokens ``meshkit serve`` accepts; none means no authentication."""

    tokens: list[str] = attrs.field(factory=list)


@attrs.frozen(kw_only=True)
class ServeSettings:
    """``meshkit serve``: where it listens, who may call it, how much it reads."""

    host: str = "127.0.0.1"
    port: int = attrs.field(
        default=8080, validator=check(lambda p: 0 <= p <= 65535, "a port from 0 to 65535")
    )
    workers: int = attrs.field(default=1, validator=check(lambda n: 1 <= n <= 256, "from 1 to 256 workers"))
    auth: ServeAuthSettings = attrs.field(factory=ServeAuthSettings)
    cors_origins: list[str] = attrs.field(factory=list)
    max_body_bytes: int = attrs.field(
        default=8 * 1024 * 1024, validator=check(_positive, "a size in bytes of at least 1")
    )
    grace_period: timedelta = attrs.field(
        default=timedelta(seconds=30), validator=check(_positive_duration, "a positive duration")
    )


@attrs.frozen(kw_only=True)
class MeshSettings:
    """The whole ``mesh.yaml``."""

    secrets: SecretsSettings = attrs.field(factory=SecretsSettings)
    providers: dict[str, ProviderSettings] = attrs.field(factory=dict)
    models: dict[str, ModelSettings] = attrs.field(factory=dict)
    pools: dict[str, PoolSettings] = attrs.field(factory=dict)
    capabilities: list[str] = attrs.field(factory=list)
    storage: StorageSettings = attrs.field(factory=StorageSettings)
    observability: ObservabilitySettings = attrs.field(factory=ObservabilitySettings)
    discovery: DiscoverySettings = attrs.field(factory=DiscoverySettings)
    routing: RoutingSettings = attrs.field(factory=RoutingSettings)
    serve: ServeSettings = attrs.field(factory=ServeSettings)
    startup_probe: bool = False
