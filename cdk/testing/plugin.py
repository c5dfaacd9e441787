"""The pytest plugin (``pytest11`` entry point). Inert unless ``--connector`` is given."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("meshkit", "meshkit connector conformance")
    group.addoption(
        "--connector",
        action="append",
        default=[],
        metavar="NAME",
        help="run the conformance suite against this connector (id, vendor.name or name); repeatable",
    )
    group.addoption(
        "--conformance-report", default=None, metavar="PATH", help="write a JSON conformance report to PATH"
    )
