"""The built-in plugin: the entry point ``meshkit = "meshkit.connectors._plugin"``.

Each connector subpackage lists its classes in ``CONNECTORS`` and may define
``conformance_spec(connector_id)`` to tell the conformance suite how to build a test
instance. Modules that need an optional library import it lazily, so listing stays cheap.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from meshkit import hookimpl


def _subpackages() -> list[ModuleType]:
    from . import discovery, observability, providers, rotation, secret_stores, storage

    return [providers, rotation, secret_stores, storage, observability, discovery]


@hookimpl
def meshkit_connectors() -> list[type[Any]]:
    """Every built-in connector class, subpackage by subpackage."""
    return [cls for module in _subpackages() for cls in module.CONNECTORS]


@hookimpl
def meshkit_conformance(connector_id: str) -> Any:
    """The first subpackage's conformance spec for ``connector_id``, or None."""
    for module in _subpackages():
        spec_for = getattr(module, "conformance_spec", None)
        if spec_for is not None:
            spec = spec_for(connector_id)
            if spec is not None:
                return spec
    return None
