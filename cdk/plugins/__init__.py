"""Plugin discovery with isolation, and the registry of connector classes.

Every plugin, meshkit's own built-ins included, is found through the ``meshkit``
entry-point group (:mod:`.entry_points`). Each is imported in isolation (:mod:`.isolation`),
its classes checked (:mod:`.checks`) and registered (:mod:`.registry`); what loaded and what
failed is recorded (:mod:`.records`). :func:`get_registry` scans once per process
(:mod:`.process`).
"""

from __future__ import annotations

from .entry_points import BUILTIN_MODULE, BUILTIN_PLUGIN, ENTRY_POINT_GROUP
from .isolation import SLOW_IMPORT_SECONDS, slow_import_seconds
from .process import discover, get_registry, reset_registry
from .records import ConnectorEntry, PluginFailure, PluginInfo
from .registry import ConnectorRegistry

__all__ = [
    "BUILTIN_MODULE",
    "BUILTIN_PLUGIN",
    "ENTRY_POINT_GROUP",
    "SLOW_IMPORT_SECONDS",
    "ConnectorEntry",
    "ConnectorRegistry",
    "PluginFailure",
    "PluginInfo",
    "discover",
    "get_registry",
    "reset_registry",
    "slow_import_seconds",
]
