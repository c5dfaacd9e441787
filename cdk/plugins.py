"""Plugin discovery with isolation, and the registry of connector classes.

Every plugin, meshkit's own built-ins included, is found through the ``meshkit``
entry-point group. Each entry point is loaded and called on its own: whatever goes
wrong (an import error, a raising hook, a class of the wrong base, a duplicate id, an
interface-version mismatch) is recorded as a :class:`PluginFailure` and the rest
still load. ``MESHKIT_STRICT_PLUGINS=1`` turns the first failure into an exception;
``MESHKIT_PLUGINS=a,b`` loads only those third-party plugins (the built-ins always load).

A plugin's import may raise anything, ``KeyboardInterrupt`` and ``SystemExit`` included: it is
recorded like any other failure. A Ctrl-C the operating system delivers while plugins load
still stops the process: a SIGINT handler notes real interrupts for the time of the scan.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from importlib import metadata
from types import FrameType, ModuleType
from typing import Any

import attrs
import pluggy

from . import hookspecs
from .connector import Connector, parse_connector_id
from .enums import ConnectorType
from .errors import AmbiguousConnectorError, ConnectorNotFoundError, PluginLoadError

__all__ = [
    "BUILTIN_MODULE",
    "BUILTIN_PLUGIN",
    "ENTRY_POINT_GROUP",
    "SLOW_IMPORT_SECONDS",
    "ConnectorEntry",
    "ConnectorRegistry",
    "PluginFailure",
    "PluginInfo",
    "get_registry",
    "reset_registry",
    "slow_import_seconds",
]

ENTRY_POINT_GROUP = "meshkit"
BUILTIN_PLUGIN = "meshkit"
#: The module meshkit's own entry point names; only it counts as the built-in plugin.
BUILTIN_MODULE = "meshkit.connectors._plugin"


@attrs.frozen
class PluginInfo:
    """A plugin that loaded."""

    name: str
    distribution: str | None
    version: str | None
    #: How long importing the plugin's module took (0 for a plugin registered in process).
    import_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """This record as plain JSON-ready values, as ``meshkit doctor --json`` prints it."""
        return attrs.asdict(self)


@attrs.frozen
class PluginFailure:
    """A plugin, or one connector of it, that could not be loaded."""

    plugin: str
    distribution: str | None
    version: str | None
    error: str
    hint: str
    connector: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """This record as plain JSON-ready values, as ``meshkit doctor --json`` prints it."""
        return attrs.asdict(self)


@attrs.frozen
class ConnectorEntry:
    """A connector class and the plugin it came from."""

    cls: type[Connector]
    plugin: str
    distribution: str | None
    version: str | None

    @property
    def connector_id(self) -> str:
        """The class's ``vendor.name.vN`` id."""
        return self.cls.connector_id

    @property
    def connector_type(self) -> ConnectorType:
        """The class's connector type."""
        return self.cls.connector_type

    def to_dict(self) -> dict[str, Any]:
        """The entry as plain JSON-ready values, as ``meshkit connectors --json`` prints it."""
        return {
            "id": self.cls.connector_id,
            "type": self.cls.connector_type.value,
            "interface_version": self.cls.interface_version,
            "features": sorted(f.value for f in self.cls.features),
            "description": self.cls.description,
            "plugin": self.plugin,
            "distribution": self.distribution,
            "version": self.version,
        }


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


def _distribution_of(ep: metadata.EntryPoint) -> tuple[str | None, str | None]:
    """The name and version of the distribution declaring ``ep``, if known."""
    dist = getattr(ep, "dist", None)
    if dist is None:
        return None, None
    try:
        meta = dist.metadata  # parsed anew on each access: read it once for both fields
        return meta["Name"], meta["Version"]
    except Exception:  # unreadable metadata must not stop discovery; the plugin may still load
        return None, None


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
        ordered = sorted(entry_points, key=lambda ep: not _is_builtin(ep))
        with _watching_interrupts() as interrupts:
            for ep in ordered:
                if only is not None and not _is_builtin(ep) and ep.name not in only:
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

    def _load_one(self, ep: metadata.EntryPoint, interrupts: _Interrupts) -> None:
        dist_name, version = _distribution_of(ep)
        started = time.perf_counter()
        try:
            module = ep.load()
        except BaseException as exc:  # a plugin may even call sys.exit or raise KeyboardInterrupt
            if interrupts.delivered:
                raise  # a real Ctrl-C: stop, whatever the plugin was doing
            self._fail(
                ep.name,
                dist_name,
                version,
                f"import failed: {_described(exc)}",
                f"fix or reinstall {dist_name or ep.value}, or uninstall it; "
                f"MESHKIT_PLUGINS can exclude it meanwhile",
            )
            return
        interrupts.raise_if_delivered()  # a plugin that swallowed a real Ctrl-C does not cancel it
        seconds = time.perf_counter() - started
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
                classes.extend(_connector_list(impl.function()))
            except _BadHookResult as exc:
                error = f"meshkit_connectors() returned {exc}"
            except (Exception, KeyboardInterrupt, SystemExit) as exc:
                if isinstance(exc, KeyboardInterrupt) and _current_watch.delivered:
                    raise
                error = f"meshkit_connectors() raised {_described(exc)}"
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
            problem = _check_class(cls)
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


class _BadHookResult(TypeError):
    """A ``meshkit_connectors`` hook returned something other than a list of classes."""


def _connector_list(result: object) -> list[Any]:
    if result is None:
        return []
    if isinstance(result, type | str | bytes) or not isinstance(result, Iterable):
        raise _BadHookResult(f"{result!r}, not a list of connector classes")
    return list(result)


def _is_builtin(ep: metadata.EntryPoint) -> bool:
    return ep.name == BUILTIN_PLUGIN and ep.value.strip() == BUILTIN_MODULE


def _vendor_name(connector_id: str) -> tuple[str, str]:
    vendor, name, _ = parse_connector_id(connector_id)
    return vendor, name


def _check_class(cls: Any) -> tuple[str, str] | None:
    from .interfaces import BASE_BY_TYPE  # the interfaces import this module's siblings

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
    provided = getattr(_interface_module(base), "INTERFACE_VERSION", 1)
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


def _interface_module(base: type) -> Any:
    import sys

    return sys.modules[base.__module__]


#: A plugin import slower than this is reported by ``meshkit doctor``; MESHKIT_SLOW_IMPORT overrides it.
SLOW_IMPORT_SECONDS = 0.5

_lock = threading.Lock()
_registry: ConnectorRegistry | None = None


def _described(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _Interrupts:
    """Whether the operating system delivered SIGINT while plugins were loading."""

    def __init__(self) -> None:
        self.delivered = False
        self.raises = True  # whether the handler we replaced would have raised KeyboardInterrupt

    def raise_if_delivered(self) -> None:
        if self.delivered and self.raises:
            raise KeyboardInterrupt


#: The watch of the scan running now; a scan outside the main thread sees no SIGINT at all.
_current_watch = _Interrupts()


@contextlib.contextmanager
def _watching_interrupts() -> Iterator[_Interrupts]:
    global _current_watch
    watch = _Interrupts()
    previous_watch = _current_watch
    if threading.current_thread() is not threading.main_thread():
        yield watch  # signals go to the main thread: whatever reaches this one came from a plugin
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:
        yield watch
        return

    def note(signum: int, frame: FrameType | None) -> None:
        watch.delivered = True
        if callable(previous) and previous is not signal.default_int_handler:
            watch.raises = False
            previous(signum, frame)
            return
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, note)
    _current_watch = watch
    try:
        yield watch
    finally:
        _current_watch = previous_watch
        signal.signal(signal.SIGINT, previous)


def slow_import_seconds() -> float:
    """The import time above which doctor reports a plugin: MESHKIT_SLOW_IMPORT, else the default."""
    raw = os.environ.get("MESHKIT_SLOW_IMPORT", "").strip()
    try:
        value = float(raw) if raw else SLOW_IMPORT_SECONDS
    except ValueError:
        return SLOW_IMPORT_SECONDS
    return value if value >= 0 else SLOW_IMPORT_SECONDS


def _env_plugins() -> set[str] | None:
    raw = os.environ.get("MESHKIT_PLUGINS", "").strip()
    if not raw:
        return None
    return {p.strip() for p in raw.split(",") if p.strip()}


def discover() -> ConnectorRegistry:
    """Scan the ``meshkit`` entry points once and build a registry from them."""
    strict = os.environ.get("MESHKIT_STRICT_PLUGINS", "").strip().lower() in {"1", "true", "yes", "on"}
    registry = ConnectorRegistry(strict=strict)
    registry.load_entry_points(metadata.entry_points(group=ENTRY_POINT_GROUP), only=_env_plugins())
    return registry


def get_registry() -> ConnectorRegistry:
    """The process-wide registry, discovered on first use."""
    global _registry
    if _registry is None:
        with _lock:
            if _registry is None:
                _registry = discover()
    return _registry


def reset_registry() -> None:
    """Forget the process-wide registry, so the next use discovers again (tests)."""
    global _registry
    with _lock:
        _registry = None
