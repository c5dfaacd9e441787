"""The storage contract: a dict model checked by a Hypothesis state machine, plus locks.

The state machine is synchronous (Hypothesis drives it); it reaches the async backend
through an anyio blocking portal running the test's backend (asyncio or trio) in a
worker thread, so the same machine checks both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import ClassVar

import anyio
import attrs
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from ..enums import ConnectorType, StorageFeature
from ..errors import LockNotHeldError, LockTimeoutError
from ..interfaces.storage import MAX_KEY_LENGTH, Storage
from ..types import EntryMetadata, Lock
from .base import ConformanceSuite
from .fake_clock import FakeClock
from .hypothesis_profiles import suite_settings
from .target import ConformanceTarget

__all__ = ["EVERY_SHAPE", "StorageSuite", "keys", "values"]

#: Polls of a lock test with nobody asleep on the fake clock after which time moves anyway.
IDLE_ROUNDS = 200

_NAMED_KEYS = ["a", "ab", "a/b", "a/b/c", "b", "state/pools/chat", "ünï/ключ", "with space", "..", "x" * 300]
_TEXT = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
#: Long keys that share all but their last few characters, so a backend that cuts or
#: hashes keys carelessly (a file-name limit, say) makes two of them collide.
long_keys = st.builds(
    lambda stem, length, tail: (stem * MAX_KEY_LENGTH)[: length - len(tail)] + tail,
    st.sampled_from(["x", "Ab/", "ключ-", "ü%2F", "🔑"]),
    st.integers(200, MAX_KEY_LENGTH),
    st.text(st.sampled_from("aAzZ09/ü"), min_size=1, max_size=3),
)
#: Any valid key: non-empty, at most 512 characters, no NUL.
keys = st.sampled_from(_NAMED_KEYS) | st.text(_TEXT, min_size=1, max_size=40) | long_keys
prefixes = st.sampled_from(["", "a", "a/", "a/b", "b", "state/", "ü", "x", "."])
values = st.binary(max_size=300)

#: Keys of every shape and length the contract allows, each saved and read back.
EVERY_SHAPE = [
    *["a", "A", "aA", "Aa", "a/b", "a/b/c", "a/", "a//b", "/a", ".", "..", ".hidden", "a.b", "-", "_"],
    *["with space", " leading", "trailing ", "tab\tkey", "new\nline", "%41", "%", "%%", "~", "~tilde"],
    *["*", "a*b", "a?b", "[a]", "a\\b", ":", "ns:data:x", "CON", "nul", "ünï/ключ", "日本語", "emoji-🔑"],
    *["é", "e\u0301"],  # the same letter composed and decomposed: two keys, not one
    *("x" * n for n in (100, 200, 239, 240, 241, 254, 255, 256, 300, 511, MAX_KEY_LENGTH)),
    "x" * (MAX_KEY_LENGTH - 1) + "y",
    "é" * 240,
    "🔑" * MAX_KEY_LENGTH,
    "🔑" * (MAX_KEY_LENGTH - 1) + "x",
    "A" * MAX_KEY_LENGTH,
]
#: What each of those keys holds in turn: longer, shorter, empty, back again.
#: Tasks racing for one free lock.
RACERS = 16
REWRITES = [b"first", b"a second value, much longer than the first " * 8, b"", b"3rd"]


def _sibling(key: str, how: str) -> str:
    """A key close to ``key``: where a careless backend confuses the two."""
    if how == "child":
        sibling = key + "/child"
    elif how == "parent":
        sibling = key.rsplit("/", 1)[0] if "/" in key.strip("/") else key[:-1]
    elif how == "case":
        sibling = key.swapcase()
    elif how == "last":
        sibling = key[:-1] + ("y" if key[-1] != "y" else "z")
    else:  # "longer"
        sibling = (key * (MAX_KEY_LENGTH // len(key) + 1))[:MAX_KEY_LENGTH]
    sibling = sibling[:MAX_KEY_LENGTH]
    if sibling and sibling != key:
        return sibling
    return key[:-1] + ("~" if key[-1] != "~" else "-") if len(key) >= MAX_KEY_LENGTH else key + "~"


def _storage_machine(portal: BlockingPortal, target: ConformanceTarget) -> type[RuleBasedStateMachine]:
    class StorageMatchesADict(RuleBasedStateMachine):
        """Every operation answers what a plain dict would."""

        known = Bundle("known")

        def __init__(self) -> None:
            super().__init__()
            self.environment = portal.wrap_async_context_manager(target.environment())
            config = self.environment.__enter__()
            self.storage: Storage = target.build(config, clock=FakeClock())
            portal.call(self.storage.start)
            self.model: dict[str, bytes] = {}

        @rule(target=known, key=keys)
        def new_key(self, key: str) -> str:
            return key

        @rule(target=known, key=known, how=st.sampled_from(["child", "parent", "case", "last", "longer"]))
        def sibling_key(self, key: str, how: str) -> str:
            return _sibling(key, how)

        def write(self, key: str, data: bytes) -> None:
            portal.call(self.storage.save, key, data)
            self.model[key] = data
            got = portal.call(self.storage.load, key)
            assert got == data, f"save({key!r}, {len(data)} bytes) then load gave {got!r}"
            meta = portal.call(self.storage.stat, key)
            assert meta is not None and meta.size == len(data), (
                f"save({key!r}, {len(data)} bytes) then stat gave {meta!r}"
            )

        @rule(key=known, data=values)
        def save(self, key: str, data: bytes) -> None:
            self.write(key, data)

        @rule(key=known, first=values, second=values)
        def save_twice(self, key: str, first: bytes, second: bytes) -> None:
            self.write(key, first)
            self.write(key, second)

        @rule(key=known)
        def load(self, key: str) -> None:
            got = portal.call(self.storage.load, key)
            assert got == self.model.get(key), f"load({key!r}) gave {got!r}, expected {self.model.get(key)!r}"

        @rule(key=known)
        def delete(self, key: str) -> None:
            existed = portal.call(self.storage.delete, key)
            assert existed == (key in self.model), f"delete({key!r}) returned {existed}"
            self.model.pop(key, None)

        @rule(prefix=prefixes)
        def list_prefix(self, prefix: str) -> None:
            got = portal.call(self.storage.list, prefix)
            expected = sorted(k for k in self.model if k.startswith(prefix))
            assert got == expected, f"list({prefix!r}) gave {got}, expected {expected}"

        @rule(key=known, cut=st.integers(0, 8))
        def list_by_a_key_prefix(self, key: str, cut: int) -> None:
            prefix = key[: max(0, len(key) - cut)]
            got = portal.call(self.storage.list, prefix)
            expected = sorted(k for k in self.model if k.startswith(prefix))
            assert got == expected, f"list({prefix!r}) gave {got}, expected {expected}"

        @rule(key=known)
        def stat(self, key: str) -> None:
            meta = portal.call(self.storage.stat, key)
            if key not in self.model:
                assert meta is None, f"stat({key!r}) of a missing key gave {meta!r}"
            else:
                assert isinstance(meta, EntryMetadata), f"stat({key!r}) gave {meta!r}"
                assert meta.key == key and meta.size == len(self.model[key]), (
                    f"stat({key!r}) gave {meta!r}, but it holds {len(self.model[key])} bytes"
                )

        @invariant()
        def everything_listed(self) -> None:
            got = portal.call(self.storage.list, "")
            assert got == sorted(self.model), f"list('') gave {got}, expected {sorted(self.model)}"

        def teardown(self) -> None:
            try:
                portal.call(self.storage.aclose)
            finally:
                self.environment.__exit__(None, None, None)

    return StorageMatchesADict


class StorageSuite(ConformanceSuite):
    """Every storage backend passes this."""

    connector_type: ClassVar[ConnectorType] = ConnectorType.STORAGE

    _idle_rounds: int = 0

    @asynccontextmanager
    async def storage(
        self, target: ConformanceTarget, clock: FakeClock | None = None
    ) -> AsyncIterator[Storage]:
        """A started backend in the spec's environment."""
        async with target.environment() as config:
            instance = target.build(config, clock=clock or FakeClock())
            async with instance:
                yield instance

    async def lock_expires_on_its_own_clock(self, target: ConformanceTarget, clock: FakeClock) -> None:
        """The TTL test for a backend that keeps time itself (``uses_injected_clock=False``).

        A short TTL runs out on the backend's clock; a waiter then gets the lock, and the
        former owner can no longer release it. Only the order of events is checked.
        """
        async with self.storage(target, clock) as storage:
            first = await storage.acquire("locks/ttl", ttl=0.3)
            acquired: list[Lock] = []

            async def waiter() -> None:
                acquired.append(await storage.acquire("locks/ttl", ttl=30, timeout=60))

            async with anyio.create_task_group() as tg:
                tg.start_soon(waiter)
                while not acquired:
                    await anyio.sleep(0.02)  # the backend's own clock runs the TTL out
                    await clock.advance(0.02)  # the waiter may poll on the injected clock
            assert acquired[0].token != first.token, "the new owner needs its own token"
            with pytest.raises(LockNotHeldError):
                await storage.release(first)
            await storage.release(acquired[0])

    async def move_time_for_sleepers(self, clock: FakeClock, step: float) -> None:
        """Advance the fake clock by ``step`` once someone sleeps on it; until then let others run.

        An ``acquire`` that works in a thread (a file, a database) is not asleep on the clock
        while its attempt runs: moving time meanwhile would let a held lock's TTL run out
        under it, and the outcome would depend on how fast the machine is. A backend that
        never sleeps on the injected clock still sees time move, after a while.
        """
        if clock.sleepers or self._idle_rounds >= IDLE_ROUNDS:
            self._idle_rounds = 0
            await clock.advance(step)
        else:
            self._idle_rounds += 1
            await anyio.sleep(0.001)  # gives a worker thread (or a server) time to answer

    # --- the dict model ----------------------------------------------------------------

    def test_behaves_like_a_dict(self, conformance_target: ConformanceTarget, anyio_backend: str) -> None:
        with start_blocking_portal(anyio_backend) as portal:
            machine = _storage_machine(portal, conformance_target)
            run_state_machine_as_test(
                machine, settings=settings(suite_settings(scale=0.5), stateful_step_count=30)
            )

    @pytest.mark.anyio
    async def test_read_after_write_for_keys_of_every_shape(
        self, conformance_target: ConformanceTarget
    ) -> None:
        async with self.storage(conformance_target) as storage:
            for round_, data in enumerate(REWRITES):
                for index, key in enumerate(EVERY_SHAPE):
                    value = data + b"#%d" % index if data else data
                    await storage.save(key, value)
                    got = await storage.load(key)
                    assert got == value, (
                        f"write {round_ + 1} to {key!r} ({len(key)} characters): saved {len(value)} bytes, "
                        f"loaded {None if got is None else len(got)}"
                    )
                    meta = await storage.stat(key)
                    assert meta is not None and meta.key == key and meta.size == len(value), (
                        f"write {round_ + 1} to {key!r} ({len(key)} characters) of {len(value)} bytes: "
                        f"stat gave {meta!r}"
                    )
            last = REWRITES[-1]
            for index, key in enumerate(EVERY_SHAPE):
                got = await storage.load(key)
                assert got == last + b"#%d" % index, (
                    f"{key!r} ({len(key)} characters) holds {got!r} after the other keys were written: "
                    "two keys share a place"
                )
            listed = await storage.list()
            assert listed == sorted(EVERY_SHAPE), (
                f"list() after saving {len(EVERY_SHAPE)} keys gave {len(listed)}; missing: "
                f"{sorted(set(EVERY_SHAPE) - set(listed))[:5]}, "
                f"unexpected: {sorted(set(listed) - set(EVERY_SHAPE))[:5]}"
            )
            for key in EVERY_SHAPE[::2]:
                assert await storage.delete(key) is True, f"delete({key!r}) of a stored key returned False"
            for index, key in enumerate(EVERY_SHAPE):
                expected = None if index % 2 == 0 else last + b"#%d" % index
                assert await storage.load(key) == expected, (
                    f"after deleting every other key, load({key!r}) is wrong: "
                    "deleting one key touched another"
                )

    @pytest.mark.anyio
    async def test_list_filters_by_prefix(self, conformance_target: ConformanceTarget) -> None:
        async with self.storage(conformance_target) as storage:
            for key in ["a", "ab", "a/b", "b", "ba", "c/a"]:
                await storage.save(key, key.encode())
            assert await storage.list("a") == ["a", "a/b", "ab"], "list('a') must give keys starting with 'a'"
            assert await storage.list("b") == ["b", "ba"]
            assert await storage.list("a/") == ["a/b"]
            assert await storage.list("zzz") == []
            assert await storage.list() == ["a", "a/b", "ab", "b", "ba", "c/a"], (
                "list() gives every key, sorted"
            )

    @pytest.mark.anyio
    async def test_overwrite_replaces_the_value(self, conformance_target: ConformanceTarget) -> None:
        async with self.storage(conformance_target) as storage:
            await storage.save("state/model", b"first version, rather long")
            await storage.save("state/model", b"second")
            assert await storage.load("state/model") == b"second"
            meta = await storage.stat("state/model")
            assert meta is not None and meta.size == len(b"second"), f"stat after overwrite: {meta!r}"
            assert await storage.list("state/") == ["state/model"], "an overwritten key is listed once"

    @pytest.mark.anyio
    async def test_missing_keys(self, conformance_target: ConformanceTarget) -> None:
        async with self.storage(conformance_target) as storage:
            assert await storage.load("nothing/here") is None, "load of a missing key gives None"
            assert await storage.stat("nothing/here") is None, "stat of a missing key gives None"
            assert await storage.delete("nothing/here") is False, "delete of a missing key gives False"
            await storage.save("k", b"v")
            assert await storage.delete("k") is True
            assert await storage.load("k") is None, "a deleted key is gone"
            assert await storage.delete("k") is False, "a second delete gives False"

    @pytest.mark.anyio
    async def test_values_round_trip_exactly(self, conformance_target: ConformanceTarget) -> None:
        payloads = {"empty": b"", "bytes": bytes(range(256)), "large": bytes(range(256)) * 4096}
        async with self.storage(conformance_target) as storage:
            for key, data in payloads.items():
                await storage.save(key, data)
            for key, data in payloads.items():
                got = await storage.load(key)
                assert got == data, (
                    f"{key}: saved {len(data)} bytes, loaded {None if got is None else len(got)}"
                )
            meta = await storage.stat("large")
            assert meta is not None and meta.size == len(payloads["large"])
            assert meta.modified_at is None or meta.modified_at.tzinfo is not None, (
                "modified_at must be aware"
            )

    @pytest.mark.anyio
    async def test_bad_input_is_rejected_and_stores_nothing(
        self, conformance_target: ConformanceTarget
    ) -> None:
        async with self.storage(conformance_target) as storage:
            with pytest.raises((ValueError, TypeError)):
                await storage.save("", b"x")
            with pytest.raises((ValueError, TypeError)):
                await storage.save("k\x00", b"x")
            with pytest.raises((ValueError, TypeError)):
                await storage.save("k", "text, not bytes")  # type: ignore[arg-type]
            assert await storage.list() == [], "a rejected save stored something"

    @pytest.mark.anyio
    async def test_concurrent_saves_and_loads(self, conformance_target: ConformanceTarget) -> None:
        contenders = [bytes([i]) * 8192 for i in range(16)]
        torn: list[bytes] = []
        async with self.storage(conformance_target) as storage:

            async def write_then_read(i: int) -> None:
                await storage.save(f"many/{i:03d}", f"value {i}".encode())
                assert await storage.load(f"many/{i:03d}") == f"value {i}".encode()

            async def contend(data: bytes) -> None:
                await storage.save("contended", data)

            async def read_contended() -> None:
                got = await storage.load("contended")
                if got is not None and got not in contenders:
                    torn.append(got)

            async with anyio.create_task_group() as tg:
                for i in range(50):
                    tg.start_soon(write_then_read, i)
            await storage.save("contended", contenders[0])
            async with anyio.create_task_group() as tg:
                for data in contenders:
                    tg.start_soon(contend, data)
                    tg.start_soon(read_contended)
                    tg.start_soon(read_contended)
            assert not torn, f"a reader saw a torn write ({len(torn[0])} bytes of mixed content)"
            assert await storage.load("contended") in contenders, "the last write must win whole"
            assert len(await storage.list("many/")) == 50, "concurrent saves lost keys"

    @pytest.mark.meshkit_feature(StorageFeature.PERSISTENT)
    @pytest.mark.anyio
    async def test_data_survives_reopening(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, StorageFeature.PERSISTENT):
            spec = conformance_target.spec
            async with conformance_target.environment() as config:
                first = conformance_target.build(config, clock=FakeClock())
                async with first:
                    await first.save("persist/a", b"alpha")
                    await first.save("persist/b", bytes(range(256)))
                    await first.save("persist/gone", b"x")
                    await first.delete("persist/gone")
                second = (
                    spec.reopen(first) if spec.reopen else conformance_target.build(config, clock=FakeClock())
                )
                async with second:
                    assert await second.list("persist/") == ["persist/a", "persist/b"]
                    assert await second.load("persist/a") == b"alpha"
                    assert await second.load("persist/b") == bytes(range(256))

    # --- locks ---------------------------------------------------------------------------

    @pytest.mark.meshkit_feature(StorageFeature.LOCKING)
    @pytest.mark.anyio
    async def test_lock_is_exclusive(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, StorageFeature.LOCKING):
            async with self.storage(conformance_target) as storage:
                held = await storage.acquire("locks/res", ttl=30)
                assert isinstance(held, Lock) and held.key == "locks/res"
                with pytest.raises(LockTimeoutError):
                    await storage.acquire("locks/res", ttl=30, timeout=0)
                other = await storage.acquire("locks/other", ttl=30, timeout=0)
                await storage.release(held)
                again = await storage.acquire("locks/res", ttl=30, timeout=0)
                await storage.release(again)
                await storage.release(other)

    @pytest.mark.meshkit_feature(StorageFeature.LOCKING)
    @pytest.mark.anyio
    async def test_lock_is_released_by_its_owner_only(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, StorageFeature.LOCKING):
            async with self.storage(conformance_target) as storage:
                held = await storage.acquire("locks/res", ttl=30)
                with pytest.raises(LockNotHeldError):
                    await storage.release(attrs.evolve(held, token=held.token + "-impostor"))
                with pytest.raises(LockTimeoutError):
                    await storage.acquire("locks/res", ttl=30, timeout=0)
                await storage.release(held)
                with pytest.raises(LockNotHeldError):
                    await storage.release(held)

    @pytest.mark.meshkit_feature(StorageFeature.LOCKING)
    @pytest.mark.anyio
    async def test_lock_expires_after_its_ttl(
        self, conformance_target: ConformanceTarget, clock: FakeClock
    ) -> None:
        with self.feature(conformance_target, StorageFeature.LOCKING):
            if not conformance_target.spec.uses_injected_clock:
                await self.lock_expires_on_its_own_clock(conformance_target, clock)
                return
            async with self.storage(conformance_target, clock) as storage:
                first = await storage.acquire("locks/ttl", ttl=5)
                await clock.advance(4)
                with pytest.raises(LockTimeoutError):
                    await storage.acquire("locks/ttl", ttl=5, timeout=0)
                await clock.advance(2)
                second = await storage.acquire("locks/ttl", ttl=5, timeout=0)
                with pytest.raises(LockNotHeldError):
                    await storage.release(first)
                await storage.release(second)

    @pytest.mark.meshkit_feature(StorageFeature.LOCKING)
    @pytest.mark.anyio
    async def test_release_after_expiry_fails(
        self, conformance_target: ConformanceTarget, clock: FakeClock
    ) -> None:
        with self.feature(conformance_target, StorageFeature.LOCKING):
            if not conformance_target.spec.uses_injected_clock:
                await self.lock_expires_on_its_own_clock(conformance_target, clock)
                return
            async with self.storage(conformance_target, clock) as storage:
                lock = await storage.acquire("locks/lapsed", ttl=5)
                await clock.advance(6)
                with pytest.raises(LockNotHeldError):
                    await storage.release(lock)
                    pytest.fail(
                        "the former owner released a lock after its ttl ran out: it no longer holds it",
                        pytrace=False,
                    )
                fresh = await storage.acquire("locks/lapsed", ttl=5, timeout=0)
                await storage.release(fresh)

    @pytest.mark.meshkit_feature(StorageFeature.LOCKING)
    @pytest.mark.anyio
    async def test_racing_acquirers_get_one_owner(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, StorageFeature.LOCKING):
            async with self.storage(conformance_target) as storage:
                won: list[Lock] = []
                refused: list[BaseException] = []
                other: list[BaseException] = []

                async def contend() -> None:
                    try:
                        won.append(await storage.acquire("locks/race", ttl=30, timeout=0))
                    except LockTimeoutError as exc:
                        refused.append(exc)
                    except Exception as exc:
                        other.append(exc)

                for round_ in range(3):
                    for found in (won, refused, other):
                        found.clear()
                    async with anyio.create_task_group() as tg:
                        for _ in range(RACERS):
                            tg.start_soon(contend)
                    assert not other, (
                        f"acquire(timeout=0) raised {other[0]!r}; a held lock is a LockTimeoutError"
                    )
                    assert len(won) == 1, (
                        f"round {round_ + 1}: {RACERS} tasks raced acquire(timeout=0) on one free lock and "
                        f"{len(won)} got it: checking and taking the lock must be one atomic step"
                    )
                    assert len(refused) == RACERS - 1
                    await storage.release(won[0])

    @pytest.mark.meshkit_feature(StorageFeature.LOCKING)
    @pytest.mark.anyio
    async def test_lock_timeout_raises_lock_timeout_error(
        self, conformance_target: ConformanceTarget, clock: FakeClock
    ) -> None:
        with self.feature(conformance_target, StorageFeature.LOCKING):
            async with self.storage(conformance_target, clock) as storage:
                held = await storage.acquire("locks/res", ttl=60)
                outcome: list[BaseException | Lock] = []

                async def contender() -> None:
                    try:
                        outcome.append(await storage.acquire("locks/res", ttl=60, timeout=0.5))
                    except Exception as exc:
                        outcome.append(exc)

                async with anyio.create_task_group() as tg:
                    tg.start_soon(contender)
                    while not outcome:
                        await self.move_time_for_sleepers(clock, 0.1)
                assert isinstance(outcome[0], LockTimeoutError), (
                    f"expected LockTimeoutError, got {outcome[0]!r}"
                )
                await storage.release(held)

    @pytest.mark.meshkit_feature(StorageFeature.LOCKING)
    @pytest.mark.anyio
    async def test_waiting_acquirer_gets_the_lock_after_release(
        self, conformance_target: ConformanceTarget, clock: FakeClock
    ) -> None:
        with self.feature(conformance_target, StorageFeature.LOCKING):
            async with self.storage(conformance_target, clock) as storage:
                held = await storage.acquire("locks/res", ttl=60)
                acquired: list[Lock] = []

                async def waiter() -> None:
                    acquired.append(await storage.acquire("locks/res", ttl=60, timeout=30))

                async with anyio.create_task_group() as tg:
                    tg.start_soon(waiter)
                    for _ in range(5):
                        await self.move_time_for_sleepers(clock, 0.1)
                    assert not acquired, "a second owner got a held lock"
                    await storage.release(held)
                    while not acquired:
                        await self.move_time_for_sleepers(clock, 0.05)
                assert acquired[0].token != held.token, "the new owner needs its own token"
                await storage.release(acquired[0])

    @pytest.mark.meshkit_feature(StorageFeature.SHARED)
    @pytest.mark.anyio
    async def test_shared_backend_shares_data_across_instances(
        self, conformance_target: ConformanceTarget
    ) -> None:
        with self.feature(conformance_target, StorageFeature.SHARED):
            async with conformance_target.environment() as config:
                one = conformance_target.build(config, clock=FakeClock())
                two = conformance_target.build(config, clock=FakeClock())
                async with one, two:
                    await one.save("shared/a", b"from one")
                    assert await two.load("shared/a") == b"from one", (
                        "an instance does not see another's save"
                    )
                    await two.save("shared/a", b"overwritten by two")
                    assert await one.load("shared/a") == b"overwritten by two", (
                        "an instance does not see another's overwrite (a stale cache?)"
                    )
                    meta = await one.stat("shared/a")
                    assert meta is not None and meta.size == len(b"overwritten by two"), f"stat: {meta!r}"
                    await two.save("shared/b", b"b")
                    assert await one.list("shared/") == ["shared/a", "shared/b"]
                    assert await two.delete("shared/a") is True
                    assert await one.load("shared/a") is None, "an instance still sees a key another deleted"

    @pytest.mark.meshkit_feature(StorageFeature.SHARED, StorageFeature.LOCKING)
    @pytest.mark.anyio
    async def test_lock_is_exclusive_across_instances(self, conformance_target: ConformanceTarget) -> None:
        self.requires(conformance_target, StorageFeature.SHARED)
        self.requires(conformance_target, StorageFeature.LOCKING)
        async with conformance_target.environment() as config:
            one = conformance_target.build(config, clock=FakeClock())
            two = conformance_target.build(config, clock=FakeClock())
            async with one, two:
                await one.save("shared/k", b"from one")
                assert await two.load("shared/k") == b"from one", "a shared backend shares its data"
                held = await one.acquire("locks/shared", ttl=30)
                with pytest.raises(LockTimeoutError):
                    await two.acquire("locks/shared", ttl=30, timeout=0)
                await one.release(held)
