"""Frozen attrs values filled in from values already known valid, without running ``__init__``.

A frozen attrs class refuses attribute assignment, so its ``__init__`` sets each field through
``object.__setattr__``: a C call per field, several times the cost of a plain assignment. A
router passes on values it has already checked (a request renamed for the upstream, a
snapshot counted from its own records, an answer its parser has read), and for them the
converters, validators and those calls only repeat work.

Here each class gets a *filler*: a subclass that adds no slots and takes plain assignment.
A value is made as a filler, each field is assigned (the interpreter's own fast path for a
slot), and the value then becomes the frozen class itself by ``__class__`` assignment, which
Python allows between classes of the same layout. What comes out is an ordinary instance of
the class, equal to one its ``__init__`` would make from the same values and just as frozen.
Where the interpreter refuses the assignment, each field is set as ``__init__`` sets it,
which gives the same value more slowly.

Only for values the caller has checked: nothing is converted or validated. ``maker`` refuses a
class with ``__attrs_post_init__`` or with slots that are not its fields (a cached hash), which
``copier`` copies through ``attrs.evolve``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

__all__ = ["copier", "maker"]

T = TypeVar("T", bound=attrs.AttrsInstance)

#: Names the generated functions use for themselves; no field may be called so.
_OWN = frozenset({"_instance", "_made", "_new", "_filler", "_cls", "_slot", "_put"})

_FILLERS: dict[type, type] = {}
_MAKERS: dict[type, Callable[..., Any]] = {}
_COPIERS: dict[tuple[type, tuple[str, ...]], Callable[..., Any]] = {}


def maker(cls: type[T]) -> Callable[..., T]:
    """A function that makes a ``cls`` from every field's value, by keyword or in field order.

    ``maker(TokenUsage)(prompt_tokens=1, completion_tokens=2, total_tokens=3)`` equals
    ``TokenUsage(1, 2, 3)``; every field must be given (a missing one is a ``TypeError``).
    """
    made = _MAKERS.get(cls)
    if made is None:
        names = _field_names(cls)
        made = _MAKERS[cls] = _write(cls, "make", names, {name: name for name in names})
    return made


def copier(cls: type[T], changed: tuple[str, ...]) -> Callable[..., T]:
    """A function ``copy(instance, *values)`` that copies a ``cls`` with the ``changed`` fields
    given anew, in that order: ``attrs.evolve`` without converters and validators.

    A class ``maker`` refuses (one with ``__attrs_post_init__`` or a cached hash, say a
    provider's subclass of an answer type) is copied by ``attrs.evolve`` itself.
    """
    key = (cls, changed)
    made = _COPIERS.get(key)
    if made is None:
        if not attrs.has(cls):
            raise TypeError(f"{cls.__name__} is not an attrs class")
        names = tuple(field.name for field in attrs.fields(cls))
        unknown = sorted(set(changed) - set(names))
        if unknown:
            raise TypeError(f"{cls.__name__} has no field {unknown[0]!r}")
        try:
            _field_names(cls)
        except TypeError:
            made = _COPIERS[key] = _evolver(changed)
        else:
            values = {name: name if name in changed else f"_instance.{name}" for name in names}
            made = _COPIERS[key] = _write(cls, "copy", ("_instance", *changed), values)
    return made


def _evolver(changed: tuple[str, ...]) -> Callable[..., Any]:
    def copy(instance: Any, *values: Any) -> Any:
        return attrs.evolve(instance, **dict(zip(changed, values, strict=True)))

    return copy


def _field_names(cls: type) -> tuple[str, ...]:
    if not attrs.has(cls):
        raise TypeError(f"{cls.__name__} is not an attrs class")
    if hasattr(cls, "__attrs_post_init__"):
        raise TypeError(f"{cls.__name__} has __attrs_post_init__, which a trusted value would skip")
    names = tuple(field.name for field in attrs.fields(cls))
    slots = {s for c in cls.__mro__ for s in c.__dict__.get("__slots__", ())} - {"__weakref__", "__dict__"}
    extra = sorted(slots - set(names))
    if extra:
        raise TypeError(f"{cls.__name__} has slots that are not fields ({', '.join(extra)})")
    clash = sorted(_OWN & set(names))
    if clash:
        raise TypeError(f"{cls.__name__} has a field named {clash[0]!r}, which {__name__} uses itself")
    return names


def _write(cls: type, name: str, arguments: tuple[str, ...], values: dict[str, str]) -> Callable[..., Any]:
    """The function ``name(*arguments)`` that fills in a ``cls`` with ``values`` (field → expression)."""
    filler = _filler_of(cls)
    head = f"def {name}({', '.join(arguments)}):"
    # The source is made of the class's own field names, checked above to be its attrs fields.
    fast = [head, "    _made = _new(_filler)"]
    fast += [f"    _made.{field} = {value}" for field, value in values.items()]
    fast += ["    _made.__class__ = _cls", "    return _made"]
    namespace: dict[str, Any] = {"_new": object.__new__, "_filler": filler, "_cls": cls}
    exec("\n".join(fast), namespace)
    written: Callable[..., Any] = namespace[name]
    if _assignable(cls, filler):
        return written
    # As attrs' own ``__init__`` does: ``object.__setattr__`` bound once to the new value.
    slow = [head, "    _made = _new(_cls)", "    _slot = _put.__get__(_made)"]
    slow += [f"    _slot({field!r}, {value})" for field, value in values.items()]
    slow.append("    return _made")
    namespace["_put"] = object.__setattr__
    exec("\n".join(slow), namespace)
    written = namespace[name]
    return written


def _filler_of(cls: type) -> type:
    filler = _FILLERS.get(cls)
    if filler is None:
        body = {
            "__slots__": (),
            "__setattr__": object.__setattr__,
            "__delattr__": object.__delattr__,
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
        }
        filler = _FILLERS[cls] = type(cls.__name__, (cls,), body)
    return filler


def _assignable(cls: type, filler: type) -> bool:
    """True when this interpreter lets a filler become a ``cls`` by ``__class__`` assignment."""
    probe: Any = object.__new__(filler)
    try:
        probe.__class__ = cls
    except TypeError:
        return False
    return type(probe) is cls
