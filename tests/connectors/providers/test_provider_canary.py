"""A canary key, echoed by the upstream in every encoding, appears nowhere meshkit writes.

The key holds characters that URL-encoding, JSON-escaping and base64 all change. A real
loopback upstream answers each model with a 500 echoing the presented key in one form; the
test then searches every channel for every form: the raised errors, Python logs, events,
the request log and traces, a JSONL sink's file, the persisted state files and CLI output.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml
from hostile_server import HostileServer
from provider_helpers import ask, failure

from meshkit.connectors.providers import OpenAICompatibleProvider
from meshkit.enums import Severity
from meshkit.errors import AllModelsExhaustedError
from meshkit.events import RoutingEvent
from meshkit.interfaces.observability import Observability, ObservabilityConfig
from meshkit.interfaces.redaction import REDACTED, scrubber, secret_forms
from meshkit.runtime.mesh import Mesh
from meshkit.types import RequestLogEntry, TraceEntry

pytestmark = pytest.mark.anyio

CANARY = 'sk+Canary/9x=Q"w\\zk'
FORMS = ["raw", "url", "url-lower", "json", "b64", "header"]


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


class RecordingObservability(Observability):
    """Keeps every event, request-log entry and trace entry as it is handed out."""

    connector_id = "tests.canary-recorder.v1"

    def __init__(self) -> None:
        super().__init__(ObservabilityConfig(min_severity=Severity.DEBUG))
        self.events: list[RoutingEvent] = []
        self.logs: list[RequestLogEntry] = []
        self.traces: list[TraceEntry] = []

    def handle_event(self, event: RoutingEvent) -> None:
        self.events.append(event)

    def handle_log(self, entry: RequestLogEntry) -> None:
        self.logs.append(entry)

    def handle_trace(self, entry: TraceEntry) -> None:
        self.traces.append(entry)


def leaks(text: str) -> list[str]:
    """The forms of the canary found in ``text``."""
    return sorted(form for form in secret_forms(CANARY) if form in text)


def test_every_wire_form_of_a_key_is_masked_and_short_keys_spare_words() -> None:
    scrub = scrubber([CANARY])
    for form in secret_forms(CANARY):
        assert scrub(f"key: {form}.") == f"key: {REDACTED}."
    one_letter = scrubber(["a"])
    assert (
        one_letter("a bad key: a, and a banana") == f"{REDACTED} bad key: {REDACTED}, and {REDACTED} banana"
    )


@pytest.mark.parametrize("form", FORMS)
async def test_a_provider_error_never_carries_the_key(
    hostile: HostileServer, transport: str, form: str
) -> None:
    settings = {"base_url": hostile.base_url, "api_key": CANARY, "transport": transport}
    async with OpenAICompatibleProvider(settings, name="up") as provider:
        error = await failure(provider, ask(model=f"echo-{form}"), stream=False)
        streamed = await failure(provider, ask(model=f"echo-{form}"), stream=True)
    for found in (error, streamed):
        assert REDACTED in str(found)
        assert leaks(str(found)) == [], leaks(str(found))
        assert leaks(repr(found)) == []
        assert leaks(repr(found.args)) == []


class BasicAuthProvider(OpenAICompatibleProvider):
    """A provider that sends its key the way HTTP Basic authentication does."""

    def auth_headers(self) -> dict[str, str]:
        import base64

        token = base64.b64encode(f"user:{self.config.api_key.reveal()}".encode()).decode()
        return {"Authorization": f"Basic {token}"}


@pytest.mark.parametrize("form", ["raw", "header", "url"])
@pytest.mark.parametrize("backend_and_transport", [("asyncio", "httpx")], indirect=True)
async def test_basic_auth_credentials_are_masked_as_sent(hostile: HostileServer, form: str) -> None:
    settings = {"base_url": hostile.base_url, "api_key": CANARY, "transport": "httpx"}
    async with BasicAuthProvider(settings, name="up") as provider:
        sent = provider.auth_headers()["Authorization"].partition(" ")[2]
        error = await failure(provider, ask(model=f"echo-{form}"), stream=False)
    assert sent not in str(error)
    assert REDACTED in str(error)


def mesh_config(server: HostileServer, tmp_path: Path) -> dict[str, Any]:
    models = {f"up.{form}": {"provider": "up", "name": f"echo-{form}"} for form in FORMS}
    return {
        "secrets": {"store": "env", "config": {"prefix": "CANARY_TEST_"}},
        "providers": {
            "up": {
                "connector": "openai-compatible",
                "config": {"base_url": server.base_url, "api_key": "${secrets:KEY}", "transport": "httpx"},
            }
        },
        "models": models,
        "pools": {
            "chat": {
                "models": list(models),
                "rotation": {"connector": "priority"},
                "retry": {"max_attempts": len(models)},
            }
        },
        "storage": {"connector": "file", "config": {"path": str(tmp_path / "state")}},
        "observability": {
            "connectors": [{"connector": "jsonl", "config": {"path": str(tmp_path / "events.jsonl")}}],
            "logging": {"level": "full"},
            "tracing": {"min_severity": "debug"},
        },
    }


@pytest.mark.parametrize("backend_and_transport", [("asyncio", "httpx")], indirect=True)
async def test_the_canary_appears_in_no_error_log_event_file_or_command_output(
    hostile: HostileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CANARY_TEST_KEY", CANARY)
    caplog.set_level(logging.DEBUG)
    recorder = RecordingObservability()
    config = mesh_config(hostile, tmp_path)
    async with Mesh.from_config(config, observability=[recorder]) as mesh:
        with pytest.raises(AllModelsExhaustedError) as info:
            await mesh.complete(model="chat", messages=[{"role": "user", "content": "hi"}])
        status = mesh.status()
    error = info.value
    assert len(error.attempts) == len(FORMS)
    assert all(REDACTED in str(attempt.error) for attempt in error.attempts)

    path = tmp_path / "mesh.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    command = await anyio.run_process(
        [str(Path(sys.executable).with_name("meshkit")), "status", str(path)],
        check=False,
        env={**os.environ, "CANARY_TEST_KEY": CANARY},
    )
    printed = (command.stdout + command.stderr).decode("utf-8", errors="replace")
    assert command.returncode == 0, printed

    channels = {
        "error": f"{error} {error!r} {[repr(a) for a in error.attempts]}",
        "python logs": caplog.text,
        "events": repr([e.to_dict() for e in recorder.events]),
        "request log": repr(recorder.logs),
        "traces": repr(recorder.traces),
        "status": repr(status),
        "jsonl file": (tmp_path / "events.jsonl").read_text(encoding="utf-8"),
        "state files": "".join(
            p.read_text(encoding="utf-8", errors="replace")
            for p in (tmp_path / "state").rglob("*")
            if p.is_file()
        ),
        "CLI output": printed,
    }
    assert REDACTED in channels["state files"]  # the errors were persisted, masked
    assert {name: leaks(text) for name, text in channels.items() if leaks(text)} == {}
