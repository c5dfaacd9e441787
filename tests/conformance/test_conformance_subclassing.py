"""A connector's own tests subclass the suite of its type; standard tests stay standard."""

from __future__ import annotations

import pytest

from meshkit.connectors.providers.mock import MockProvider
from meshkit.connectors.rotation.stick_until_failure import StickUntilFailure
from meshkit.connectors.storage.memory import MemoryStorage
from meshkit.testing import ConformanceSpec, ProviderSuite, RotationSuite, StorageSuite


class TestMemoryStorageBySubclass(StorageSuite):
    connector_class = MemoryStorage


class TestMockProviderBySubclass(ProviderSuite):
    connector_class = MockProvider
    spec = ConformanceSpec(
        config={
            "models": ["alpha", "beta"],
            "pricing": {"beta": {"input_per_1k": 1.0, "output_per_1k": 2.0}},
        },
        model="beta",
    )


class TestStickUntilFailureBySubclass(RotationSuite):
    connector_class = StickUntilFailure


class _DeletesATest(StorageSuite):
    connector_class = MemoryStorage
    test_lock_is_exclusive = None  # type: ignore[assignment]


class _OverridesQuietly(StorageSuite):
    connector_class = MemoryStorage

    async def test_missing_keys(self, conformance_target: object) -> None:  # type: ignore[override]
        pass


class _OverridesOpenly(StorageSuite):
    connector_class = MemoryStorage

    @pytest.mark.xfail(reason="this backend cannot tell a missing key from an empty one")
    async def test_missing_keys(self, conformance_target: object) -> None:  # type: ignore[override]
        raise AssertionError("known gap")


def test_deleting_a_standard_test_is_caught() -> None:
    with pytest.raises(AssertionError, match="test_lock_is_exclusive was removed"):
        _DeletesATest().test_standard_tests_are_not_overridden()


def test_overriding_a_standard_test_quietly_is_caught() -> None:
    with pytest.raises(AssertionError, match=r"test_missing_keys was overridden without @pytest.mark.xfail"):
        _OverridesQuietly().test_standard_tests_are_not_overridden()


def test_overriding_with_an_xfail_reason_is_allowed() -> None:
    _OverridesOpenly().test_standard_tests_are_not_overridden()


def test_the_subclass_runs_the_standard_tests_under_both_backends(request: pytest.FixtureRequest) -> None:
    items = [i for i in request.session.items if i.cls is TestMemoryStorageBySubclass]
    names = {i.name for i in items}
    assert {"test_list_filters_by_prefix[asyncio]", "test_list_filters_by_prefix[trio]"} <= names
    assert "test_standard_tests_are_not_overridden" in names
