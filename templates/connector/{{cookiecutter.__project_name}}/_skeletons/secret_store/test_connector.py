"""Tests of what is particular to this connector; the conformance suite covers the contract."""

from __future__ import annotations

import pytest
from meshkit import ConfigError, SecretNotFoundError

from {{ cookiecutter.__package_name }} import {{ cookiecutter.__class_name }}


@pytest.mark.anyio
async def test_a_configured_secret_is_returned_and_stays_hidden() -> None:
    async with {{ cookiecutter.__class_name }}({"secrets": {"API_KEY": "sk-123456"}}) as store:
        secret = await store.get("API_KEY")
        assert secret.reveal() == "sk-123456"
        assert "sk-123456" not in repr(secret) + repr(store.config)


@pytest.mark.anyio
async def test_a_missing_secret_names_itself() -> None:
    async with {{ cookiecutter.__class_name }}({"secrets": {}}) as store:
        with pytest.raises(SecretNotFoundError, match="NOPE"):
            await store.get("NOPE")


def test_an_empty_secret_name_in_config_is_reported_by_path() -> None:
    with pytest.raises(ConfigError, match=r"config\.secrets"):
        {{ cookiecutter.__class_name }}({"secrets": {"": "x"}})
