"""Fixtures of the foundation tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from meshkit.testing.venvs import build_wheels, copy_source_tree

#: The root of the checkout under test.
REPO_ROOT = Path(__file__).resolve().parents[2]


class BuiltWheel(NamedTuple):
    """meshkit's wheel and the copy of the checkout it was built from."""

    path: Path
    source: Path


@pytest.fixture(scope="session")
def meshkit_wheel(tmp_path_factory: pytest.TempPathFactory) -> BuiltWheel:
    """meshkit's wheel, built once per test run from a clean copy of the checkout."""
    work = tmp_path_factory.mktemp("meshkit-wheel")
    source = copy_source_tree(REPO_ROOT, work / "src")
    [wheel] = build_wheels([source], work / "dist")
    return BuiltWheel(wheel, source)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A path entry that plugins get installed into, for this test only."""
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    yield site
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(site)):
            del sys.modules[name]
