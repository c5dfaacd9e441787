"""A copy of a frozen attrs value with some fields changed, for values the router knows valid."""

from __future__ import annotations

from typing import Any, TypeVar

import attrs

__all__ = ["replaced"]

T = TypeVar("T", bound=attrs.AttrsInstance)

#: Each class's field names, looked up once.
_FIELDS: dict[type, tuple[str, ...]] = {}


def replaced(instance: T, /, **changes: Any) -> T:
    """``attrs.evolve(instance, **changes)`` without running converters and validators again.

    The router renames every request and answer it passes on (the upstream model, the served
    model and its price); those values are its own, and the rest are already checked, so
    going through ``__init__`` again would only repeat work on the hot path.
    """
    cls = type(instance)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(field.name for field in attrs.fields(cls))
    copy = object.__new__(cls)
    put = object.__setattr__
    for name in names:
        put(copy, name, changes[name] if name in changes else getattr(instance, name))
    return copy
