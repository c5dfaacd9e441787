"""meshkit.prometheus.v1: metrics from logs, events and reports, and a real scrape."""

from __future__ import annotations

import socket
import sys
from datetime import timedelta

import httpx
import pytest
from observability_helpers import NOW, PLAIN_SECRET, event, log_entry

from meshkit.connectors.observability.prometheus import PrometheusObservability
from meshkit.enums import EventType, ObservabilityFeature
from meshkit.errors import ConfigError, ConnectorError


def value(sink: PrometheusObservability, name: str, **labels: str) -> float | None:
    return sink.registry.get_sample_value(name, labels)


MODEL = {"pool": "chat", "model": "local.small", "provider": "local"}


def test_it_declares_the_metrics_feature() -> None:
    assert PrometheusObservability.supports(ObservabilityFeature.METRICS)


def test_request_logs_feed_requests_failures_latency_tokens_and_cost() -> None:
    sink = PrometheusObservability()
    sink.log(log_entry(latency_ms=250.0))
    sink.log(log_entry("req-2", status="error", error_category="unavailable", latency_ms=1500.0))
    assert value(sink, "meshkit_requests_total", **MODEL, status="ok") == 1
    assert value(sink, "meshkit_requests_total", **MODEL, status="error") == 1
    assert value(sink, "meshkit_request_failures_total", **MODEL, error_category="unavailable") == 1
    assert value(sink, "meshkit_request_latency_seconds_count", **MODEL) == 2
    assert value(sink, "meshkit_request_latency_seconds_sum", **MODEL) == pytest.approx(1.75)
    assert value(sink, "meshkit_request_latency_seconds_bucket", **MODEL, le="0.25") == 1
    assert value(sink, "meshkit_tokens_total", **MODEL, direction="prompt") == 24
    assert value(sink, "meshkit_tokens_total", **MODEL, direction="completion") == 60
    assert value(sink, "meshkit_request_tokens_count", **MODEL) == 2
    assert value(sink, "meshkit_cost_total", **MODEL) == pytest.approx(0.004)


def test_the_metadata_log_level_counts_requests_but_not_tokens() -> None:
    sink = PrometheusObservability({"log_level": "metadata"})
    sink.log(log_entry())
    assert value(sink, "meshkit_requests_total", **MODEL, status="ok") == 1
    assert value(sink, "meshkit_tokens_total", **MODEL, direction="prompt") is None


def test_events_are_counted_by_type_and_drive_model_status() -> None:
    sink = PrometheusObservability()
    sink.emit(event(EventType.MODEL_ACTIVATED))
    sink.emit(event(EventType.MODEL_ACTIVATED, model_id="local.large"))
    assert value(sink, "meshkit_pool_active_models", pool="chat") == 2
    sink.emit(event(EventType.MODEL_DEACTIVATED, reason="error_threshold"))
    assert value(sink, "meshkit_events_total", event_type="model_activated", pool="chat") == 2
    assert value(sink, "meshkit_events_total", event_type="model_deactivated", pool="chat") == 1
    status = {"pool": "chat", "model": "local.small"}
    assert value(sink, "meshkit_model_status", **status, meshkit_model_status="standby") == 1
    assert value(sink, "meshkit_model_status", **status, meshkit_model_status="active") == 0
    assert value(sink, "meshkit_model_deactivations_total", **status, reason="error_threshold") == 1
    assert value(sink, "meshkit_pool_active_models", pool="chat") == 1


def test_pool_membership_and_provider_events() -> None:
    sink = PrometheusObservability()
    sink.emit(event(EventType.POOL_MEMBERSHIP_CHANGED, added=["local.small", "local.large"], removed=[]))
    assert value(sink, "meshkit_pool_active_models", pool="chat") == 2
    sink.emit(event(EventType.POOL_MEMBERSHIP_CHANGED, added=[], removed=["local.large"]))
    assert value(sink, "meshkit_pool_active_models", pool="chat") == 1
    assert (
        value(sink, "meshkit_model_status", pool="chat", model="local.large", meshkit_model_status="active")
        is None
    )
    sink.emit(event(EventType.PROVIDER_DEACTIVATED))
    assert value(sink, "meshkit_provider_available", provider="local") == 0
    sink.emit(event(EventType.PROVIDER_RECOVERED))
    assert value(sink, "meshkit_provider_available", provider="local") == 1
    sink.emit(event(EventType.PROVIDER_HEALTH_CHANGED, available=False))
    assert value(sink, "meshkit_provider_available", provider="local") == 0


def test_a_model_event_without_a_pool_applies_to_every_pool_holding_it() -> None:
    sink = PrometheusObservability()
    sink.report(
        {
            "pools": {
                "chat": {"models": {"local.small": {"status": "active"}}},
                "fast": {"models": {"local.small": {"status": "active"}, "local.tiny": {"status": "active"}}},
            }
        }
    )
    sink.emit(event(EventType.MODEL_DEACTIVATED, pool_id=None, reason="manual"))
    assert value(sink, "meshkit_pool_active_models", pool="chat") == 0
    assert value(sink, "meshkit_pool_active_models", pool="fast") == 1


def test_a_status_report_sets_model_status_and_active_counts() -> None:
    sink = PrometheusObservability()
    stats = {
        "time": NOW.isoformat(),
        "pools": {
            "chat": {
                "active": 1,
                "models": {
                    "local.small": {"status": "active", "provider": "local"},
                    "local.large": {"status": "standby", "provider": "local"},
                },
            }
        },
        "providers": {"local": {"status": "active", "available": True}, "remote": {"status": "deactivated"}},
    }
    sink.report(stats)
    assert value(sink, "meshkit_pool_active_models", pool="chat") == 1
    assert (
        value(sink, "meshkit_model_status", pool="chat", model="local.large", meshkit_model_status="standby")
        == 1
    )
    assert value(sink, "meshkit_provider_available", provider="local") == 1
    assert value(sink, "meshkit_provider_available", provider="remote") == 0
    # The next report no longer lists local.large: its series goes away.
    sink.report({"pools": {"chat": {"models": [{"model_id": "local.small", "status": "standby"}]}}})
    assert value(sink, "meshkit_pool_active_models", pool="chat") == 0
    assert (
        value(sink, "meshkit_model_status", pool="chat", model="local.large", meshkit_model_status="standby")
        is None
    )


def test_odd_input_is_ignored_not_raised() -> None:
    sink = PrometheusObservability()
    sink.report({"pools": ["not", "a", "mapping"]})
    sink.report({"pools": {"chat": {"models": "nonsense"}}})
    sink.log(log_entry(latency_ms=-5))
    assert value(sink, "meshkit_request_latency_seconds_count", **MODEL) is None
    assert value(sink, "meshkit_requests_total", **MODEL, status="ok") == 1


def test_each_instance_has_its_own_registry() -> None:
    first, second = PrometheusObservability(), PrometheusObservability()
    first.log(log_entry())
    assert value(first, "meshkit_requests_total", **MODEL, status="ok") == 1
    assert value(second, "meshkit_requests_total", **MODEL, status="ok") is None


def test_namespace_and_buckets_are_configurable() -> None:
    sink = PrometheusObservability({"namespace": "router", "latency_buckets": [0.1, 1.0]})
    sink.log(log_entry(latency_ms=500))
    assert value(sink, "router_request_latency_seconds_bucket", **MODEL, le="1.0") == 1
    assert value(sink, "router_request_latency_seconds_bucket", **MODEL, le="0.1") == 0


def test_nothing_secret_reaches_the_metrics() -> None:
    sink = PrometheusObservability({"log_level": "full"})
    sink.log(log_entry())
    sink.emit(event(api_key=PLAIN_SECRET))
    assert PLAIN_SECRET not in sink.metrics_text()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
@pytest.mark.anyio
async def test_the_metrics_endpoint_serves_a_scrape_on_loopback() -> None:
    port = free_port()
    async with PrometheusObservability({"port": port}) as sink:
        sink.log(log_entry())
        sink.emit(event(EventType.MODEL_DEACTIVATED, reason="quota_exhausted"))
        assert sink.endpoint == f"http://127.0.0.1:{port}/metrics"
        async with httpx.AsyncClient(timeout=timedelta(seconds=10).total_seconds()) as client:
            response = await client.get(sink.endpoint)
    assert response.status_code == 200
    text = response.text
    assert 'meshkit_requests_total{model="local.small",pool="chat",provider="local",status="ok"} 1.0' in text
    assert (
        'meshkit_model_deactivations_total{model="local.small",pool="chat",reason="quota_exhausted"} 1.0'
        in text
    )
    assert sink.endpoint is None  # closed


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_busy_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        sink = PrometheusObservability({"port": port})
        with pytest.raises(
            ConnectorError,
            match=f"cannot serve metrics on 127.0.0.1:{port}: .*set config.port to a free port",
        ):
            await sink.start()


def test_without_a_port_nothing_is_served() -> None:
    assert PrometheusObservability().endpoint is None


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"port": 70000}, r"config\.port: expected a port number"),
        ({"namespace": "my-mesh"}, r"config\.namespace: expected a metric prefix"),
        ({"latency_buckets": []}, r"config\.latency_buckets: expected at least one bucket"),
    ],
)
def test_bad_settings_are_reported_by_path(config: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PrometheusObservability(config)


def test_without_prometheus_client_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    with pytest.raises(ImportError, match=r"pip install 'meshkit\[prometheus\]'"):
        PrometheusObservability()
