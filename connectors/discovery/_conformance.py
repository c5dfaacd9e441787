"""How the conformance suite builds the static catalogue.

It states the suite's providers' models as they describe them (with their context window);
alpha's come from a models file, which the suite rewrites to change alpha's listing.
Imported only when ``pytest --connector=...`` asks.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import yaml

from meshkit.testing import DISCOVERY_CONTEXT_WINDOW, DISCOVERY_SCENARIO, ConformanceSpec, Options

from .static import StaticDiscovery


def static_spec() -> ConformanceSpec:
    """The spec of ``meshkit.static.v1``."""
    return ConformanceSpec(
        config={"models": _stated(DISCOVERY_SCENARIO)},
        setup=_models_file,
        change_listing=_change_listing,
        break_listing=(_file_removed, _file_not_yaml, _file_not_a_mapping, _file_model_without_a_name),
        options=_OPTIONS,
    )


def _models(**stated: Any) -> dict[str, Any]:
    return {"models": {"alpha": [{"name": "a1", **stated}]}}


#: What the static catalogue's options take, refuse and default to.
_OPTIONS = Options(
    accepted=(
        {"timeout": "1ms"},
        {"models": {"alpha": ["a1", "a2"]}},  # a bare name stands for {name: ...}
        _models(context_window=1, max_output_tokens=1),
    ),
    refused=(
        {"timeout": "0s"},
        {"timeout": timedelta(seconds=-1)},  # past the parser, which refuses "-1s" itself
        _models(context_window=0),
        _models(context_window=-1),
        _models(max_output_tokens=0),
        _models(max_output_tokens=-1),
        {"models": {"alpha": [{"name": ""}]}},
    ),
    defaults={"timeout": timedelta(seconds=10), "models_file": None},
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


def _models_file_of(connector: StaticDiscovery) -> anyio.Path:
    assert connector.config.models_file is not None
    return anyio.Path(connector.config.models_file)


async def _file_removed(connector: StaticDiscovery) -> None:
    """The models file removed"""
    await _models_file_of(connector).unlink()


async def _file_not_yaml(connector: StaticDiscovery) -> None:
    """The models file cut short in the middle of a list (not YAML)"""
    await _models_file_of(connector).write_text("alpha: [a1, a2\n")


async def _file_not_a_mapping(connector: StaticDiscovery) -> None:
    """The models file holding a list, not a mapping of providers"""
    await _models_file_of(connector).write_text(yaml.safe_dump(["a1", "a2"]))


async def _file_model_without_a_name(connector: StaticDiscovery) -> None:
    """The models file stating a model without its name"""
    await _models_file_of(connector).write_text(yaml.safe_dump({"alpha": [{"context_window": 8192}]}))
