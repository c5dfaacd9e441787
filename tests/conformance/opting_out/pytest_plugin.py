"""``-p opting_out.pytest_plugin``: offer the opting-out connectors to meshkit before the suite looks."""

from __future__ import annotations

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    from meshkit.plugins import get_registry

    from . import meshkit_plugin

    registry = get_registry()
    if not any(p.name == "opting-out-connectors" for p in registry.plugins):
        registry.register_plugin(
            meshkit_plugin, "opting-out-connectors", distribution="opting-out", version="0"
        )
