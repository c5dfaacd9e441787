"""The verdict: a connector that switches tests off passes them all, yet is not certified."""

from __future__ import annotations

from pathlib import Path

import pytest
from conformance_runs import SuiteRun, run_suite
from opting_out import SWITCHED_OFF

pytestmark = pytest.mark.slow

PLUGIN = ("opting_out.pytest_plugin",)
IDS = sorted(SWITCHED_OFF)


@pytest.fixture(scope="module")
def optout_run(tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    folder: Path = tmp_path_factory.mktemp("optout-run")
    return run_suite(folder, *(f"--connector={cid}" for cid in IDS), "-k", "asyncio", plugins=PLUGIN)


def test_the_switched_off_tests_are_all_that_is_missing(optout_run: SuiteRun) -> None:
    assert optout_run.returncode == 0, optout_run.output[-3000:]  # nothing failed
    for connector_id, switches in SWITCHED_OFF.items():
        entry = optout_run.connector(connector_id)
        verdict = entry["verdict"]
        assert verdict["status"] == "not certified" and verdict["certified"] is False
        skipped = {g["test"] for g in verdict["gaps"] if g["outcome"] == "skipped"}
        assert set(switches) <= skipped, f"{connector_id}: gaps {sorted(skipped)}"
        for test, words in switches.items():
            reasons = [
                g["reason"] for g in verdict["gaps"] if g["test"] == test and g["outcome"] == "skipped"
            ]
            assert reasons and all(words in r for r in reasons), f"{test}: {reasons}"
    assert optout_run.report is not None and optout_run.report["certified"] is False


def test_deselected_tests_are_gaps_too(optout_run: SuiteRun) -> None:
    # The run kept only the asyncio half (-k asyncio): every trio test is missing, by name.
    for connector_id in IDS:
        entry = optout_run.connector(connector_id)
        deselected = {g["id"] for g in entry["verdict"]["gaps"] if g["outcome"] == "deselected"}
        ran = {t["id"] for t in entry["tests"]}
        assert "test_async_with_starts_and_closes[trio]" in deselected
        assert "test_async_with_starts_and_closes[asyncio]" in ran
        assert not any("trio" in i for i in ran), "-k asyncio ran a trio test"


def test_the_terminal_summary_gives_the_verdict_and_the_switches(optout_run: SuiteRun) -> None:
    output = optout_run.output
    assert "meshkit conformance verdict" in output
    assert "optout.quiet-llm.v1 (provider): not certified" in output
    assert "switched off by its ConformanceSpec.skips: we only ever make one call at a time" in output
    assert "optout.levelless-sink.v1 (observability): not certified" in output


def test_require_certified_makes_it_exit_non_zero(tmp_path: Path) -> None:
    run = run_suite(
        tmp_path,
        f"--connector={IDS[0]}",
        "-k",
        "concurrent_calls or standard_tests",
        "--require-certified",
        plugins=PLUGIN,
    )
    assert run.returncode == 1, run.output[-3000:]
    assert "failed" not in run.output.splitlines()[-1], "nothing failed: only the verdict makes it non-zero"
    assert run.report is not None and run.report["exit_status"] == 1


def test_require_certified_with_no_connector_fails(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    assert True\n")
    run = run_suite(tmp_path, "--require-certified", "test_plain.py")
    assert run.returncode == 1, run.output[-3000:]
    assert "no connector was put through the conformance suite" in run.output
