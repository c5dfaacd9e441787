"""meshkit.webhook.v1 against a real HTTP server on loopback."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from observability_helpers import PLAIN_SECRET, RecordingServer, WatchedClock, event, log_entry

from meshkit.connectors.observability.webhook import WebhookObservability
from meshkit.errors import ConfigError
from meshkit.runtime.mesh import Mesh
from meshkit.testing import FakeClock

pytestmark = pytest.mark.slow  # starts servers

ServerFactory = Callable[..., RecordingServer]


def hook(server: RecordingServer, clock: FakeClock, **config: Any) -> WebhookObservability:
    settings = {
        "url": server.url,
        "batch_size": 100,
        "flush_interval": "1m",
        "initial_backoff": "1s",
        **config,
    }
    return WebhookObservability(settings, clock=clock)


def numbers(records: list[dict[str, Any]]) -> list[int]:
    return [r["metadata"]["n"] for r in records if r["kind"] == "event"]


@pytest.mark.anyio
async def test_flush_posts_one_json_batch(http_server: ServerFactory, clock: FakeClock) -> None:
    server = http_server()
    async with hook(server, clock, headers={"X-Hook-Token": "t0k3n-value"}) as sink:
        for n in range(3):
            sink.emit(event(n=n))
        await sink.flush()
        (received,) = server.received
    assert received.method == "POST" and received.path == "/hook/s3cr3t-path"
    assert received.headers["Content-Type"] == "application/json"
    assert received.headers["X-Hook-Token"] == "t0k3n-value"
    body = received.json()
    assert body["source"] == "meshkit.webhook.v1" and body["sent_at"] == clock.now().isoformat()
    assert numbers(body["records"]) == [0, 1, 2]
    assert sink.delivered == 3 and sink.retries == 0


@pytest.mark.anyio
async def test_full_batches_are_posted_in_the_background(
    http_server: ServerFactory, clock: FakeClock
) -> None:
    server = http_server()
    async with hook(server, clock, batch_size=2) as sink:
        for n in range(4):
            sink.emit(event(n=n))
        await server.requests_arrived(2)
        assert [numbers(r.json()["records"]) for r in server.received] == [[0, 1], [2, 3]]


@pytest.mark.anyio
async def test_a_partial_batch_is_posted_after_the_flush_interval(
    http_server: ServerFactory, clock: FakeClock
) -> None:
    server = http_server()
    async with hook(server, clock, flush_interval="30s") as sink:
        sink.emit(event(n=1))
        await clock.advance(29)
        assert server.received == [] and sink.queued == 1
        await clock.advance(1)
        await server.requests_arrived(1)
        assert numbers(server.records()) == [1]


@pytest.mark.anyio
async def test_a_failing_server_is_retried_with_backoff_until_it_recovers(
    http_server: ServerFactory, watched_clock: WatchedClock
) -> None:
    server = http_server([503, 500, 200])
    sink = hook(server, watched_clock, initial_backoff="2s", max_backoff="1m")
    async with sink:
        sink.emit(event(n=1))
        async with anyio.create_task_group() as tg:
            tg.start_soon(sink.flush)
            await watched_clock.wait_for_sleep(2.0)  # after the 503
            assert len(server.received) == 1
            await watched_clock.advance(2)
            await watched_clock.wait_for_sleep(4.0)  # after the 500: the wait doubled
            await watched_clock.advance(4)
    assert len(server.received) == 3
    assert server.received[0].body == server.received[2].body  # the same batch, sent again
    assert sink.retries == 2 and sink.delivered == 1 and sink.failed == 0


@pytest.mark.anyio
async def test_retry_after_from_the_server_sets_the_wait(
    http_server: ServerFactory, watched_clock: WatchedClock
) -> None:
    server = http_server([(429, {"Retry-After": "7"})])
    sink = hook(server, watched_clock)
    async with sink:
        sink.emit(event())
        async with anyio.create_task_group() as tg:
            tg.start_soon(sink.flush)
            await watched_clock.wait_for_sleep(7.0)
            await watched_clock.advance(7)
    assert len(server.received) == 2 and sink.delivered == 1


@pytest.mark.anyio
async def test_a_server_that_keeps_failing_is_given_up_on(
    http_server: ServerFactory, watched_clock: WatchedClock, caplog: pytest.LogCaptureFixture
) -> None:
    server = http_server([502, 502, 502])
    sink = hook(server, watched_clock, max_retries=2)
    async with sink:
        for n in range(3):
            sink.emit(event(n=n))
        async with anyio.create_task_group() as tg:
            tg.start_soon(sink.flush)
            await watched_clock.wait_for_sleep(1.0)
            await watched_clock.advance(1)
            await watched_clock.wait_for_sleep(2.0)
            await watched_clock.advance(2)
    assert len(server.received) == 3
    assert sink.failed == 3 and sink.delivered == 0
    assert "gave up after 3 tries: HTTP 502" in caplog.text
    assert PLAIN_SECRET not in caplog.text and "s3cr3t-path" not in caplog.text


@pytest.mark.anyio
async def test_a_client_error_is_not_retried(http_server: ServerFactory, clock: FakeClock) -> None:
    server = http_server([400])
    async with hook(server, clock) as sink:
        sink.emit(event())
        await sink.flush()
        assert len(server.received) == 1 and sink.failed == 1 and sink.retries == 0


@pytest.mark.anyio
async def test_a_refused_connection_is_retried_then_counted(watched_clock: WatchedClock) -> None:
    with anyio.fail_after(10):
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        await listener.aclose()  # nothing listens there any more
    sink = WebhookObservability(
        {
            "url": f"http://127.0.0.1:{port}/hook",
            "max_retries": 1,
            "initial_backoff": "7s",
            "flush_interval": "1m",
        },
        clock=watched_clock,
    )
    async with sink:
        sink.emit(event())
        async with anyio.create_task_group() as tg:
            tg.start_soon(sink.flush)
            await watched_clock.wait_for_sleep(7.0)
            await watched_clock.advance(7)
    assert sink.retries == 1 and sink.failed == 1


@pytest.mark.anyio
async def test_emit_returns_at_once_and_counts_drops_while_the_server_hangs(
    http_server: ServerFactory, clock: FakeClock
) -> None:
    server = http_server(["hang"])
    async with hook(server, clock, batch_size=1, queue_size=3) as sink:
        sink.emit(event(n=0))
        await server.requests_arrived(1)  # the worker's POST is now stuck in the server
        for n in range(1, 11):
            sink.emit(event(n=n))
        assert sink.queued == 3 and sink.dropped == 7
        server.release()
        await sink.flush()
    assert numbers(server.records()) == [0, 1, 2, 3]
    dropped = [r for r in server.records() if r["kind"] == "dropped"]
    assert dropped == [{**dropped[0], "count": 7, "total": 7}]


@pytest.mark.anyio
async def test_aclose_delivers_what_is_buffered(http_server: ServerFactory, clock: FakeClock) -> None:
    server = http_server()
    async with hook(server, clock) as sink:
        for n in range(5):
            sink.emit(event(n=n))
    assert numbers(server.records()) == [0, 1, 2, 3, 4]


@pytest.mark.anyio
async def test_secrets_never_reach_the_body(http_server: ServerFactory, clock: FakeClock) -> None:
    server = http_server()
    async with hook(server, clock, log_level="full") as sink:
        sink.log(log_entry())
        sink.emit(event(api_key=PLAIN_SECRET))
    (received,) = server.received
    assert PLAIN_SECRET not in received.body.decode()
    assert received.json()["records"][0]["request"]["headers"]["Authorization"] == "**********"


def test_the_url_and_headers_stay_out_of_reprs_and_errors() -> None:
    sink = WebhookObservability(
        {"url": f"https://hooks.example/{PLAIN_SECRET}", "headers": {"X-Key": PLAIN_SECRET}}
    )
    assert PLAIN_SECRET not in repr(sink) + repr(sink.config)
    assert sink.endpoint == "https://hooks.example"
    with pytest.raises(ConfigError) as info:
        WebhookObservability({"url": f"ftp://hooks.example/{PLAIN_SECRET}"})
    assert "config.url: expected an http:// or https:// URL" in str(info.value)
    assert PLAIN_SECRET not in str(info.value)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, r"config\.url: required key missing"),
        ({"url": "http://h", "max_retries": -1}, r"config\.max_retries: expected 0 or more"),
        ({"url": "http://h", "timeout": "0s"}, r"config\.timeout: expected a positive duration"),
        ({"url": "http://h", "headers": ["a"]}, r"config\.headers: expected a mapping"),
    ],
)
def test_bad_settings_are_reported_by_path(config: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        WebhookObservability(config)


@pytest.mark.anyio
async def test_the_url_stays_out_of_httpx_logs(
    http_server: ServerFactory, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = http_server()
    async with hook(server, clock) as sink:
        sink.emit(event())
        await sink.flush()
    assert any(r.name == "httpx" for r in caplog.records)  # httpx did log the request
    assert PLAIN_SECRET not in caplog.text and "s3cr3t-path" not in caplog.text


def mesh_with_hook(url_secret: str) -> dict[str, Any]:
    return {
        "providers": {"local": {"connector": "mock", "config": {"models": ["small"]}}},
        "models": {"local.small": {"provider": "local"}},
        "secrets": {"store": "memory-secrets", "config": {"secrets": {"HOOK_URL": url_secret}}},
        "observability": {
            "connectors": [{"connector": "webhook", "config": {"url": "${secrets:HOOK_URL}"}}],
            "routing": {"events": ["model_deactivated"]},
        },
    }


@pytest.mark.anyio
async def test_a_url_from_the_secret_store_is_where_batches_go(
    http_server: ServerFactory, clock: FakeClock
) -> None:
    server = http_server()
    mesh = Mesh.from_config(mesh_with_hook(server.url), clock=clock)  # checked without the secret
    async with mesh:
        await mesh.deactivate("local.small")
    assert [r["event_type"] for r in server.records() if r["kind"] == "event"] == ["model_deactivated"]


@pytest.mark.anyio
async def test_a_secret_url_that_is_not_http_is_refused_at_start_without_showing_it(clock: FakeClock) -> None:
    mesh = Mesh.from_config(mesh_with_hook(f"ftp://hooks.example/{PLAIN_SECRET}"), clock=clock)
    with pytest.raises(ConfigError) as info:
        await mesh.start()
    assert "observability.connectors[0].config.url: expected an http:// or https:// URL" in str(info.value)
    assert PLAIN_SECRET not in str(info.value)
