"""The ``meshkit`` entry-point group: which entry point is meshkit's own, and who declared each one."""

from __future__ import annotations

from importlib import metadata

__all__ = ["BUILTIN_MODULE", "BUILTIN_PLUGIN", "ENTRY_POINT_GROUP", "distribution_of", "is_builtin"]

ENTRY_POINT_GROUP = "meshkit"
BUILTIN_PLUGIN = "meshkit"
#: The module meshkit's own entry point names; only it counts as the built-in plugin.
BUILTIN_MODULE = "meshkit.connectors._plugin"


def is_builtin(ep: metadata.EntryPoint) -> bool:
    """True for meshkit's own entry point (its name and its module both match)."""
    return ep.name == BUILTIN_PLUGIN and ep.value.strip() == BUILTIN_MODULE


def distribution_of(ep: metadata.EntryPoint) -> tuple[str | None, str | None]:
    """The name and version of the distribution declaring ``ep``, if known."""
    dist = getattr(ep, "dist", None)
    if dist is None:
        return None, None
    try:
        meta = dist.metadata  # parsed anew on each access: read it once for both fields
        return meta["Name"], meta["Version"]
    except Exception:  # unreadable metadata must not stop discovery; the plugin may still load
        return None, None
