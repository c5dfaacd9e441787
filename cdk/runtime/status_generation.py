"""A count of every change to whether a model can serve, that selections compare to reuse their work.

Any assignment to a model's ``status`` or a provider's ``deactivated`` moves it on (transitions,
state read back from storage), and so does any usage record read back from storage or merged
from another process, which may have spent a cap or budget here. One count for the process, so
a change in any mesh makes every pool look again: never stale, at most cautious.
"""

from __future__ import annotations

from typing import Any

__all__ = ["bump", "changed", "current"]

_count = 0


def current() -> int:
    """The count now."""
    return _count


def bump() -> None:
    """Count one change."""
    global _count
    _count += 1


def changed(_instance: Any, _attribute: Any, value: Any) -> Any:
    """An attrs ``on_setattr`` hook: count the assignment, keep the value."""
    bump()
    return value
