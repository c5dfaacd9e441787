"""The verdict on one connector: certified only when every test its type requires ran and passed.

A required test is each standard test of the connector's suite (see
:mod:`meshkit.testing.requirements`) that applies to it. Each of its instances (one per
backend or parameter) must have been collected, kept by ``-k``/``-m``/``--deselect``,
run, and passed. Anything else is a gap, listed with why: a failure, a skip (whatever
switched it off: the spec's ``skips``, a spec field left out, the connector's Config), a
deselection, a run that stopped before the test, an ``xfail`` override.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .requirements import RequiredTest
from .target import ConformanceTarget

__all__ = ["CERTIFIED", "NOT_CERTIFIED", "Gap", "NotApplicable", "Verdict", "judge", "render"]

CERTIFIED = "certified"
NOT_CERTIFIED = "not certified"


@attrs.frozen
class Gap:
    """One required test instance that did not run and pass."""

    test: str
    id: str
    outcome: str  # failed | skipped | xfailed | deselected | not run | not collected
    reason: str

    def to_dict(self) -> dict[str, str]:
        """The gap as the report shows it."""
        return {"test": self.test, "id": self.id, "outcome": self.outcome, "reason": self.reason}


@attrs.frozen
class NotApplicable:
    """A test for an ability the connector does not have."""

    test: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        """The entry as the report shows it."""
        return {"test": self.test, "reason": self.reason}


@attrs.frozen
class Verdict:
    """``certified`` or ``not certified``, with the gaps and the tests that do not apply."""

    gaps: tuple[Gap, ...]
    not_applicable: tuple[NotApplicable, ...]
    required: int

    @property
    def certified(self) -> bool:
        """True when no required test has a gap."""
        return not self.gaps and self.required > 0

    @property
    def status(self) -> str:
        """``certified`` or ``not certified``."""
        return CERTIFIED if self.certified else NOT_CERTIFIED

    def to_dict(self) -> dict[str, Any]:
        """The verdict as the report shows it."""
        return {
            "status": self.status,
            "certified": self.certified,
            "required": self.required,
            "gaps": [g.to_dict() for g in self.gaps],
            "not_applicable": [n.to_dict() for n in self.not_applicable],
        }


@attrs.frozen
class Instance:
    """One collected test item of the connector, as the verdict sees it."""

    test: str
    id: str
    nodeid: str


def judge(
    target: ConformanceTarget,
    required: Sequence[RequiredTest],
    collected: Sequence[Instance],
    deselected: set[str],
    records: Mapping[str, Any],
) -> Verdict:
    """Weigh what ran of ``target`` (``records`` by node id) against what its type requires."""
    gaps: list[Gap] = []
    not_applicable: list[NotApplicable] = []
    by_test: dict[str, list[Instance]] = {}
    for instance in collected:
        by_test.setdefault(instance.test, []).append(instance)
    count = 0
    for test in required:
        instances = by_test.get(test.name, [])
        why_not = test.not_applicable(target)
        if why_not is not None:
            not_applicable.append(NotApplicable(test.name, f"{target} {why_not}"))
            # A failure is a failure, applicable or not.
            for instance in instances:
                record = records.get(instance.nodeid)
                if record is not None and record.outcome == "failed":
                    gaps.append(Gap(test.name, instance.id, "failed", record.reason or "failed"))
            continue
        count += 1
        if not instances:
            gaps.append(Gap(test.name, test.name, "not collected", "the test was not collected"))
            continue
        for instance in instances:
            gap = _gap(instance, deselected, records.get(instance.nodeid))
            if gap is not None:
                gaps.append(gap)
    return Verdict(tuple(gaps), tuple(not_applicable), count)


def _gap(instance: Instance, deselected: set[str], record: Any) -> Gap | None:
    if instance.nodeid in deselected:
        return Gap(instance.test, instance.id, "deselected", "deselected (-k, -m or --deselect)")
    if record is None:
        return Gap(instance.test, instance.id, "not run", "not run (the run stopped before it)")
    if record.outcome == "passed":
        return None
    reason = record.reason or record.outcome
    outcome = "xfailed" if reason.startswith("xfail") else record.outcome
    return Gap(instance.test, instance.id, outcome, reason)


def _first_line(text: str, limit: int = 240) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[:limit] + "…"


def render(target: ConformanceTarget, verdict: Verdict) -> list[tuple[str, dict[str, bool]]]:
    """The terminal lines of one verdict, each with its markup (``green=True``, ``red=True``)."""
    kind = target.cls.connector_type.value
    applicable = f"{verdict.required} required tests"
    if verdict.not_applicable:
        applicable += f", {len(verdict.not_applicable)} not applicable"
    if verdict.certified:
        return [(f"{target} ({kind}): {CERTIFIED} ({applicable})", {"green": True, "bold": True})]
    lines: list[tuple[str, dict[str, bool]]] = [
        (
            f"{target} ({kind}): {NOT_CERTIFIED} ({applicable}; {len(verdict.gaps)} gaps)",
            {"red": True, "bold": True},
        )
    ]
    if not verdict.required:
        lines.append(("  no required test applies to it", {"red": True}))
    # One line per distinct cause, then the tests it took out.
    causes: dict[tuple[str, str], list[str]] = {}
    for gap in verdict.gaps:
        causes.setdefault((gap.outcome, _first_line(gap.reason)), []).append(gap.id)
    for (outcome, reason), ids in causes.items():
        lines.append((f"  {outcome}: {reason}", {"red": True}))
        lines.append((f"      {', '.join(ids)}", {}))
    for entry in verdict.not_applicable:
        lines.append((f"  not applicable: {entry.test} ({entry.reason})", {}))
    return lines
