"""How the conformance suite builds the static catalogue.

It states the suite's providers' models as they describe them (with their context window);
alpha's come from a models file, which the suite rewrites to change alpha's listing.
Imported only when ``pytest --connector=...`` asks.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import yaml

from meshkit.testing import DISCOVERY_CONTEXT_WINDOW, DISCOVERY_SCENARIO, ConformanceSpec

from .static import StaticDiscovery


def static_spec() -> ConformanceSpec:
    """The spec of ``meshkit.static.v1``."""
    return ConformanceSpec(
        config={"models": _stated(DISCOVERY_SCENARIO)},
        setup=_models_file,
        change_listing=_change_listing,
    )


def _stated(listing: Mapping[str, Sequence[str]]) -> dict[str, list[dict[str, Any]]]:
    window = DISCOVERY_CONTEXT_WINDOW
    return {p: [{"name": m, "context_window": window} for m in models] for p, models in listing.items()}


@asynccontextmanager
async def _models_file() -> AsyncIterator[Mapping[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="meshkit-static-") as folder:
        path = anyio.Path(Path(folder) / "models.yaml")
        await path.write_text(yaml.safe_dump(_stated({"alpha": DISCOVERY_SCENARIO["alpha"]})))
        yield {"models_file": str(path)}


async def _change_listing(connector: StaticDiscovery, provider_id: str, models: Sequence[str]) -> None:
    assert connector.config.models_file is not None
    path = anyio.Path(connector.config.models_file)
    listing = yaml.safe_load(await path.read_text()) or {}
    listing.update(_stated({provider_id: models}))
    await path.write_text(yaml.safe_dump(listing))
