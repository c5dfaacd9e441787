"""The built-in plugin: the entry point ``meshkit = "meshkit.connectors._plugin"``.

Each connector subpackage lists its classes in ``CONNECTORS``; modules that need an
optional library import it lazily, so listing them stays cheap.
"""

from __future__ import annotations

from typing import Any

from meshkit.hookspecs import hookimpl


@hookimpl
def meshkit_connectors() -> list[type[Any]]:
    from . import discovery, observability, providers, rotation, secret_stores, storage

    return [
        *providers.CONNECTORS,
        *rotation.CONNECTORS,
        *secret_stores.CONNECTORS,
        *storage.CONNECTORS,
        *observability.CONNECTORS,
        *discovery.CONNECTORS,
    ]
