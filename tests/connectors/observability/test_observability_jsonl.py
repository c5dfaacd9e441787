"""meshkit.jsonl.v1: one JSON object per line, tagged by kind, rotated by size."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from observability_helpers import PLAIN_SECRET, event, log_entry, trace_entry

from meshkit.connectors.observability.jsonl import JsonlObservability
from meshkit.enums import Severity
from meshkit.errors import ConfigError
from meshkit.testing import FakeClock


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def numbers(path: Path) -> list[int]:
    return [r["metadata"]["n"] for r in read(path) if r["kind"] == "event"]


@pytest.mark.anyio
async def test_every_kind_is_written_as_a_tagged_line(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "events.jsonl"
    async with JsonlObservability({"path": str(path), "log_level": "summary"}, clock=clock) as sink:
        sink.emit(event(n=1))
        sink.log(log_entry())
        sink.trace(trace_entry(Severity.ERROR))
        sink.report({"pools": {"chat": {"active": 1}}})
        await sink.flush()
        records = read(path)
    assert [r["kind"] for r in records] == ["event", "log", "trace", "report"]
    assert records[0] == {
        "kind": "event",
        "event_type": "model_deactivated",
        "timestamp": "2026-01-01T12:00:00+00:00",
        "model_id": "local.small",
        "provider_id": "local",
        "pool_id": "chat",
        "metadata": {"n": 1},
    }
    assert records[1]["usage"]["total_tokens"] == 42 and records[1]["request"] is None
    assert records[2]["severity"] == "error" and records[2]["metadata"] == {"token": "**********"}
    assert records[3]["stats"] == {"pools": {"chat": {"active": 1}}}


@pytest.mark.anyio
async def test_full_level_payloads_are_written_without_secrets(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "events.jsonl"
    async with JsonlObservability({"path": str(path), "log_level": "full"}, clock=clock) as sink:
        sink.log(log_entry())
    text = path.read_text()
    (record,) = read(path)
    assert record["request"]["messages"] == [{"role": "user", "content": "hi"}]
    assert PLAIN_SECRET not in text


@pytest.mark.anyio
async def test_writes_append_to_an_existing_file_and_create_its_folder(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "logs" / "mesh" / "events.jsonl"
    async with JsonlObservability({"path": str(path)}, clock=clock) as sink:
        sink.emit(event(n=1))
    async with JsonlObservability({"path": str(path)}, clock=clock) as sink:
        sink.emit(event(n=2))
    assert numbers(path) == [1, 2]


@pytest.mark.anyio
async def test_the_file_rotates_by_size_and_keeps_backups(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "events.jsonl"
    probe = JsonlObservability({"path": str(tmp_path / "probe.jsonl")}, clock=clock)
    probe.emit(event(n=0))
    await probe.aclose()
    line_size = (tmp_path / "probe.jsonl").stat().st_size  # every event line below has this size
    config = {"path": str(path), "max_bytes": line_size * 2, "backups": 2, "batch_size": 1}
    async with JsonlObservability(config, clock=clock) as sink:
        for n in range(7):
            sink.emit(event(n=n))
    assert numbers(path) == [6]
    assert numbers(tmp_path / "events.jsonl.1") == [4, 5]
    assert numbers(tmp_path / "events.jsonl.2") == [2, 3]
    assert not (tmp_path / "events.jsonl.3").exists()  # [0, 1] went beyond the kept backups
    for file in (path, tmp_path / "events.jsonl.1", tmp_path / "events.jsonl.2"):
        assert file.stat().st_size <= line_size * 2


@pytest.mark.anyio
async def test_zero_backups_truncates_instead_of_keeping_files(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "events.jsonl"
    async with JsonlObservability({"path": str(path), "max_bytes": 200, "backups": 0}, clock=clock) as sink:
        for n in range(10):
            sink.emit(event(n=n))
    assert files_in(tmp_path) == ["events.jsonl"]
    assert numbers(path) == [9] and path.stat().st_size <= 200


@pytest.mark.anyio
async def test_max_bytes_zero_never_rotates(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "events.jsonl"
    async with JsonlObservability({"path": str(path), "max_bytes": 0}, clock=clock) as sink:
        for n in range(50):
            sink.emit(event(n=n))
    assert numbers(path) == list(range(50))
    assert files_in(tmp_path) == ["events.jsonl"]


@pytest.mark.anyio
async def test_background_worker_writes_full_batches_without_flush(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "events.jsonl"
    async with JsonlObservability({"path": str(path), "batch_size": 2}, clock=clock) as sink:
        sink.emit(event(n=1))
        sink.emit(event(n=2))
        await clock.advance(0)
        assert sink.queued == 0  # the worker took the full batch
        await sink.flush()  # flush waits for that write to finish
        assert numbers(path) == [1, 2]
        assert sink.delivered == 2


@pytest.mark.anyio
async def test_an_unwritable_path_counts_failures_and_never_raises(tmp_path: Path, clock: FakeClock) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    sink = JsonlObservability({"path": str(blocker / "events.jsonl")}, clock=clock)
    async with sink:
        sink.emit(event())
        await sink.flush()
    assert sink.failed == 1 and sink.delivered == 0


def test_a_folder_as_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config\.path: expected a file path, not a folder"):
        JsonlObservability({"path": str(tmp_path)})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"path": ""}, r"config\.path: expected a file path, not a folder, got ''"),
        ({"max_bytes": -1}, r"config\.max_bytes: expected 0 or more bytes"),
        ({"backups": "three"}, r"config\.backups: expected a whole number"),
        ({"rotate": True}, r"config\.rotate: unknown key"),
    ],
)
def test_bad_settings_are_reported_by_path(config: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        JsonlObservability(config)
