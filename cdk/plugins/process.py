"""The process-wide registry: the installed entry points scanned once, under the environment's switches.

``MESHKIT_STRICT_PLUGINS=1`` turns the first failure into an exception; ``MESHKIT_PLUGINS=a,b``
loads only those third-party plugins (the built-ins always load).
"""

from __future__ import annotations

import os
import threading
from importlib import metadata

from .entry_points import ENTRY_POINT_GROUP
from .registry import ConnectorRegistry

__all__ = ["discover", "get_registry", "reset_registry"]

_lock = threading.Lock()
_registry: ConnectorRegistry | None = None


def _env_plugins() -> set[str] | None:
    raw = os.environ.get("MESHKIT_PLUGINS", "").strip()
    if not raw:
        return None
    return {p.strip() for p in raw.split(",") if p.strip()}


def discover() -> ConnectorRegistry:
    """Scan the ``meshkit`` entry points once and build a registry from them."""
    strict = os.environ.get("MESHKIT_STRICT_PLUGINS", "").strip().lower() in {"1", "true", "yes", "on"}
    registry = ConnectorRegistry(strict=strict)
    registry.load_entry_points(metadata.entry_points(group=ENTRY_POINT_GROUP), only=_env_plugins())
    return registry


def get_registry() -> ConnectorRegistry:
    """The process-wide registry, discovered on first use."""
    global _registry
    if _registry is None:
        with _lock:
            if _registry is None:
                _registry = discover()
    return _registry


def reset_registry() -> None:
    """Forget the process-wide registry, so the next use discovers again (tests)."""
    global _registry
    with _lock:
        _registry = None
