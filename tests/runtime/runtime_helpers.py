"""Shared pieces for the runtime tests: a recording observability sink and config builders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meshkit.connectors.providers.mock import MockProvider
from meshkit.enums import EventType, Severity
from meshkit.events import RoutingEvent
from meshkit.interfaces.observability import Observability, ObservabilityConfig
from meshkit.types import RequestLogEntry, TraceEntry

USER = [{"role": "user", "content": "hello there"}]


class Recorder(Observability):
    """Keeps every event, log entry and trace entry it receives."""

    connector_id = "tests.recorder.v1"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("config", ObservabilityConfig(min_severity=Severity.DEBUG))
        super().__init__(*args, **kwargs)
        self.events: list[RoutingEvent] = []
        self.logs: list[RequestLogEntry] = []
        self.traces: list[TraceEntry] = []
        self.reports: list[Mapping[str, Any]] = []

    def handle_event(self, event: RoutingEvent) -> None:
        self.events.append(event)

    def handle_log(self, entry: RequestLogEntry) -> None:
        self.logs.append(entry)

    def handle_trace(self, entry: TraceEntry) -> None:
        self.traces.append(entry)

    def handle_report(self, stats: Mapping[str, Any]) -> None:
        self.reports.append(stats)

    def of(self, event_type: EventType, model_id: str | None = None) -> list[RoutingEvent]:
        """The events of one type (and model), in order."""
        return [
            e
            for e in self.events
            if e.event_type is event_type and (model_id is None or e.model_id == model_id)
        ]


def two_provider_config(
    *,
    pool: Mapping[str, Any] | None = None,
    model_a: Mapping[str, Any] | None = None,
    model_b: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Providers ``a`` and ``b`` (mock), models ``a.small`` and ``b.large``, pool ``chat`` over both."""
    config: dict[str, Any] = {
        "providers": {
            "a": {"connector": "mock", "config": {"models": ["small"]}},
            "b": {"connector": "mock", "config": {"models": ["large"]}},
        },
        "models": {
            "a.small": {"provider": "a", **(model_a or {})},
            "b.large": {"provider": "b", **(model_b or {})},
        },
        "pools": {
            "chat": {
                "capability": "chat-completion",
                "rotation": {"connector": "stick-until-failure", "config": {"failure_threshold": 1}},
                **(pool or {}),
            }
        },
    }
    config.update(extra or {})
    return config


def mock(mesh: Any, provider_id: str) -> MockProvider:
    """The mock provider instance the mesh built for ``provider_id``."""
    provider = mesh.providers[provider_id]
    assert isinstance(provider, MockProvider)
    return provider


async def settle(clock: Any, sleepers: int, *, rounds: int = 1000) -> None:
    """Let tasks run until at least ``sleepers`` of them wait on ``clock``."""
    import anyio

    for _ in range(rounds):
        if clock.sleepers >= sleepers:
            return
        await anyio.lowlevel.checkpoint()
    raise AssertionError(f"expected {sleepers} sleepers on the clock, found {clock.sleepers}")


async def _driven(clock: Any, call: Any, advance: Any) -> tuple[Any, float]:
    """Run ``call()`` while ``advance()`` moves ``clock``; its result (or exception) and the time taken."""
    import anyio

    outcome: list[Any] = []
    started = clock.monotonic()

    async def run() -> None:
        try:
            outcome.append(await call())
        except Exception as exc:
            outcome.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        for _ in range(5):
            await anyio.lowlevel.checkpoint()
        while not outcome:
            if not await advance(started):
                tg.cancel_scope.cancel()
                raise AssertionError("the call did not finish within the time limit")
    return outcome[0], clock.monotonic() - started


async def drive(clock: Any, call: Any, *, step: float = 0.01, limit: float = 600.0) -> tuple[Any, float]:
    """Run ``call()`` while moving ``clock`` forward in ``step``s; return its result and the time taken.

    An exception from ``call`` is returned in place of the result.
    """

    async def advance(started: float) -> bool:
        if clock.monotonic() - started > limit:
            return False
        await clock.advance(step)
        return True

    return await _driven(clock, call, advance)


async def drive_over_loopback(clock: Any, call: Any, *, watchers: int = 1) -> tuple[Any, float]:
    """Run ``call()``, moving ``clock`` only while the call waits on it; return its result and time.

    Real HTTP takes real time, so stepping the clock blindly could run a deadline out while a
    request is on the wire. Time moves only when more than ``watchers`` tasks (the deadline's
    own watcher) sleep on the clock, and then straight to the earliest wake-up. A mesh's
    background jobs sleep on the clock too, so their wake-ups move it while a request is on
    the wire: give the call a deadline far beyond what the test waits for.
    """
    import anyio

    async def advance(started: float) -> bool:
        wakeup = clock.next_wakeup
        if clock.sleepers > watchers and wakeup is not None:
            await clock.advance(wakeup - clock.monotonic())
        else:
            await anyio.lowlevel.checkpoint()
        return True

    return await _driven(clock, call, advance)
