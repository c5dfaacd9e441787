"""Real plugin distributions, installed with pip into a real virtual environment.

Ten throwaway projects (each with its own pyproject.toml and an entry point in the
``meshkit`` group) are built and installed next to meshkit's own wheel; the
environment's ``meshkit`` console script must list the good plugin, report each
broken one with its error and a hint, and keep everything else working.
"""

from __future__ import annotations

import json
import signal
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from meshkit.connectors import _plugin as builtin_plugin
from meshkit.testing.venvs import ThrowawayVenv, build_wheels, child_env

from . import plugin_dists as pd
from .conftest import BuiltWheel

pytestmark = pytest.mark.slow

BUILTIN_IDS = {cls.connector_id for cls in builtin_plugin.meshkit_connectors()}

#: (plugin, connector) → a piece of the error each broken plugin must be reported with.
EXPECTED_FAILURES = {
    ("broken-import", None): "import failed: RuntimeError: cannot reach the licence server",
    ("broken-hook", None): "meshkit_connectors() raised ValueError: misconfigured plugin",
    ("bent", "bent.secrets.v1"): "declares type 'provider' but does not subclass Provider",
    ("bent", "bent.plain.v1"): "is not a Connector subclass",
    ("impostor", "meshkit.memory.v1"): "duplicate connector id 'meshkit.memory.v1'",
    ("future", "future.secrets.v1"): "interface v99, this meshkit provides v1",
    ("half", "half.storage.v1"): "leaves abstract methods unimplemented",
    ("interrupting", None): "import failed: KeyboardInterrupt",
    ("exiting", None): "import failed: SystemExit: 3",
}


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, meshkit_wheel: BuiltWheel) -> ThrowawayVenv:
    """A virtual environment holding meshkit's wheel and every throwaway plugin."""
    work = tmp_path_factory.mktemp("plugin-venv")
    projects = [pd.write_project(work / "projects", plugin) for plugin in (*pd.ALL, *pd.HOSTILE)]
    wheels = build_wheels(projects, work / "wheels")
    assert len(wheels) == len(pd.ALL) + len(pd.HOSTILE)
    env = ThrowawayVenv(work / "venv")
    env.install(meshkit_wheel.path, *wheels)
    env.see_packages()
    return env


def meshkit(venv: ThrowawayVenv, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the environment's own ``meshkit`` console script."""
    return subprocess.run(
        [str(venv.script("meshkit")), *args],
        capture_output=True,
        text=True,
        env=child_env(**env),
        timeout=120,
        cwd=venv.root,
    )


def python(venv: ThrowawayVenv, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv.python), "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=120,
        cwd=venv.root,
    )


def test_meshkit_comes_from_the_wheel_not_the_checkout(venv: ThrowawayVenv) -> None:
    done = python(
        venv,
        "import meshkit, meshkit.connectors; print(meshkit.__file__); print(meshkit.connectors.__file__)",
    )
    assert done.returncode == 0, done.stderr
    for line in done.stdout.splitlines():
        assert Path(line).resolve().is_relative_to(venv.site_packages.resolve())


def test_connectors_json_lists_the_good_plugin_with_its_distribution(venv: ThrowawayVenv) -> None:
    done = meshkit(venv, "connectors", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    listed = {c["id"]: c for c in data["connectors"]}
    for connector_id in ("acme.echo.v1", "acme.echo.v2", "acme.vault.v1"):
        assert listed[connector_id]["plugin"] == "acme"
        assert listed[connector_id]["distribution"] == "acme-meshkit"
        assert listed[connector_id]["version"] == "1.2.3"
    assert listed["acme.echo.v1"]["type"] == "provider"
    assert listed["acme.echo.v1"]["features"] == ["tools"]
    assert listed["acme.vault.v1"]["description"] == "Secrets from the Acme vault"
    # The good class of a plugin with bad ones still loads.
    assert listed["bent.fine.v1"]["distribution"] == "bent-meshkit"


def test_nothing_else_breaks(venv: ThrowawayVenv) -> None:
    data = json.loads(meshkit(venv, "connectors", "--json").stdout)
    listed = {c["id"]: c for c in data["connectors"]}
    assert set(listed) >= BUILTIN_IDS
    for connector_id in BUILTIN_IDS:
        assert (listed[connector_id]["plugin"], listed[connector_id]["distribution"]) == (
            "meshkit",
            "meshkit",
        )
    assert set(listed) == BUILTIN_IDS | {"acme.echo.v1", "acme.echo.v2", "acme.vault.v1", "bent.fine.v1"}


def test_connectors_json_reports_every_broken_plugin(venv: ThrowawayVenv) -> None:
    data = json.loads(meshkit(venv, "connectors", "--json").stdout)
    failures = {(f["plugin"], f["connector"]): f for f in data["failures"]}
    assert set(failures) == set(EXPECTED_FAILURES)
    dists = {p.entry_name: p for p in (*pd.ALL, *pd.HOSTILE)}
    for subject, text in EXPECTED_FAILURES.items():
        failure = failures[subject]
        assert text in failure["error"]
        assert failure["hint"]
        assert failure["distribution"] == dists[subject[0]].dist_name
        assert failure["version"] == dists[subject[0]].version


def test_connectors_table(venv: ThrowawayVenv) -> None:
    done = meshkit(venv, "connectors", "--type", "provider", COLUMNS="300")
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[1:] if line.strip()}
    assert rows["acme.echo.v2"][1:5] == ["provider", "1.2.3", "acme", "(acme-meshkit)"]
    assert all(row[1] == "provider" for cid, row in rows.items() if "." in cid)
    assert "9 plugin problem(s); run `meshkit doctor` for details." in done.stdout


def test_doctor_reports_each_failure_with_a_hint_and_exits_1(venv: ThrowawayVenv) -> None:
    done = meshkit(venv, "doctor")
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    assert "9 problem(s):" in done.stdout
    assert done.stdout.count("   error: ") == 9
    assert done.stdout.count("   fix:   ") == 9
    assert "plugin 'broken-import' (broken-import-meshkit 0.1.0)" in done.stdout
    assert "connector meshkit.memory.v1 in plugin 'impostor' (impostor-meshkit 6.6.6)" in done.stdout
    for text in EXPECTED_FAILURES.values():
        assert text in done.stdout


def test_doctor_json(venv: ThrowawayVenv) -> None:
    done = meshkit(venv, "doctor", "--json")
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["ok"] is False
    assert {(f["plugin"], f["connector"]) for f in data["failures"]} == set(EXPECTED_FAILURES)
    loaded = {p["name"]: p for p in data["plugins"]}
    assert set(loaded) == {"meshkit", "acme", "bent", "impostor", "future", "half", "holding"}
    acme = dict(loaded["acme"])
    assert acme.pop("import_seconds") >= 0
    assert acme == {"name": "acme", "distribution": "acme-meshkit", "version": "1.2.3"}


def test_doctor_reports_slow_plugin_imports_with_their_time(venv: ThrowawayVenv) -> None:
    # A threshold of 0 makes every import "slow": no test needs a plugin that really is.
    done = meshkit(venv, "doctor", MESHKIT_SLOW_IMPORT="0")
    assert "plugin import(s) slower than 0s:" in done.stdout
    slow = [line for line in done.stdout.splitlines() if line.startswith("  - plugin ")]
    assert any(line.startswith("  - plugin 'acme' (acme-meshkit 1.2.3) took ") for line in slow)
    assert all(line.endswith("s to import") for line in slow)
    quiet = meshkit(venv, "doctor")
    assert "slower than" not in quiet.stdout


def test_a_real_ctrl_c_during_discovery_still_stops_the_command(venv: ThrowawayVenv) -> None:
    command = subprocess.Popen(
        [str(venv.script("meshkit")), "connectors"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(MESHKIT_TEST_HOLD_IMPORT="1"),
        cwd=venv.root,
    )
    try:
        assert command.stderr is not None
        assert command.stderr.readline() == "holding the import\n"  # discovery is under way
        command.send_signal(signal.SIGINT)
        out, err = command.communicate(timeout=60)
    finally:
        command.kill()
    assert command.returncode != 0
    assert "KeyboardInterrupt" in err
    assert "acme.echo.v1" not in out  # it stopped, rather than carrying on with the listing


def test_plugins_env_var_picks_plugins_and_keeps_the_built_in(venv: ThrowawayVenv) -> None:
    done = meshkit(venv, "doctor", "--json", MESHKIT_PLUGINS="acme")
    assert done.returncode == 0, done.stdout
    data = json.loads(done.stdout)
    assert [p["name"] for p in data["plugins"]] == ["meshkit", "acme"]
    assert data["failures"] == []
    done = meshkit(venv, "doctor")
    assert done.returncode == 1


def test_strict_mode_is_one_clean_line(venv: ThrowawayVenv) -> None:
    done = meshkit(venv, "connectors", MESHKIT_STRICT_PLUGINS="1")
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("meshkit: plugin ")
    assert "Traceback" not in done.stderr


def test_the_good_plugin_works_through_the_registry(venv: ThrowawayVenv) -> None:
    done = python(
        venv,
        """
        import anyio
        from meshkit import CompletionRequest, SecretNotFoundError, get_registry

        async def main():
            registry = get_registry()
            echo = registry.get("echo", "provider")
            request = CompletionRequest(messages=[{"role": "user", "content": "ping"}])
            async with echo() as provider:
                reply = await provider.complete(request)
            store = registry.get("vault")()
            try:
                await store.get("KEY")
            except SecretNotFoundError as exc:
                missing = str(exc)
            print(echo.connector_id, reply.text, missing, sep="|")

        anyio.run(main)
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "acme.echo.v2|ping|secret 'KEY' not found in acme vault"


def test_broken_plugins_do_not_stop_the_library(venv: ThrowawayVenv) -> None:
    done = python(
        venv,
        """
        import json
        from meshkit import get_registry
        registry = get_registry()
        memory = registry.get("memory", "storage").__module__
        print(json.dumps({"memory": memory, "failures": len(registry.failures)}))
        """,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    assert result == {"memory": "meshkit.connectors.storage.memory", "failures": 9}
