"""The terminal output: tables that fit 80 columns, plain --json, a closed pipe, status without secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from meshkit import ConnectorType
from meshkit.cli import main
from meshkit.cli._common import fit_widths, short_time
from meshkit.plugins import get_registry

pytestmark = pytest.mark.slow


def meshkit(*args: str, columns: int = 80, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meshkit", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": str(columns), **env},
        timeout=60,
        check=False,
    )


def test_the_connectors_table_fits_80_columns_one_line_per_connector() -> None:
    done = meshkit("connectors")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = lines[1:]  # under the header
    ids = [e.connector_id for e in get_registry()]
    assert len(rows) == len(ids)  # no row wrapped onto a second line
    assert [row.split()[0] for row in rows] == ids  # ids are never cut
    assert lines[0].split() == ["ID", "TYPE", "VERSION", "PLUGIN", "FEATURES"]


def test_a_wider_terminal_shows_the_cells_whole() -> None:
    lines = meshkit("connectors", columns=200).stdout.splitlines()
    assert not any("…" in line for line in lines)
    assert any("embeddings, json_mode" in line for line in lines)


def test_json_output_is_plain_json_whatever_the_width() -> None:
    done = meshkit("connectors", "--json", columns=40)
    data = json.loads(done.stdout)
    assert {c["id"] for c in data["connectors"]} == {e.connector_id for e in get_registry()}
    assert "…" not in done.stdout


def test_secret_store_is_accepted_with_a_hyphen_or_an_underscore(capsys: pytest.CaptureFixture[str]) -> None:
    outputs = []
    for spelling in ("secret-store", "secret_store"):
        assert main(["connectors", "--type", spelling, "--json"]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == outputs[1]
    assert {c["type"] for c in outputs[0]["connectors"]} == {ConnectorType.SECRET_STORE.value}
    with pytest.raises(SystemExit):
        main(["connectors", "--type", "secrets"])
    assert "unknown type 'secrets'; choose from provider" in capsys.readouterr().err


def test_a_closed_pipe_ends_the_command_quietly() -> None:
    # `meshkit connectors --json | head -1`: the reader leaves after the first line.
    command = [sys.executable, "-m", "meshkit", "connectors", "--json"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().strip() == b"{"
        proc.stdout.close()
        err = proc.stderr.read().decode()
        proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err
    assert proc.returncode in (0, 141)


def status_config(tmp_path: Path, storage: dict[str, object] | None) -> Path:
    config: dict[str, object] = {
        "providers": {
            "openai": {"connector": "openai-compatible", "config": {"preset": "openai"}},
            "claude": {"connector": "anthropic", "config": {"api_key": "${secrets:MESHKIT_TEST_UNSET_KEY}"}},
        },
        "models": {
            "openai.llama-3.3-70b-instruct-turbo-preview": {"provider": "openai"},
            "claude.haiku": {"provider": "claude"},
        },
        "pools": {"chat": {"capability": "chat-completion"}},
    }
    if storage is not None:
        config["storage"] = storage
    path = tmp_path / "mesh.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_status_works_without_the_secrets_and_names_the_missing_ones(tmp_path: Path) -> None:
    state = tmp_path / "state"
    path = status_config(tmp_path, {"connector": "file", "config": {"path": str(state)}})
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "MESHKIT_TEST_UNSET_KEY")}
    done = subprocess.run(
        [sys.executable, "-m", "meshkit", "status", str(path)],
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "80"},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "pool chat: 2/2 active" in out
    assert "note: not set: MESHKIT_TEST_UNSET_KEY, OPENAI_API_KEY" in out
    assert "does not persist" not in out  # file storage keeps the counters
    table = [line for line in out.splitlines() if line.startswith("  ") and "note:" not in line][1:]
    assert max(len(line) for line in out.splitlines() if "note:" not in line) <= 80
    assert sorted(row.split()[0] for row in table[1:]) == [  # one line per model, ids whole
        "claude.haiku",
        "openai.llama-3.3-70b-instruct-turbo-preview",
    ]


def test_status_says_when_the_storage_does_not_persist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = status_config(tmp_path, None)  # the default: in-memory storage
    assert main(["status", str(path)]) == 0
    out = capsys.readouterr().out
    assert "storage 'memory' does not persist, so these counters start at zero" in out
    assert main(["status", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["models"]["claude.haiku"]["status"] == "active"


def test_times_are_short_in_the_default_view() -> None:
    now = "2026-01-01T12:00:00+00:00"
    assert short_time(None, now) == "-"
    assert short_time("2026-01-01T12:00:59.500000+00:00", now) == "in 59s"
    assert short_time("2026-01-01T12:30:00+00:00", now) == "in 30m"
    assert short_time("2026-01-01T11:59:30+00:00", now) == "30s ago"
    assert short_time("2026-01-01T20:15:00+00:00", now) == "20:15 UTC"
    assert short_time("2026-02-01T00:00:00+00:00", now) == "2026-02-01 00:00 UTC"


def test_fitted_widths_keep_the_kept_columns_and_share_the_rest() -> None:
    assert fit_widths([10, 4, 50, 30], keep=(0,), room=60) == [10, 4, 23, 23]
    assert fit_widths([10, 4, 5], keep=(0,), room=60) == [10, 4, 5]
