"""``meshkit demo`` and ``meshkit status``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
import yaml
from runtime_helpers import two_provider_config

from meshkit.cli import main
from meshkit.cli.demo import run_demo
from meshkit.runtime.mesh import Mesh


@pytest.mark.slow
def test_meshkit_demo_shows_routing_a_failover_and_the_status() -> None:
    script = Path(sys.executable).with_name("meshkit")
    done = subprocess.run([str(script), "demo"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    check_demo_output(out)


def check_demo_output(out: str) -> None:
    """The demo's story: a failover to backup.steady, primary.fast set aside, then back."""
    assert "request 1: the policy picks primary.fast" in out
    assert "model_rotated      primary.fast -> backup.steady after ProviderUnavailableError" in out
    assert "model_deactivated  primary.fast set aside (error_threshold); cooldown 60s" in out
    assert "answered by backup.steady" in out
    # the recovery comes before the end, and the model answers again
    recovered = out.index("model_activated    primary.fast is back")
    assert recovered < out.index("request 6: the policy picks primary.fast") < out.index("final status:")
    assert "answered by primary.fast" in out.split("request 6:")[1]
    status_rows = out.split("final status:")[1]
    assert re.search(r"primary\.fast +active +- +3 +1 +2", status_rows), status_rows


def test_the_demo_runs_against_the_local_server_when_aiohttp_is_there() -> None:
    lines: list[str] = []
    assert run_demo(lines.append) == 0
    out = "\n".join(lines)
    assert lines[0].startswith("meshkit demo: a local OpenAI-compatible server at http://127.0.0.1:")
    check_demo_output(out)


def test_the_demo_falls_back_to_in_process_providers_without_aiohttp(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import aiohttp` fail, as on an install with runtime dependencies only.
    monkeypatch.setitem(sys.modules, "aiohttp", None)
    monkeypatch.delitem(sys.modules, "meshkit.testing.mock_server", raising=False)
    lines: list[str] = []
    assert run_demo(lines.append) == 0
    out = "\n".join(lines)
    notes = [line for line in lines if "not installed" in line]
    assert notes == [
        "meshkit demo: aiohttp is not installed, so the providers are in-process mock ones instead "
        "of a local OpenAI-compatible server (pip install 'meshkit[fast]' for the HTTP version)."
    ]
    assert "127.0.0.1" not in out
    check_demo_output(out)
    assert "answered by local.tiny" not in out  # the backup took over, as with the server


def test_meshkit_status_prints_the_stored_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = two_provider_config()
    config["storage"] = {"connector": "file", "config": {"path": str(tmp_path / "state")}}
    path = tmp_path / "mesh.yaml"
    path.write_text(yaml.safe_dump(config))

    async def set_aside() -> None:
        async with Mesh.from_config(path) as mesh:
            await mesh.deactivate("b.large")

    anyio.run(set_aside)
    assert main(["status", str(path)]) == 0
    out = capsys.readouterr().out
    assert "pool chat: 1/2 active" in out
    assert re.search(r"b\.large +standby +manual", out), out
    assert main(["status", str(path), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["models"]["b.large"]["reason"] == "manual"


def test_meshkit_status_reports_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mesh.yaml"
    path.write_text("providers: {}\nmodels: {}\npools: {chat: {retyr: {}}}\n")
    assert main(["status", str(path)]) == 2
    out = capsys.readouterr().out
    assert "pools.chat.retyr: unknown key; did you mean 'retry'?" in out
