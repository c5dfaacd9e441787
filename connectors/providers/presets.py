"""Known OpenAI-compatible services: where they live and whether they need a key."""

from __future__ import annotations

from typing import Literal

import attrs

__all__ = ["PRESETS", "Preset", "PresetName"]

PresetName = Literal[
    "openai", "groq", "together", "deepseek", "mistral", "openrouter", "xai", "ollama", "lmstudio", "vllm"
]


@attrs.frozen(kw_only=True)
class Preset:
    """One service: its base URL, whether it needs a key, and the secret name we suggest for it."""

    name: str
    base_url: str
    key_required: bool
    key_name: str | None = None


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="openai", base_url="https://api.openai.com/v1", key_required=True, key_name="OPENAI_API_KEY"
        ),
        Preset(
            name="groq", base_url="https://api.groq.com/openai/v1", key_required=True, key_name="GROQ_API_KEY"
        ),
        Preset(
            name="together",
            base_url="https://api.together.xyz/v1",
            key_required=True,
            key_name="TOGETHER_API_KEY",
        ),
        Preset(
            name="deepseek",
            base_url="https://api.deepseek.com/v1",
            key_required=True,
            key_name="DEEPSEEK_API_KEY",
        ),
        Preset(
            name="mistral",
            base_url="https://api.mistral.ai/v1",
            key_required=True,
            key_name="MISTRAL_API_KEY",
        ),
        Preset(
            name="openrouter",
            base_url="https://openrouter.ai/api/v1",
            key_required=True,
            key_name="OPENROUTER_API_KEY",
        ),
        Preset(name="xai", base_url="https://api.x.ai/v1", key_required=True, key_name="XAI_API_KEY"),
        # Local servers: no key unless the user configured one.
        Preset(name="ollama", base_url="http://127.0.0.1:11434/v1", key_required=False),
        Preset(name="lmstudio", base_url="http://127.0.0.1:1234/v1", key_required=False),
        Preset(name="vllm", base_url="http://127.0.0.1:8000/v1", key_required=False),
    )
}
