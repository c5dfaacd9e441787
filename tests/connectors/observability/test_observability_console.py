"""meshkit.console.v1: readable lines, colour only on a terminal, nothing secret."""

from __future__ import annotations

import io
import sys

import pytest
from observability_helpers import PLAIN_SECRET, event, log_entry, trace_entry

from meshkit.connectors.observability.console import ConsoleObservability
from meshkit.enums import EventType, Severity
from meshkit.errors import ConfigError
from meshkit.testing import FakeClock


class TerminalStream(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class BrokenStream(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError("the pipe is gone")


def test_an_event_is_one_line_with_its_fields() -> None:
    out = io.StringIO()
    console = ConsoleObservability(stream=out)
    console.emit(event(EventType.MODEL_DEACTIVATED, reason="error_threshold", detail="3 failures in a row"))
    assert out.getvalue() == (
        "2026-01-01T12:00:00.000Z EVENT    model_deactivated pool=chat model=local.small provider=local "
        'n=0 reason=error_threshold detail="3 failures in a row"\n'
    )


def test_a_log_line_summarises_the_attempt() -> None:
    out = io.StringIO()
    console = ConsoleObservability({"log_level": "summary"}, stream=out)
    console.log(log_entry(status="error", error_category="unavailable", attempt=2))
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
    console = ConsoleObservability({"min_severity": "warning"}, stream=out)
    console.trace(trace_entry(Severity.INFO, "ignored"))
    console.trace(trace_entry(Severity.ERROR, "provider down"))
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0] == "2026-01-01T12:00:00.000Z ERROR    provider down component=meshkit token=**********"


def test_a_report_is_one_compact_json_line(clock: FakeClock) -> None:
    out = io.StringIO()
    ConsoleObservability(stream=out, clock=clock).report({"pools": {"chat": {"active": 2}}})
    assert out.getvalue() == '2026-01-01T00:00:00.000Z REPORT   {"pools":{"chat":{"active":2}}}\n'


def test_secrets_never_reach_the_stream_even_at_full_level() -> None:
    out = io.StringIO()
    console = ConsoleObservability({"log_level": "full", "min_severity": "debug"}, stream=out)
    console.emit(event(api_key=PLAIN_SECRET))
    console.log(log_entry())
    console.trace(trace_entry(Severity.DEBUG, f"sent Bearer {PLAIN_SECRET}"))
    console.report({"providers": {"local": {"api_key": PLAIN_SECRET}}})
    text = out.getvalue()
    assert "request_body=" in text and "response_body=" in text
    assert PLAIN_SECRET not in text
    assert len(text.splitlines()) == 4


def test_no_colour_on_a_plain_stream() -> None:
    out = io.StringIO()
    ConsoleObservability(stream=out).emit(event())
    assert "\x1b[" not in out.getvalue()


def test_colour_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = TerminalStream()
    console = ConsoleObservability(stream=out)
    console.emit(event(EventType.MODEL_DEACTIVATED))
    console.emit(event(EventType.MODEL_ACTIVATED))
    red, green = out.getvalue().splitlines()
    assert red.startswith("\x1b[31m") and red.endswith("\x1b[0m")
    assert green.startswith("\x1b[32m")


def test_no_color_turns_colour_off_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out = TerminalStream()
    ConsoleObservability(stream=out).emit(event())
    assert "\x1b[" not in out.getvalue()


def test_color_always_and_never_override_the_terminal_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    plain, tty = io.StringIO(), TerminalStream()
    ConsoleObservability({"color": "always"}, stream=plain).emit(event())
    ConsoleObservability({"color": "never"}, stream=tty).emit(event())
    assert "\x1b[" in plain.getvalue() and "\x1b[" not in tty.getvalue()


def test_stderr_is_the_default_and_stdout_can_be_chosen(capsys: pytest.CaptureFixture[str]) -> None:
    ConsoleObservability().emit(event(n=1))
    ConsoleObservability({"stream": "stdout"}).emit(event(n=2))
    captured = capsys.readouterr()
    assert "n=1" in captured.err and "n=2" not in captured.err
    assert "n=2" in captured.out
    assert ConsoleObservability().stream is sys.stderr


def test_kinds_limits_what_is_written() -> None:
    out = io.StringIO()
    console = ConsoleObservability({"kinds": ["log"]}, stream=out)
    console.emit(event())
    console.trace(trace_entry(Severity.CRITICAL))
    console.log(log_entry())
    assert [line.split()[1] for line in out.getvalue().splitlines()] == ["LOG"]


def test_a_broken_stream_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    console = ConsoleObservability(stream=BrokenStream())
    console.emit(event())
    assert "could not write to the console stream" in caplog.text


@pytest.mark.anyio
async def test_flush_flushes_the_stream() -> None:
    class Counting(io.StringIO):
        flushed = 0

        def flush(self) -> None:
            self.flushed += 1

    out = Counting()
    async with ConsoleObservability(stream=out) as console:
        console.emit(event())
        await console.flush()
    assert out.flushed >= 1


def test_bad_config_is_reported_by_path() -> None:
    with pytest.raises(ConfigError) as info:
        ConsoleObservability({"stream": "stdlog", "colour": "auto"})
    text = str(info.value)
    assert "config.stream: expected one of 'stderr', 'stdout'" in text
    assert "config.colour: unknown key; did you mean 'color'?" in text
