"""The scripts of bench/ share servers, clients and pools: each loads the others it needs from here."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent


@functools.cache
def sibling(name: str) -> ModuleType:
    """``bench/<name>.py`` as a module, loaded once per process (the scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
