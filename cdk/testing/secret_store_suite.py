"""The secret-store contract: values come back exactly and never show themselves."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ..enums import ConnectorType, SecretStoreFeature
from ..errors import SecretNotFoundError
from ..interfaces.secret_store import SecretStore
from ..types import Secret
from .base import ConformanceSuite
from .fake_clock import FakeClock
from .hypothesis_profiles import suite_settings
from .target import ConformanceTarget

__all__ = ["SecretStoreSuite"]

secret_values = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1)


def _names(*labels: str) -> dict[str, str]:
    prefix = f"CONFORMANCE_{secrets.token_hex(4).upper()}_"
    return {label: prefix + label for label in labels}


class SecretStoreSuite(ConformanceSuite):
    """Every secret store passes this."""

    connector_type: ClassVar[ConnectorType] = ConnectorType.SECRET_STORE

    @asynccontextmanager
    async def store_with(
        self, target: ConformanceTarget, stored: Mapping[str, str]
    ) -> AsyncIterator[SecretStore]:
        """A started store holding ``stored`` (through MANAGEMENT, or the spec's seeding)."""
        async with target.environment() as config:
            if SecretStoreFeature.MANAGEMENT in target.cls.features:
                store = target.build(config, clock=FakeClock())
                async with store:
                    for name, value in stored.items():
                        await store.set(name, value)
                    yield store
            elif target.spec.seed_secrets is not None:
                with target.spec.seed_secrets(stored):
                    store = target.build(config, clock=FakeClock())
                    async with store:
                        yield store
            else:
                pytest.skip(
                    f"{target} has no MANAGEMENT and its ConformanceSpec gives no seed_secrets: "
                    "the suite cannot put secrets in it"
                )

    @pytest.mark.anyio
    async def test_get_returns_the_secret(self, conformance_target: ConformanceTarget) -> None:
        names = _names("PLAIN", "UNICODE", "LARGE", "SPACES")
        stored = {
            names["PLAIN"]: "sk-plain-0123456789",
            names["UNICODE"]: "pässwörd-ключ-🔑-秘密",
            names["LARGE"]: "L" * 20_000 + "-end",
            names["SPACES"]: "  leading and trailing  ",
        }
        async with self.store_with(conformance_target, stored) as store:
            for name, value in stored.items():
                got = await store.get(name)
                assert isinstance(got, Secret), f"get({name!r}) returned {type(got).__name__}, not a Secret"
                assert got.reveal() == value, f"get({name!r}) changed the value ({len(value)} characters)"

    @pytest.mark.anyio
    async def test_missing_secret_raises_secret_not_found(
        self, conformance_target: ConformanceTarget
    ) -> None:
        names = _names("PRESENT", "ABSENT")
        async with self.store_with(conformance_target, {names["PRESENT"]: "here"}) as store:
            with pytest.raises(SecretNotFoundError) as info:
                got = await store.get(names["ABSENT"])
                pytest.fail(f"a missing secret must raise SecretNotFoundError, got {got!r}", pytrace=False)
            assert names["ABSENT"] in str(info.value), "the error names the missing secret"

    @pytest.mark.anyio
    async def test_values_never_show(
        self, conformance_target: ConformanceTarget, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        names = _names("ONE", "TWO")
        stored = {
            names["ONE"]: "sk-never-show-" + secrets.token_hex(8),
            names["TWO"]: "ключ-" + secrets.token_hex(8),
        }
        shown: list[str] = []
        async with self.store_with(conformance_target, stored) as store:
            for name in stored:
                got = await store.get(name)
                shown += [repr(got), str(got), f"{got}", repr([got])]
            shown += [repr(store), str(store), repr(store.config)]
            try:
                await store.get(names["ONE"] + "_MISSING")
            except Exception as exc:
                shown += [str(exc), repr(exc), repr(exc.args)]
        shown += [logging.Formatter().format(r) for r in caplog.records]
        for value in stored.values():
            leaks = [text for text in shown if value in text]
            assert not leaks, f"a secret value shows in: {leaks[0][:200]}"

    @pytest.mark.anyio
    @given(value=secret_values)
    @suite_settings(scale=0.5)
    async def test_any_value_round_trips(self, conformance_target: ConformanceTarget, value: str) -> None:
        name = _names("ANY")["ANY"]
        async with self.store_with(conformance_target, {name: value}) as store:
            assert (await store.get(name)).reveal() == value

    @pytest.mark.meshkit_feature(SecretStoreFeature.MANAGEMENT)
    @pytest.mark.anyio
    async def test_management_round_trip(self, conformance_target: ConformanceTarget) -> None:
        names = _names("A", "B")
        a, b = names["A"], names["B"]
        with self.feature(conformance_target, SecretStoreFeature.MANAGEMENT):
            async with conformance_target.environment() as config:
                store = conformance_target.build(config, clock=FakeClock())
                async with store:
                    await store.set(a, "first")
                    await store.set(b, Secret("second"))
                    listed = await store.list()
                    assert listed == sorted(listed), f"list() must be sorted, got {listed}"
                    assert a in listed and b in listed, f"list() misses stored names: {listed}"
                    assert (await store.get(b)).reveal() == "second", "set() accepts a Secret"
                    await store.set(a, "replaced")
                    assert (await store.get(a)).reveal() == "replaced", "set() overwrites"
                    assert await store.delete(a) is True, "delete() of a stored secret returns True"
                    assert await store.delete(a) is False, "delete() of a missing secret returns False"
                    with pytest.raises(SecretNotFoundError):
                        await store.get(a)
                    assert a not in await store.list(), "a deleted secret is still listed"
