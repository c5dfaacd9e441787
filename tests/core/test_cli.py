"""The ``meshkit`` command: ``connectors`` and ``doctor``, called through ``meshkit.cli.main``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import meshkit
from meshkit import cli
from meshkit import plugins as plugins_module
from meshkit.connectors import _plugin as builtin_plugin
from meshkit.plugins import ConnectorRegistry, PluginFailure, get_registry, process

from . import plugin_dists as pd
from .plugin_dists import builtin_entry_point, install

BUILTINS = {cls.connector_id: cls for cls in builtin_plugin.meshkit_connectors()}


@pytest.fixture(autouse=True)
def own_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test sees a registry discovered for it, in a plain environment."""
    monkeypatch.delenv("MESHKIT_PLUGINS", raising=False)
    monkeypatch.delenv("MESHKIT_STRICT_PLUGINS", raising=False)
    plugins_module.reset_registry()
    yield
    plugins_module.reset_registry()


def use_registry(monkeypatch: pytest.MonkeyPatch, registry: ConnectorRegistry) -> None:
    monkeypatch.setattr(process, "_registry", registry)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_python_dash_m_meshkit_runs_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "meshkit", "connectors", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    ids = {c["id"] for c in json.loads(done.stdout)["connectors"]}
    assert "meshkit.memory.v1" in ids


def test_version_prints_the_installed_distributions_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"meshkit {meshkit.__version__}"


class TestConnectors:
    def test_table_lists_every_connector_with_its_plugin_and_features(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("COLUMNS", "300")  # wide enough for every cell whole
        code, out, _ = run(capsys, "connectors")
        assert code == 0
        header, *rows = out.strip().splitlines()
        assert header.split() == ["ID", "TYPE", "VERSION", "PLUGIN", "FEATURES"]
        by_id = {row.split()[0]: row for row in rows}
        assert set(by_id) == set(get_registry().ids())
        memory = by_id["meshkit.memory.v1"].split()
        assert memory[1:4] == [
            "storage",
            get_registry().entry("meshkit.memory.v1").version,
            "meshkit",  # the plugin; its distribution is named only when it differs
        ]
        assert "locking" in by_id["meshkit.memory.v1"]
        for connector_id, cls in BUILTINS.items():
            for feature in cls.features:
                assert feature.value in by_id[connector_id]

    def test_table_is_sorted_by_type_then_id(self, capsys: pytest.CaptureFixture[str]) -> None:
        _, out, _ = run(capsys, "connectors")
        keys = [(row.split()[1], row.split()[0]) for row in out.strip().splitlines()[1:]]
        assert keys == sorted(keys)

    @pytest.mark.parametrize(
        "kind", ["provider", "storage", "secret_store", "rotation", "observability", "discovery"]
    )
    def test_type_filter(self, capsys: pytest.CaptureFixture[str], kind: str) -> None:
        code, out, _ = run(capsys, "connectors", "--type", kind, "--json")
        assert code == 0
        listed = json.loads(out)["connectors"]
        assert listed, f"no built-in {kind} connector"
        assert {c["type"] for c in listed} == {kind}
        assert [c["id"] for c in listed] == get_registry().ids(kind)

    def test_json_lists_connectors_and_failures(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run(capsys, "connectors", "--json")
        data = json.loads(out)
        assert code == 0
        assert set(data) == {"connectors", "failures"}
        memory = next(c for c in data["connectors"] if c["id"] == "meshkit.memory.v1")
        assert memory["type"] == "storage"
        assert memory["plugin"] == "meshkit" and memory["distribution"] == "meshkit"
        assert "locking" in memory["features"]
        assert set(memory) == {
            "id",
            "type",
            "interface_version",
            "features",
            "description",
            "plugin",
            "distribution",
            "version",
        }

    def test_unknown_type_is_an_argparse_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as info:
            cli.main(["connectors", "--type", "nope"])
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert "argument --type: unknown type 'nope'; choose from" in err
        assert "provider" in err

    def test_a_command_is_required(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as info:
            cli.main([])
        assert info.value.code == 2
        assert "usage: meshkit" in capsys.readouterr().err

    def test_table_mentions_plugin_problems(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, site: Path
    ) -> None:
        registry = ConnectorRegistry()
        registry.load_entry_points([builtin_entry_point(), *install(site, pd.GOOD, pd.IMPORT_ERROR)])
        use_registry(monkeypatch, registry)
        monkeypatch.setenv("COLUMNS", "300")
        code, out, _ = run(capsys, "connectors")
        assert code == 0
        row = next(line for line in out.splitlines() if line.startswith("acme.echo.v1 "))
        assert row.split()[1:5] == ["provider", "1.2.3", "acme", "(acme-meshkit)"]
        assert "tools" in row
        assert "1 plugin problem(s); run `meshkit doctor` for details." in out


class TestDoctor:
    def test_healthy_install(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run(capsys, "doctor")
        assert code == 0
        assert out.splitlines()[0] == f"1 plugin(s) loaded, {len(get_registry())} connector(s) available."
        assert "No problems found." in out

    def test_healthy_install_json(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run(capsys, "doctor", "--json")
        data = json.loads(out)
        assert code == 0
        assert data["ok"] is True
        assert data["failures"] == []
        assert data["connectors"] == len(get_registry())
        (builtin,) = data["plugins"]
        assert builtin.pop("import_seconds") >= 0
        assert builtin == {
            "name": "meshkit",
            "distribution": "meshkit",
            "version": get_registry().plugins[0].version,
        }

    def test_failures_are_reported_readably_and_exit_1(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, site: Path
    ) -> None:
        registry = ConnectorRegistry()
        registry.load_entry_points(
            [builtin_entry_point(), *install(site, pd.GOOD, pd.IMPORT_ERROR, pd.FUTURE)]
        )
        use_registry(monkeypatch, registry)
        code, out, _ = run(capsys, "doctor")
        assert code == 1
        assert "3 plugin(s) loaded" in out
        assert "2 problem(s):" in out
        assert "1. plugin 'broken-import' (broken-import-meshkit 0.1.0)" in out
        assert "   error: import failed: RuntimeError: cannot reach the licence server" in out
        assert "   fix:   fix or reinstall broken-import-meshkit" in out
        assert "2. connector future.secrets.v1 in plugin 'future' (future-meshkit 9.0.0)" in out
        assert "interface v99, this meshkit provides v1" in out

    def test_failures_json(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, site: Path
    ) -> None:
        registry = ConnectorRegistry()
        registry.load_entry_points([builtin_entry_point(), *install(site, pd.HOOK_RAISES)])
        use_registry(monkeypatch, registry)
        code, out, _ = run(capsys, "doctor", "--json")
        data = json.loads(out)
        assert code == 1
        assert data["ok"] is False
        assert data["failures"] == [
            {
                "plugin": "broken-hook",
                "distribution": "broken-hook-meshkit",
                "version": "0.2.0",
                "error": "meshkit_connectors() raised ValueError: misconfigured plugin",
                "hint": "report it to the maintainers of broken-hook-meshkit",
                "connector": None,
            }
        ]

    def test_a_failure_outside_any_distribution(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        registry = ConnectorRegistry()
        registry.failures.append(PluginFailure("local", None, None, "boom", "fix it"))
        use_registry(monkeypatch, registry)
        code, out, _ = run(capsys, "doctor")
        assert code == 1
        assert "1. plugin 'local' (not from a distribution)" in out

    @pytest.mark.parametrize(
        "command", [["doctor"], ["doctor", "--json"], ["connectors"], ["connectors", "--json"]]
    )
    def test_strict_mode_failure_is_one_clean_line(
        self,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        site: Path,
        command: list[str],
    ) -> None:
        install(site, pd.IMPORT_ERROR)
        monkeypatch.setenv("MESHKIT_STRICT_PLUGINS", "1")
        with pytest.raises(SystemExit) as info:
            cli.main(command)
        out, err = capsys.readouterr()
        assert info.value.code == 2
        assert out == ""
        assert len(err.strip().splitlines()) == 1
        assert err.startswith("meshkit: plugin 'broken-import' (broken-import-meshkit 0.1.0): import failed")
        assert "Traceback" not in err

    def test_strict_error_spanning_lines_is_folded(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from meshkit.errors import PluginLoadError

        def fail() -> ConnectorRegistry:
            raise PluginLoadError("plugin 'x': first line\n  second line")

        monkeypatch.setattr(plugins_module, "get_registry", fail)
        with pytest.raises(SystemExit):
            cli.main(["doctor"])
        assert capsys.readouterr().err == "meshkit: plugin 'x': first line second line\n"
