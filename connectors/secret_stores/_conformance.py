"""How the conformance suite builds the built-in secret stores and puts secrets where they read."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from meshkit.testing import ConformanceSpec

__all__ = ["dotenv_spec", "env_spec", "file_spec", "keyring_spec"]

ENV_PREFIX = "MESHKIT_CONFORMANCE_"

#: The file the current test's store reads; set by the setup, written by seed_secrets.
_current: list[Path] = []


def env_spec() -> ConformanceSpec:
    """Secrets go into prefixed environment variables, removed again afterwards."""
    return ConformanceSpec(config={"prefix": ENV_PREFIX}, seed_secrets=_seed_environment)


@contextmanager
def _seed_environment(secrets: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(ENV_PREFIX + name) for name in secrets}
    os.environ.update({ENV_PREFIX + name: value for name, value in secrets.items()})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(ENV_PREFIX + name, None)
            else:
                os.environ[ENV_PREFIX + name] = value


@asynccontextmanager
async def _file_in_temp_dir(name: str, content: str) -> AsyncIterator[Mapping[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="meshkit-conformance-") as directory:
        path = Path(directory) / name
        _write_private(path, content)
        _current.append(path)
        try:
            yield {"path": str(path)}
        finally:
            _current.remove(path)


def _write_private(path: Path, content: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(content)


@contextmanager
def _seed_file(render: Any, empty: str, secrets: Mapping[str, str]) -> Iterator[None]:
    if not _current:
        raise RuntimeError("seed_secrets needs the spec's setup to be entered first")
    path = _current[-1]
    _write_private(path, render(secrets))
    try:
        yield
    finally:
        _write_private(path, empty)


def _dotenv_text(secrets: Mapping[str, str]) -> str:
    # Single quotes keep everything but backslash and the quote itself, which are escaped.
    def quoted(value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    return "".join(f"{name}={quoted(value)}\n" for name, value in secrets.items())


def dotenv_spec() -> ConformanceSpec:
    """A fresh ``.env`` per test; interpolation off so values come back exactly."""
    return ConformanceSpec(
        config={"interpolate": False},
        setup=lambda: _file_in_temp_dir(".env", ""),
        seed_secrets=lambda secrets: _seed_file(_dotenv_text, "", secrets),
    )


def file_spec() -> ConformanceSpec:
    """A fresh, owner-only ``secrets.json`` per test."""
    return ConformanceSpec(
        setup=lambda: _file_in_temp_dir("secrets.json", "{}"),
        seed_secrets=lambda secrets: _seed_file(lambda s: json.dumps(dict(s)), "{}", secrets),
    )


def keyring_spec() -> ConformanceSpec:
    """An in-memory keyring backend, so the suite runs where no system keyring is usable."""
    from ._conformance_keyring import SERVICE, MemoryKeyring, seed

    backend = f"{MemoryKeyring.__module__}.{MemoryKeyring.__qualname__}"
    return ConformanceSpec(config={"service": SERVICE, "backend": backend}, seed_secrets=seed)
