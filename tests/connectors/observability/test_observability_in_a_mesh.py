"""The observability connectors behind a real Mesh: a failover shows up in every sink."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from meshkit.connectors.observability.jsonl import JsonlObservability
from meshkit.connectors.observability.opentelemetry import OpenTelemetryObservability
from meshkit.connectors.observability.prometheus import PrometheusObservability
from meshkit.errors import ConfigError
from meshkit.runtime.mesh import Mesh
from meshkit.testing import FakeClock

USER = [{"role": "user", "content": "hello there"}]


def config(path: Path) -> dict[str, Any]:
    """Model a.small fails once; the pool rotates to b.large, which answers."""
    return {
        "providers": {
            "a": {"connector": "mock", "config": {"models": ["small"], "script": [{"error": "unavailable"}]}},
            "b": {"connector": "mock", "config": {"models": ["large"]}},
        },
        "models": {"a.small": {"provider": "a"}, "b.large": {"provider": "b"}},
        "pools": {
            "chat": {
                "capability": "chat-completion",
                "rotation": {"connector": "stick-until-failure", "config": {"failure_threshold": 1}},
                "retry": {"same_model_retries": 0},
            }
        },
        "observability": {
            "connectors": [
                {"connector": "jsonl", "config": {"path": str(path), "log_level": "summary"}},
                {"connector": "prometheus"},
            ],
            "logging": {"level": "summary"},
        },
    }


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.anyio
async def test_a_failover_reaches_the_file_the_metrics_and_the_spans(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "events.jsonl"
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    otel = OpenTelemetryObservability(tracer_provider=provider, clock=clock)
    async with Mesh.from_config(config(path), clock=clock, observability=[otel]) as mesh:
        reply = await mesh.complete(model="chat", messages=USER)
        assert reply.model
        metrics = next(o for o in mesh.observability if isinstance(o, PrometheusObservability))
        sinks = [o for o in mesh.observability if isinstance(o, JsonlObservability)]
        assert len(sinks) == 1
    records = read(path)
    logs = [r for r in records if r["kind"] == "log"]
    assert [(r["model_id"], r["status"]) for r in logs] == [("a.small", "error"), ("b.large", "ok")]
    assert logs[0]["request_id"] == logs[1]["request_id"]
    events = [r["event_type"] for r in records if r["kind"] == "event"]
    assert "model_deactivated" in events and "model_rotated" in events

    def sample(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, labels)

    assert sample("meshkit_requests_total", pool="chat", model="a.small", provider="a", status="error") == 1
    assert sample("meshkit_requests_total", pool="chat", model="b.large", provider="b", status="ok") == 1
    assert (
        sample("meshkit_model_deactivations_total", pool="chat", model="a.small", reason="error_threshold")
        == 1
    )

    spans = exporter.get_finished_spans()
    (span,) = [s for s in spans if s.name == "meshkit.request"]
    events_as_spans = [
        dict(s.attributes or {})["meshkit.event_type"] for s in spans if s.name == "meshkit.event"
    ]
    assert "model_deactivated" in events_as_spans and "model_rotated" in events_as_spans
    assert [e.name for e in span.events] == ["meshkit.attempt", "meshkit.rotation", "meshkit.attempt"]
    assert dict(span.attributes or {})["meshkit.model"] == "b.large"


def test_bad_sink_settings_are_reported_at_their_yaml_path(tmp_path: Path) -> None:
    settings = config(tmp_path / "events.jsonl")
    settings["observability"]["connectors"] = [
        {"connector": "callback", "config": {"callback": "no_such_module_xyz:fn"}},
        {"connector": "jsonl", "config": {"path": str(tmp_path)}},
        {"connector": "webhook", "config": {"url": "ftp://hooks.example/x"}},
    ]
    with pytest.raises(ConfigError) as info:
        Mesh.from_config(settings)
    assert info.value.problems == [
        "observability.connectors[0].config.callback: cannot import module 'no_such_module_xyz': "
        "ModuleNotFoundError: No module named 'no_such_module_xyz'",
        f"observability.connectors[1].config.path: expected a file path, not a folder, got {str(tmp_path)!r}",
        "observability.connectors[2].config.url: expected an http:// or https:// URL, "
        "got Secret('**********')",
    ]
