"""meshkit.console.v1: readable lines, colour only on a terminal, nothing secret."""

from __future__ import annotations

import io
import sys
from typing import Any

import pytest
from observability_helpers import PLAIN_SECRET, event, log_entry, trace_entry

from meshkit.connectors.observability.console import ConsoleObservability, parse_line
from meshkit.enums import EventType, Severity
from meshkit.errors import ConfigError
from meshkit.testing import FakeClock, StallGate

_made: list[ConsoleObservability] = []


def _console(*args: Any, **kwargs: Any) -> ConsoleObservability:
    console = ConsoleObservability(*args, **kwargs)
    _made.append(console)
    return console


def _written() -> None:
    """Wait until every console of the test has written its lines (a thread writes them)."""
    for console in _made:
        assert console.writer.drain(timeout=60), "the writer thread never finished"
    _made.clear()


class TerminalStream(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class BrokenStream(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError("the pipe is gone")


def test_an_event_is_one_line_with_its_fields() -> None:
    out = io.StringIO()
    console = _console(stream=out)
    console.emit(event(EventType.MODEL_DEACTIVATED, reason="error_threshold", detail="3 failures in a row"))
    _written()
    assert out.getvalue() == (
        "2026-01-01T12:00:00.000Z EVENT    model_deactivated pool=chat model=local.small provider=local "
        'n=0 reason=error_threshold detail="3 failures in a row"\n'
    )


def test_a_log_line_summarises_the_attempt() -> None:
    out = io.StringIO()
    console = _console({"log_level": "summary"}, stream=out)
    console.log(log_entry(status="error", error_category="unavailable", attempt=2))
    _written()
    line = out.getvalue()
    assert line.startswith(
        "2026-01-01T12:00:00.000Z LOG      error request=req-1 pool=chat model=local.small"
    )
    for part in (
        "attempt=2",
        "latency_ms=250.0",
        "status_code=503",
        "error_category=unavailable",
        'error="upstream answered 503"',
        "tokens=42",
        "cost=0.002",
    ):
        assert part in line
    assert "request_body" not in line  # payloads only at the full level


def test_trace_lines_follow_the_severity_filter() -> None:
    out = io.StringIO()
    console = _console({"min_severity": "warning"}, stream=out)
    console.trace(trace_entry(Severity.INFO, "ignored"))
    console.trace(trace_entry(Severity.ERROR, "provider down"))
    _written()
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0] == "2026-01-01T12:00:00.000Z ERROR    provider down component=meshkit token=**********"


def test_a_report_is_one_compact_json_line(clock: FakeClock) -> None:
    out = io.StringIO()
    _console(stream=out, clock=clock).report({"pools": {"chat": {"active": 2}}})
    _written()
    assert out.getvalue() == '2026-01-01T00:00:00.000Z REPORT   {"pools":{"chat":{"active":2}}}\n'


def test_secrets_never_reach_the_stream_even_at_full_level() -> None:
    out = io.StringIO()
    console = _console({"log_level": "full", "min_severity": "debug"}, stream=out)
    console.emit(event(api_key=PLAIN_SECRET))
    console.log(log_entry())
    console.trace(trace_entry(Severity.DEBUG, f"sent Bearer {PLAIN_SECRET}"))
    console.report({"providers": {"local": {"api_key": PLAIN_SECRET}}})
    _written()
    text = out.getvalue()
    assert "request_body=" in text and "response_body=" in text
    assert PLAIN_SECRET not in text
    assert len(text.splitlines()) == 4


def test_no_colour_on_a_plain_stream() -> None:
    out = io.StringIO()
    _console(stream=out).emit(event())
    _written()
    assert "\x1b[" not in out.getvalue()


def test_colour_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = TerminalStream()
    console = _console(stream=out)
    console.emit(event(EventType.MODEL_DEACTIVATED))
    console.emit(event(EventType.MODEL_ACTIVATED))
    _written()
    red, green = out.getvalue().splitlines()
    assert red.startswith("\x1b[31m") and red.endswith("\x1b[0m")
    assert green.startswith("\x1b[32m")


def test_no_color_turns_colour_off_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out = TerminalStream()
    _console(stream=out).emit(event())
    _written()
    assert "\x1b[" not in out.getvalue()


def test_color_always_and_never_override_the_terminal_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    plain, tty = io.StringIO(), TerminalStream()
    _console({"color": "always"}, stream=plain).emit(event())
    _console({"color": "never"}, stream=tty).emit(event())
    _written()
    assert "\x1b[" in plain.getvalue() and "\x1b[" not in tty.getvalue()


def test_stderr_is_the_default_and_stdout_can_be_chosen(capsys: pytest.CaptureFixture[str]) -> None:
    _console().emit(event(n=1))
    _console({"stream": "stdout"}).emit(event(n=2))
    _written()
    captured = capsys.readouterr()
    assert "n=1" in captured.err and "n=2" not in captured.err
    assert "n=2" in captured.out
    assert _console().stream is sys.stderr


def test_kinds_limits_what_is_written() -> None:
    out = io.StringIO()
    console = _console({"kinds": ["log"]}, stream=out)
    console.emit(event())
    console.trace(trace_entry(Severity.CRITICAL))
    console.log(log_entry())
    _written()
    assert [line.split()[1] for line in out.getvalue().splitlines()] == ["LOG"]


def test_a_broken_stream_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    console = _console(stream=BrokenStream())
    console.emit(event())
    _written()
    assert "could not write to the console stream" in caplog.text


@pytest.mark.anyio
async def test_flush_flushes_the_stream() -> None:
    class Counting(io.StringIO):
        flushed = 0

        def flush(self) -> None:
            self.flushed += 1

    out = Counting()
    async with _console(stream=out) as console:
        console.emit(event())
        await console.flush()
    assert out.flushed >= 1


def test_bad_config_is_reported_by_path() -> None:
    with pytest.raises(ConfigError) as info:
        _console({"stream": "stdlog", "colour": "auto"})
    text = str(info.value)
    assert "config.stream: expected one of 'stderr', 'stdout'" in text
    assert "config.colour: unknown key; did you mean 'color'?" in text


def test_a_stream_that_stalls_never_stalls_the_caller() -> None:
    gate = StallGate()

    class Stalled(io.StringIO):
        def write(self, text: str) -> int:
            gate.wait()  # a pipe nobody drains
            return super().write(text)

    out = Stalled()
    console = _console({"queue_size": 3}, stream=out)
    with gate.guard():
        for n in range(10):
            console.emit(event(n=n))
    assert not gate.caught, "a line was written from the caller's thread"
    assert console.dropped >= 6  # one being written, three waiting, the rest dropped
    gate.release()
    _written()
    numbers = [int(line.split(" n=")[1].split()[0]) for line in out.getvalue().splitlines()]
    assert len(numbers) == 10 - console.dropped and numbers == sorted(numbers)


def test_a_line_reads_back_into_its_label_headline_and_fields() -> None:
    out = io.StringIO()
    console = _console({"log_level": "full", "min_severity": "debug"}, stream=out)
    console.emit(event(EventType.MODEL_DEACTIVATED, detail="3 failures in a row", nested={"a": "x y"}))
    console.trace(trace_entry(Severity.WARNING, "budget at 90% of the limit"))
    console.log(log_entry())
    _written()
    event_line, trace_line, log_line = (parse_line(line) for line in out.getvalue().splitlines())
    assert event_line == (
        "EVENT",
        "model_deactivated",
        {
            "pool": "chat",
            "model": "local.small",
            "provider": "local",
            "n": 0,
            "detail": "3 failures in a row",
            "nested": {"a": "x y"},
        },
    )
    assert trace_line is not None and trace_line[:2] == ("WARNING", "budget at 90% of the limit")
    assert log_line is not None and log_line[0] == "LOG" and log_line[2]["request"] == "req-1"
    assert log_line[2]["tokens"] == 42 and isinstance(log_line[2]["request_body"], dict)
    assert parse_line("not a console line") is None
