"""The required tests come from the suite's own marks, and the docs carry the same table."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from meshkit.connectors.rotation import RoundRobin
from meshkit.enums import ProviderFeature, StorageFeature
from meshkit.testing import (
    IN_TURN,
    ConformanceSpec,
    ConformanceTarget,
    ProviderSuite,
    RotationSuite,
    StorageSuite,
)
from meshkit.testing.collected import CLASS_BY_TYPE
from meshkit.testing.requirements import markdown_table, required_tests

DOC = Path(__file__).resolve().parents[2] / "docs" / "conformance.md"


def test_the_doc_lists_the_required_tests_of_the_suite() -> None:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- required-tests:start -->\n(.*?)<!-- required-tests:end -->", text, re.S)
    assert found, "docs/conformance.md has no required-tests block"
    assert found.group(1) == markdown_table(), (
        "docs/conformance.md is out of date: paste `python -m meshkit.testing.requirements` between "
        "the required-tests markers"
    )


def test_every_standard_test_is_required_with_its_gates() -> None:
    storage = {t.name: t for t in required_tests(CLASS_BY_TYPE["storage"])}
    assert storage["test_list_filters_by_prefix"].features == ()
    assert storage["test_lock_is_exclusive"].features == (StorageFeature.LOCKING,)
    assert set(storage["test_lock_is_exclusive_across_instances"].features) == {
        StorageFeature.SHARED,
        StorageFeature.LOCKING,
    }
    provider = {t.name: t for t in required_tests(CLASS_BY_TYPE["provider"])}
    cut = provider["test_stream_cut_after_n_chunks_is_a_protocol_error"]
    assert cut.http and cut.features == (ProviderFeature.STREAMING,)
    assert not provider["test_usage_adds_up"].http
    for suite in CLASS_BY_TYPE.values():
        names = {t.name for t in required_tests(suite)}
        assert {"test_aclose_twice_is_harmless", "test_standard_tests_are_not_overridden"} <= names
        defined = {n for n in dir(suite) if n.startswith("test_")}
        assert names == defined, f"{suite.__name__}: required {sorted(names ^ defined)} differ"


def _standard_test(marks: list[pytest.MarkDecorator]) -> Any:
    def test_something() -> None: ...

    for mark in marks:
        test_something = mark(test_something)
    test_something.__module__ = "meshkit.testing.storage_suite"  # as if the suite defined it
    return test_something


def test_a_feature_test_without_its_mark_is_a_suite_error() -> None:
    suite = StorageSuite()
    suite._item = SimpleNamespace(function=_standard_test([]))  # type: ignore[assignment]
    with pytest.raises(TypeError, match=r"mark it @pytest.mark.meshkit_feature\(StorageFeature.LOCKING\)"):
        suite._check_gate(StorageFeature.LOCKING)
    suite._item = SimpleNamespace(  # type: ignore[assignment]
        function=_standard_test([pytest.mark.meshkit_feature(StorageFeature.LOCKING)])
    )
    suite._check_gate(StorageFeature.LOCKING)


def test_an_http_test_without_its_mark_is_a_suite_error() -> None:
    suite = ProviderSuite()
    suite._item = SimpleNamespace(function=_standard_test([]))  # type: ignore[assignment]
    with pytest.raises(TypeError, match=r"mark it @pytest.mark.meshkit_http"):
        suite._check_http_gate()
    suite._item = SimpleNamespace(function=_standard_test([pytest.mark.meshkit_http]))  # type: ignore[assignment]
    suite._check_http_gate()


def test_a_users_own_tests_need_no_mark() -> None:
    def test_mine() -> None: ...

    suite = StorageSuite()
    suite._item = SimpleNamespace(function=test_mine)  # type: ignore[assignment]
    suite._check_gate(StorageFeature.LOCKING)


def _gates_used(function: Any) -> tuple[set[str], bool, set[str]]:
    """The features a test passes to self.feature / self.requires, whether it needs HTTP, and the
    spec fields it reads with self.declared."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    features: set[str] = set()
    declared: set[str] = set()
    http = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in {"feature", "requires"} and len(node.args) == 2:
                arg = node.args[1]
                if isinstance(arg, ast.Attribute):
                    features.add(arg.attr)
            elif node.func.attr == "declared" and len(node.args) == 2:
                field = node.args[1]
                if isinstance(field, ast.Constant) and isinstance(field.value, str):
                    declared.add(field.value)
            elif node.func.attr == "http_provider":
                http = True
    return features, http, declared


def test_each_standard_test_carries_the_marks_of_what_it_uses() -> None:
    problems = []
    for suite in CLASS_BY_TYPE.values():
        for test in required_tests(suite):
            used, http, declared = _gates_used(getattr(suite, test.name))
            marked = {f.name for f in test.features}
            if declared - set(test.declared):
                problems.append(f"{test.name}: reads {sorted(declared)} but is marked {test.declared}")
            if used - marked:
                problems.append(f"{test.name}: uses {sorted(used - marked)} but is marked {sorted(marked)}")
            if http and not test.http:
                problems.append(f"{test.name}: uses http_provider without @pytest.mark.meshkit_http")
    assert not problems, "; ".join(problems)


def test_a_declared_field_without_its_mark_is_a_suite_error() -> None:
    suite = RotationSuite()
    target = ConformanceTarget(cls=RoundRobin, spec=ConformanceSpec(rule=IN_TURN))
    suite._item = SimpleNamespace(function=_standard_test([]))  # type: ignore[assignment]
    with pytest.raises(TypeError, match=r"mark it @pytest.mark.meshkit_declared\('rule'\)"):
        suite.declared(target, "rule")
    suite._item = SimpleNamespace(  # type: ignore[assignment]
        function=_standard_test([pytest.mark.meshkit_declared("rule")])
    )
    assert suite.declared(target, "rule") is IN_TURN


def test_the_rule_test_applies_only_to_a_policy_that_declares_a_rule() -> None:
    rotation = {t.name: t for t in required_tests(CLASS_BY_TYPE["rotation"])}
    rule_test = rotation["test_select_follows_its_declared_rule"]
    assert rule_test.declared == ("rule",) and rule_test.features == ()
    with_rule = ConformanceTarget(cls=RoundRobin, spec=ConformanceSpec(rule=IN_TURN))
    without = ConformanceTarget(cls=RoundRobin, spec=ConformanceSpec())
    assert rule_test.not_applicable(with_rule) is None
    assert rule_test.not_applicable(without) == "declares no rule (ConformanceSpec.rule)"
    assert rotation["test_select_is_deterministic"].not_applicable(without) is None
