"""Each deliberately broken connector fails the suite, in the test that names its defect."""

from __future__ import annotations

from pathlib import Path

import pytest
from broken import CONNECTORS, EXPECTED_FAILURES, REFERENCES
from conformance_runs import SuiteRun, run_suites

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    folder: Path = tmp_path_factory.mktemp("broken-run")
    names = [f"--connector={cls.connector_id}" for cls in CONNECTORS]
    # Providers are most of the work: two runs of them beside one of the other types.
    providers = [
        n for n, cls in zip(names, CONNECTORS, strict=True) if cls.connector_type.value == "provider"
    ]
    others = [n for n in names if n not in providers]
    groups = [providers[::2], providers[1::2], others]
    return run_suites(folder, groups, plugins=("broken.pytest_plugin",))


def test_there_are_at_least_three_defects_per_connector_type() -> None:
    per_type: dict[str, int] = {}
    for cls in CONNECTORS:
        if cls.connector_id in EXPECTED_FAILURES:
            per_type[cls.connector_type.value] = per_type.get(cls.connector_type.value, 0) + 1
    assert len(per_type) == 6 and min(per_type.values()) >= 3, per_type


def test_a_run_with_broken_connectors_fails(broken_run: SuiteRun) -> None:
    assert broken_run.returncode == 1, broken_run.output[-3000:]


@pytest.mark.parametrize(("connector_id", "test_name"), sorted(EXPECTED_FAILURES.items()))
def test_defect_fails_the_test_that_names_it(broken_run: SuiteRun, connector_id: str, test_name: str) -> None:
    entry = broken_run.connector(connector_id)
    failed = broken_run.outcomes(connector_id, "failed")
    assert test_name in failed, f"{connector_id}: expected {test_name} to fail; failed: {sorted(failed)}"
    assert entry["passed"] is False and entry["summary"]["failed"] >= 1
    reasons = [t["reason"] for t in entry["tests"] if t["test"] == test_name and t["outcome"] == "failed"]
    assert reasons and all(reasons), f"{connector_id}: a failure in the report carries its reason"


@pytest.mark.parametrize("connector_id", REFERENCES)
def test_reference_connector_passes(broken_run: SuiteRun, connector_id: str) -> None:
    failed = broken_run.outcomes(connector_id, "failed")
    assert not failed, f"{connector_id} is correct, yet failed {sorted(failed)}"
    assert broken_run.connector(connector_id)["summary"]["passed"] > 0


def test_undeclared_feature_that_works_is_reported(broken_run: SuiteRun) -> None:
    entry = broken_run.connector("reference.modest-storage.v1")
    assert entry["undeclared_features_working"] == ["locking"]
    lock_tests = [t for t in entry["tests"] if t["test"] == "test_lock_is_exclusive"]
    assert lock_tests and all(t["outcome"] == "skipped" for t in lock_tests)
    assert all("does not declare 'locking' (it works: declare it)" in t["reason"] for t in lock_tests)
    assert "UndeclaredFeatureWarning" in broken_run.output


def test_a_provider_not_built_on_httpprovider_faces_every_fault(broken_run: SuiteRun) -> None:
    # Its Config takes a base_url and its spec says nothing more: the local server plays the faults.
    entry = broken_run.connector("reference.plain-http.v1")
    assert entry["verdict"]["status"] == "certified", entry["verdict"]["gaps"][:5]
    faults = [t for t in entry["tests"] if t["test"] == "test_server_error_is_unavailable"]
    assert faults and all(t["outcome"] == "passed" for t in faults), faults
