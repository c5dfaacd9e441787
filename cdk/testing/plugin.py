"""The pytest plugin (``pytest11`` entry point). Inert unless ``--connector`` is given.

With ``--connector=NAME`` (repeatable) it resolves each name through the connector
registry, replaces the default test paths with the suite class of each connector's
type, and parametrizes those classes with the connectors. Each connector's run ends
with a verdict in the terminal summary (``certified`` or ``not certified``, with the
required tests that did not run and pass); ``--require-certified`` makes a run that is
not certified exit non-zero. ``--conformance-report`` writes every conformance test's
outcome and the verdicts as JSON. All of this holds for ``--connector`` runs and for
suite subclasses in a connector's own tests alike.

This module is imported by every pytest run on a machine where meshkit is installed,
so it imports nothing heavier than pytest until one of its options is used.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .report import ConformanceReport
    from .target import ConformanceTarget

# Plain asserts in the suite explain themselves like asserts in test files do.
pytest.register_assert_rewrite(
    *(
        f"meshkit.testing.{name}"
        for name in (
            "base",
            "collected",
            "discovery_suite",
            "observability_suite",
            "provider_suite",
            "rotation_suite",
            "secret_store_suite",
            "storage_suite",
        )
    )
)

TARGETS: pytest.StashKey[list[ConformanceTarget]] = pytest.StashKey()
REPORT: pytest.StashKey[ConformanceReport] = pytest.StashKey()
SUITE_MODULE = "meshkit.testing.collected"
#: The exit code of a run that passed but is not certified, under ``--require-certified``.
NOT_CERTIFIED_EXIT = pytest.ExitCode.TESTS_FAILED


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("meshkit", "meshkit connector conformance")
    group.addoption(
        "--connector",
        action="append",
        default=[],
        metavar="NAME",
        help="run the conformance suite against this connector (id, vendor.name or name); repeatable",
    )
    group.addoption(
        "--conformance-report", default=None, metavar="PATH", help="write a JSON conformance report to PATH"
    )
    group.addoption(
        "--require-certified",
        action="store_true",
        default=False,
        help="exit non-zero unless every connector tested is certified (every required test ran and passed)",
    )


def pytest_configure(config: pytest.Config) -> None:
    from .requirements import MARKERS

    for line in MARKERS:
        config.addinivalue_line("markers", line)
    report_path = config.getoption("conformance_report", None)
    if report_path:
        from .report import ConformanceReport

        config.stash[REPORT] = ConformanceReport(report_path)
    names: list[str] = config.getoption("connector", None) or []
    if not names:
        return
    targets = _resolve(names)
    config.stash[TARGETS] = targets
    for target in targets:
        _collector(config).add_target(target)
    suite = importlib.import_module(SUITE_MODULE)
    path = Path(suite.__file__ or "")
    node_ids: list[str] = []
    for target in targets:
        node_id = f"{path}::{suite.CLASS_BY_TYPE[target.cls.connector_type.value].__name__}"
        if node_id not in node_ids:
            node_ids.append(node_id)
    # Named paths run too; the default (the current folder, or testpaths) is replaced.
    if config.args_source is pytest.Config.ArgsSource.ARGS:
        config.args = [*config.args, *node_ids]
    else:
        config.args = node_ids


def _resolve(names: list[str]) -> list[ConformanceTarget]:
    from ..errors import ConnectorError
    from ..plugins import get_registry
    from .target import resolve_target

    targets: list[ConformanceTarget] = []
    for name in names:
        try:
            target = resolve_target(name)
        except (ConnectorError, LookupError, TypeError) as exc:
            failures = get_registry().failures
            extra = ""
            if failures:
                broken = ", ".join(sorted({f.plugin for f in failures}))
                extra = f" (plugins that failed to load: {broken}; see `meshkit doctor`)"
            raise pytest.UsageError(f"--connector={name}: {exc}{extra}") from None
        if all(t.connector_id != target.connector_id for t in targets):
            targets.append(target)
    return targets


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    targets = metafunc.config.stash.get(TARGETS, None)
    if not targets or metafunc.cls is None or metafunc.cls.__module__ != SUITE_MODULE:
        return
    if "conformance_target" not in metafunc.fixturenames:
        return
    kind = metafunc.cls.connector_type
    mine = [t for t in targets if t.cls.connector_type is kind]
    metafunc.parametrize("conformance_target", mine, ids=[t.connector_id for t in mine])


def _suite_paths() -> tuple[Path, Path, Path]:
    suite = sys.modules[SUITE_MODULE]
    file = Path(suite.__file__ or "")
    return file, file.parent, file.parent.parent


class SuiteModule(pytest.Module):
    """The installed suite module, imported by its real name whatever the path looks like.

    (Importing it from its path could load a second copy of meshkit under another name
    in a source checkout, where the folder is not called ``meshkit``.)
    """

    def _getobj(self) -> Any:
        return importlib.import_module(SUITE_MODULE)


def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if TARGETS not in parent.config.stash:
        return None
    _, testing_dir, package_dir = _suite_paths()
    if path in (testing_dir, package_dir):
        # A plain folder, not a Package: a Package would import meshkit's __init__ by path.
        return pytest.Dir.from_parent(parent, path=path)
    return None


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    if TARGETS not in parent.config.stash:
        return None
    if module_path == _suite_paths()[0]:
        return SuiteModule.from_parent(parent, path=module_path)
    return None


def _collector(config: pytest.Config) -> ConformanceReport:
    """The run's collector, made on first use (a report path only decides whether it is written)."""
    if REPORT not in config.stash:
        from .report import ConformanceReport

        config.stash[REPORT] = ConformanceReport()
    return config.stash[REPORT]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    # First, so that every conformance test is known before -k / -m take any away.
    for item in items:
        target = _target_of(item)
        if target is not None:
            _collector(config).collect(item, target, item.cls)  # type: ignore[attr-defined]


def pytest_deselected(items: list[pytest.Item]) -> None:
    if items and REPORT in items[0].config.stash:
        items[0].config.stash[REPORT].deselect(items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    collector = item.config.stash.get(REPORT, None)
    if collector is not None:
        target = _target_of(item)
        if target is not None:
            collector.record(item, call, report, target)
    return report


def _target_of(item: pytest.Item) -> ConformanceTarget | None:
    base = sys.modules.get("meshkit.testing.base")
    cls = getattr(item, "cls", None)
    if base is None or cls is None or not issubclass(cls, base.ConformanceSuite):
        return None
    from .target import ConformanceTarget, target_for_class

    params = getattr(getattr(item, "callspec", None), "params", {})
    found = params.get("conformance_target") or getattr(item, "funcargs", {}).get("conformance_target")
    if isinstance(found, ConformanceTarget):
        return found
    if cls.connector_class is not None:
        return target_for_class(cls.connector_class, cls.spec)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    collector = config.stash.get(REPORT, None)
    if config.getoption("require_certified", False) and session.exitstatus == pytest.ExitCode.OK:
        verdicts = collector.verdicts() if collector is not None else {}
        if not verdicts or not all(v.certified for v in verdicts.values()):
            session.exitstatus = NOT_CERTIFIED_EXIT
    if collector is not None:
        collector.write(int(session.exitstatus))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    collector = config.stash.get(REPORT, None)
    verdicts = collector.verdicts() if collector is not None else {}
    if collector is not None and verdicts:
        from .verdict import render

        terminalreporter.section("meshkit conformance verdict")
        for connector_id, verdict in verdicts.items():
            for line, style in render(collector.targets[connector_id], verdict):
                terminalreporter.write_line(line, **style)
    elif config.getoption("require_certified", False):
        terminalreporter.write_line(
            "--require-certified: no connector was put through the conformance suite", red=True
        )
    if collector is not None and collector.path is not None:
        terminalreporter.write_line(f"meshkit conformance report: {collector.path}")
