"""Every operation answers what a plain dict would: a Hypothesis state machine over a backend.

The state machine is synchronous (Hypothesis drives it); it reaches the async backend
through an anyio blocking portal running the test's backend (asyncio or trio) in a
worker thread, so the same machine checks both.
"""

from __future__ import annotations

from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from ...interfaces.storage import Storage
from ...types import EntryMetadata
from ..fake_clock import FakeClock
from ..hypothesis_profiles import suite_settings
from ..target import ConformanceTarget
from .harness import StorageHarness
from .inputs import SIBLINGS, keys, prefixes, sibling, values

__all__ = ["DictModelTests"]


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

        @rule(target=known, key=known, how=st.sampled_from(SIBLINGS))
        def sibling_key(self, key: str, how: str) -> str:
            return sibling(key, how)

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


class DictModelTests(StorageHarness):
    """Every backend: the dict model."""

    def test_behaves_like_a_dict(self, conformance_target: ConformanceTarget, anyio_backend: str) -> None:
        with start_blocking_portal(anyio_backend) as portal:
            machine = _storage_machine(portal, conformance_target)
            run_state_machine_as_test(
                machine, settings=settings(suite_settings(scale=0.5), stateful_step_count=30)
            )
