"""JSON mode (``json_mode``): ``response_format`` reaches the wire, and the answer is JSON."""

from __future__ import annotations

import json

import pytest

from ...enums import ProviderFeature
from ..target import ConformanceTarget
from .harness import ProviderHarness


class JsonModeTests(ProviderHarness):
    """Asked for a JSON object, the provider asks the upstream for one and hands it back intact."""

    @pytest.mark.meshkit_http
    @pytest.mark.meshkit_feature(ProviderFeature.JSON_MODE)
    @pytest.mark.anyio
    async def test_json_mode_reaches_the_wire_and_comes_back(
        self, conformance_target: ConformanceTarget
    ) -> None:
        with self.feature(conformance_target, ProviderFeature.JSON_MODE):
            request = self.request(
                conformance_target, response_format={"type": "json_object"}, max_tokens=None
            )
            async with self.loopback(conformance_target) as (provider, server):
                response = await provider.complete(request)
                sent = self.sent_chat(conformance_target, server)
            assert sent.response_format == {"type": "json_object"}, (
                "response_format={'type': 'json_object'} was asked; "
                f"the wire carried {sent.response_format!r}"
            )
            try:
                answer = json.loads(response.text)
            except ValueError:
                pytest.fail(f"in JSON mode the answer must be JSON, got {response.text!r}", pytrace=False)
            assert answer == {
                "model": self.model(conformance_target),
                "reply": f"Hello from {self.model(conformance_target)}.",
            }, f"the upstream answered a JSON object the answer does not carry intact: {answer!r}"
