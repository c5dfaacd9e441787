"""meshkit: an asyncio connector development kit for AI-model routing, and its router."""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from .clock import Clock, SystemClock
from .connector import Connector, EmptyConfig
from .enums import (
    AuthMethod,
    ConnectorType,
    DeactivationReason,
    DeprecationAction,
    DiscoveryFeature,
    ErrorCategory,
    EventType,
    LogLevel,
    ModelStatus,
    ObservabilityFeature,
    ProviderFeature,
    RecoveryTrigger,
    RotationFeature,
    SecretStoreFeature,
    SerializationFormat,
    Severity,
    StorageFeature,
    SyncAction,
    SyncPolicy,
)
from .errors import (
    AllModelsExhaustedError,
    AmbiguousConnectorError,
    Attempt,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ConnectorError,
    ConnectorNotFoundError,
    ContextWindowExceededError,
    DeadlineExceeded,
    FeatureNotSupportedError,
    LockNotHeldError,
    LockTimeoutError,
    MeshkitError,
    ModelAccessError,
    NoCapableModelError,
    NoModelAvailableError,
    NotTried,
    PluginLoadError,
    ProviderError,
    ProviderProtocolError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    RateLimitError,
    RoutingError,
    ScaffoldError,
    SecretError,
    SecretNotFoundError,
    StateFormatError,
    StorageCorruptError,
    StorageError,
    UnknownTargetError,
)
from .events import EventEmitter, RoutingEvent
from .hookspecs import hookimpl
from .interfaces import (
    Discovery,
    HTTPProvider,
    Observability,
    Provider,
    RotationPolicy,
    SecretStore,
    Storage,
)
from .plugins import ConnectorRegistry, get_registry
from .types import (
    ChatMessage,
    Choice,
    ChunkChoice,
    CompletionChunk,
    CompletionRequest,
    CompletionResponse,
    Delta,
    Embedding,
    EmbeddingRequest,
    EmbeddingResponse,
    EntryMetadata,
    FunctionCall,
    FunctionCallDelta,
    HealthReport,
    Lock,
    ModelChange,
    ModelInfo,
    ModelPricing,
    ModelSnapshot,
    ProbeResult,
    RequestLogEntry,
    Secret,
    SyncResult,
    TokenUsage,
    ToolCall,
    ToolCallDelta,
    TraceEntry,
)

if TYPE_CHECKING:
    from .runtime.mesh import Mesh, Selection
    from .runtime.sync_mesh import SyncMesh
    from .testing.fake_clock import FakeClock

try:  # one source of truth: the version pyproject.toml gave the installed distribution
    __version__ = version("meshkit")
except PackageNotFoundError:  # a checkout put on sys.path by hand, never installed
    __version__ = "0+unknown"

__all__ = [
    "AllModelsExhaustedError",
    "AmbiguousConnectorError",
    "Attempt",
    "AuthMethod",
    "AuthenticationError",
    "BadRequestError",
    "ChatMessage",
    "Choice",
    "ChunkChoice",
    "Clock",
    "CompletionChunk",
    "CompletionRequest",
    "CompletionResponse",
    "ConfigError",
    "Connector",
    "ConnectorError",
    "ConnectorNotFoundError",
    "ConnectorRegistry",
    "ConnectorType",
    "ContextWindowExceededError",
    "DeactivationReason",
    "DeadlineExceeded",
    "Delta",
    "DeprecationAction",
    "Discovery",
    "DiscoveryFeature",
    "Embedding",
    "EmbeddingRequest",
    "EmbeddingResponse",
    "EmptyConfig",
    "EntryMetadata",
    "ErrorCategory",
    "EventEmitter",
    "EventType",
    "FakeClock",
    "FeatureNotSupportedError",
    "FunctionCall",
    "FunctionCallDelta",
    "HTTPProvider",
    "HealthReport",
    "Lock",
    "LockNotHeldError",
    "LockTimeoutError",
    "LogLevel",
    "Mesh",
    "MeshkitError",
    "ModelAccessError",
    "ModelChange",
    "ModelInfo",
    "ModelPricing",
    "ModelSnapshot",
    "ModelStatus",
    "NoCapableModelError",
    "NoModelAvailableError",
    "NotTried",
    "Observability",
    "ObservabilityFeature",
    "PluginLoadError",
    "ProbeResult",
    "Provider",
    "ProviderError",
    "ProviderFeature",
    "ProviderProtocolError",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "QuotaExhaustedError",
    "RateLimitError",
    "RecoveryTrigger",
    "RequestLogEntry",
    "RotationFeature",
    "RotationPolicy",
    "RoutingError",
    "RoutingEvent",
    "ScaffoldError",
    "Secret",
    "SecretError",
    "SecretNotFoundError",
    "SecretStore",
    "SecretStoreFeature",
    "Selection",
    "SerializationFormat",
    "Severity",
    "StateFormatError",
    "Storage",
    "StorageCorruptError",
    "StorageError",
    "StorageFeature",
    "SyncAction",
    "SyncMesh",
    "SyncPolicy",
    "SyncResult",
    "SystemClock",
    "TokenUsage",
    "ToolCall",
    "ToolCallDelta",
    "TraceEntry",
    "UnknownTargetError",
    "get_registry",
    "hookimpl",
]

#: Imported on first use: listing connectors or loading a plugin need not pay for the router,
#: and an application need not load the testing kit.
_LAZY = {
    "Mesh": ".runtime.mesh",
    "Selection": ".runtime.mesh",
    "SyncMesh": ".runtime.sync_mesh",
    "FakeClock": ".testing.fake_clock",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'meshkit' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value
