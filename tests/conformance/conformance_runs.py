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


def run_suite(
    cwd: Path, *args: str, profile: str = "smoke", plugins: tuple[str, ...] = (), timeout: float = 900
) -> SuiteRun:
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
        [*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    data = json.loads(report.read_text()) if report.exists() else None
    return SuiteRun(proc.returncode, proc.stdout + proc.stderr, data)


def run_suites(
    cwd: Path, groups: list[list[str]], *, plugins: tuple[str, ...] = (), timeout: float = 1800
) -> SuiteRun:
    """One run per group of arguments, side by side (each in a folder of its own), as one run.

    The exit code is the worst, the outputs are joined, and the reports' connectors merged.
    """
    from concurrent.futures import ThreadPoolExecutor

    folders = [cwd / f"part{i}" for i in range(len(groups))]
    for folder in folders:
        folder.mkdir(exist_ok=True)
    with ThreadPoolExecutor(len(groups)) as pool:
        runs = list(
            pool.map(
                lambda job: run_suite(job[0], *job[1], plugins=plugins, timeout=timeout),
                zip(folders, groups, strict=True),
            )
        )
    reports = [run.report for run in runs]
    merged: dict[str, Any] | None = None
    if all(report is not None for report in reports):
        merged = dict(reports[0] or {})
        merged["connectors"] = [c for report in reports for c in (report or {})["connectors"]]
        merged["certified"] = all((report or {}).get("certified") for report in reports)
    code = max(run.returncode for run in runs)
    return SuiteRun(code, "\n".join(run.output for run in runs), merged)
