"""One abstract base per connector type, with the helpers a subclass reuses."""

from .buffered import BufferedConfig, BufferedObservability
from .discovery import Discovery, DiscoveryContext, StaticContext, diff_catalogue
from .observability import Observability, ObservabilityConfig
from .provider import HTTPProvider, HTTPProviderConfig, Provider, error_for_status, parse_retry_after
from .rotation import RotationPolicy, ThresholdConfig
from .secret_store import SecretStore
from .storage import Storage, validate_key

__all__ = [
    "BASE_BY_TYPE",
    "BufferedConfig",
    "BufferedObservability",
    "Discovery",
    "DiscoveryContext",
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
    "diff_catalogue",
    "error_for_status",
    "parse_retry_after",
    "validate_key",
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
