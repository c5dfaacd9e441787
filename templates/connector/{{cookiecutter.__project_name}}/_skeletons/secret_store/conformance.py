"""How the conformance suite builds the secret store and puts secrets in it.

This store cannot ``set`` secrets (it has no MANAGEMENT feature), so the suite asks
``seed_secrets`` to put them where a fresh instance reads them. Here that is the
instance's own config. REPLACE it when your store reads a real backend: write the
secrets to a test instance of the backend, and remove them when the block ends.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from meshkit.testing import ConformanceSpec

from .connector import {{ cookiecutter.__class_name }}

#: The secrets seeded for the test that is running (innermost last).
_seeded: list[Mapping[str, str]] = []


@contextmanager
def seed_secrets(secrets: Mapping[str, str]) -> Iterator[None]:
    """Make ``secrets`` readable by the stores built inside the block."""
    _seeded.append(dict(secrets))
    try:
        yield
    finally:
        _seeded.pop()


def build(config: Any, **kwargs: Any) -> {{ cookiecutter.__class_name }}:
    """A store whose config holds the seeded secrets (a bad config is passed on as it is)."""
    if _seeded and isinstance(config, Mapping):
        config = {**config, "secrets": {**config.get("secrets", {}), **_seeded[-1]}}
    return {{ cookiecutter.__class_name }}(config, **kwargs)


def conformance_spec() -> ConformanceSpec:
    """Build through ``build`` so that seeded secrets land in the config."""
    return ConformanceSpec(config={}, factory=build, seed_secrets=seed_secrets)
