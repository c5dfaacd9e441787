"""Plugin discovery: lookup rules, isolation of broken plugins, env switches, one scan per process."""

from __future__ import annotations

import importlib.metadata
import signal
import sys
import threading
import types
from pathlib import Path
from typing import Any

import pytest

from meshkit import (
    AmbiguousConnectorError,
    ConnectorNotFoundError,
    ConnectorType,
    PluginLoadError,
    Provider,
    SecretStore,
    Storage,
    hookimpl,
)
from meshkit.connectors import _plugin as builtin_plugin
from meshkit.plugins import ConnectorRegistry, discover, get_registry, reset_registry

from . import plugin_dists as pd
from .plugin_dists import PluginDist, builtin_entry_point, install

BUILTIN_IDS = sorted(cls.connector_id for cls in builtin_plugin.meshkit_connectors())


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MESHKIT_PLUGINS", raising=False)
    monkeypatch.delenv("MESHKIT_STRICT_PLUGINS", raising=False)


def failures_by_subject(registry: ConnectorRegistry) -> dict[tuple[str, str | None], Any]:
    return {(f.plugin, f.connector): f for f in registry.failures}


# --- lookup -------------------------------------------------------------------------


def make(connector_id: str, base: type, **attrs: Any) -> type:
    """A concrete connector class of ``base`` with the given id."""
    methods: dict[str, Any] = {}
    for name in getattr(base, "__abstractmethods__", ()):
        methods[name] = lambda self, *a, **k: None
    name = connector_id.replace(".", "_").replace("-", "_")
    return type(name, (base,), {"connector_id": connector_id, **methods, **attrs})


@pytest.fixture
def registry() -> ConnectorRegistry:
    reg = ConnectorRegistry()
    for connector_id, base in [
        ("acme.llm.v1", Provider),
        ("acme.llm.v2", Provider),
        ("acme.llm.v10", Provider),
        ("other.llm.v1", Provider),
        ("acme.vault.v1", SecretStore),
        ("acme.cache.v1", Storage),
        ("other.cache.v1", SecretStore),
        ("acme.round-robin.v1", Storage),
    ]:
        assert reg.add(make(connector_id, base), plugin="test", distribution="test-dist", version="1.0")
    assert reg.failures == []
    return reg


class TestLookup:
    def test_full_id(self, registry: ConnectorRegistry) -> None:
        assert registry.get("acme.llm.v2").connector_id == "acme.llm.v2"
        assert registry.get("other.llm.v1").connector_id == "other.llm.v1"

    def test_vendor_and_name_picks_the_highest_version_numerically(self, registry: ConnectorRegistry) -> None:
        assert registry.get("acme.llm").connector_id == "acme.llm.v10"

    def test_bare_name_when_unambiguous(self, registry: ConnectorRegistry) -> None:
        assert registry.get("vault").connector_id == "acme.vault.v1"
        assert registry.get("round-robin").connector_id == "acme.round-robin.v1"

    def test_bare_name_of_several_vendors_is_ambiguous_and_lists_them(
        self, registry: ConnectorRegistry
    ) -> None:
        with pytest.raises(AmbiguousConnectorError) as info:
            registry.get("llm")
        assert info.value.matches == ["acme.llm.v1", "acme.llm.v10", "acme.llm.v2", "other.llm.v1"]
        assert "use the full id" in str(info.value)

    def test_lookup_scoped_by_type_resolves_what_is_ambiguous_otherwise(
        self, registry: ConnectorRegistry
    ) -> None:
        with pytest.raises(AmbiguousConnectorError):
            registry.get("cache")
        assert registry.get("cache", ConnectorType.STORAGE).connector_id == "acme.cache.v1"
        assert registry.get("cache", "secret_store").connector_id == "other.cache.v1"

    def test_scoped_lookup_ignores_other_types(self, registry: ConnectorRegistry) -> None:
        with pytest.raises(ConnectorNotFoundError, match="no storage connector named 'llm'"):
            registry.get("llm", "storage")
        with pytest.raises(ConnectorNotFoundError):
            registry.get("acme.vault.v1", ConnectorType.PROVIDER)

    @pytest.mark.parametrize(
        ("name", "suggestion"),
        [("valut", "vault"), ("acme.lm", "acme.llm"), ("acme.vault.v2", "acme.vault.v1"), ("cahce", "cache")],
    )
    def test_unknown_name_lists_close_matches(
        self, registry: ConnectorRegistry, name: str, suggestion: str
    ) -> None:
        with pytest.raises(ConnectorNotFoundError) as info:
            registry.get(name)
        assert suggestion in info.value.matches
        assert f"did you mean {suggestion!r}" in str(info.value) or repr(suggestion) in str(info.value)

    def test_each_close_match_names_a_different_connector_in_its_closest_spelling(
        self, registry: ConnectorRegistry
    ) -> None:
        with pytest.raises(ConnectorNotFoundError) as info:
            registry.get("valut")
        assert info.value.matches == ["vault"], "one connector, one suggestion, as it was typed"
        with pytest.raises(ConnectorNotFoundError) as info:
            registry.get("round-robbin", ConnectorType.STORAGE)
        assert info.value.matches == ["round-robin"]

    def test_unknown_name_without_close_matches_points_to_the_listing(
        self, registry: ConnectorRegistry
    ) -> None:
        with pytest.raises(ConnectorNotFoundError, match="run `meshkit connectors`") as info:
            registry.get("zzzzzz")
        assert info.value.matches == []

    def test_entry_carries_plugin_and_distribution(self, registry: ConnectorRegistry) -> None:
        entry = registry.entry("vault")
        assert (entry.plugin, entry.distribution, entry.version) == ("test", "test-dist", "1.0")
        assert entry.to_dict() == {
            "id": "acme.vault.v1",
            "type": "secret_store",
            "interface_version": 1,
            "features": [],
            "description": "",
            "plugin": "test",
            "distribution": "test-dist",
            "version": "1.0",
        }

    def test_listing(self, registry: ConnectorRegistry) -> None:
        assert len(registry) == 8
        assert "acme.llm.v2" in registry and "acme.llm" not in registry
        assert registry.ids(ConnectorType.SECRET_STORE) == ["acme.vault.v1", "other.cache.v1"]
        ordered = [(e.connector_type.value, e.connector_id) for e in registry]
        assert ordered == sorted(ordered)

    def test_ids_are_unique_across_types(self, registry: ConnectorRegistry) -> None:
        assert not registry.add(make("acme.vault.v1", Storage), plugin="late")
        [failure] = registry.failures
        assert failure.plugin == "late" and failure.connector == "acme.vault.v1"
        assert (
            "duplicate connector id 'acme.vault.v1': already provided by plugin 'test' (test-dist)"
            in failure.error
        )
        assert registry.get("acme.vault.v1").connector_type is ConnectorType.SECRET_STORE


# --- isolation ----------------------------------------------------------------------


class TestWhatIsNotAnException:
    def test_keyboard_interrupt_and_system_exit_at_import_are_recorded(self, site: Path) -> None:
        registry = ConnectorRegistry()
        registry.load_entry_points([builtin_entry_point(), *install(site, pd.INTERRUPTS, pd.EXITS, pd.GOOD)])
        failures = failures_by_subject(registry)
        assert set(failures) == {("interrupting", None), ("exiting", None)}
        assert failures[("interrupting", None)].error == "import failed: KeyboardInterrupt"
        assert failures[("exiting", None)].error == "import failed: SystemExit: 3"
        assert {"acme.echo.v1", *BUILTIN_IDS} <= set(registry.ids())

    def test_a_hook_raising_keyboard_interrupt_is_that_plugins_failure(self) -> None:
        class Grabby:
            @hookimpl
            def meshkit_connectors(self) -> list[type]:
                raise KeyboardInterrupt

        registry = ConnectorRegistry()
        registry.register_plugin(Grabby(), "grabby")
        assert [f.error for f in registry.failures] == ["meshkit_connectors() raised KeyboardInterrupt"]

    def test_a_sigint_the_os_delivers_during_an_import_still_interrupts(self, site: Path) -> None:
        # The plugin has the OS deliver a real SIGINT to this process while it is being imported.
        source = "import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(60)\n"
        signalled = PluginDist("signalled", "signalled-meshkit", "0.1.0", "signalled_plugin", source)
        before = signal.getsignal(signal.SIGINT)
        registry = ConnectorRegistry()
        with pytest.raises(KeyboardInterrupt):
            registry.load_entry_points(install(site, signalled))
        assert registry.failures == []
        assert signal.getsignal(signal.SIGINT) is before  # the scan's own handler is gone again

    def test_a_plugin_that_swallows_a_real_sigint_does_not_cancel_it(self, site: Path) -> None:
        source = (
            "import os, signal, time\n"
            "try:\n    os.kill(os.getpid(), signal.SIGINT)\n    time.sleep(60)\n"
            "except KeyboardInterrupt:\n    pass\n"
        )
        swallower = PluginDist("swallower", "swallower-meshkit", "0.1.0", "swallower_plugin", source)
        with pytest.raises(KeyboardInterrupt):
            ConnectorRegistry().load_entry_points(install(site, swallower))

    def test_each_loaded_plugin_carries_its_import_time(self, site: Path) -> None:
        registry = ConnectorRegistry()
        registry.load_entry_points([builtin_entry_point(), *install(site, pd.GOOD)])
        assert [p.name for p in registry.plugins] == ["meshkit", "acme"]
        assert all(p.import_seconds > 0 for p in registry.plugins)


class TestIsolation:
    def test_each_broken_plugin_is_recorded_and_the_rest_still_load(self, site: Path) -> None:
        registry = ConnectorRegistry()
        registry.load_entry_points([*install(site, *pd.ALL), builtin_entry_point()])

        failures = failures_by_subject(registry)
        expected = {
            ("broken-import", None): "import failed: RuntimeError: cannot reach the licence server",
            ("broken-hook", None): "meshkit_connectors() raised ValueError: misconfigured plugin",
            (
                "bent",
                "bent.secrets.v1",
            ): "bent.secrets.v1 declares type 'provider' but does not subclass Provider",
            ("bent", "bent.plain.v1"): "is not a Connector subclass",
            (
                "impostor",
                "meshkit.memory.v1",
            ): "duplicate connector id 'meshkit.memory.v1': already provided by plugin 'meshkit' (meshkit)",
            ("future", "future.secrets.v1"): "future.secrets.v1 implements secret_store interface v99, "
            "this meshkit provides v1",
            ("half", "half.storage.v1"): "half.storage.v1 leaves abstract methods unimplemented: "
            "delete, list, save, stat",
        }
        assert sorted(failures, key=str) == sorted(expected, key=str)
        by_dist = {p.entry_name: p for p in pd.ALL}
        for (plugin, _), text in expected.items():
            failure = failures[(plugin, _)]
            assert text in failure.error
            assert (failure.distribution, failure.version) == (
                by_dist[plugin].dist_name,
                by_dist[plugin].version,
            )
            assert failure.hint
            assert failure.to_dict()["hint"] == failure.hint

        loaded = set(registry.ids())
        assert {"acme.echo.v1", "acme.echo.v2", "acme.vault.v1", "bent.fine.v1", *BUILTIN_IDS} == loaded
        assert registry.get("meshkit.memory.v1").__module__ == "meshkit.connectors.storage.memory"
        assert registry.entry("acme.echo").version == "1.2.3"
        assert registry.get("acme.echo").connector_id == "acme.echo.v2"

    def test_hints_say_what_to_do(self, site: Path) -> None:
        registry = ConnectorRegistry()
        registry.load_entry_points([builtin_entry_point(), *install(site, *pd.ALL)])
        hints = {subject: f.hint for subject, f in failures_by_subject(registry).items()}
        assert "MESHKIT_PLUGINS" in hints[("broken-import", None)]
        assert "report it to the maintainers of broken-hook-meshkit" in hints[("broken-hook", None)]
        assert "subclass meshkit.Provider" in hints[("bent", "bent.secrets.v1")]
        assert "rename the connector" in hints[("impostor", "meshkit.memory.v1")]
        assert "install a plugin release built for this meshkit" in hints[("future", "future.secrets.v1")]
        assert "implement them" in hints[("half", "half.storage.v1")]

    def test_plugins_that_loaded_are_listed_and_broken_ones_are_not(self, site: Path) -> None:
        registry = ConnectorRegistry()
        registry.load_entry_points([builtin_entry_point(), *install(site, *pd.ALL)])
        names = [p.name for p in registry.plugins]
        assert names == ["meshkit", "acme", "bent", "impostor", "future", "half"]
        shown = registry.plugins[1].to_dict()
        assert shown.pop("import_seconds") > 0
        assert shown == {"name": "acme", "distribution": "acme-meshkit", "version": "1.2.3"}

    def test_a_plugin_whose_hook_raised_answers_no_other_hook(self, site: Path) -> None:
        registry = ConnectorRegistry()
        registry.load_entry_points([builtin_entry_point(), *install(site, pd.HOOK_RAISES)])
        assert registry.conformance("acme.anything.v1") is None
        assert not registry.plugin_manager.has_plugin("broken-hook")

    def test_a_duplicate_of_a_built_in_loses_whatever_the_order(self, site: Path) -> None:
        [impostor] = install(site, pd.DUPLICATE)
        for order in ([impostor, builtin_entry_point()], [builtin_entry_point(), impostor]):
            registry = ConnectorRegistry()
            registry.load_entry_points(order)
            assert [(f.plugin, f.connector) for f in registry.failures] == [("impostor", "meshkit.memory.v1")]
            assert registry.entry("meshkit.memory.v1").plugin == "meshkit"

    def test_a_third_party_entry_point_named_meshkit_is_not_the_built_in(self, site: Path) -> None:
        sneaky = PluginDist("meshkit", "sneaky-meshkit", "1.0", "sneaky_plugin", pd.GOOD.source)
        [ep] = install(site, sneaky)
        registry = ConnectorRegistry()
        registry.load_entry_points([ep, builtin_entry_point()])
        [failure] = registry.failures
        assert failure.distribution == "sneaky-meshkit"
        assert "another plugin named 'meshkit' is already loaded" in failure.error
        assert set(registry.ids()) == set(BUILTIN_IDS)

    def test_hook_returning_a_single_class_is_a_clear_failure(self) -> None:
        class OneClass:
            @hookimpl
            def meshkit_connectors(self) -> Any:
                return make("solo.store.v1", Storage)

        registry = ConnectorRegistry()
        registry.register_plugin(OneClass(), "solo")
        [failure] = registry.failures
        assert "meshkit_connectors() returned <class" in failure.error
        assert "not a list of connector classes" in failure.error

    def test_a_plugin_object_registered_in_process(self) -> None:
        class InProcess:
            @hookimpl
            def meshkit_connectors(self) -> Any:
                return [make("app.local.v1", Storage)]

        registry = ConnectorRegistry()
        registry.register_plugin(InProcess(), "app")
        assert registry.entry("local").plugin == "app"
        assert registry.entry("local").distribution is None

    def test_a_module_hook_under_another_name_is_found(self) -> None:
        # pluggy's specname lets a hook function carry any name; skipping a module's
        # classes and constants quickly must not skip such a function.
        module = types.ModuleType("renamed_hooks")
        module.Storage = Storage  # type: ignore[attr-defined]
        module.CONSTANT = 3  # type: ignore[attr-defined]

        @hookimpl(specname="meshkit_connectors")
        def connectors() -> list[type]:
            return [make("renamed.store.v1", Storage)]

        module.connectors = connectors  # type: ignore[attr-defined]
        registry = ConnectorRegistry()
        registry.register_plugin(module, "renamed")
        assert registry.failures == []
        assert "renamed.store.v1" in registry

    def test_an_odd_class_does_not_stop_the_others(self) -> None:
        registry = ConnectorRegistry()
        odd = make("odd.type.v1", Storage, connector_type="llm")
        fine = make("odd.fine.v1", Storage)
        assert not registry.add(odd, plugin="odd")
        assert registry.add(fine, plugin="odd")
        [failure] = registry.failures
        assert "connector_type must be a ConnectorType member" in failure.error

    def test_strict_mode_raises_on_the_first_failure(self, site: Path) -> None:
        registry = ConnectorRegistry(strict=True)
        with pytest.raises(PluginLoadError) as info:
            registry.load_entry_points([builtin_entry_point(), *install(site, pd.IMPORT_ERROR)])
        message = str(info.value)
        assert "plugin 'broken-import' (broken-import-meshkit 0.1.0)" in message
        assert "cannot reach the licence server" in message


# --- environment switches and discovery -----------------------------------------------


@pytest.mark.usefixtures("fresh_registry")
class TestDiscovery:
    def test_discover_finds_installed_plugins(self, site: Path) -> None:
        install(site, pd.GOOD, pd.IMPORT_ERROR)
        registry = discover()
        assert {"acme.echo.v1", *BUILTIN_IDS} <= set(registry.ids())
        assert ("broken-import", None) in failures_by_subject(registry)

    def test_strict_env_var_raises(self, site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        install(site, pd.GOOD, pd.HOOK_RAISES)
        monkeypatch.setenv("MESHKIT_STRICT_PLUGINS", "1")
        with pytest.raises(PluginLoadError, match=r"broken-hook.*misconfigured plugin"):
            get_registry()

    @pytest.mark.parametrize("value", ["0", "", "no"])
    def test_strict_env_var_off(self, site: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
        install(site, pd.HOOK_RAISES)
        monkeypatch.setenv("MESHKIT_STRICT_PLUGINS", value)
        assert not discover().strict

    def test_plugins_env_var_loads_only_the_named_plugins_and_the_built_in(
        self, site: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        install(site, *pd.ALL)
        monkeypatch.setenv("MESHKIT_PLUGINS", " acme , bent ")
        registry = discover()
        assert sorted(p.name for p in registry.plugins if p.name in {"meshkit", "acme", "bent"}) == [
            "acme",
            "bent",
            "meshkit",
        ]
        assert set(BUILTIN_IDS) <= set(registry.ids())
        assert "acme.echo.v1" in registry
        assert {f.plugin for f in registry.failures} == {"bent"}
        # The others were not even imported.
        assert pd.IMPORT_ERROR.module not in sys.modules
        assert pd.DUPLICATE.module not in sys.modules

    def test_plugins_env_var_naming_a_missing_plugin_is_reported(
        self, site: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        install(site, pd.GOOD)
        monkeypatch.setenv("MESHKIT_PLUGINS", "acmee")
        registry = discover()
        [failure] = registry.failures
        assert failure.plugin == "acmee"
        assert "no installed plugin has that name" in failure.error
        assert failure.hint == "did you mean 'acme'?"
        assert "acme.echo.v1" not in registry

    def test_entry_points_are_scanned_once_per_process(self, monkeypatch: pytest.MonkeyPatch) -> None:
        calls: list[dict[str, Any]] = []
        real = importlib.metadata.entry_points

        def counting(**params: Any) -> Any:
            calls.append(params)
            return real(**params)

        monkeypatch.setattr(importlib.metadata, "entry_points", counting)
        first = get_registry()
        assert all(get_registry() is first for _ in range(5))
        assert calls == [{"group": "meshkit"}]
        reset_registry()
        assert get_registry() is not first
        assert len(calls) == 2

    def test_concurrent_first_use_scans_once(self, monkeypatch: pytest.MonkeyPatch) -> None:
        calls: list[int] = []
        real = importlib.metadata.entry_points
        gate = threading.Barrier(8)

        def counting(**params: Any) -> Any:
            calls.append(1)
            return real(**params)

        monkeypatch.setattr(importlib.metadata, "entry_points", counting)
        seen: list[ConnectorRegistry] = []

        def use() -> None:
            gate.wait()
            seen.append(get_registry())

        threads = [threading.Thread(target=use) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(calls) == 1
        assert len({id(r) for r in seen}) == 1

    def test_built_in_connectors_come_through_the_entry_point(self) -> None:
        registry = get_registry()
        for connector_id in BUILTIN_IDS:
            entry = registry.entry(connector_id)
            assert (entry.plugin, entry.distribution) == ("meshkit", "meshkit")
