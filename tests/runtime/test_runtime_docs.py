"""docs/configuration.md documents every configuration key, and only keys that exist."""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import attrs

from meshkit.interfaces import HTTPProviderConfig
from meshkit.runtime.settings import MeshSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
HEADING = re.compile(r"^#{2,4} .*$")
ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|")
#: Sections documented although the mesh settings type them as a plain mapping.
CONNECTOR_SECTIONS: list[tuple[str, type]] = [("providers.<name>.config", HTTPProviderConfig)]


def sections(cls: type, path: str = "") -> list[tuple[str, type]]:
    """Every configuration class reachable from ``cls``, with its YAML path."""
    attrs.resolve_types(cls)
    found = [(path, cls)]
    for field in attrs.fields(cls):
        key = field.alias or field.name
        for inner, suffix in _nested(field.type):
            child = f"{path}.{key}{suffix}" if path else f"{key}{suffix}"
            found.extend(sections(inner, child))
    return found


def _nested(tp: Any) -> list[tuple[type, str]]:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return [n for arg in get_args(tp) for n in _nested(arg)]
    if origin is list:
        return [(inner, f"[]{suffix}") for inner, suffix in _nested(get_args(tp)[0])]
    if origin is dict:
        placeholder = "<name>"
        return [(inner, f".{placeholder}{suffix}") for inner, suffix in _nested(get_args(tp)[1])]
    if isinstance(tp, type) and attrs.has(tp):
        return [(tp, "")]
    return []


def documented() -> dict[str, set[str]]:
    """Heading paths (in backticks) → the keys listed in the table under that heading."""
    tables: dict[str, set[str]] = {}
    current: list[str] = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if HEADING.match(line):
            current = re.findall(r"`([^`]*)`", line)
            for path in current:
                tables.setdefault(path, set())
            continue
        row = ROW.match(line)
        if row and current:
            for path in current:
                tables[path].add(row.group(1))
    return tables


def test_every_configuration_key_is_documented_and_every_documented_key_exists() -> None:
    doc = documented()
    for path, cls in sections(MeshSettings) + CONNECTOR_SECTIONS:
        heading = path or "(top level)"
        assert heading in doc, f"docs/configuration.md has no section headed `{heading}`"
        keys = {f.alias or f.name for f in attrs.fields(cls)}
        assert doc[heading] == keys, (
            f"`{heading}`: undocumented {sorted(keys - doc[heading])}, unknown {sorted(doc[heading] - keys)}"
        )


def test_the_documented_sections_are_exactly_the_configuration_sections() -> None:
    expected = {path or "(top level)" for path, _ in sections(MeshSettings) + CONNECTOR_SECTIONS}
    with_tables = {path for path, keys in documented().items() if keys}
    assert with_tables == expected
