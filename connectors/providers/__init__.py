"""Built-in providers."""

from .anthropic import AnthropicProvider
from .mock import MockProvider
from .openai_compatible import OpenAICompatibleProvider

__all__ = ["AnthropicProvider", "MockProvider", "OpenAICompatibleProvider"]

CONNECTORS = [MockProvider, OpenAICompatibleProvider, AnthropicProvider]
