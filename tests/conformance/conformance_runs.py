"""Running the conformance suite the way a connector author does: ``pytest --connector=...``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs

HERE = Path(__file__).resolve().parent


@attrs.frozen
class SuiteRun:
    """One pytest process: its exit code, output and conformance report."""

    returncode: int
    output: str
    report: dict[str, Any] | None

    def connector(self, connector_id: str) -> dict[str, Any]:
        """The report's entry for ``connector_id``."""
        assert self.report is not None, f"no report written; output:\n{self.output[-3000:]}"
        found = [c for c in self.report["connectors"] if c["id"] == connector_id]
        assert found, f"{connector_id} is not in the report"
        return found[0]

    def outcomes(self, connector_id: str, outcome: str) -> set[str]:
        """Names of the tests of ``connector_id`` that ended with ``outcome``."""
        return {t["test"] for t in self.connector(connector_id)["tests"] if t["outcome"] == outcome}


def run_suite(cwd: Path, *args: str, profile: str = "smoke", plugins: tuple[str, ...] = ()) -> SuiteRun:
    """Run pytest in ``cwd`` (a folder with no tests and no conftest) with ``args``."""
    report = cwd / "conformance.json"
    env = {**os.environ, "MESHKIT_CONFORMANCE_PROFILE": profile, "PYTHONPATH": str(HERE)}
    env.pop("PYTEST_ADDOPTS", None)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--conformance-report={report}",
    ]
    for plugin in plugins:
        command += ["-p", plugin]
    proc = subprocess.run(
        [*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    data = json.loads(report.read_text()) if report.exists() else None
    return SuiteRun(proc.returncode, proc.stdout + proc.stderr, data)
