"""The hooks a meshkit plugin may implement.

A plugin is a module named by an entry point in the ``meshkit`` group::

    [project.entry-points.meshkit]
    acme = "acme_meshkit.plugin"

and implements one or more of these hooks with ``@meshkit.hookimpl``.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("meshkit")
hookimpl = pluggy.HookimplMarker("meshkit")

__all__ = ["hookimpl", "hookspec"]


@hookspec
def meshkit_connectors() -> list[type[Any]]:
    """Return the connector classes this plugin provides.

    Called once per process, when meshkit first discovers its plugins. Each class
    must subclass the base of its ``connector_type`` (``Provider``, ``Storage``, …),
    carry a valid ``connector_id`` and implement the interface version this meshkit
    provides; a class that does not is reported by ``meshkit doctor`` and skipped.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def meshkit_conformance(connector_id: str) -> Any:
    """Return how the conformance suite builds a test instance of ``connector_id``.

    Called by ``pytest --connector=...`` for each connector under test. Return a
    ``meshkit.testing.ConformanceSpec`` for connectors this plugin owns and ``None``
    for the others; the first non-None answer wins. Without one, the suite builds
    the connector with its default configuration.
    """
    raise NotImplementedError
