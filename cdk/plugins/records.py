"""What loading plugins leaves behind: the plugins that loaded, the failures, the connector entries."""

from __future__ import annotations

from typing import Any

import attrs

from ..connector import Connector
from ..enums import ConnectorType

__all__ = ["ConnectorEntry", "PluginFailure", "PluginInfo"]


@attrs.frozen
class PluginInfo:
    """A plugin that loaded."""

    name: str
    distribution: str | None
    version: str | None
    #: How long importing the plugin's module took (0 for a plugin registered in process).
    import_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """This record as plain JSON-ready values, as ``meshkit doctor --json`` prints it."""
        return attrs.asdict(self)


@attrs.frozen
class PluginFailure:
    """A plugin, or one connector of it, that could not be loaded."""

    plugin: str
    distribution: str | None
    version: str | None
    error: str
    hint: str
    connector: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """This record as plain JSON-ready values, as ``meshkit doctor --json`` prints it."""
        return attrs.asdict(self)


@attrs.frozen
class ConnectorEntry:
    """A connector class and the plugin it came from."""

    cls: type[Connector]
    plugin: str
    distribution: str | None
    version: str | None

    @property
    def connector_id(self) -> str:
        """The class's ``vendor.name.vN`` id."""
        return self.cls.connector_id

    @property
    def connector_type(self) -> ConnectorType:
        """The class's connector type."""
        return self.cls.connector_type

    def to_dict(self) -> dict[str, Any]:
        """The entry as plain JSON-ready values, as ``meshkit connectors --json`` prints it."""
        return {
            "id": self.cls.connector_id,
            "type": self.cls.connector_type.value,
            "interface_version": self.cls.interface_version,
            "features": sorted(f.value for f in self.cls.features),
            "description": self.cls.description,
            "plugin": self.plugin,
            "distribution": self.distribution,
            "version": self.version,
        }
