"""Tests of what is particular to this connector; the conformance suite covers the contract."""

from __future__ import annotations

import pytest
from meshkit import ConfigError, ModelInfo
from meshkit.interfaces import StaticContext

from {{ cookiecutter.__package_name }} import {{ cookiecutter.__class_name }}


@pytest.mark.anyio
async def test_a_model_marked_deprecated_in_the_catalogue_is_reported() -> None:
    config = {"models": {"local": {"old": {"deprecated": True}, "new": {}}}}
    discovery = {{ cookiecutter.__class_name }}(config)
    known = {"local.old": ModelInfo(id="local.old", provider_id="local")}
    discovery.attach(StaticContext(models=known))
    async with discovery:
        result = await discovery.sync()
    assert [m.id for m in result.deprecated_models] == ["local.old"]
    assert [m.id for m in result.new_models] == ["local.new"]


@pytest.mark.anyio
async def test_an_unknown_provider_is_an_error_in_the_result() -> None:
    async with {{ cookiecutter.__class_name }}() as discovery:
        result = await discovery.sync(["nowhere"])
        probe = await discovery.probe("nowhere")
    assert "nowhere" in result.errors
    assert not probe.ok and "nowhere" in (probe.error or "")


def test_a_misspelt_catalogue_field_is_reported_by_path() -> None:
    with pytest.raises(ConfigError, match="context_windw"):
        {{ cookiecutter.__class_name }}({"models": {"local": {"m": {"context_windw": 8}}}})
