"""What every secret store accepts as a secret's name."""

from __future__ import annotations

__all__ = ["validate_name"]


def validate_name(name: object) -> str:
    """Return ``name`` if it can name a secret, else raise TypeError or ValueError saying why."""
    if not isinstance(name, str):
        raise TypeError(f"a secret name must be a string, got {type(name).__name__}")
    if not name:
        raise ValueError("a secret name cannot be empty")
    if "\x00" in name:
        raise ValueError("a secret name cannot contain NUL")
    return name
