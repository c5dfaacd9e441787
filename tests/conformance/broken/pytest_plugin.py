"""``-p broken.pytest_plugin``: offer the broken connectors to meshkit before the suite looks."""

from __future__ import annotations

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    from meshkit.plugins import get_registry

    from . import meshkit_plugin

    registry = get_registry()
    if not any(p.name == "broken-connectors" for p in registry.plugins):
        registry.register_plugin(
            meshkit_plugin, "broken-connectors", distribution="broken-connectors", version="0"
        )
