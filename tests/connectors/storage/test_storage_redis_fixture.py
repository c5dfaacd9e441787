"""The redis_server fixture (tests/conftest.py): skipped loudly without redis-server, a failure under CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
ROOT = HERE.parents[2]


def run_redis_test_without_redis_server(ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = str(Path(sys.executable).parent)  # python is there, redis-server is not
    if ci:
        env["CI"] = "true"
    target = str(HERE / "test_storage_redis.py")
    return subprocess.run(
        [sys.executable, "-m", "pytest", target, "-k", "closed and asyncio", "-rs", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )


def test_without_redis_server_the_tests_are_skipped_with_a_warning() -> None:
    result = run_redis_test_without_redis_server(ci=False)
    assert result.returncode == 0, result.stdout
    assert "SKIPPED" in result.stdout and "Redis tests NOT RUN" in result.stdout
    assert "UserWarning" in result.stdout


def test_without_redis_server_under_ci_the_tests_fail() -> None:
    result = run_redis_test_without_redis_server(ci=True)
    assert result.returncode == 1, result.stdout
    assert "required under CI" in result.stdout
