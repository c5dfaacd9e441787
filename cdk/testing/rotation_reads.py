"""Snapshots that show only the fields a rotation policy declares it ``reads``.

The router keeps a snapshot for such a policy until a field it reads changes, so its other
fields may be out of date: a read of one of them is a broken promise, and the guarded
snapshot turns it into an :class:`UndeclaredRead` naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import attrs

from ..types import ModelSnapshot

__all__ = ["SNAPSHOT_FIELDS", "UndeclaredRead", "guarded"]

#: Every field a snapshot has: what a policy may name in ``reads``.
SNAPSHOT_FIELDS = frozenset(attrs.fields_dict(ModelSnapshot))
#: Each field's slot on ModelSnapshot, through which a guarded copy is filled in.
_SLOTS = {name: ModelSnapshot.__dict__[name] for name in SNAPSHOT_FIELDS}


class UndeclaredRead(AssertionError):
    """A policy read a snapshot field it does not declare in ``reads``."""

    def __init__(self, field: str) -> None:
        super().__init__(f"read the undeclared snapshot field {field!r}")
        self.field = field


def guarded(snapshot: ModelSnapshot, reads: frozenset[str]) -> ModelSnapshot:
    """A copy of ``snapshot`` whose fields outside ``reads`` raise UndeclaredRead when read.

    It compares and hashes by identity: equality and hashing of a whole snapshot would read
    every field, and a policy that keys a dict by snapshot reads none of them for it.
    """
    copy = object.__new__(_guarded_class(reads))
    for slot in _SLOTS.values():
        slot.__set__(copy, slot.__get__(snapshot))
    return copy


@cache
def _guarded_class(reads: frozenset[str]) -> type[ModelSnapshot]:
    members: dict[str, Any] = {
        name: property(slot.__get__ if name in reads else _refusal(name)) for name, slot in _SLOTS.items()
    }
    members.update(
        __slots__=(),
        __eq__=object.__eq__,
        __ne__=object.__ne__,
        __hash__=object.__hash__,
        __repr__=lambda self: f"GuardedSnapshot(reads={sorted(reads)})",
    )
    return type("GuardedSnapshot", (ModelSnapshot,), members)


def _refusal(name: str) -> Callable[[ModelSnapshot], Any]:
    def read(snapshot: ModelSnapshot) -> Any:
        raise UndeclaredRead(name)

    return read
