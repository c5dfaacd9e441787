"""``ConnectorRegistry``: the plugins loaded one by one, and their connector classes by id.

Each entry point is loaded and called on its own: whatever goes wrong (an import error, a
raising hook, a class of the wrong base, a duplicate id, an interface-version mismatch) is
recorded as a :class:`PluginFailure` and the rest still load; a strict registry raises the first
failure instead. Lookup takes a full id, ``vendor.name`` or a unique name.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from .. import hookspecs
from ..connector import Connector, parse_connector_id
from ..enums import ConnectorType
from ..errors import AmbiguousConnectorError, ConnectorNotFoundError, PluginLoadError
from .checks import BadHookResult, check_class, connector_list
from .entry_points import ENTRY_POINT_GROUP, distribution_of, is_builtin
from .isolation import (
    ImportFailed,
    Interrupts,
    current_watch,
    described,
    import_isolated,
    watching_interrupts,
)
from .records import ConnectorEntry, PluginFailure, PluginInfo

__all__ = ["ConnectorRegistry"]


class _PluginManager(pluggy.PluginManager):
    """pluggy's manager, quicker at skipping a plugin module's imported classes and constants."""

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> pluggy.HookimplOpts | None:
        # pluggy inspects every name of a module statically, which is most of the cost
        # of registering one; a class, module or plain value is never a hook.
        if isinstance(plugin, ModuleType):
            value = plugin.__dict__.get(name)
            if isinstance(value, type | ModuleType) or not callable(value):
                return None
        return super().parse_hookimpl_opts(plugin, name)


class ConnectorRegistry:
    """Connector classes by id, with lookup by id, ``vendor.name`` or unique name."""

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        self.plugins: list[PluginInfo] = []
        self.failures: list[PluginFailure] = []
        self._entries: dict[str, ConnectorEntry] = {}
        self.plugin_manager: pluggy.PluginManager = _PluginManager(ENTRY_POINT_GROUP)
        self.plugin_manager.add_hookspecs(hookspecs)

    # --- loading ---------------------------------------------------------------

    def load_entry_points(
        self, entry_points: Iterable[metadata.EntryPoint], only: set[str] | None = None
    ) -> None:
        """Load each entry point in isolation, the built-in plugin first.

        ``only`` names the third-party plugins to load (the built-in one always loads);
        a name in it that no entry point has is recorded as a failure.
        """
        # Built-ins first, so that a third-party plugin reusing a built-in id is the one
        # reported as the duplicate, whatever order the entry points are found in.
        ordered = sorted(entry_points, key=lambda ep: not is_builtin(ep))
        with watching_interrupts() as interrupts:
            for ep in ordered:
                if only is not None and not is_builtin(ep) and ep.name not in only:
                    continue
                self._load_one(ep, interrupts)
        if only is not None:
            installed = sorted({ep.name for ep in ordered})
            for name in sorted(only - set(installed)):
                close = difflib.get_close_matches(name, installed, n=1)
                self._fail(
                    name,
                    None,
                    None,
                    "named in MESHKIT_PLUGINS, but no installed plugin has that name",
                    f"did you mean {close[0]!r}?" if close else f"installed plugins: {', '.join(installed)}",
                )

    def _load_one(self, ep: metadata.EntryPoint, interrupts: Interrupts) -> None:
        dist_name, version = distribution_of(ep)
        try:
            module, seconds = import_isolated(ep, interrupts)
        except ImportFailed as failed:
            self._fail(
                ep.name,
                dist_name,
                version,
                f"import failed: {described(failed.error)}",
                f"fix or reinstall {dist_name or ep.value}, or uninstall it; "
                f"MESHKIT_PLUGINS can exclude it meanwhile",
            )
            return
        self.register_plugin(module, ep.name, distribution=dist_name, version=version, import_seconds=seconds)

    def register_plugin(
        self,
        plugin: object,
        name: str,
        *,
        distribution: str | None = None,
        version: str | None = None,
        import_seconds: float = 0.0,
    ) -> None:
        """Register a plugin object (a module or any object with hook implementations)."""
        if self.plugin_manager.has_plugin(name):
            self._fail(
                name,
                distribution,
                version,
                f"another plugin named {name!r} is already loaded",
                "give the entry point in the meshkit group a name of its own",
            )
            return
        try:
            self.plugin_manager.register(plugin, name=name)
        except Exception as exc:
            self._fail(
                name,
                distribution,
                version,
                f"invalid plugin: {exc}",
                "check the hook names and signatures against meshkit.hookspecs",
            )
            return
        classes: list[Any] = []
        for impl in self.plugin_manager.hook.meshkit_connectors.get_hookimpls():
            if impl.plugin_name != name:
                continue
            try:
                classes.extend(connector_list(impl.function()))
            except BadHookResult as exc:
                error = f"meshkit_connectors() returned {exc}"
            except (Exception, KeyboardInterrupt, SystemExit) as exc:
                if isinstance(exc, KeyboardInterrupt) and current_watch().delivered:
                    raise
                error = f"meshkit_connectors() raised {described(exc)}"
            else:
                continue
            # A plugin whose hook fails has not loaded: none of its hooks may answer later.
            self.plugin_manager.unregister(name=name)
            hint = f"report it to the maintainers of {distribution or name}"
            self._fail(name, distribution, version, error, hint)
            return
        self.plugins.append(PluginInfo(name, distribution, version, import_seconds))
        for cls in classes:
            self.add(cls, plugin=name, distribution=distribution, version=version)

    def add(
        self,
        cls: Any,
        *,
        plugin: str = "__main__",
        distribution: str | None = None,
        version: str | None = None,
    ) -> bool:
        """Add one connector class; a bad one is recorded as a failure. True if added."""
        label = getattr(cls, "connector_id", None) or getattr(cls, "__qualname__", repr(cls))
        try:
            problem = check_class(cls)
        except Exception as exc:  # an odd class must not stop the others from loading
            problem = (f"checking {label!r} failed: {type(exc).__name__}: {exc}", "fix the connector class")
        if problem is not None:
            error, hint = problem
            self._fail(plugin, distribution, version, error, hint, connector=str(label))
            return False
        existing = self._entries.get(cls.connector_id)
        if existing is not None:
            self._fail(
                plugin,
                distribution,
                version,
                f"duplicate connector id {cls.connector_id!r}: already provided by plugin "
                f"{existing.plugin!r} ({existing.distribution or 'in-process'})",
                "rename the connector (bump its vendor or name) or uninstall one of the two",
                connector=cls.connector_id,
            )
            return False
        self._entries[cls.connector_id] = ConnectorEntry(cls, plugin, distribution, version)
        return True

    def _fail(
        self,
        plugin: str,
        distribution: str | None,
        version: str | None,
        error: str,
        hint: str,
        connector: str | None = None,
    ) -> None:
        failure = PluginFailure(plugin, distribution, version, error, hint, connector)
        self.failures.append(failure)
        if self.strict:
            where = f"plugin {plugin!r}" + (f" ({distribution} {version})" if distribution else "")
            raise PluginLoadError(f"{where}: {error}; {hint}")

    # --- lookup ----------------------------------------------------------------

    def __iter__(self) -> Iterator[ConnectorEntry]:
        return iter(sorted(self._entries.values(), key=lambda e: (e.connector_type.value, e.connector_id)))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, connector_id: object) -> bool:
        return connector_id in self._entries

    def ids(self, connector_type: ConnectorType | str | None = None) -> list[str]:
        """Connector ids, sorted, optionally of one type."""
        kind = ConnectorType(connector_type) if connector_type is not None else None
        return sorted(
            e.connector_id for e in self._entries.values() if kind is None or e.connector_type is kind
        )

    def get(self, name: str, connector_type: ConnectorType | str | None = None) -> type[Connector]:
        """The connector class for a full id, ``vendor.name`` or bare ``name``."""
        return self.entry(name, connector_type).cls

    def entry(self, name: str, connector_type: ConnectorType | str | None = None) -> ConnectorEntry:
        """Like :meth:`get`, with the plugin and distribution."""
        kind = ConnectorType(connector_type) if connector_type is not None else None
        pool = [e for e in self._entries.values() if kind is None or e.connector_type is kind]
        exact = [e for e in pool if e.connector_id == name]
        if exact:
            return exact[0]
        parts = name.split(".")
        if len(parts) == 2:
            matches = [e for e in pool if _vendor_name(e.connector_id) == tuple(parts)]
        elif len(parts) == 1:
            matches = [e for e in pool if _vendor_name(e.connector_id)[1] == name]
        else:
            matches = []
        vendors = {_vendor_name(e.connector_id) for e in matches}
        if len(vendors) > 1:
            raise AmbiguousConnectorError(name, matches=sorted(e.connector_id for e in matches))
        if matches:
            return max(matches, key=lambda e: parse_connector_id(e.connector_id)[2])
        # Each spelling of a connector maps back to it, so a suggestion names each one once,
        # in the spelling closest to what was typed.
        spellings: dict[str, str] = {}
        for e in pool:
            vendor, short = _vendor_name(e.connector_id)
            for form in (e.connector_id, f"{vendor}.{short}", short):
                spellings.setdefault(form, e.connector_id)
        close: list[str] = []
        suggested: set[str] = set()
        for form in difflib.get_close_matches(name, sorted(spellings), n=len(spellings), cutoff=0.6):
            if spellings[form] not in suggested and len(close) < 3:
                suggested.add(spellings[form])
                close.append(form)
        raise ConnectorNotFoundError(name, kind=kind.value.replace("_", " ") if kind else None, matches=close)

    def conformance(self, connector_id: str) -> Any:
        """The first plugin's answer to ``meshkit_conformance(connector_id)``, or None."""
        return self.plugin_manager.hook.meshkit_conformance(connector_id=connector_id)


def _vendor_name(connector_id: str) -> tuple[str, str]:
    vendor, name, _ = parse_connector_id(connector_id)
    return vendor, name
