"""The HTTP providers pass the conformance suite, fed by the specs the built-in plugin gives."""

from __future__ import annotations

from meshkit.connectors.providers import AnthropicProvider, OpenAICompatibleProvider, conformance_spec
from meshkit.testing import ConformanceSpec
from meshkit.testing.provider_suite import ProviderSuite


class TestOpenAICompatibleConformance(ProviderSuite):
    connector_class = OpenAICompatibleProvider
    spec = conformance_spec(OpenAICompatibleProvider.connector_id)


class TestAnthropicConformance(ProviderSuite):
    connector_class = AnthropicProvider
    spec = conformance_spec(AnthropicProvider.connector_id)


def test_the_plugin_gives_specs_with_http_payloads_for_both() -> None:
    for provider in (OpenAICompatibleProvider, AnthropicProvider):
        spec = conformance_spec(provider.connector_id)
        assert isinstance(spec, ConformanceSpec) and spec.http is not None and spec.model
    mock = conformance_spec("meshkit.mock.v1")
    assert isinstance(mock, ConformanceSpec) and mock.http is None and mock.model
