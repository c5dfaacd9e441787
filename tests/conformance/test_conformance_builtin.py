"""Every built-in connector passes the conformance suite, run as `pytest --connector=...`."""

from __future__ import annotations

from pathlib import Path

import pytest
from conformance_runs import SuiteRun, run_suite

from meshkit.plugins import BUILTIN_PLUGIN, get_registry
from meshkit.testing import SUITE_VERSION

pytestmark = pytest.mark.slow

BUILTIN_IDS = [entry.connector_id for entry in get_registry() if entry.plugin == BUILTIN_PLUGIN]

#: Built-ins whose spec cannot yet show the suite everything, with what is missing. Each must
#: be exactly as listed: one certified since must leave this list, and none may join it.
NOT_YET_CERTIFIED: dict[str, str] = {}


@pytest.fixture(scope="module")
def builtin_run(tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    folder: Path = tmp_path_factory.mktemp("builtin-run")
    return run_suite(folder, "--require-certified", *(f"--connector={cid}" for cid in BUILTIN_IDS))


@pytest.mark.parametrize("connector_id", BUILTIN_IDS)
def test_builtin_connector_passes_the_suite(builtin_run: SuiteRun, connector_id: str) -> None:
    entry = builtin_run.connector(connector_id)
    failures = {t["id"]: t["reason"] for t in entry["tests"] if t["outcome"] == "failed"}
    assert not failures, f"{connector_id} fails: " + "; ".join(
        f"{k}: {v}" for k, v in sorted(failures.items())
    )
    assert entry["summary"]["passed"] > 0


@pytest.mark.parametrize("connector_id", BUILTIN_IDS)
def test_builtin_connector_is_certified(builtin_run: SuiteRun, connector_id: str) -> None:
    verdict = builtin_run.connector(connector_id)["verdict"]
    if connector_id in NOT_YET_CERTIFIED:
        assert verdict["status"] == "not certified", f"{connector_id} is certified now: take it off the list"
        return
    gaps = "; ".join(f"{g['id']}: {g['outcome']}: {g['reason']}" for g in verdict["gaps"])
    assert verdict["status"] == "certified", f"{connector_id} is not certified: {gaps}"


def test_require_certified_decides_the_exit_code(builtin_run: SuiteRun) -> None:
    expected = 1 if NOT_YET_CERTIFIED else 0
    assert builtin_run.returncode == expected, builtin_run.output[-3000:]


def test_report_describes_each_connector_and_test(builtin_run: SuiteRun) -> None:
    report = builtin_run.report
    assert report is not None
    assert report["suite_version"] == SUITE_VERSION and report["meshkit_version"]
    assert sorted(c["id"] for c in report["connectors"]) == sorted(BUILTIN_IDS)
    memory = builtin_run.connector("meshkit.memory.v1")
    assert memory["type"] == "storage" and memory["distribution"] == "meshkit" and memory["version"]
    assert memory["plugin"] == "meshkit"
    outcomes = {t["outcome"] for t in memory["tests"]}
    assert outcomes <= {"passed", "failed", "skipped"}
    names = {t["id"] for t in memory["tests"]}
    assert {"test_list_filters_by_prefix[asyncio]", "test_list_filters_by_prefix[trio]"} <= names
    assert all(t["reason"] for t in memory["tests"] if t["outcome"] == "skipped"), "every skip says why"


def test_undeclared_feature_is_skipped_with_the_reason(builtin_run: SuiteRun) -> None:
    mock = builtin_run.connector("meshkit.mock.v1")
    transport = [t for t in mock["tests"] if t["test"] == "test_rate_limit_with_retry_after_seconds"]
    assert transport and all(t["outcome"] == "skipped" for t in transport)
    assert all("not an HTTPProvider" in t["reason"] for t in transport)
    memory = builtin_run.connector("meshkit.memory.v1")
    reopen = [t for t in memory["tests"] if t["test"] == "test_data_survives_reopening"]
    assert reopen and all(t["reason"] == "meshkit.memory.v1 does not declare 'persistent'" for t in reopen)
