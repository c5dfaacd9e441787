"""What a connector author builds on: one abstract base per connector type, and its helpers.

Applications import from ``meshkit``; connectors (the built-in ones, and those ``meshkit new``
generates) import from ``meshkit`` (the shared vocabulary: enums, data types, errors, the
clock) and from here (the bases and what a subclass reuses). The modules behind both are
private: their layout may change between releases.
"""

from ..config import check, format_duration, parse_duration
from ..connector import ConfigT, Connector, EmptyConfig
from ..trusted import copier as trusted_copier
from ..trusted import maker as trusted_maker
from .buffered import BufferedConfig, BufferedObservability
from .discovery import Discovery, DiscoveryContext, StaticContext, diff_catalogue
from .http_config import HTTPProviderConfig
from .http_errors import (
    error_for_status,
    error_from_envelope,
    model_not_found,
    parse_retry_after,
    retry_after_of,
    status_text,
)
from .http_provider import HTTPProvider
from .json_wire import json_body, json_bytes
from .observability import Observability, ObservabilityConfig
from .provider import Provider
from .redaction import (
    REDACTED,
    event_record,
    is_secret_key,
    log_record,
    redact,
    redact_entry,
    redact_text,
    report_record,
    trace_record,
)
from .rotation import TIMED_REASONS, RotationPolicy, ThresholdConfig
from .secret_store import SecretStore
from .storage import MAX_KEY_LENGTH, Storage, as_seconds, validate_key, validate_prefix, validate_value

__all__ = [
    "BASE_BY_TYPE",
    "MAX_KEY_LENGTH",
    "REDACTED",
    "TIMED_REASONS",
    "BufferedConfig",
    "BufferedObservability",
    "ConfigT",
    "Connector",
    "Discovery",
    "DiscoveryContext",
    "EmptyConfig",
    "HTTPProvider",
    "HTTPProviderConfig",
    "Observability",
    "ObservabilityConfig",
    "Provider",
    "RotationPolicy",
    "SecretStore",
    "StaticContext",
    "Storage",
    "ThresholdConfig",
    "as_seconds",
    "check",
    "diff_catalogue",
    "error_for_status",
    "error_from_envelope",
    "event_record",
    "format_duration",
    "is_secret_key",
    "json_body",
    "json_bytes",
    "log_record",
    "model_not_found",
    "parse_duration",
    "parse_retry_after",
    "redact",
    "redact_entry",
    "redact_text",
    "report_record",
    "retry_after_of",
    "status_text",
    "trace_record",
    "trusted_copier",
    "trusted_maker",
    "validate_key",
    "validate_prefix",
    "validate_value",
]

from ..enums import ConnectorType

#: The base class a connector of each type must subclass.
BASE_BY_TYPE: dict[ConnectorType, type] = {
    ConnectorType.PROVIDER: Provider,
    ConnectorType.ROTATION: RotationPolicy,
    ConnectorType.SECRET_STORE: SecretStore,
    ConnectorType.STORAGE: Storage,
    ConnectorType.OBSERVABILITY: Observability,
    ConnectorType.DISCOVERY: Discovery,
}
