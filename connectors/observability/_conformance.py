"""How the conformance suite builds and observes the built-in observability connectors.

Imported only when ``pytest --connector=...`` asks, so nothing here weighs on a mesh.
"""

from __future__ import annotations

import io
import itertools
import json
import secrets
import tempfile
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import attrs

from meshkit import RequestLogEntry, RoutingEvent, Severity, TraceEntry
from meshkit.testing import ConformanceSpec, Delivered, Metrics, Options, StallGate

from .callback import CallbackObservability
from .console import ConsoleObservability, parse_line
from .jsonl import JsonlObservability
from .opentelemetry import OpenTelemetryObservability
from .webhook import WebhookObservability


def conformance_spec(connector_id: str) -> ConformanceSpec | None:
    """The spec of one built-in observability connector, or None for the others."""
    make = _SPECS.get(connector_id)
    return make() if make is not None else None


def _sorted(records: Sequence[Mapping[str, Any]]) -> Delivered:
    by_kind: dict[str, list[Mapping[str, Any]]] = {"event": [], "log": [], "trace": []}
    for record in records:
        by_kind.get(str(record.get("kind")), []).append(record)
    return Delivered(events=by_kind["event"], logs=by_kind["log"], traces=by_kind["trace"])


# --- jsonl: a fresh file per test, read back line by line ----------------------------------


_folder: tempfile.TemporaryDirectory[str] | None = None


@asynccontextmanager
async def _temp_file() -> AsyncIterator[Mapping[str, Any]]:
    # One folder for the process, removed at exit: the suite reads files after teardown.
    global _folder
    if _folder is None:
        _folder = tempfile.TemporaryDirectory(prefix="meshkit-jsonl-")
    # Small files, many backups: the suite's records roll over several files, so rotation is
    # exercised too (what it delivered is read back across the backups, oldest first).
    # In folders that do not exist yet: the sink creates them (its config says so).
    path = str(Path(_folder.name) / secrets.token_hex(8) / "logs" / "records.jsonl")
    yield {"path": path, "max_bytes": 4096, "backups": 500}


def _jsonl_files(path: Path) -> list[Path]:
    """The file's backups, oldest first, then the file itself."""
    backups = [p for p in path.parent.glob(path.name + ".*") if p.suffix[1:].isdigit()]
    return [*sorted(backups, key=lambda p: int(p.suffix[1:]), reverse=True), path]


def _jsonl_records(path: Path) -> list[dict[str, Any]]:
    """Every record of the file and its backups, oldest first."""
    files = _jsonl_files(path)
    return [json.loads(line) for file in files if file.exists() for line in file.read_text().splitlines()]


def _jsonl_problems(connector: JsonlObservability) -> list[str]:
    """The rules of the sink's files that they break: size, backup numbering and count, one object a line."""
    limit, keep, path = connector.config.max_bytes, connector.config.backups, connector.path
    *backups, _ = _jsonl_files(path)
    numbers = sorted(int(p.suffix[1:]) for p in backups)
    problems = []
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"backups are numbered {numbers}, not 1 to {len(numbers)}")
    if len(numbers) > keep or (limit == 0 and numbers):
        problems.append(f"{len(numbers)} backups kept with backups={keep} and max_bytes={limit}")
    for file in (p for p in _jsonl_files(path) if p.exists()):
        data = file.read_bytes()
        lines = data.splitlines()
        if limit and len(data) > limit and len(lines) > 1:
            problems.append(f"{file.name} holds {len(data)} bytes in {len(lines)} lines; max_bytes={limit}")
        if data and not data.endswith(b"\n"):
            problems.append(f"{file.name} does not end with a whole line")
        if any(not line.startswith(b"{") for line in lines):
            problems.append(f"{file.name} has a line that is not a JSON object")
    # A file is rotated only when the next line would take it past max_bytes: each backup, with
    # the first line of the file that followed it, is over the limit.
    existing = [p for p in _jsonl_files(path) if p.exists()]
    for older, newer in itertools.pairwise(existing):
        following = newer.read_bytes().splitlines(keepends=True)
        size = older.stat().st_size
        if limit and following and size + len(following[0]) <= limit:
            problems.append(
                f"{older.name} was rotated at {size} bytes although the next line "
                f"({len(following[0])} bytes) fitted under max_bytes={limit}"
            )
    return problems


async def _read_jsonl(connector: JsonlObservability) -> Delivered:
    found = _sorted(_jsonl_records(connector.path))
    return attrs.evolve(found, problems=_jsonl_problems(connector))


def _stall_jsonl(connector: JsonlObservability) -> Callable[[], None]:
    gate = StallGate()
    write = connector._file.write_records

    def stuck_write(records: list[dict[str, Any]]) -> None:
        gate.wait()  # runs in a worker thread, like a disk that stopped answering
        write(records)

    connector._file.write_records = stuck_write  # type: ignore[method-assign]
    return gate


def _jsonl_spec() -> ConformanceSpec:
    # What docs/connectors/observability-jsonl.md promises about the options.
    options = Options(
        defaults={"path": "events.jsonl", "max_bytes": 10 * 1024 * 1024, "backups": 5},
        accepted=({"max_bytes": 0}, {"max_bytes": 1}, {"backups": 0}),
        refused=({"max_bytes": -1}, {"backups": -1}, {"path": tempfile.gettempdir()}, {"path": ""}),
    )
    return ConformanceSpec(
        setup=_temp_file, collect_delivered=_read_jsonl, stall_delivery=_stall_jsonl, options=options
    )


# --- webhook: one loopback collector for the process, one path per test -------------------


class _Collector(BaseHTTPRequestHandler):
    """Records each POSTed batch under its path; a stalled path answers once released."""

    batches: dict[str, list[dict[str, Any]]] = {}
    stalls: dict[str, StallGate] = {}

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        stall = self.stalls.get(self.path)
        if stall is not None:
            stall.wait()
        self.batches.setdefault(self.path, []).extend(json.loads(body)["records"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the suite's output is about the connector."""


_server: ThreadingHTTPServer | None = None
_server_lock = threading.Lock()


def _collector_url() -> str:
    global _server
    with _server_lock:
        if _server is None:
            _server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
            _server.daemon_threads = True
            threading.Thread(
                target=_server.serve_forever, name="meshkit-webhook-collector", daemon=True
            ).start()
        port = int(_server.server_address[1])
        return f"http://127.0.0.1:{port}/hook/{secrets.token_hex(8)}"


@asynccontextmanager
async def _webhook_target() -> AsyncIterator[Mapping[str, Any]]:
    yield {"url": _collector_url(), "flush_interval": "1s"}


def _path(connector: WebhookObservability) -> str:
    return urlsplit(connector.config.url.reveal()).path


async def _read_webhook(connector: WebhookObservability) -> Delivered:
    return _sorted(_Collector.batches.get(_path(connector), []))


def _stall_webhook(connector: WebhookObservability) -> Callable[[], None]:
    return _Collector.stalls.setdefault(_path(connector), StallGate())


def _webhook_spec() -> ConformanceSpec:
    return ConformanceSpec(
        setup=_webhook_target, collect_delivered=_read_webhook, stall_delivery=_stall_webhook
    )


# --- callback: a recording callable per instance --------------------------------------------


class _Recorder:
    """A callback that keeps what it is given."""

    def __init__(self) -> None:
        self.records: list[Any] = []

    def __call__(self, record: Any) -> None:
        self.records.append(record)


def _make_callback(config: Any, **kwargs: Any) -> CallbackObservability:
    return CallbackObservability(config, callback=_Recorder(), **kwargs)


async def _read_callback(connector: CallbackObservability) -> Delivered:
    recorder = connector.callback
    assert isinstance(recorder, _Recorder)
    return Delivered.of(
        [r for r in recorder.records if isinstance(r, RoutingEvent | RequestLogEntry | TraceEntry)]
    )


def _callback_spec() -> ConformanceSpec:
    return ConformanceSpec(factory=_make_callback, collect_delivered=_read_callback)


# --- console: a text stream per instance, its lines read back ---------------------------------


class _Stream(io.StringIO):
    """What a console instance writes to; a stall makes each write wait, like a pipe nobody drains."""

    def __init__(self) -> None:
        super().__init__()
        self.gate: StallGate | None = None

    def write(self, text: str) -> int:
        if self.gate is not None:
            self.gate.wait()
        return super().write(text)


def _make_console(config: Any, **kwargs: Any) -> ConsoleObservability:
    return ConsoleObservability(config, stream=_Stream(), **kwargs)


#: A console line's fields, by the name of the record field they stand for.
_LOG_FIELDS = {"request": "request_id", "pool": "pool_id", "model": "model_id", "provider": "provider_id"}
_LOG_FIELDS |= {"request_body": "request", "response_body": "response"}
_EVENT_FIELDS = {"pool": "pool_id", "model": "model_id", "provider": "provider_id"}
_SEVERITIES = {s.value.upper(): s.value for s in Severity}


async def _read_console(connector: ConsoleObservability) -> Delivered:
    stream = connector.stream
    text = stream.getvalue() if isinstance(stream, io.StringIO) else ""
    events: list[dict[str, Any]] = []
    logs: list[dict[str, Any]] = []
    traces: list[dict[str, Any]] = []
    for line in text.splitlines():
        parsed = parse_line(line)
        if parsed is None:
            continue
        label, headline, fields = parsed
        if label == "EVENT":
            metadata = {k: v for k, v in fields.items() if k not in _EVENT_FIELDS}
            named = {_EVENT_FIELDS[k]: v for k, v in fields.items() if k in _EVENT_FIELDS}
            events.append({"event_type": headline, **named, "metadata": metadata})
        elif label == "LOG":
            log = {"status": headline, **{_LOG_FIELDS.get(k, k): v for k, v in fields.items()}}
            tokens = log.pop("tokens", None)
            log["usage"] = {"total_tokens": tokens} if tokens is not None else None
            logs.append(log)
        elif label in _SEVERITIES:
            trace = {"severity": _SEVERITIES[label], "message": headline, "metadata": fields}
            traces.append({**trace, "component": fields.pop("component", None)})
    return Delivered(events=events, logs=logs, traces=traces, raw=text)


def _stall_console(connector: ConsoleObservability) -> Callable[[], None]:
    stream = connector.stream
    assert isinstance(stream, _Stream)
    stream.gate = StallGate()
    return stream.gate


def _console_spec() -> ConformanceSpec:
    return ConformanceSpec(
        factory=_make_console, collect_delivered=_read_console, stall_delivery=_stall_console
    )


# --- opentelemetry: an SDK provider per instance, exporting in the background to memory --------


def _make_opentelemetry(config: Any, **kwargs: Any) -> OpenTelemetryObservability:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    class Exporter(InMemorySpanExporter):
        """Keeps the spans; a stall makes each export wait, like a collector that stopped answering."""

        gate: StallGate | None = None

        def export(self, spans: Any) -> Any:
            if self.gate is not None:
                self.gate.wait()
            return super().export(spans)

    provider = TracerProvider()
    exporter = Exporter()
    # The processor an application uses: spans are exported from its own thread, in batches.
    provider.add_span_processor(BatchSpanProcessor(exporter))
    sink = OpenTelemetryObservability(config, tracer_provider=provider, **kwargs)
    _exporters[sink] = exporter
    return sink


#: Each instance's exporter, kept as long as the instance is.
_exporters: weakref.WeakKeyDictionary[OpenTelemetryObservability, Any] = weakref.WeakKeyDictionary()


def _attribute(attributes: Mapping[str, Any], name: str) -> Any:
    return attributes.get(f"meshkit.{name}")


def _metadata(attributes: Mapping[str, Any]) -> dict[str, Any]:
    prefix = "meshkit.metadata."
    return {k.removeprefix(prefix): v for k, v in attributes.items() if k.startswith(prefix)}


async def _read_opentelemetry(connector: OpenTelemetryObservability) -> Delivered:
    events: list[dict[str, Any]] = []
    logs: list[dict[str, Any]] = []
    traces: list[dict[str, Any]] = []
    for span in _exporters[connector].get_finished_spans():
        a = dict(span.attributes or {})
        if span.name == "meshkit.event":
            events.append(
                {
                    "event_type": _attribute(a, "event_type"),
                    "pool_id": _attribute(a, "pool"),
                    "model_id": _attribute(a, "model"),
                    "provider_id": _attribute(a, "provider"),
                    "metadata": _metadata(a),
                }
            )
        elif span.name == "meshkit.trace":
            traces.append(
                {
                    "severity": _attribute(a, "severity"),
                    "message": _attribute(a, "message"),
                    "component": _attribute(a, "component"),
                    "metadata": _metadata(a),
                }
            )
        elif span.name == connector.config.span_name:
            inputs, outputs = a.get("gen_ai.usage.input_tokens"), a.get("gen_ai.usage.output_tokens")
            usage = None if inputs is None else {"prompt_tokens": inputs, "completion_tokens": outputs}
            request, response = _attribute(a, "request"), _attribute(a, "response")
            logs.append(
                {
                    "request_id": _attribute(a, "request_id"),
                    "status": _attribute(a, "status"),
                    "pool_id": _attribute(a, "pool"),
                    "model_id": _attribute(a, "model"),
                    "provider_id": _attribute(a, "provider"),
                    "cost": _attribute(a, "cost"),
                    "usage": usage,
                    "request": None if request is None else json.loads(request),
                    "response": None if response is None else json.loads(response),
                    "error": span.status.description,
                }
            )
    text = repr(
        [
            (span.name, dict(span.attributes or {}), span.status.description, span.events)
            for span in _exporters[connector].get_finished_spans()
        ]
    )
    return Delivered(events=events, logs=logs, traces=traces, raw=text)


def _stall_opentelemetry(connector: OpenTelemetryObservability) -> Callable[[], None]:
    exporter = _exporters[connector]
    exporter.gate = StallGate()
    return cast(StallGate, exporter.gate)


def _opentelemetry_spec() -> ConformanceSpec:
    return ConformanceSpec(
        factory=_make_opentelemetry,
        collect_delivered=_read_opentelemetry,
        stall_delivery=_stall_opentelemetry,
    )


# --- prometheus: the registry read back as a scrape would --------------------------------


async def _prometheus_samples(connector: Any) -> Metrics:
    from prometheus_client import generate_latest

    registry = connector.registry
    samples = ((s.name, s.labels, s.value) for metric in registry.collect() for s in metric.samples)
    return Metrics.of(samples, raw=generate_latest(registry).decode("utf-8"))


def _prometheus_spec() -> ConformanceSpec:
    return ConformanceSpec(collect_metrics=_prometheus_samples)


_SPECS: dict[str, Callable[[], ConformanceSpec]] = {
    JsonlObservability.connector_id: _jsonl_spec,
    WebhookObservability.connector_id: _webhook_spec,
    CallbackObservability.connector_id: _callback_spec,
    ConsoleObservability.connector_id: _console_spec,
    OpenTelemetryObservability.connector_id: _opentelemetry_spec,
    "meshkit.prometheus.v1": _prometheus_spec,
}
