"""Records, clocks and a loopback HTTP server shared by the observability connector tests."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import anyio
import attrs
from aiohttp import web

from meshkit.enums import EventType, Severity
from meshkit.events import RoutingEvent
from meshkit.interfaces.buffered import BufferedObservability
from meshkit.testing import FakeClock
from meshkit.types import RequestLogEntry, Secret, TokenUsage, TraceEntry

Script = list[int | str | tuple[int, dict[str, str]]]

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
#: A value that must never appear anywhere a sink writes.
PLAIN_SECRET = "sk-live-3f9a0c1d2e"


def event(
    kind: EventType = EventType.MODEL_DEACTIVATED,
    n: int = 0,
    *,
    model_id: str = "local.small",
    pool_id: str | None = "chat",
    **metadata: Any,
) -> RoutingEvent:
    """A routing event numbered ``n`` (kept in its metadata)."""
    return RoutingEvent(
        event_type=kind,
        timestamp=NOW,
        model_id=model_id,
        provider_id="local",
        pool_id=pool_id,
        metadata={"n": n, **metadata},
    )


def log_entry(
    request_id: str = "req-1",
    *,
    attempt: int = 1,
    status: str = "ok",
    model_id: str = "local.small",
    latency_ms: float = 250.0,
    timestamp: datetime = NOW,
    error_category: str | None = None,
    with_payloads: bool = True,
) -> RequestLogEntry:
    """One attempt of a request; at FULL level its payload carries secret headers."""
    request = {
        "messages": [{"role": "user", "content": "hi"}],
        "headers": {"Authorization": f"Bearer {PLAIN_SECRET}", "x-api-key": Secret(PLAIN_SECRET)},
    }
    return RequestLogEntry(
        timestamp=timestamp,
        request_id=request_id,
        model_id=model_id,
        provider_id=model_id.split(".")[0],
        pool_id="chat",
        attempt=attempt,
        latency_ms=latency_ms,
        status=status,
        status_code=None if status == "ok" else 503,
        error_category=error_category if status != "ok" else None,
        error=None if status == "ok" else "upstream answered 503",
        usage=TokenUsage(prompt_tokens=12, completion_tokens=30),
        cost=0.002,
        request=request if with_payloads else None,
        response={"content": "hello", "api_key": PLAIN_SECRET} if with_payloads else None,
    )


def trace_entry(severity: Severity = Severity.WARNING, message: str = "slow answer") -> TraceEntry:
    """A trace entry whose metadata holds a secret."""
    return TraceEntry(timestamp=NOW, severity=severity, message=message, metadata={"token": PLAIN_SECRET})


class WatchedClock(FakeClock):
    """A FakeClock that lets a test wait until someone sleeps for a given time."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeps: list[float] = []
        self._changed: anyio.Event | None = None

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self._changed is not None:
            self._changed.set()
        await super().sleep(seconds)

    async def wait_for_sleep(self, seconds: float, count: int = 1) -> None:
        """Return once ``sleep(seconds)`` has been called ``count`` times in all."""
        with anyio.fail_after(10):  # a guard against a hang, not a timing assertion
            while self.sleeps.count(seconds) < count:
                self._changed = anyio.Event()
                await self._changed.wait()


class ListSink(BufferedObservability):
    """A buffered sink that delivers into a list; it can be made stuck or failing."""

    connector_id = "tests.list-sink.v1"

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.batches: list[list[dict[str, Any]]] = []
        self.gate: anyio.Event | None = None
        self.entered = anyio.Event()
        self.fail_with: Exception | None = None
        self.sink_closed = 0

    @property
    def records(self) -> list[dict[str, Any]]:
        return [record for batch in self.batches for record in batch]

    async def deliver(self, batch: list[dict[str, Any]]) -> None:
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_with is not None:
            raise self.fail_with
        self.batches.append(batch)

    async def close_sink(self) -> None:
        self.sink_closed += 1


@attrs.frozen
class Received:
    """One request the loopback server got."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class RecordingServer:
    """An aiohttp server on 127.0.0.1 (port 0), in its own thread and asyncio loop.

    Its own loop lets asyncio and trio tests alike talk to it. ``script`` gives the
    answer to each request in turn (a status code, ``(status, headers)``, or ``"hang"``
    to hold the answer until :meth:`release`); once it runs out every request gets 200.
    """

    def __init__(self, script: Script | None = None) -> None:
        self.script = list(script or [])
        self.received: list[Received] = []
        self._cond = threading.Condition()
        self._release = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="recording-server", daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook/s3cr3t-path?token={PLAIN_SECRET}"

    def start(self) -> RecordingServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)
        return self

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        with self._cond:
            self.received.append(Received(request.method, request.path, dict(request.headers), body))
            index = len(self.received) - 1
            self._cond.notify_all()
        action = self.script[index] if index < len(self.script) else 200
        if action == "hang":
            await asyncio.get_running_loop().run_in_executor(None, self._release.wait)
            action = 200
        status, headers = action if isinstance(action, tuple) else (action, {})
        return web.Response(status=int(status), headers=headers, text="{}", content_type="application/json")

    def wait_for(self, count: int) -> bool:
        """Block until ``count`` requests arrived (False after a 10 s guard)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.received) >= count, timeout=10)

    async def requests_arrived(self, count: int) -> None:
        """Wait, without blocking the event loop, until ``count`` requests arrived."""
        assert await anyio.to_thread.run_sync(self.wait_for, count), (
            f"expected {count} requests, got {len(self.received)}"
        )

    def release(self) -> None:
        """Let every hanging request (and those to come) answer."""
        self._release.set()

    def records(self) -> list[dict[str, Any]]:
        """Every record of every batch received, in order."""
        return [record for r in self.received for record in r.json()["records"]]

    def stop(self) -> None:
        self.release()
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
