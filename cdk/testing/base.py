"""What every conformance suite shares: the target fixture, both backends, feature gates.

A connector package may subclass the suite for its type::

    class TestAcmeLLM(ProviderSuite):
        connector_class = AcmeLLM
        spec = ConformanceSpec(http=HTTPPayloads(...))   # optional: default asks the plugin hook

A standard test may not be overridden or removed quietly: an override must carry
``@pytest.mark.xfail(reason=...)`` so the deviation shows in every run.

A standard test for an optional feature carries ``@pytest.mark.meshkit_feature(...)``
(see :mod:`meshkit.testing.requirements`): that mark, not the skip, is what makes it
"not applicable" in the verdict for a connector without the feature.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any, ClassVar

import pytest

from ..connector import Connector
from ..enums import ConnectorType
from ..errors import ConfigError
from .fake_clock import FakeClock
from .report import UNDECLARED_PROPERTY
from .requirements import DECLARED_MARK, FEATURE_MARK, HTTP_MARK, declared_of, gates_of
from .spec import ALL_BACKENDS, ConformanceSpec, Options
from .target import ConformanceTarget, target_for_class

__all__ = ["ConformanceSuite", "UndeclaredFeatureWarning"]


class UndeclaredFeatureWarning(UserWarning):
    """A connector does what a feature promises without declaring the feature."""


class ConformanceSuite:
    """Base of the six per-type suites. Not collected itself (its name has no ``Test``)."""

    connector_type: ClassVar[ConnectorType]
    #: Subclasses in a connector's own tests name the connector class here.
    connector_class: ClassVar[type[Connector] | None] = None
    #: And may give the spec here; without one the plugin hook's answer is used.
    spec: ClassVar[ConformanceSpec | None] = None

    _item: pytest.Item | None = None

    # --- fixtures ---------------------------------------------------------------

    @pytest.fixture
    def conformance_target(self) -> ConformanceTarget:
        """The connector under test (``pytest --connector`` parametrizes this directly)."""
        if self.connector_class is None:
            pytest.fail(
                f"{type(self).__name__} sets no connector_class: name the connector class to test, "
                "or run `pytest --connector=<name>`",
                pytrace=False,
            )
        return target_for_class(self.connector_class, self.spec)

    @pytest.fixture(params=ALL_BACKENDS)
    def anyio_backend(self, request: pytest.FixtureRequest, conformance_target: ConformanceTarget) -> str:
        """Each async test runs under asyncio and under trio, unless the spec rules one out."""
        backend = str(request.param)
        if backend not in conformance_target.spec.backends:
            pytest.skip(f"{conformance_target} supports only {', '.join(conformance_target.spec.backends)}")
        return backend

    @pytest.fixture
    def clock(self) -> FakeClock:
        """The fake clock injected into the connector."""
        return FakeClock()

    @pytest.fixture(autouse=True)
    def _conformance_gate(
        self, request: pytest.FixtureRequest, conformance_target: ConformanceTarget
    ) -> None:
        self._item = request.node if isinstance(request.node, pytest.Item) else None
        name = request.function.__name__
        reason = conformance_target.skip_reason(name)
        if reason:
            pytest.skip(f"{conformance_target}: switched off by its ConformanceSpec.skips: {reason}")

    def _check_gate(self, feature: Enum) -> None:
        """A standard test may only depend on the features its mark names (the verdict reads the mark)."""
        item = self._item
        function = getattr(item, "function", None)
        if function is None or not getattr(function, "__module__", "").startswith("meshkit.testing"):
            return
        features, _ = gates_of(function)
        if feature not in features:
            raise TypeError(
                f"{function.__name__} depends on the {feature.value!r} feature: mark it "
                f"@pytest.mark.{FEATURE_MARK}({type(feature).__name__}.{feature.name})"
            )

    # --- helpers for the suites -------------------------------------------------

    def _check_http_gate(self) -> None:
        """A standard test that needs an HTTP provider must carry ``@pytest.mark.meshkit_http``."""
        function = getattr(self._item, "function", None)
        if function is None or not getattr(function, "__module__", "").startswith("meshkit.testing"):
            return
        if not gates_of(function)[1]:
            raise TypeError(f"{function.__name__} needs an HTTP provider: mark it @pytest.mark.{HTTP_MARK}")

    @contextmanager
    def feature(self, target: ConformanceTarget, feature: Enum) -> Iterator[None]:
        """Run a feature's test: a failure counts only when the feature is declared.

        Undeclared, the test is skipped with that reason; if it passes anyway, that is
        reported (a warning and an entry in the conformance report).
        """
        self._check_gate(feature)
        if feature in target.cls.features:
            yield
            return
        reason = f"{target} does not declare {feature.value!r}"
        try:
            yield
        except (Exception, pytest.fail.Exception):
            pytest.skip(reason)
        if self._item is not None:
            self._item.user_properties.append((UNDECLARED_PROPERTY, feature.value))
        warnings.warn(
            UndeclaredFeatureWarning(f"{reason}, yet its {feature.value!r} test passes: declare it"),
            stacklevel=3,
        )
        pytest.skip(f"{reason} (it works: declare it)")

    def requires(self, target: ConformanceTarget, feature: Enum) -> None:
        """Skip unless ``feature`` is declared (tests that cannot even be tried without it)."""
        self._check_gate(feature)
        if feature not in target.cls.features:
            pytest.skip(f"{target} does not declare {feature.value!r}")

    def declared(self, target: ConformanceTarget, field: str) -> Any:
        """The spec's ``field``; a skip when the spec declares none (the mark makes that not applicable)."""
        function = getattr(self._item, "function", None)
        module = getattr(function, "__module__", None) or ""
        if module.startswith("meshkit.testing") and field not in declared_of(function):
            raise TypeError(
                f"{getattr(function, '__name__', '?')} reads ConformanceSpec.{field}: mark it "
                f"@pytest.mark.{DECLARED_MARK}({field!r})"
            )
        value = getattr(target.spec, field)
        if value is None:
            pytest.skip(f"{target} declares no {field} (ConformanceSpec.{field})")
        return value

    @classmethod
    def standard_suite(cls) -> type[ConformanceSuite]:
        """The per-type suite this class derives from (the one that defines the tests)."""
        for klass in cls.__mro__:
            if "connector_type" in vars(klass) and klass.__module__.startswith("meshkit.testing"):
                return klass
        return ConformanceSuite

    # --- tests every connector type passes -----------------------------------------

    @pytest.mark.anyio
    async def test_async_with_starts_and_closes(self, conformance_target: ConformanceTarget) -> None:
        async with conformance_target.environment() as config:
            connector = conformance_target.build(config)
            async with connector as entered:
                assert entered is connector, "__aenter__ must return the connector itself"
                assert connector.started and not connector.closed
            assert connector.closed and not connector.started

    @pytest.mark.anyio
    async def test_aclose_twice_is_harmless(self, conformance_target: ConformanceTarget) -> None:
        async with conformance_target.environment() as config:
            connector = conformance_target.build(config)
            await connector.start()
            await connector.aclose()
            await connector.aclose()
            assert connector.closed
            never_started = conformance_target.build(config)
            await never_started.aclose()
            await never_started.aclose()

    def test_unknown_config_key_is_reported_by_path(self, conformance_target: ConformanceTarget) -> None:
        config = {**conformance_target.spec.config, "no_such_option": 1}
        with pytest.raises(ConfigError) as info:
            conformance_target.make(config)
        assert "config.no_such_option" in str(info.value), (
            f"the error must name the path 'config.no_such_option', got: {info.value}"
        )

    @pytest.mark.meshkit_declared("options")
    @pytest.mark.anyio
    async def test_documented_options_hold(self, conformance_target: ConformanceTarget) -> None:
        """The defaults the connector documents, and the values it says it accepts and refuses."""
        options: Options = self.declared(conformance_target, "options")
        async with conformance_target.environment() as env:
            # Built without the options whose defaults are checked (the spec may set them).
            built = conformance_target.make(
                {k: v for k, v in env.items() if k not in options.defaults}
            ).config
            wrong = {
                key: (getattr(built, key, "<no such option>"), value)
                for key, value in options.defaults.items()
                if getattr(built, key, "<no such option>") != value
            }
            assert not wrong, "; ".join(
                f"{key} defaults to {got!r}, the docs say {want!r}" for key, (got, want) in wrong.items()
            )
            for case in options.accepted:
                try:
                    conformance_target.make({**env, **case})
                except ConfigError as exc:
                    pytest.fail(f"{dict(case)} is documented as accepted, and was refused: {exc}")
            for case in options.refused:
                key = next(iter(case))
                with pytest.raises(ConfigError) as info:
                    conformance_target.make({**env, **case})
                assert f"config.{key}" in str(info.value), (
                    f"{dict(case)} was refused without naming config.{key}: {info.value}"
                )

    @pytest.mark.anyio
    async def test_config_is_built_on_the_class(self, conformance_target: ConformanceTarget) -> None:
        """A mesh checks a connector's config before it makes the connector: on the class, by path."""
        where = "section.config"  # a mesh passes the config's place in mesh.yaml
        async with conformance_target.environment() as config:
            cls = conformance_target.cls
            try:
                # What the connector fills in first (a preset's key reference), also on the class.
                filled = cls.config_defaults(dict(config))
                changed = sorted(k for k, v in config.items() if k not in filled or filled[k] != v)
                assert not changed, f"config_defaults must keep what is given; it changed {changed}"
                cls.build_config(dict(config), path=where)
                with pytest.raises(ConfigError) as info:
                    cls.build_config({**config, "no_such_option": 1}, path=where)
            except TypeError as exc:
                pytest.fail(
                    f"{cls.__name__}.config_defaults or build_config raised {exc!r}: a mesh calls both on "
                    "the class, before any instance exists (an override needs @classmethod)",
                    pytrace=False,
                )
        assert f"{where}.no_such_option" in str(info.value), (
            f"build_config(..., path={where!r}) must name the path {where}.no_such_option, got: {info.value}"
        )

    def test_config_of_wrong_shape_is_a_config_error(self, conformance_target: ConformanceTarget) -> None:
        with pytest.raises(ConfigError) as info:
            conformance_target.make(["not", "a", "mapping"])  # type: ignore[arg-type]
        assert "config" in str(info.value)

    def test_standard_tests_are_not_overridden(self) -> None:
        """A subclass may not drop or replace a standard test without an xfail saying why."""
        standard = self.standard_suite()
        problems: list[str] = []
        for klass in reversed(standard.__mro__):
            for name, original in vars(klass).items():
                if not name.startswith("test_") or not callable(original):
                    continue
                current = inspect.getattr_static(type(self), name, None)
                if current is None or not callable(current):
                    problems.append(f"{name} was removed")
                elif current is not getattr(standard, name):
                    marks = getattr(current, "pytestmark", [])
                    if not any(m.name == "xfail" and m.kwargs.get("reason") for m in marks):
                        problems.append(f"{name} was overridden without @pytest.mark.xfail(reason=...)")
        assert not problems, f"{type(self).__name__} changes standard tests: " + "; ".join(
            sorted(set(problems))
        )
