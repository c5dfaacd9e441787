"""The base every connector shares: identity, configuration, features and lifecycle."""

from __future__ import annotations

import importlib.util
import re
import sys
from abc import ABC
from collections.abc import Mapping
from enum import Enum
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, get_args, get_origin

import attrs

from .clock import Clock, SystemClock
from .config import structure
from .enums import FEATURES_BY_TYPE, ConnectorType
from .errors import ConfigError, FeatureNotSupportedError

if sys.version_info >= (3, 13):
    from typing import TypeVar
else:  # a TypeVar default (PEP 696) needs the backport before 3.13
    from typing_extensions import TypeVar

__all__ = ["CONNECTOR_ID_PATTERN", "ConfigT", "Connector", "EmptyConfig", "parse_connector_id"]

#: The type of a connector's ``config``. A connector names its own (``Storage[MyConfig]``);
#: a bare ``Storage`` in an annotation means "any storage", whatever its configuration.
ConfigT = TypeVar("ConfigT", default=Any)

#: ``vendor.name.vN``: lowercase segments, hyphens allowed inside a segment.
CONNECTOR_ID_PATTERN = re.compile(
    r"^(?P<vendor>[a-z0-9]+(?:-[a-z0-9]+)*)\.(?P<name>[a-z0-9]+(?:-[a-z0-9]+)*)\.v(?P<version>[1-9][0-9]*)$"
)


def parse_connector_id(connector_id: str) -> tuple[str, str, int]:
    """Split ``vendor.name.vN`` into its parts, or raise ValueError saying what is wrong."""
    match = CONNECTOR_ID_PATTERN.fullmatch(connector_id) if isinstance(connector_id, str) else None
    if not match:
        raise ValueError(
            f"invalid connector id {connector_id!r}: expected 'vendor.name.vN' in lowercase "
            "(letters, digits, hyphens inside a segment), e.g. 'acme.llm.v1'"
        )
    return match.group("vendor"), match.group("name"), int(match.group("version"))


@attrs.frozen(kw_only=True)
class EmptyConfig:
    """The configuration of a connector that takes none."""


class Connector(ABC, Generic[ConfigT]):
    """Base class of every connector.

    A subclass sets the class attributes below and overrides ``_start``/``_aclose``
    when it holds resources. ``start``/``aclose`` take care of idempotence, so
    ``aclose()`` may be called any number of times. ``Connector[MyConfig]`` with
    ``Config = MyConfig`` types ``self.config`` as ``MyConfig``.
    """

    connector_id: ClassVar[str]
    connector_type: ClassVar[ConnectorType]
    interface_version: ClassVar[int] = 1
    features: ClassVar[frozenset[Enum]] = frozenset()
    Config: ClassVar[type] = EmptyConfig
    #: One line shown by ``meshkit connectors``.
    description: ClassVar[str] = ""
    #: Optional libraries the connector imports when it starts: module name → what to install.
    requires: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        config: Any = None,
        *,
        name: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.config: ConfigT = self.build_config(config)
        self.name = name or type(self).connector_id
        self.clock: Clock = clock or SystemClock()
        self._started = False
        self._closed = False

    # --- configuration ---------------------------------------------------------

    @classmethod
    def config_defaults(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        """``data`` with what this connector fills in before ``${secrets:...}`` are resolved.

        A connector that reads a well-known secret when none is configured (a preset's API
        key) adds its reference here, so whichever secret store the mesh uses supplies it.
        """
        return dict(data)

    @classmethod
    def build_config(cls, config: Any, *, path: str = "config") -> Any:
        """Turn a mapping (or an instance already built) into ``cls.Config``."""
        if isinstance(config, cls.Config):
            return config
        if config is not None and not isinstance(config, Mapping):
            raise ConfigError(
                f"{path}: expected a mapping, got {type(config).__name__}", source=cls.connector_id
            )
        return structure(dict(config or {}), cls.Config, path=path, source=cls.connector_id)

    @classmethod
    def missing_requirements(cls) -> list[str]:
        """What is missing for this connector to run, one line each (empty when nothing is)."""
        return [
            f"{cls.connector_id} needs the {module!r} library: pip install {install!r}"
            for module, install in sorted(cls.requires.items())
            if not module_available(module)
        ]

    # --- features --------------------------------------------------------------

    @classmethod
    def supports(cls, feature: Enum) -> bool:
        """True when the connector declares ``feature``."""
        return feature in cls.features

    def require(self, feature: Enum) -> None:
        """Raise FeatureNotSupportedError unless ``feature`` is declared."""
        if feature not in self.features:
            raise FeatureNotSupportedError(f"{self.connector_id} does not support {feature.value!r}")

    @classmethod
    def validate_class(cls) -> None:
        """Check the class attributes; raise TypeError naming what is wrong."""
        for attr in ("connector_id", "connector_type"):
            if not hasattr(cls, attr):
                raise TypeError(f"{cls.__qualname__} does not set {attr}")
        parse_connector_id(cls.connector_id)
        if not isinstance(cls.connector_type, ConnectorType):
            raise TypeError(
                f"{cls.connector_id}: connector_type must be a ConnectorType member "
                f"({', '.join(t.name for t in ConnectorType)}), got {cls.connector_type!r}"
            )
        allowed = FEATURES_BY_TYPE[cls.connector_type]
        wrong = [f for f in cls.features if not isinstance(f, allowed)]
        if wrong:
            raise TypeError(f"{cls.connector_id}: features {wrong!r} are not {allowed.__name__} members")
        if not attrs.has(cls.Config):
            raise TypeError(f"{cls.connector_id}: Config must be an attrs class")
        declared = cls.declared_config()
        if declared is not None and not issubclass(cls.Config, declared):
            raise TypeError(
                f"{cls.connector_id}: Config is {cls.Config.__qualname__}, but the class is declared "
                f"over {declared.__qualname__}; make them the same class"
            )

    @classmethod
    def declared_config(cls) -> type | None:
        """The configuration class named by the nearest ``Base[SomeConfig]`` among the bases."""
        for klass in cls.__mro__:
            for base in getattr(klass, "__orig_bases__", ()):
                origin, args = get_origin(base), get_args(base)
                connector_base = isinstance(origin, type) and issubclass(origin, Connector)
                if connector_base and args and isinstance(args[0], type):
                    return args[0]
        return None

    # --- lifecycle -------------------------------------------------------------

    @property
    def started(self) -> bool:
        """True between a successful ``start()`` and ``aclose()``."""
        return self._started and not self._closed

    @property
    def closed(self) -> bool:
        """True once ``aclose()`` has been called."""
        return self._closed

    async def start(self) -> None:
        """Acquire resources. Calling it again while started does nothing."""
        if self._closed:
            raise RuntimeError(f"{self.connector_id} ({self.name}) is closed; make a new one")
        if self._started:
            return
        await self._start()
        self._started = True

    async def aclose(self) -> None:
        """Release resources. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._started:
            await self._aclose()

    async def _start(self) -> None:
        """Override to acquire resources."""

    async def _aclose(self) -> None:
        """Override to release resources."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.connector_id} name={self.name!r}>"


def module_available(module: str) -> bool:
    """Whether ``module`` can be imported; found without importing it, so checking is cheap."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
