"""What ``import meshkit`` offers, and that listing connectors does not pay for the router."""

from __future__ import annotations

import subprocess
import sys

import pytest

import meshkit

ROUTER = "meshkit.runtime.mesh"


def python(code: str) -> str:
    """Run ``code`` in a fresh interpreter; its output."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_importing_meshkit_leaves_the_router_unimported() -> None:
    assert python(f"import sys, meshkit; print({ROUTER!r} in sys.modules)").strip() == "False"


def test_listing_connectors_leaves_the_router_unimported() -> None:
    out = python(
        f"import sys; from meshkit.cli import main; main(['connectors']); print({ROUTER!r} in sys.modules)"
    )
    assert "meshkit.memory.v1" in out
    assert out.splitlines()[-1] == "False"


def test_the_router_names_are_imported_on_first_use() -> None:
    code = f"""
import sys
from meshkit import Mesh, Selection, UnknownTargetError
print({ROUTER!r} in sys.modules)
from meshkit.runtime import mesh
print(Mesh is mesh.Mesh, Selection is mesh.Selection, UnknownTargetError is mesh.UnknownTargetError)
"""
    assert python(code).split() == ["True"] * 4


def test_every_public_name_resolves() -> None:
    assert {"Mesh", "Selection", "UnknownTargetError"} <= set(meshkit.__all__)
    missing = [name for name in meshkit.__all__ if getattr(meshkit, name, None) is None]
    assert missing == []


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError, match="module 'meshkit' has no attribute 'Meshh'"):
        _ = meshkit.Meshh  # type: ignore[attr-defined]
