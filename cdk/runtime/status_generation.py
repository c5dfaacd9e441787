"""A count of every change to whether a model can serve, that selections compare to reuse their work.

Any assignment to a model's ``status`` or a provider's ``deactivated`` moves it on (transitions,
state read back from storage), and so does any usage record read back from storage or merged
from another process, which may have spent a cap or budget here. One count for the process, so
a change in any mesh makes every pool look again: never stale, at most cautious.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["bump", "counted", "current"]

C = TypeVar("C", bound=type)

_count = 0


def current() -> int:
    """The count now."""
    return _count


def bump() -> None:
    """Count one change."""
    global _count
    _count += 1


def counted(*names: str) -> Callable[[C], C]:
    """A class decorator for a slotted attrs class: assigning any of ``names`` counts a change.

    It puts a property over each field's slot. An attrs ``on_setattr`` hook would do the same
    but gives the class a ``__setattr__`` that every assignment to every field pays for, and
    the runtime assigns counters on every request.
    """

    def apply(cls: C) -> C:
        for name in names:
            slot = cls.__dict__[name]  # the member descriptor of the field's slot

            def assign(instance: Any, value: Any, _slot: Any = slot) -> None:
                bump()
                _slot.__set__(instance, value)

            setattr(cls, name, property(slot.__get__, assign, doc=f"{name}; assigning it counts a change"))
        return cls

    return apply
