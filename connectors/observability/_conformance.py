"""How the conformance suite builds and observes the built-in observability connectors.

Imported only when ``pytest --connector=...`` asks, so nothing here weighs on a mesh.
"""

from __future__ import annotations

import io
import json
import secrets
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from meshkit import RequestLogEntry, RoutingEvent, TraceEntry
from meshkit.testing import ConformanceSpec, Delivered, StallGate

from .callback import CallbackObservability
from .console import ConsoleObservability
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
    path = str(Path(_folder.name) / f"{secrets.token_hex(8)}.jsonl")
    yield {"path": path, "max_bytes": 4096, "backups": 500}


def _jsonl_records(path: Path) -> list[dict[str, Any]]:
    """Every record of the file and its backups, oldest first."""
    backups = [p for p in path.parent.glob(path.name + ".*") if p.suffix[1:].isdigit()]
    files = [*sorted(backups, key=lambda p: int(p.suffix[1:]), reverse=True), path]
    return [json.loads(line) for file in files if file.exists() for line in file.read_text().splitlines()]


async def _read_jsonl(connector: JsonlObservability) -> Delivered:
    return _sorted(_jsonl_records(connector.path))


def _stall_jsonl(connector: JsonlObservability) -> Callable[[], None]:
    gate = StallGate()
    write = connector._file.write_records

    def stuck_write(records: list[dict[str, Any]]) -> None:
        gate.wait()  # runs in a worker thread, like a disk that stopped answering
        write(records)

    connector._file.write_records = stuck_write  # type: ignore[method-assign]
    return gate


def _jsonl_spec() -> ConformanceSpec:
    return ConformanceSpec(setup=_temp_file, collect_delivered=_read_jsonl, stall_delivery=_stall_jsonl)


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


# --- console and opentelemetry: kept out of the suite's output --------------------------------


def _make_console(config: Any, **kwargs: Any) -> ConsoleObservability:
    return ConsoleObservability(config, stream=io.StringIO(), **kwargs)


def _make_opentelemetry(config: Any, **kwargs: Any) -> OpenTelemetryObservability:
    try:
        from opentelemetry.sdk.trace import TracerProvider
    except ImportError:  # only the API is installed: its no-op tracer will do
        return OpenTelemetryObservability(config, **kwargs)
    return OpenTelemetryObservability(config, tracer_provider=TracerProvider(), **kwargs)


_SPECS: dict[str, Callable[[], ConformanceSpec]] = {
    JsonlObservability.connector_id: _jsonl_spec,
    WebhookObservability.connector_id: _webhook_spec,
    CallbackObservability.connector_id: _callback_spec,
    ConsoleObservability.connector_id: lambda: ConformanceSpec(factory=_make_console),
    OpenTelemetryObservability.connector_id: lambda: ConformanceSpec(factory=_make_opentelemetry),
}
