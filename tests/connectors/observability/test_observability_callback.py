"""meshkit.callback.v1: a Python callable receives every record; its errors stay with it."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from observability_helpers import PLAIN_SECRET, event, log_entry, trace_entry

from meshkit.connectors.observability.callback import CallbackObservability
from meshkit.enums import EventType, Severity
from meshkit.errors import ConfigError
from meshkit.events import EventEmitter, RoutingEvent
from meshkit.types import RequestLogEntry, TraceEntry


@pytest.fixture
def hooks_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An importable module ``obs_hooks`` with a recording function and a few bad targets."""
    (tmp_path / "obs_hooks.py").write_text(
        textwrap.dedent(
            """
            received = []

            def record(item):
                received.append(item)

            class Holder:
                @staticmethod
                def nested(item):
                    received.append(("nested", item))

            async def coroutine(item):
                received.append(item)

            NOT_CALLABLE = 42
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return "obs_hooks"


def test_a_dotted_path_names_the_callable(hooks_module: str) -> None:
    import obs_hooks  # type: ignore[import-not-found]

    obs_hooks.received.clear()
    sink = CallbackObservability({"callback": f"{hooks_module}:record"})
    sink.emit(event(n=1))
    sink.trace(trace_entry(Severity.ERROR))
    (first, second) = obs_hooks.received
    assert isinstance(first, RoutingEvent) and first.metadata["n"] == 1
    assert isinstance(second, TraceEntry) and second.severity is Severity.ERROR


def test_module_dot_attribute_paths_work_too(hooks_module: str) -> None:
    import obs_hooks

    obs_hooks.received.clear()
    CallbackObservability({"callback": f"{hooks_module}:Holder.nested"}).emit(event(n=2))
    CallbackObservability({"callback": f"{hooks_module}.record"}).emit(event(n=3))
    assert obs_hooks.received[0][0] == "nested"
    assert obs_hooks.received[1].metadata["n"] == 3


def test_a_callable_given_in_code_receives_each_kind() -> None:
    received: list[Any] = []
    sink = CallbackObservability({"log_level": "summary"}, callback=received.append)
    sink.emit(event())
    sink.log(log_entry())
    sink.trace(trace_entry())
    sink.report({"pools": {}})
    assert [type(r).__name__ for r in received] == ["RoutingEvent", "RequestLogEntry", "TraceEntry", "dict"]
    log = received[1]
    assert isinstance(log, RequestLogEntry) and log.request is None and log.usage is not None


def test_records_are_redacted_copies() -> None:
    received: list[Any] = []
    original = event(api_key=PLAIN_SECRET)
    sink = CallbackObservability({"log_level": "full", "min_severity": "debug"}, callback=received.append)
    sink.emit(original)
    sink.log(log_entry())
    sink.trace(trace_entry(Severity.DEBUG, f"Bearer {PLAIN_SECRET}"))
    sink.report({"api_key": PLAIN_SECRET})
    assert PLAIN_SECRET not in repr(received)
    assert original.metadata["api_key"] == PLAIN_SECRET  # the router's own event is untouched
    assert received[1].request["messages"] == [{"role": "user", "content": "hi"}]


def test_kinds_limits_what_is_passed_on() -> None:
    received: list[Any] = []
    sink = CallbackObservability({"kinds": ["event"]}, callback=received.append)
    sink.log(log_entry())
    sink.emit(event(EventType.MODEL_ROTATED))
    assert [type(r).__name__ for r in received] == ["RoutingEvent"]


def test_a_raising_callback_is_logged_counted_and_not_propagated(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[Any] = []

    def flaky(item: Any) -> None:
        calls.append(item)
        raise ValueError("the dashboard is down")

    sink = CallbackObservability(callback=flaky)
    emitter = EventEmitter()
    after: list[Any] = []
    emitter.subscribe(sink)
    emitter.subscribe(CallbackObservability(callback=after.append))
    emitter.emit(event())
    sink.log(log_entry())
    assert len(calls) == 2 and sink.errors == 2
    assert len(after) == 1  # the next subscriber still got the event
    assert "the dashboard is down" in caplog.text and "the router goes on" in caplog.text


def test_a_callable_returning_an_awaitable_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    async def later(item: Any) -> None:
        return None

    sink = CallbackObservability(callback=lambda item: later(item))
    sink.emit(event())
    assert sink.errors == 1
    assert "returned an awaitable" in caplog.text


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("", r"config\.callback: required"),
        ("obs_hooks", r"config\.callback: expected 'package\.module:function'"),
        ("no_such_module_xyz:fn", r"config\.callback: cannot import module 'no_such_module_xyz'"),
        ("obs_hooks:missing", r"config\.callback: 'obs_hooks' has no attribute 'missing'"),
        ("obs_hooks:NOT_CALLABLE", r"config\.callback: 'obs_hooks:NOT_CALLABLE' is a int, not a callable"),
        ("obs_hooks:coroutine", r"config\.callback: 'obs_hooks:coroutine' is a coroutine function"),
    ],
)
def test_a_bad_callback_is_a_config_error(hooks_module: str, path: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        CallbackObservability({"callback": path})


def test_a_non_callable_given_in_code_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="callback: expected a callable, got str"):
        CallbackObservability(callback="print")  # type: ignore[arg-type]
