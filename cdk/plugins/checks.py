"""What a plugin must hand over: a list from its hook, and classes that meshkit can register."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from ..connector import Connector
from ..interfaces import BASE_BY_TYPE

__all__ = ["BadHookResult", "check_class", "connector_list"]


class BadHookResult(TypeError):
    """A ``meshkit_connectors`` hook returned something other than a list of classes."""


def connector_list(result: object) -> list[Any]:
    """What a ``meshkit_connectors`` hook returned, as a list (None is an empty one)."""
    if result is None:
        return []
    if isinstance(result, type | str | bytes) or not isinstance(result, Iterable):
        raise BadHookResult(f"{result!r}, not a list of connector classes")
    return list(result)


def check_class(cls: Any) -> tuple[str, str] | None:
    """Why ``cls`` cannot be registered, as ``(error, hint)``; None when it can."""
    if not isinstance(cls, type) or not issubclass(cls, Connector):
        return (
            f"{cls!r} is not a Connector subclass",
            "return classes that subclass a meshkit base (Provider, Storage, …)",
        )
    try:
        cls.validate_class()
    except (TypeError, ValueError) as exc:
        return str(exc), "fix the connector's class attributes"
    base = BASE_BY_TYPE[cls.connector_type]
    if not issubclass(cls, base):
        return (
            f"{cls.connector_id} declares type {cls.connector_type.value!r} but does not "
            f"subclass {base.__name__}",
            f"subclass meshkit.{base.__name__}",
        )
    provided = getattr(sys.modules[base.__module__], "INTERFACE_VERSION", 1)
    if cls.interface_version != provided:
        return (
            f"{cls.connector_id} implements {cls.connector_type.value} interface "
            f"v{cls.interface_version}, this meshkit provides v{provided}",
            "install a plugin release built for this meshkit, or a meshkit that matches the plugin",
        )
    abstract: frozenset[str] = getattr(cls, "__abstractmethods__", frozenset())
    if abstract:
        return (
            f"{cls.connector_id} leaves abstract methods unimplemented: {', '.join(sorted(abstract))}",
            "implement them",
        )
    return None
