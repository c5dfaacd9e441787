"""Which tests a connector must pass to be certified, read from the suite classes themselves.

Every ``test_…`` method of a per-type suite is required. A test that exercises an optional
ability carries a mark saying so, and is not applicable to a connector without it:

- ``@pytest.mark.meshkit_feature(StorageFeature.LOCKING)``: only for connectors that
  declare every feature named (``self.feature`` / ``self.requires`` inside the test must
  name only features the mark names; the suite checks this as it runs);
- ``@pytest.mark.meshkit_http``: only for providers that speak HTTP (built on
  ``HTTPProvider``, or whose ``Config`` has a ``base_url``);
- ``@pytest.mark.meshkit_declared("rule")``: only for connectors whose ``ConformanceSpec``
  declares that field (a rotation policy's own selection rule); ``self.declared`` inside
  the test must name only fields the mark names.

A test added to a suite is required from then on, with no list to update; ``python -m
meshkit.testing.requirements`` prints the table that docs/conformance.md carries.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterable
from enum import Enum
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from .target import ConformanceTarget

__all__ = [
    "DECLARED_MARK",
    "FEATURE_MARK",
    "HTTP_MARK",
    "MARKERS",
    "RequiredTest",
    "markdown_table",
    "required_tests",
    "speaks_http",
]

FEATURE_MARK = "meshkit_feature"
HTTP_MARK = "meshkit_http"
DECLARED_MARK = "meshkit_declared"

#: The ``markers`` ini lines the plugin registers (``--strict-markers`` accepts them).
MARKERS = (
    f"{FEATURE_MARK}(*features): a conformance test that applies only to connectors declaring these features",
    f"{HTTP_MARK}: a conformance test that applies only to providers that speak HTTP",
    f"{DECLARED_MARK}(*fields): a conformance test that applies only to connectors whose spec declares these",
)


def speaks_http(cls: type) -> bool:
    """True for a provider built on HTTPProvider, or one whose Config takes a ``base_url``."""
    from ..interfaces.http_provider import HTTPProvider

    if issubclass(cls, HTTPProvider):
        return True
    config = getattr(cls, "Config", None)
    return config is not None and attrs.has(config) and "base_url" in attrs.fields_dict(config)


@attrs.frozen
class RequiredTest:
    """One standard test of a suite, and what a connector must have for it to apply."""

    name: str
    features: tuple[Enum, ...] = ()
    http: bool = False
    declared: tuple[str, ...] = ()

    def not_applicable(self, target: ConformanceTarget) -> str | None:
        """Why this test does not apply to ``target``, or None when it is required of it."""
        missing = [f.value for f in self.features if f not in target.cls.features]
        if missing:
            return f"does not declare {', '.join(repr(m) for m in missing)}"
        if self.http and not speaks_http(target.cls):
            return "does not speak HTTP (not an HTTPProvider, and its Config takes no base_url)"
        undeclared = [f for f in self.declared if getattr(target.spec, f, None) is None]
        if undeclared:
            return f"declares no {', '.join(undeclared)} (ConformanceSpec.{undeclared[0]})"
        return None

    def condition(self) -> str:
        """When the test applies, in words (for the docs)."""
        parts = [f"`{f.value}`" for f in self.features]
        if self.http:
            parts.append("HTTP")
        parts += [f"a declared `{f}`" for f in self.declared]
        return " + ".join(parts) if parts else "always"


def _marks(function: Any) -> list[Any]:
    return list(getattr(function, "pytestmark", []))


def gates_of(function: Any) -> tuple[tuple[Enum, ...], bool]:
    """The features and the HTTP flag that a test function's marks name."""
    features: list[Enum] = []
    http = False
    for mark in _marks(function):
        if mark.name == FEATURE_MARK:
            features += [f for f in mark.args if f not in features]
        elif mark.name == HTTP_MARK:
            http = True
    return tuple(features), http


def declared_of(function: Any) -> tuple[str, ...]:
    """The spec fields a test function's marks say it needs declared."""
    return tuple(field for mark in _marks(function) if mark.name == DECLARED_MARK for field in mark.args)


def required_tests(suite: type) -> list[RequiredTest]:
    """Every standard test of ``suite``'s per-type suite, in definition order, with its gates."""
    standard = suite.standard_suite() if hasattr(suite, "standard_suite") else suite
    found: dict[str, RequiredTest] = {}
    for klass in reversed(standard.__mro__):
        for name, function in vars(klass).items():
            if name.startswith("test_") and inspect.isfunction(function):
                features, http = gates_of(function)
                found[name] = RequiredTest(name, features, http, declared_of(function))
    return list(found.values())


def _suites() -> Iterable[Any]:
    from .collected import CLASS_BY_TYPE

    return CLASS_BY_TYPE.values()


def markdown_table() -> str:
    """The required tests of every type, as the Markdown that docs/conformance.md carries."""
    from .base import ConformanceSuite

    common = required_tests(ConformanceSuite)
    lines = ["| Type | Applies to | Required tests |", "|---|---|---|"]
    lines.append(f"| every type | always | {', '.join(f'`{t.name}`' for t in common)} |")
    for suite in _suites():
        by_condition: dict[str, list[str]] = {}
        for test in required_tests(suite):
            if test in common:
                continue
            by_condition.setdefault(test.condition(), []).append(f"`{test.name}`")
        for condition, names in by_condition.items():
            lines.append(f"| {suite.connector_type.value} | {condition} | {', '.join(names)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    sys.stdout.write(markdown_table())
