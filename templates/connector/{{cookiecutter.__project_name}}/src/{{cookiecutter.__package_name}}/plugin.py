"""The meshkit plugin: named by the ``meshkit`` entry point in pyproject.toml.

meshkit calls these hooks once per process. Keep this module cheap to import:
anything heavy belongs inside the connector, imported when it is built.
"""

from __future__ import annotations

from typing import Any

from meshkit import hookimpl

from .connector import {{ cookiecutter.__class_name }}


@hookimpl
def meshkit_connectors() -> list[type[Any]]:
    """The connector classes this package provides."""
    return [{{ cookiecutter.__class_name }}]


@hookimpl
def meshkit_conformance(connector_id: str) -> Any:
    """How the conformance suite builds and feeds a test instance (None for others' connectors)."""
    if connector_id != {{ cookiecutter.__class_name }}.connector_id:
        return None
    # Imported here: meshkit.testing is only needed while the suite runs.
    from .conformance import conformance_spec

    return conformance_spec()
