"""Presets of the OpenAI-compatible provider: URLs, keys, and the errors for a missing key."""

from __future__ import annotations

import pytest

from meshkit.connectors.providers import OpenAICompatibleProvider
from meshkit.connectors.providers.presets import PRESETS
from meshkit.errors import ConfigError
from meshkit.plugins import get_registry
from meshkit.types import Secret

HOSTED = [name for name, p in PRESETS.items() if p.key_required]
LOCAL = [name for name, p in PRESETS.items() if not p.key_required]


def test_every_documented_preset_exists() -> None:
    assert set(PRESETS) == {
        "openai", "groq", "together", "deepseek", "mistral", "openrouter", "xai", "ollama", "lmstudio", "vllm"
    }  # fmt: skip
    assert set(LOCAL) == {"ollama", "lmstudio", "vllm"}


@pytest.mark.parametrize("name", HOSTED)
def test_hosted_preset_fills_the_url_when_a_key_is_given(name: str) -> None:
    p = OpenAICompatibleProvider({"preset": name, "api_key": "k"})
    assert p.config.base_url == PRESETS[name].base_url
    assert p.config.base_url.startswith("https://")
    assert p.config.api_key == Secret("k")


@pytest.mark.parametrize("name", HOSTED)
def test_hosted_preset_without_a_key_names_the_key_to_set(name: str) -> None:
    with pytest.raises(ConfigError) as info:
        OpenAICompatibleProvider({"preset": name})
    message = str(info.value)
    assert "config.api_key" in message
    assert PRESETS[name].key_name is not None and PRESETS[name].key_name in message
    assert repr(name) in message


@pytest.mark.parametrize("name", LOCAL)
def test_local_preset_needs_no_key(name: str) -> None:
    p = OpenAICompatibleProvider({"preset": name})
    assert p.config.api_key is None
    assert p.config.base_url.startswith("http://127.0.0.1:")
    assert "Authorization" not in p.default_headers()


def test_explicit_base_url_wins_over_the_preset() -> None:
    p = OpenAICompatibleProvider({"preset": "ollama", "base_url": "http://gpu-box:11434/v1"})
    assert p.config.base_url == "http://gpu-box:11434/v1"


def test_no_preset_and_no_url_means_a_local_server() -> None:
    assert OpenAICompatibleProvider({}).config.base_url == "http://127.0.0.1:8000/v1"


def test_unknown_preset_lists_the_choices() -> None:
    with pytest.raises(ConfigError) as info:
        OpenAICompatibleProvider({"preset": "opnai", "api_key": "k"})
    message = str(info.value)
    assert "config.preset" in message and "'openai'" in message and "'vllm'" in message


def test_base_url_without_a_scheme_is_reported_by_path() -> None:
    with pytest.raises(ConfigError, match=r"config\.base_url: expected an http:// or https:// URL"):
        OpenAICompatibleProvider({"base_url": "localhost:8000/v1"})


def test_a_built_config_keeps_its_url_when_reused() -> None:
    first = OpenAICompatibleProvider({"preset": "groq", "api_key": "k"})
    again = OpenAICompatibleProvider(first.config)
    assert again.config.base_url == PRESETS["groq"].base_url


def test_providers_are_registered_under_their_short_names(fresh_registry: object) -> None:
    registry = get_registry()
    assert registry.entry("openai-compatible").cls is OpenAICompatibleProvider
    assert registry.entry("anthropic").connector_id == "meshkit.anthropic.v1"
