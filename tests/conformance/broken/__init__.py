"""Deliberately broken connectors: each ``defect.*`` connector has one realistic defect.

``EXPECTED_FAILURES`` names, for each, the conformance test that must catch it. The
``reference.*`` connectors are the correct versions the defects start from; they must
pass. ``meshkit_plugin`` offers them all to meshkit; ``pytest_plugin`` registers that
plugin when pytest starts (``-p broken.pytest_plugin``).
"""

from __future__ import annotations

from typing import Any

from . import discovery, metrics, observability, plain_http, providers, rotation, secret_stores, storage

_MODULES = [providers, plain_http, rotation, storage, secret_stores, observability, metrics, discovery]

CONNECTORS: list[type[Any]] = [cls for module in _MODULES for cls in module.CONNECTORS]
EXPECTED_FAILURES: dict[str, str] = {k: v for module in _MODULES for k, v in module.EXPECTED.items()}
REFERENCES: list[str] = [cls.connector_id for cls in CONNECTORS if cls.connector_id.startswith("reference.")]
