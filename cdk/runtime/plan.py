"""From configuration to a checked plan: every connector resolved, every reference checked.

All problems are collected and raised together as one ConfigError, before anything
starts. Connector configs are checked here too, with their YAML path as prefix
(``providers.local.config.timeout: expected a duration ...``); ``${secrets:...}``
references are resolved later, when the mesh starts.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import yaml

from ..config import structure
from ..connector import Connector, module_available
from ..enums import ConnectorType, SerializationFormat, SyncAction
from ..errors import ConfigError, ConnectorError
from ..plugins import ConnectorRegistry
from .capabilities import CapabilityTree
from .catalogue import ModelEntry
from .settings import REQUEST_FEATURES, MeshSettings

__all__ = ["Plan", "load_config_file", "make_plan"]

_EXAMPLE_PROVIDER = (
    "providers: {local: {connector: openai-compatible, config: {base_url: 'http://127.0.0.1:8000/v1'}}}"
)
_EXAMPLE_MODEL = "models: {local.small: {provider: local}}"


@attrs.frozen
class ConnectorSpec:
    """A connector class, its checked config data, and where it came from in the config."""

    cls: type[Connector]
    data: Mapping[str, Any]
    path: str
    name: str


@attrs.frozen
class Plan:
    """A checked configuration, ready to be instantiated."""

    settings: MeshSettings
    tree: CapabilityTree
    entries: dict[str, ModelEntry]
    providers: dict[str, ConnectorSpec]
    rotations: dict[str, ConnectorSpec]  # by pool id
    default_rotation: ConnectorSpec
    secret_store: ConnectorSpec
    storage: ConnectorSpec
    observability: list[ConnectorSpec]
    discovery: ConnectorSpec | None


#: How deep a configuration may nest; a mesh needs a handful of levels, a hostile file thousands.
MAX_DEPTH = 64


def load_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML configuration file; ConfigError with the file and line when it is wrong."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError("the file does not exist", source=source) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror or exc}", source=source) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"line {line}, column {column}: byte 0x{raw[exc.start]:02x} is not UTF-8 text; "
            "save the file as UTF-8",
            source=source,
        ) from None
    data = _parse_yaml(text, source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config: expected a mapping of sections, got {type(data).__name__}", source=source)
    return data


def _parse_yaml(text: str, source: str) -> Any:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        problems = _node_problems(node)
        if problems:
            raise ConfigError(problems, source=source)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"{where}{problem}", source=source) from None
    except RecursionError:
        raise ConfigError(_too_deep("config"), source=source) from None
    finally:
        loader.dispose()


def _node_problems(root: yaml.Node) -> list[str]:
    # Walked without recursion, so that depth is reported, not a RecursionError; a repeated key
    # would otherwise silently replace the first one.
    problems: list[str] = []
    todo: list[tuple[yaml.Node, str, int]] = [(root, "", 0)]
    while todo:
        node, path, depth = todo.pop()
        if depth > MAX_DEPTH:
            problems.append(_too_deep(path or "config", line=node.start_mark.line + 1))
            break
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
                child = f"{path}.{name}" if path else name
                line = key.start_mark.line + 1
                if isinstance(key, yaml.ScalarNode) and name != "<<":
                    if name in seen:
                        problems.append(
                            f"{child}: given twice, on line {seen[name]} and line {line}; "
                            "keep one (the second would silently replace the first)"
                        )
                    else:
                        seen[name] = line
                todo.append((value, child, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                todo.append((item, f"{path}[{i}]", depth + 1))
    return sorted(problems)


def _too_deep(path: str, *, line: int | None = None) -> str:
    where = f" (line {line})" if line is not None else ""
    return (
        f"{path}{where}: nested more than {MAX_DEPTH} levels deep; a mesh configuration needs a "
        "handful of levels, so this is likely a generated or damaged file"
    )


def depth_problem(data: Any) -> str | None:
    """The first place ``data`` nests deeper than MAX_DEPTH, as a problem line, or None."""
    todo: list[tuple[Any, str, int]] = [(data, "", 0)]
    while todo:
        value, path, depth = todo.pop()
        if depth > MAX_DEPTH:
            return _too_deep(path or "config")
        if isinstance(value, Mapping):
            todo.extend((v, f"{path}.{k}" if path else str(k), depth + 1) for k, v in value.items())
        elif isinstance(value, list | tuple):
            todo.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value))
    return None


def _suggest(name: str, known: Iterable[str]) -> str:
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    if names:
        return f"; known: {', '.join(names)}"
    return ""


class _Checker:
    def __init__(self, registry: ConnectorRegistry) -> None:
        self.registry = registry
        self.problems: list[str] = []

    def connector(
        self, name: str, kind: ConnectorType, data: Mapping[str, Any] | None, path: str, label: str
    ) -> ConnectorSpec | None:
        try:
            cls = self.registry.get(name, kind)
        except ConnectorError as exc:
            self.problems.append(f"{path}.connector: {exc}")
            return None
        self.problems.extend(f"{path}.connector: {line}" for line in cls.missing_requirements())
        data = cls.config_defaults(data or {})
        try:
            cls.build_config(data, path=f"{path}.config")
        except ConfigError as exc:
            self.problems.extend(exc.problems)
        return ConnectorSpec(cls=cls, data=data, path=f"{path}.config", name=label)


def make_plan(
    raw: Mapping[str, Any] | MeshSettings,
    registry: ConnectorRegistry,
    *,
    injected_providers: Collection[str] = (),
    injected: Collection[ConnectorType] = (),
    source: str | None = None,
) -> Plan:
    """Check ``raw`` completely; ConfigError listing every problem, or a Plan."""
    shape_problems: list[str] = []
    if isinstance(raw, MeshSettings):
        settings = raw
    else:
        if not isinstance(raw, Mapping):
            raise ConfigError(
                f"config: expected a mapping of sections, got {type(raw).__name__}", source=source
            )
        too_deep = depth_problem(raw)
        if too_deep is not None:
            raise ConfigError(too_deep, source=source)
        try:
            settings = structure(dict(raw), MeshSettings)
        except ConfigError as exc:
            # Unknown keys aside, the rest may still be whole: check it too, so that one typo
            # does not hide the reference and connector problems behind it.
            shape_problems = exc.problems
            try:
                settings = structure(dict(raw), MeshSettings, ignore_unknown=True)
            except ConfigError:
                raise ConfigError(shape_problems, source=source) from None
    check = _Checker(registry)
    problems = check.problems
    problems.extend(shape_problems)

    tree = CapabilityTree()
    for i, path in enumerate(settings.capabilities):
        problem = CapabilityTree.check_path(path)
        if problem:
            problems.append(f"capabilities[{i}]: {problem}")
        else:
            tree.add(path)

    provider_names = set(settings.providers) | set(injected_providers)
    if not provider_names:
        problems.append(f"providers: no providers configured; add one, e.g. {_EXAMPLE_PROVIDER}")
    if not settings.models:
        problems.append(f"models: no models configured; add one, e.g. {_EXAMPLE_MODEL}")

    providers: dict[str, ConnectorSpec] = {}
    for pid, ps in settings.providers.items():
        if pid in injected_providers:
            continue
        spec = check.connector(ps.connector, ConnectorType.PROVIDER, ps.config, f"providers.{pid}", pid)
        if spec is not None:
            providers[pid] = spec

    entries: dict[str, ModelEntry] = {}
    for mid, ms in settings.models.items():
        path = f"models.{mid}"
        if ms.provider not in provider_names:
            problems.append(
                f"{path}.provider: no provider named {ms.provider!r}{_suggest(ms.provider, provider_names)}"
            )
        leaves: list[str] = []
        if not ms.capabilities:
            problems.append(f"{path}.capabilities: a model needs at least one capability")
        for i, cap in enumerate(ms.capabilities):
            resolved = _resolve_capability(tree, cap, f"{path}.capabilities[{i}]", problems)
            if resolved is None:
                continue
            if not tree.is_leaf(resolved):
                below = [leaf for leaf in tree.leaves() if tree.covers(resolved, leaf)][:3]
                problems.append(
                    f"{path}.capabilities[{i}]: {resolved!r} is not a leaf; a model registers at leaves "
                    f"such as {', '.join(repr(b) for b in below)}"
                )
                continue
            leaves.append(resolved)
        upstream = ms.name or (mid[len(ms.provider) + 1 :] if mid.startswith(f"{ms.provider}.") else mid)
        entries[mid] = ModelEntry(
            model_id=mid,
            provider_id=ms.provider,
            upstream=upstream,
            capabilities=tuple(leaves),
            pricing=ms.pricing,
            limits=ms.limits,
            budget=ms.budget,
            maintenance=tuple(ms.maintenance),
            quota_reset=ms.quota_reset,
            priority=ms.priority,
            weight=ms.weight,
            features=frozenset(ms.features) if ms.features is not None else None,
        )
        provider_spec = providers.get(ms.provider)
        if ms.features is not None and provider_spec is not None:
            declared = provider_spec.cls.features
            lacking = [f.value for f in ms.features if f not in declared]
            if lacking:
                offered = ", ".join(sorted(f.value for f in declared if f in REQUEST_FEATURES)) or "none"
                connector_id = provider_spec.cls.connector_id
                problems.append(
                    f"{path}.features: {', '.join(lacking)} not supported by {connector_id} "
                    f"(provider {ms.provider!r} offers: {offered}); "
                    "a model can only narrow its provider's features"
                )

    registering = (
        settings.discovery.connector is not None
        and settings.discovery.sync.on_new_model is SyncAction.REGISTER
    )
    rotations: dict[str, ConnectorSpec] = {}
    for pool_id, pool in settings.pools.items():
        path = f"pools.{pool_id}"
        if pool_id in settings.models:
            problems.append(
                f"{path}: {pool_id!r} is also a model id; rename the pool so requests can tell them apart"
            )
        if (pool.capability is None) == (pool.models is None):
            problems.append(
                f"{path}: give either 'capability' (a node of the capability tree) or 'models' (a list)"
            )
        node = None
        if pool.capability is not None:
            node = _resolve_capability(tree, pool.capability, f"{path}.capability", problems)
        if pool.models is not None and not pool.models:
            problems.append(
                f"{path}.models: the list is empty; name at least one model, or give 'capability' instead"
            )
        first_at: dict[str, int] = {}
        for i, mid in enumerate(pool.models or ()):
            if mid not in settings.models:
                problems.append(f"{path}.models[{i}]: no model named {mid!r}{_suggest(mid, settings.models)}")
            elif mid in first_at:
                problems.append(
                    f"{path}.models[{i}]: {mid!r} is already listed at models[{first_at[mid]}]; "
                    "list each model once (use 'weight' or 'priority' to favour one)"
                )
            else:
                first_at[mid] = i
        for i, pid in enumerate(pool.providers or ()):
            if pid not in provider_names:
                problems.append(
                    f"{path}.providers[{i}]: no provider named {pid!r}{_suggest(pid, provider_names)}"
                )
        if node is not None and not registering:
            members = [
                m
                for m, e in entries.items()
                if any(tree.covers(node, c) for c in e.capabilities)
                and (pool.providers is None or e.provider_id in pool.providers)
            ]
            if not members and entries:
                problems.append(
                    f"{path}.capability: no configured model offers {node!r} or anything below it"
                    + (" from the listed providers" if pool.providers is not None else "")
                )
        spec = check.connector(
            pool.rotation.connector, ConnectorType.ROTATION, pool.rotation.config, f"{path}.rotation", pool_id
        )
        if spec is not None:
            rotations[pool_id] = spec

    default_rotation = check.connector(
        settings.routing.rotation.connector,
        ConnectorType.ROTATION,
        settings.routing.rotation.config,
        "routing.rotation",
        "default",
    )
    secret_store = check.connector(
        settings.secrets.store, ConnectorType.SECRET_STORE, settings.secrets.config, "secrets", "secrets"
    )
    if secret_store is not None:
        secret_store = attrs.evolve(secret_store, path="secrets.config")
    if settings.storage.format is SerializationFormat.MSGPACK and not module_available("msgpack"):
        problems.append(
            "storage.format: the msgpack format needs the 'msgpack' library: pip install 'meshkit[msgpack]'"
        )
    storage = None
    if ConnectorType.STORAGE not in injected:
        storage = check.connector(
            settings.storage.connector, ConnectorType.STORAGE, settings.storage.config, "storage", "storage"
        )
    observability = []
    for i, item in enumerate(settings.observability.connectors):
        spec = check.connector(
            item.connector,
            ConnectorType.OBSERVABILITY,
            item.config,
            f"observability.connectors[{i}]",
            item.connector,
        )
        if spec is not None:
            observability.append(spec)
    discovery = None
    if settings.discovery.connector is not None and ConnectorType.DISCOVERY not in injected:
        discovery = check.connector(
            settings.discovery.connector,
            ConnectorType.DISCOVERY,
            settings.discovery.config,
            "discovery",
            "discovery",
        )
    if problems:
        raise ConfigError(problems, source=source)
    assert default_rotation is not None and secret_store is not None
    return Plan(
        settings=settings,
        tree=tree,
        entries=entries,
        providers=providers,
        rotations=rotations,
        default_rotation=default_rotation,
        secret_store=secret_store,
        storage=storage if storage is not None else _placeholder(),
        observability=observability,
        discovery=discovery,
    )


def _placeholder() -> ConnectorSpec:
    # An injected storage connector takes the place of the configured one.
    from ..interfaces.storage import Storage

    return ConnectorSpec(cls=Storage, data={}, path="storage.config", name="storage")


def _resolve_capability(tree: CapabilityTree, name: str, path: str, problems: list[str]) -> str | None:
    try:
        resolved = tree.resolve(name)
    except ValueError as exc:
        problems.append(f"{path}: {exc}")
        return None
    if resolved is None:
        hint = tree.suggest(name)
        tail = f"; did you mean {hint[0]!r}?" if hint else "; add it under the top-level 'capabilities' list"
        problems.append(f"{path}: unknown capability {name!r}{tail}")
    return resolved
