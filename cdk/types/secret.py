"""A secret value that redacts itself wherever it could be shown."""

from __future__ import annotations

import attrs

__all__ = ["Secret"]


@attrs.frozen(repr=False, eq=False)
class Secret:
    """A secret value that never shows itself in ``repr``, ``str`` or a traceback."""

    _value: str = attrs.field(alias="value")

    def reveal(self) -> str:
        """Return the plain value; call it only where the value leaves the process."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)
