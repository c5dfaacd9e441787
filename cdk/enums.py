"""The CDK's enums.

Names and string values are the contract shared with every connector and every
configuration file, so they never change spelling. ``StrEnum`` keeps each member
equal to its string value, which makes YAML, JSON and log output read naturally.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AuthMethod",
    "ConnectorType",
    "DeactivationReason",
    "DeprecationAction",
    "DiscoveryFeature",
    "ErrorCategory",
    "EventType",
    "LogLevel",
    "ModelStatus",
    "ObservabilityFeature",
    "ProviderFeature",
    "RecoveryTrigger",
    "RotationFeature",
    "SecretStoreFeature",
    "SerializationFormat",
    "Severity",
    "StorageFeature",
    "SyncAction",
    "SyncPolicy",
]


# --- Provider -----------------------------------------------------------------


class AuthMethod(StrEnum):
    """Authentication method used by a provider connector."""

    API_KEY = "api_key"
    OAUTH = "oauth"
    SERVICE_ACCOUNT = "service_account"


# --- Rotation policy ------------------------------------------------------------


class ModelStatus(StrEnum):
    """Lifecycle status of a model within a pool."""

    ACTIVE = "active"
    STANDBY = "standby"


class DeactivationReason(StrEnum):
    """Reason a model was moved from active to standby."""

    ERROR_THRESHOLD = "error_threshold"
    QUOTA_EXHAUSTED = "quota_exhausted"
    BUDGET_EXCEEDED = "budget_exceeded"
    TOKEN_LIMIT = "token_limit"
    REQUEST_LIMIT = "request_limit"
    MAINTENANCE_WINDOW = "maintenance_window"
    MANUAL = "manual"


class RecoveryTrigger(StrEnum):
    """Trigger that caused a standby model to return to active."""

    COOLDOWN_EXPIRED = "cooldown_expired"
    QUOTA_RESET = "quota_reset"
    PROBE_SUCCESS = "probe_success"
    MANUAL = "manual"
    STARTUP_PROBE = "startup_probe"


# --- Storage --------------------------------------------------------------------


class SyncPolicy(StrEnum):
    """Controls when storage persistence occurs."""

    IN_MEMORY = "in-memory"
    SYNC_ON_BOUNDARY = "sync-on-boundary"
    PERIODIC = "periodic"
    IMMEDIATE = "immediate"


class SerializationFormat(StrEnum):
    """Serialization format for stored data."""

    JSON = "json"
    YAML = "yaml"
    MSGPACK = "msgpack"


# --- Observability --------------------------------------------------------------


class EventType(StrEnum):
    """Types of routing events emitted by the library."""

    MODEL_ACTIVATED = "model_activated"
    MODEL_DEACTIVATED = "model_deactivated"
    MODEL_ROTATED = "model_rotated"
    PROVIDER_HEALTH_CHANGED = "provider_health_changed"
    PROVIDER_DEACTIVATED = "provider_deactivated"
    PROVIDER_RECOVERED = "provider_recovered"
    POOL_MEMBERSHIP_CHANGED = "pool_membership_changed"
    DISCOVERY_MODELS_UPDATED = "discovery_models_updated"


class Severity(StrEnum):
    """Severity levels for structured trace reporting."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Position in the order DEBUG < INFO < WARNING < ERROR < CRITICAL."""
        return _SEVERITY_ORDER.index(self)


_SEVERITY_ORDER = list(Severity)


class LogLevel(StrEnum):
    """Detail level for request/response logging."""

    METADATA = "metadata"
    SUMMARY = "summary"
    FULL = "full"


# --- Discovery ------------------------------------------------------------------


class SyncAction(StrEnum):
    """Action to take when a new model is discovered during sync."""

    REGISTER = "register"
    NOTIFY = "notify"
    IGNORE = "ignore"


class DeprecationAction(StrEnum):
    """Action to take when a model is detected as deprecated."""

    DEACTIVATE = "deactivate"
    NOTIFY = "notify"
    IGNORE = "ignore"


# --- CDK ------------------------------------------------------------------------


class ConnectorType(StrEnum):
    """Identifies the category of a connector for registration and catalogue lookup."""

    PROVIDER = "provider"
    ROTATION = "rotation"
    SECRET_STORE = "secret_store"
    STORAGE = "storage"
    OBSERVABILITY = "observability"
    DISCOVERY = "discovery"


class ErrorCategory(StrEnum):
    """What kind of failure a provider error is; decides how the router reacts."""

    AUTHENTICATION = "authentication"
    MODEL_ACCESS = "model_access"
    RATE_LIMIT = "rate_limit"
    QUOTA_EXHAUSTED = "quota_exhausted"
    UNAVAILABLE = "unavailable"
    TIMEOUT = "timeout"
    CONTEXT_WINDOW = "context_window"
    BAD_REQUEST = "bad_request"
    PROTOCOL = "protocol"
    UNKNOWN = "unknown"


# --- Features: closed per-type sets a connector declares ------------------------


class ProviderFeature(StrEnum):
    """Optional abilities of a provider connector."""

    STREAMING = "streaming"
    TOOLS = "tools"
    JSON_MODE = "json_mode"
    JSON_SCHEMA = "json_schema"
    VISION = "vision"
    EMBEDDINGS = "embeddings"
    LIST_MODELS = "list_models"
    PRICING = "pricing"
    USAGE_IN_STREAM = "usage_in_stream"


class RotationFeature(StrEnum):
    """Optional abilities of a rotation policy."""

    SESSION_AFFINITY = "session_affinity"
    QUOTA_AWARE = "quota_aware"


class SecretStoreFeature(StrEnum):
    """Optional abilities of a secret store."""

    MANAGEMENT = "management"


class StorageFeature(StrEnum):
    """Optional abilities of a storage backend."""

    LOCKING = "locking"
    PERSISTENT = "persistent"
    SHARED = "shared"


class ObservabilityFeature(StrEnum):
    """Optional abilities of an observability connector."""

    #: Each event, log entry and trace reaches the target as a record it keeps (a line, a
    #: span, a request): the suite reads the records back (``collect_delivered``).
    RECORDS = "records"
    BUFFERED = "buffered"
    #: Counts and gauges instead of records: the suite reads the samples back
    #: (``collect_metrics``).
    METRICS = "metrics"
    #: Delivers nothing, by design: a placeholder that switches observability off. Such a sink
    #: declares nothing else, and is held to taking everything without raising or blocking.
    DISCARDS = "discards"


class DiscoveryFeature(StrEnum):
    """Optional abilities of a discovery connector."""

    SYNC = "sync"
    HEALTH = "health"


FEATURES_BY_TYPE: dict[ConnectorType, type[StrEnum]] = {
    ConnectorType.PROVIDER: ProviderFeature,
    ConnectorType.ROTATION: RotationFeature,
    ConnectorType.SECRET_STORE: SecretStoreFeature,
    ConnectorType.STORAGE: StorageFeature,
    ConnectorType.OBSERVABILITY: ObservabilityFeature,
    ConnectorType.DISCOVERY: DiscoveryFeature,
}
