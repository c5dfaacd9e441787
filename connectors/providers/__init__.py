"""Built-in providers."""

from __future__ import annotations

from typing import Any

from .anthropic import AnthropicProvider
from .mock import MockProvider
from .openai_compatible import OpenAICompatibleProvider

__all__ = ["AnthropicProvider", "MockProvider", "OpenAICompatibleProvider", "conformance_spec"]

CONNECTORS = [MockProvider, OpenAICompatibleProvider, AnthropicProvider]


def conformance_spec(connector_id: str) -> Any:
    """How the conformance suite builds and feeds the built-in providers."""
    if connector_id == OpenAICompatibleProvider.connector_id:
        from ._conformance import openai_compatible_spec

        return openai_compatible_spec()
    if connector_id == AnthropicProvider.connector_id:
        from ._conformance import anthropic_spec

        return anthropic_spec()
    if connector_id == MockProvider.connector_id:
        from ._conformance import mock_spec

        return mock_spec()
    return None
