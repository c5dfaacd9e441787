"""The pytest plugin: selection by name, inert without --connector, and both backends."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conformance_runs import run_suite


@pytest.mark.slow
def test_unknown_connector_fails_at_once_with_close_matches(tmp_path: Path) -> None:
    run = run_suite(tmp_path, "--connector=memroy")
    assert run.returncode == 4, run.output
    assert "--connector=memroy" in run.output and "did you mean" in run.output
    assert "'memory'" in run.output
    assert "collected" not in run.output, "nothing may run when a name is wrong"


@pytest.mark.slow
def test_plugin_is_inert_without_connector(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text(
        textwrap.dedent(
            """
            import sys

            def test_plain():
                assert "meshkit.testing.collected" not in sys.modules
                assert "meshkit.testing.base" not in sys.modules
                assert "hypothesis.stateful" not in sys.modules
            """
        )
    )
    run = run_suite(tmp_path)
    assert run.returncode == 0, run.output
    assert "1 passed" in run.output
    assert run.report is not None and run.report["connectors"] == []


@pytest.mark.slow
def test_named_connectors_run_beside_named_paths_each_under_both_backends(tmp_path: Path) -> None:
    (tmp_path / "test_mine.py").write_text("def test_mine():\n    pass\n")
    selection = "mine or prefix or get_returns"
    run = run_suite(
        tmp_path, "test_mine.py", "--connector=memory", "--connector=meshkit.env", "-k", selection
    )
    assert run.returncode == 0, run.output
    assert "test_mine.py ." in run.output or "passed" in run.output
    memory = {t["id"] for t in run.connector("meshkit.memory.v1")["tests"]}
    assert memory == {"test_list_filters_by_prefix[asyncio]", "test_list_filters_by_prefix[trio]"}
    env = {t["id"] for t in run.connector("meshkit.env.v1")["tests"]}
    assert env == {"test_get_returns_the_secret[asyncio]", "test_get_returns_the_secret[trio]"}
