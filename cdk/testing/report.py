"""What a conformance run found: every test's outcome and each connector's verdict.

Written as JSON with ``--conformance-report=path.json``; the verdicts also end the
terminal summary.
"""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest

from .requirements import required_tests
from .target import ConformanceTarget
from .verdict import Instance, Verdict, judge

__all__ = ["UNDECLARED_PROPERTY", "ConformanceReport", "TestRecord"]

#: The ``user_properties`` key under which a test records an undeclared feature that works.
UNDECLARED_PROPERTY = "meshkit_undeclared_feature_works"

_RANK = {"passed": 0, "skipped": 1, "failed": 2}


@attrs.define
class TestRecord:
    """One test of one connector, over its setup, call and teardown."""

    __test__ = False  # not a pytest test class, despite the name

    test: str
    id: str
    nodeid: str
    outcome: str = "passed"
    reason: str | None = None
    duration: float = 0.0
    undeclared: list[str] = attrs.field(factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The record as it appears in the JSON report."""
        return {
            "test": self.test,
            "id": self.id,
            "outcome": self.outcome,
            "reason": self.reason,
            "duration": round(self.duration, 4),
        }


def _reason(report: pytest.TestReport, call: pytest.CallInfo[None]) -> str | None:
    if hasattr(report, "wasxfail"):
        return f"xfail: {report.wasxfail}" if report.wasxfail else "xfail"
    if report.skipped and isinstance(report.longrepr, tuple):
        text = str(report.longrepr[2])
        return text.removeprefix("Skipped: ")
    if report.failed and call.excinfo is not None:
        text = call.excinfo.exconly().strip()
        return text if len(text) <= 2000 else text[:2000] + "…"
    return None


def _names(item: pytest.Item) -> tuple[str, str]:
    """The test's name and its id in the report: the name and the parameters but the connector."""
    name = getattr(item, "originalname", item.name)
    params = getattr(getattr(item, "callspec", None), "params", {})
    rest = [str(v) for k, v in params.items() if k != "conformance_target"]
    return name, name + (f"[{'-'.join(rest)}]" if rest else "")


class ConformanceReport:
    """Collects the outcome of every conformance test; judges each connector; writes JSON."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else None
        self.targets: dict[str, ConformanceTarget] = {}
        self.records: dict[str, dict[str, TestRecord]] = {}
        self.collected: dict[str, dict[str, Instance]] = {}
        self.suites: dict[str, type] = {}
        self.deselected: set[str] = set()

    def add_target(self, target: ConformanceTarget) -> None:
        """Make sure ``target`` is in the report, even if none of its tests ran."""
        self.targets.setdefault(target.connector_id, target)
        self.records.setdefault(target.connector_id, {})
        self.collected.setdefault(target.connector_id, {})

    def collect(self, item: pytest.Item, target: ConformanceTarget, suite: type) -> None:
        """Note a collected test of ``target`` (before any deselection)."""
        self.add_target(target)
        self.suites.setdefault(target.connector_id, suite)
        name, shown = _names(item)
        self.collected[target.connector_id][item.nodeid] = Instance(name, shown, item.nodeid)

    def deselect(self, items: list[pytest.Item]) -> None:
        """Note tests that ``-k``, ``-m`` or ``--deselect`` took out of the run."""
        self.deselected.update(item.nodeid for item in items)

    def verdict(self, connector_id: str) -> Verdict:
        """The verdict on one connector, from what was collected and how it ended."""
        from .collected import CLASS_BY_TYPE

        target = self.targets[connector_id]
        suite = self.suites.get(connector_id) or CLASS_BY_TYPE[target.cls.connector_type.value]
        return judge(
            target,
            required_tests(suite),
            list(self.collected.get(connector_id, {}).values()),
            self.deselected,
            self.records.get(connector_id, {}),
        )

    def verdicts(self) -> dict[str, Verdict]:
        """Every connector's verdict, by id."""
        return {cid: self.verdict(cid) for cid in sorted(self.targets)}

    def record(
        self,
        item: pytest.Item,
        call: pytest.CallInfo[None],
        report: pytest.TestReport,
        target: ConformanceTarget,
    ) -> None:
        """Fold one phase's report into the test's record; the worst outcome wins."""
        self.add_target(target)
        records = self.records[target.connector_id]
        rec = records.get(item.nodeid)
        if rec is None:
            name, shown = _names(item)
            rec = records[item.nodeid] = TestRecord(test=name, id=shown, nodeid=item.nodeid)
        outcome = "skipped" if hasattr(report, "wasxfail") else report.outcome
        rec.duration += report.duration
        if _RANK[outcome] > _RANK[rec.outcome] or (outcome == rec.outcome and rec.reason is None):
            rec.outcome = outcome
            rec.reason = _reason(report, call) or rec.reason
        for key, value in report.user_properties:
            if key == UNDECLARED_PROPERTY and value not in rec.undeclared:
                rec.undeclared.append(str(value))

    def to_dict(self, exit_status: int | None = None) -> dict[str, Any]:
        """The whole report, JSON-ready: versions, and per connector its tests and a summary."""
        from .. import __version__
        from . import SUITE_VERSION

        connectors = []
        verdicts = self.verdicts()
        for connector_id, target in sorted(self.targets.items()):
            tests = sorted(self.records[connector_id].values(), key=lambda r: r.id)
            summary = {k: sum(1 for t in tests if t.outcome == k) for k in ("passed", "failed", "skipped")}
            cls = target.cls
            connectors.append(
                {
                    "id": connector_id,
                    "type": cls.connector_type.value,
                    "interface_version": cls.interface_version,
                    "features": sorted(f.value for f in cls.features),
                    "version": target.version,
                    "distribution": target.distribution,
                    "plugin": target.plugin,
                    "spec": target.spec_source,
                    "passed": summary["failed"] == 0 and summary["passed"] > 0,
                    "verdict": verdicts[connector_id].to_dict(),
                    "summary": summary,
                    "undeclared_features_working": sorted({f for t in tests for f in t.undeclared}),
                    "tests": [t.to_dict() for t in tests],
                }
            )
        return {
            "suite": "meshkit-conformance",
            "suite_version": SUITE_VERSION,
            "meshkit_version": __version__,
            "python": platform.python_version(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "exit_status": exit_status,
            "certified": bool(verdicts) and all(v.certified for v in verdicts.values()),
            "connectors": connectors,
        }

    def write(self, exit_status: int | None = None) -> None:
        """Write the report to its path (folders created as needed), if it has one."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.to_dict(exit_status), indent=2, default=str) + "\n")
