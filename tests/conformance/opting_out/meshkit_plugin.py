"""The meshkit plugin offering the opting-out connectors."""

from __future__ import annotations

from typing import Any

from meshkit.hookspecs import hookimpl

from . import CONNECTORS, spec_for


@hookimpl
def meshkit_connectors() -> list[type[Any]]:
    return list(CONNECTORS)


@hookimpl
def meshkit_conformance(connector_id: str) -> Any:
    return spec_for(connector_id)
