"""A copy of a frozen attrs value with some fields changed, for values the router knows valid."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

__all__ = ["replaced"]

T = TypeVar("T", bound=attrs.AttrsInstance)

#: One copying function per class and set of changed fields, written once.
_COPIERS: dict[tuple[type, tuple[str, ...]], Callable[..., Any]] = {}


def replaced(instance: T, /, **changes: Any) -> T:
    """``attrs.evolve(instance, **changes)`` without running converters and validators again.

    The router renames every request and answer it passes on (the upstream model, the served
    model and its price); those values are its own, and the rest are already checked, so
    going through ``__init__`` again would only repeat work on the hot path.
    """
    key = (type(instance), tuple(changes))
    copier = _COPIERS.get(key)
    if copier is None:
        copier = _COPIERS[key] = _copier(*key)
    copy: T = copier(instance, **changes)
    return copy


def _copier(cls: type, changed: tuple[str, ...]) -> Callable[..., Any]:
    """A function that copies a ``cls`` field by field, taking the ``changed`` ones as arguments.

    Written out per class, as attrs writes its ``__init__``: one straight line of slot
    assignments costs a fraction of a loop that looks each field up by name.
    """
    names = [field.name for field in attrs.fields(cls)]
    unknown = sorted(set(changed) - set(names))
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {unknown[0]!r}")
    arguments = "".join(f", {name}" for name in changed)
    # ``object.__setattr__`` bound once to the new instance, as attrs' own ``__init__`` does.
    lines = [f"def copy(_instance{arguments}):", "    _made = _new(_cls)", "    _set = _put.__get__(_made)"]
    lines += [f"    _set({n!r}, {n if n in changed else '_instance.' + n})" for n in names]
    lines.append("    return _made")
    namespace: dict[str, Any] = {"_new": object.__new__, "_put": object.__setattr__, "_cls": cls}
    exec("\n".join(lines), namespace)  # the source is made of the class's own field names
    copier: Callable[..., Any] = namespace["copy"]
    return copier
