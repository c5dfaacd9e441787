"""Honest-looking connectors that opt out of tests through their spec and their Config.

Each passes every test it lets run, so only the verdict can tell: the run must be
``not certified``, listing what was switched off. ``-p opting_out.pytest_plugin``
offers them to meshkit.
"""

from __future__ import annotations

from typing import Any

import attrs
from broken.observability import BufferedSink

from meshkit.connectors.providers.openai_compatible import OpenAICompatibleProvider
from meshkit.testing import ConformanceSpec, Delivered, openai_payloads


class QuietLLM(OpenAICompatibleProvider):
    """An OpenAI-compatible provider whose spec hides its key and skips the concurrency test."""

    connector_id = "optout.quiet-llm.v1"


@attrs.frozen(kw_only=True)
class LevellessConfig:
    """No ``log_level``, no ``min_severity``: the level, severity and redaction tests cannot configure it."""

    name: str = "quiet"


class LevellessSink(BufferedSink):
    """A buffered sink whose Config takes no level or severity."""

    connector_id = "optout.levelless-sink.v1"
    Config = LevellessConfig


CONNECTORS: list[type[Any]] = [QuietLLM, LevellessSink]

#: Which tests each connector switches off, and the words its verdict must show for it.
SWITCHED_OFF: dict[str, dict[str, str]] = {
    QuietLLM.connector_id: {
        "test_concurrent_calls": "ConformanceSpec.skips",
        "test_api_key_never_leaks": "api_key_field",
    },
    LevellessSink.connector_id: {
        "test_log_level_trims_entries": "does not take log_level",
        "test_trace_severity_filter": "does not take min_severity",
        "test_secrets_are_redacted": "does not take log_level",
    },
}


async def _collect(sink: Any) -> Delivered:
    return Delivered.of(sink.delivered)


def spec_for(connector_id: str) -> ConformanceSpec | None:
    """The specs that switch tests off."""
    if connector_id == QuietLLM.connector_id:
        return ConformanceSpec(
            config={"base_url": "http://127.0.0.1:8000/v1"},
            model="conformance-model",
            http=attrs.evolve(openai_payloads(), api_key_field=None),
            skips={"test_concurrent_calls": "we only ever make one call at a time"},
        )
    if connector_id == LevellessSink.connector_id:
        return ConformanceSpec(collect_delivered=_collect)
    return None
