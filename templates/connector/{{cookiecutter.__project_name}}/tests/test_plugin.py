"""The installed package is a meshkit plugin: its entry point loads and answers both hooks."""

from __future__ import annotations

from meshkit import ConnectorType, get_registry
from meshkit.testing import ConformanceSpec

from {{ cookiecutter.__package_name }} import {{ cookiecutter.__class_name }}

CONNECTOR_ID = "{{ cookiecutter.__connector_id }}"


def test_meshkit_finds_the_connector_through_the_entry_point() -> None:
    registry = get_registry()
    problems = [f for f in registry.failures if f.distribution == "{{ cookiecutter.__project_name }}"]
    assert not problems, f"meshkit could not load this package's plugin: {problems}"
    entry = registry.entry(CONNECTOR_ID)
    assert entry.cls is {{ cookiecutter.__class_name }}
    assert entry.distribution == "{{ cookiecutter.__project_name }}"
    assert entry.connector_type is ConnectorType.{{ cookiecutter.connector_type.upper() }}


def test_the_bare_name_finds_it_too() -> None:
    # `pytest --connector=<name>` relies on this lookup: no other installed connector may
    # have the same name.
    found = get_registry().entry("{{ cookiecutter.name }}").cls
    assert found is {{ cookiecutter.__class_name }}


def test_the_conformance_hook_answers_with_a_spec() -> None:
    spec = get_registry().conformance(CONNECTOR_ID)
    assert isinstance(spec, ConformanceSpec), f"meshkit_conformance returned {spec!r}"
