"""The rotation-policy contract, over arbitrary pools and histories (Hypothesis).

What it feeds a policy is in :mod:`meshkit.testing.rotation_inputs`; a policy's own rule, when
its spec declares one, in :mod:`meshkit.testing.rotation_rules`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import given

from ..enums import ConnectorType, DeactivationReason, ModelStatus, RecoveryTrigger, RotationFeature
from ..errors import ConfigError
from ..interfaces.rotation import RotationPolicy
from ..types import CompletionRequest, ModelSnapshot
from .base import ConformanceSuite
from .fake_clock import FakeClock
from .hypothesis_profiles import suite_settings
from .rotation_inputs import EPOCH, RULE_SCENARIOS, evolving_histories, histories, pools, snapshots
from .rotation_reads import SNAPSHOT_FIELDS, UndeclaredRead, guarded
from .rotation_replay import Job, importable, replay, replay_in_child, seeded_histories
from .rotation_rules import SelectionRule, Step
from .target import ConformanceTarget

__all__ = ["RotationSuite", "pools", "snapshots"]

THRESHOLDS = {
    "failure_threshold": 3,
    "error_rate_threshold": 0.5,
    "error_rate_min_requests": 10,
    "cooldown": "45s",
}
COOLDOWN = timedelta(seconds=45)


#: Histories replayed in this process and in two others; the hash seeds of those two.
REPLAYED_HISTORIES = 40
CHILD_HASH_SEEDS = ("1", "2")


def _request(session: str | None) -> CompletionRequest:
    return CompletionRequest(messages=[{"role": "user", "content": "hello " * 20}], session_id=session)


def _first_difference(a: list[dict[str, list[object]]], b: list[dict[str, list[object]]]) -> str:
    for index, (one, other) in enumerate(zip(a, b, strict=False)):
        for part in ("chosen", "decided"):
            if one[part] != other[part]:
                return f"history {index}: {part} {one[part]} against {other[part]}"
    return f"{len(a)} histories against {len(b)}"


class RotationSuite(ConformanceSuite):
    """Every rotation policy passes this; it is pure, so most tests are synchronous."""

    connector_type: ClassVar[ConnectorType] = ConnectorType.ROTATION

    def policy(self, target: ConformanceTarget, **config: Any) -> RotationPolicy:
        """A fresh policy from the spec's config (plus ``config``)."""
        policy = target.build({**target.spec.config, **config})
        assert isinstance(policy, RotationPolicy), f"{target} built a {type(policy).__name__}"
        return policy

    def thresholds_policy(self, target: ConformanceTarget) -> RotationPolicy:
        """A policy with the suite's declared thresholds, or a skip when it takes none."""
        try:
            return self.policy(target, **THRESHOLDS)
        except ConfigError as exc:
            pytest.skip(f"{target} does not take the ThresholdConfig settings: {exc}")

    def run_history(
        self, policy: RotationPolicy, history: Sequence[tuple[list[ModelSnapshot], str | None]]
    ) -> list[str | None]:
        """Feed a history to ``policy``, checking every answer; return the chosen ids."""
        chosen: list[str | None] = []
        for step, (pool, session) in enumerate(history):
            now = EPOCH + timedelta(seconds=step)
            candidates = list(pool)
            before = copy.deepcopy(candidates)
            result = policy.select(candidates, _request(session), now)
            assert candidates == before, (
                "select() changed the candidates it was given (reordered, replaced or edited them); "
                "work on a copy"
            )
            active = [s for s in pool if s.is_active]
            if not active:
                assert result is None, f"no active candidate, yet select() returned {result!r}"
            else:
                assert result is not None, "select() returned None although active candidates exist"
                assert result in pool, f"select() returned {result.model_id!r}, not one of the candidates"
                assert result.is_active, f"select() returned standby model {result.model_id!r}"
            chosen.append(None if result is None else result.model_id)
        return chosen

    # --- selection -----------------------------------------------------------------

    @given(history=histories)
    @suite_settings()
    def test_select_returns_an_active_candidate(
        self, conformance_target: ConformanceTarget, history: list[tuple[list[ModelSnapshot], str | None]]
    ) -> None:
        self.run_history(self.policy(conformance_target), history)

    @given(history=histories)
    @suite_settings()
    def test_fallback_returns_an_active_candidate(
        self, conformance_target: ConformanceTarget, history: list[tuple[list[ModelSnapshot], str | None]]
    ) -> None:
        # The router asks ``fallback`` for the next model after the one ``select`` picked failed.
        policy = self.policy(conformance_target)
        for step, (pool, session) in enumerate(history):
            now = EPOCH + timedelta(seconds=step)
            picked = policy.select(list(pool), _request(session), now)
            rest = [s for s in pool if picked is None or s.model_id != picked.model_id]
            result = policy.fallback(list(rest), _request(session), now)
            active = [s for s in rest if s.is_active]
            if not active:
                assert result is None, f"no active candidate left, yet fallback() returned {result!r}"
            else:
                assert result is not None, "fallback() returned None although active candidates remain"
                assert result in rest, f"fallback() returned {result.model_id!r}, not one of the candidates"
                assert result.is_active, f"fallback() returned standby model {result.model_id!r}"

    @given(history=histories)
    @suite_settings()
    def test_select_reads_only_what_it_declares(
        self, conformance_target: ConformanceTarget, history: list[tuple[list[ModelSnapshot], str | None]]
    ) -> None:
        # The router keeps a declaring policy's snapshots until a field it reads changes: a read
        # of any other field would see a stale value. None declares nothing (fresh snapshots).
        reads = type(self.policy(conformance_target)).reads
        if reads is None:
            return
        unknown = sorted(set(reads) - SNAPSHOT_FIELDS)
        assert not unknown, f"reads names {unknown}, which are not ModelSnapshot fields"
        plain, shown = self.policy(conformance_target), self.policy(conformance_target)
        for step, (pool, session) in enumerate(history):
            now = EPOCH + timedelta(seconds=step)
            copies = [guarded(s, reads) for s in pool]
            try:
                picked = shown.select(copies, _request(session), now)
                rest = [c for c in copies if c is not picked]
                fell_back = shown.fallback(rest, _request(session), now)
            except UndeclaredRead as exc:
                pytest.fail(
                    f"{conformance_target} declares reads={sorted(reads)}, yet select() or fallback() "
                    f"{exc}: declare every field they read, or reads = None",
                    pytrace=False,
                )
            expected = plain.select(list(pool), _request(session), now)
            left = [s for s in pool if expected is None or s.model_id != expected.model_id]
            expected_fallback = plain.fallback(left, _request(session), now)
            chose = [None if c is None else c.model_id for c in (picked, fell_back)]
            wanted = [None if c is None else c.model_id for c in (expected, expected_fallback)]
            assert chose == wanted, f"given only the fields it reads, it chose {chose}, not {wanted}"

    @given(history=histories)
    @suite_settings()
    def test_select_is_deterministic(
        self, conformance_target: ConformanceTarget, history: list[tuple[list[ModelSnapshot], str | None]]
    ) -> None:
        first = self.run_history(self.policy(conformance_target), history)
        second = self.run_history(self.policy(conformance_target), history)
        assert first == second, f"two fresh policies given the same history chose {first} and {second}"

    def test_select_is_deterministic_across_processes(self, conformance_target: ConformanceTarget) -> None:
        """Equal inputs, equal choices in any process: nothing may hang on PYTHONHASHSEED."""
        target = conformance_target
        config = {**target.spec.config}
        where = importable(target.cls)
        factory = importable(target.spec.factory) if target.spec.factory is not None else None
        if where is None or (target.spec.factory is not None and factory is None):
            pytest.skip(
                f"{target}: the policy cannot be rebuilt in another process (its class or the spec's "
                "factory is not importable by name: make it a module-level name)"
            )
        try:
            json.dumps(config)
        except TypeError as exc:
            pytest.skip(f"{target}: the spec's config cannot be handed to another process: {exc}")
        job = Job(
            module=where[0],
            qualname=where[1],
            config=config,
            factory=factory,
            seed=7,
            count=REPLAYED_HISTORIES,
        )
        children = [replay_in_child(job, seed) for seed in CHILD_HASH_SEEDS]
        here = replay(lambda: self.policy(target), seeded_histories(job.seed, job.count))
        answers: list[list[dict[str, list[object]]]] = []
        for seed, child in zip(CHILD_HASH_SEEDS, children, strict=True):
            out, err = child.communicate(job.to_json(), timeout=300)
            assert child.returncode == 0, (
                f"the policy failed in a process with PYTHONHASHSEED={seed}:\n{err[-2000:]}"
            )
            answers.append(json.loads(out))
        # The two children first: their seeds are fixed, so that comparison never varies.
        compared = [
            (
                f"PYTHONHASHSEED={CHILD_HASH_SEEDS[0]}",
                answers[0],
                f"PYTHONHASHSEED={CHILD_HASH_SEEDS[1]}",
                answers[1],
            ),
            *(
                (f"PYTHONHASHSEED={seed}", answer, "this process", here)
                for seed, answer in zip(CHILD_HASH_SEEDS, answers, strict=True)
            ),
        ]
        for one, got, other, expected in compared:
            if got != expected:
                pytest.fail(
                    f"the same histories gave different answers with {one} and with {other} "
                    f"({_first_difference(got, expected)}): a choice depends on hash order "
                    "(a set, hash()), not only on the inputs",
                    pytrace=False,
                )

    @given(history=histories, snapshot=snapshots())
    @suite_settings(scale=0.5)
    def test_policy_never_mutates_its_inputs(
        self,
        conformance_target: ConformanceTarget,
        history: list[tuple[list[ModelSnapshot], str | None]],
        snapshot: ModelSnapshot,
    ) -> None:
        policy = self.policy(conformance_target)
        for step, (pool, session) in enumerate(history):
            now = EPOCH + timedelta(seconds=step)
            as_list, as_tuple = list(pool), tuple(pool)
            before = copy.deepcopy(as_list)
            policy.select(as_list, _request(session), now)
            assert as_list == before, "select() changed the list of candidates it was given; work on a copy"
            policy.select(as_tuple, _request(session), now)
            assert list(as_tuple) == before, "select() changed a candidate snapshot (its limits?)"
        kept = copy.deepcopy(snapshot)
        reason = policy.should_deactivate(snapshot, EPOCH)
        policy.should_recover(snapshot, EPOCH)
        if reason is not None:
            policy.cooldown_for(snapshot, reason)
        assert snapshot == kept, "a lifecycle decision changed the snapshot it was asked about"

    def test_empty_pool_selects_nothing(self, conformance_target: ConformanceTarget) -> None:
        policy = self.policy(conformance_target)
        assert policy.select([], _request(None), EPOCH) is None, "an empty pool must give None"
        standby = [
            ModelSnapshot(model_id=f"m{i}", provider_id="p1", pool_id="pool", status=ModelStatus.STANDBY)
            for i in range(3)
        ]
        assert policy.select(standby, _request(None), EPOCH) is None, "an all-standby pool must give None"

    def follow_rule(
        self,
        policy: RotationPolicy,
        rule: SelectionRule,
        history: Sequence[tuple[list[ModelSnapshot], str | None]],
        what: str,
    ) -> None:
        """Feed ``history`` to ``policy``; every choice must be one that ``rule`` allows."""
        past: list[Step] = []
        for step, (pool, session) in enumerate(history):
            request = _request(session)
            allowed = rule.allowed(past, pool, request)
            # Snapshots made afresh for each selection, as the runtime makes them: equal ids, never
            # the same string objects (a policy comparing ids with `is` would lose its model).
            given = [attrs.evolve(s, model_id=s.model_id.encode().decode()) for s in pool]
            result = policy.select(given, request, EPOCH + timedelta(seconds=step))
            chosen = None if result is None else result.model_id
            if allowed is not None and chosen not in allowed:
                shown = [f"{s.model_id}{'' if s.is_active else ' (standby)'} p{s.priority}" for s in pool]
                pytest.fail(
                    f"{what}, selection {step + 1}: the policy declares the rule '{rule.name}' "
                    f"({rule.summary}), which allows {sorted(allowed)}, yet it chose {chosen!r}; "
                    f"candidates {shown}, served before: {[s.chosen for s in past]}",
                    pytrace=False,
                )
            past.append(Step(tuple(pool), request, chosen))

    @pytest.mark.meshkit_declared("rule")
    def test_select_follows_its_declared_rule(self, conformance_target: ConformanceTarget) -> None:
        """A policy that states its rule (round-robin: each in turn) is held to it, choice by choice."""
        rule: SelectionRule = self.declared(conformance_target, "rule")
        for name, pools_in_turn in RULE_SCENARIOS.items():
            self.follow_rule(self.policy(conformance_target), rule, [(p, None) for p in pools_in_turn], name)

        @given(history=evolving_histories())
        @suite_settings()
        def any_history(history: list[tuple[list[ModelSnapshot], str | None]]) -> None:
            self.follow_rule(self.policy(conformance_target), rule, history, "a Hypothesis history")

        any_history()

    # --- lifecycle decisions ---------------------------------------------------------

    def test_deactivates_at_the_failure_threshold(self, conformance_target: ConformanceTarget) -> None:
        policy = self.thresholds_policy(conformance_target)
        base = ModelSnapshot(model_id="m1", provider_id="p1", pool_id="pool")
        below = attrs.evolve(base, consecutive_failures=2)
        at = attrs.evolve(base, consecutive_failures=3)
        assert policy.should_deactivate(below, EPOCH) is None, (
            "2 failures with failure_threshold=3 deactivated"
        )
        assert policy.should_deactivate(at, EPOCH) is DeactivationReason.ERROR_THRESHOLD, (
            "3 consecutive failures with failure_threshold=3 must deactivate with ERROR_THRESHOLD"
        )

    def test_deactivates_at_the_error_rate_threshold(self, conformance_target: ConformanceTarget) -> None:
        policy = self.thresholds_policy(conformance_target)

        def snap(requests: int, failures: int) -> ModelSnapshot:
            return ModelSnapshot(
                model_id="m1", provider_id="p1", window_requests=requests, window_failures=failures
            )

        assert policy.should_deactivate(snap(10, 5), EPOCH) is DeactivationReason.ERROR_THRESHOLD, (
            "an error rate of 0.5 over 10 requests with error_rate_threshold=0.5 must deactivate"
        )
        assert policy.should_deactivate(snap(10, 4), EPOCH) is None, "an error rate of 0.4 deactivated"
        assert policy.should_deactivate(snap(9, 9), EPOCH) is None, (
            "9 requests are fewer than error_rate_min_requests=10: no decision yet"
        )

    @given(snapshot=snapshots())
    @suite_settings()
    def test_threshold_decisions_hold_for_any_snapshot(
        self, conformance_target: ConformanceTarget, snapshot: ModelSnapshot
    ) -> None:
        policy = self.thresholds_policy(conformance_target)
        decision = policy.should_deactivate(snapshot, EPOCH)
        if not snapshot.is_active:
            assert decision is None, "a standby model cannot be deactivated again"
        elif snapshot.consecutive_failures >= 3:
            assert decision is not None, (
                f"{snapshot.consecutive_failures} failures ≥ threshold 3 kept it active"
            )
        elif snapshot.window_requests < 10 and not snapshot.limits:
            assert decision is None, f"deactivated below every threshold: {decision}"
        recovery = policy.should_recover(snapshot, EPOCH)
        if snapshot.is_active:
            assert recovery is None, "an active model cannot recover"

    @pytest.mark.anyio
    async def test_recovers_when_the_cooldown_expires(
        self, conformance_target: ConformanceTarget, clock: FakeClock
    ) -> None:
        policy = self.thresholds_policy(conformance_target)
        active = ModelSnapshot(model_id="m1", provider_id="p1", pool_id="pool", consecutive_failures=3)
        reason = policy.should_deactivate(active, clock.now())
        assert reason is DeactivationReason.ERROR_THRESHOLD
        cooldown = policy.cooldown_for(active, reason)
        assert cooldown == COOLDOWN, f"cooldown=45s was configured, the policy rests models for {cooldown}"
        standby = ModelSnapshot(
            model_id="m1",
            provider_id="p1",
            pool_id="pool",
            status=ModelStatus.STANDBY,
            deactivation_reason=reason,
            consecutive_failures=3,
            deactivated_at=clock.now(),
            cooldown_until=clock.now() + COOLDOWN,
        )
        assert policy.should_recover(standby, clock.now()) is None, "recovered at once, before its cooldown"
        await clock.advance(COOLDOWN - timedelta(seconds=1))
        assert policy.should_recover(standby, clock.now()) is None, (
            "recovered a second before the cooldown ended"
        )
        await clock.advance(timedelta(seconds=1))
        assert policy.should_recover(standby, clock.now()) is RecoveryTrigger.COOLDOWN_EXPIRED, (
            "a model whose cooldown has expired must recover with COOLDOWN_EXPIRED"
        )

    def test_manual_deactivation_does_not_end_by_itself(self, conformance_target: ConformanceTarget) -> None:
        policy = self.policy(conformance_target)
        manual = ModelSnapshot(
            model_id="m1",
            provider_id="p1",
            status=ModelStatus.STANDBY,
            deactivation_reason=DeactivationReason.MANUAL,
            deactivated_at=EPOCH,
        )
        assert policy.should_recover(manual, EPOCH + timedelta(days=30)) is None, (
            "a manual deactivation ends only by hand"
        )

    # --- optional features -------------------------------------------------------------

    @pytest.mark.meshkit_feature(RotationFeature.SESSION_AFFINITY)
    def test_session_affinity_keeps_a_session_on_its_model(
        self, conformance_target: ConformanceTarget
    ) -> None:
        with self.feature(conformance_target, RotationFeature.SESSION_AFFINITY):
            policy = self.policy(conformance_target)
            pool = [
                ModelSnapshot(model_id=f"m{i}", provider_id="p1", pool_id="pool", requests=i)
                for i in range(4)
            ]
            sessions = [f"session-{i}" for i in range(6)]
            bound: dict[str, str] = {}
            for rounds in range(4):
                for step, session in enumerate(sessions):
                    now = EPOCH + timedelta(seconds=rounds * 10 + step)
                    policy.select(list(pool), _request(None), now)  # other traffic in between
                    chosen = policy.select(list(pool), _request(session), now)
                    assert chosen is not None, "select() gave None with active candidates"
                    previous = bound.setdefault(session, chosen.model_id)
                    assert chosen.model_id == previous, (
                        f"{session} went to {previous}, then to {chosen.model_id} while both stayed active"
                    )
            assert len(set(bound.values())) >= 2, (
                f"six sessions over four equal models all went to {sorted(set(bound.values()))}: "
                "affinity spreads sessions and keeps each where it started"
            )
            moved = sessions[0]
            resting = bound[moved]
            pool = [attrs.evolve(s, status=ModelStatus.STANDBY) if s.model_id == resting else s for s in pool]
            now = EPOCH + timedelta(minutes=1)
            first = policy.select(list(pool), _request(moved), now)
            assert first is not None and first.model_id != resting, (
                f"{moved}'s model {resting} is on standby, yet select() gave {first}"
            )
            for _ in range(3):
                again = policy.select(list(pool), _request(moved), now)
                assert again is not None and again.model_id == first.model_id, (
                    f"{moved} moved to {first.model_id}, then on to {again}: it should stay there"
                )

    @pytest.mark.meshkit_feature(RotationFeature.QUOTA_AWARE)
    def test_quota_aware_policy_avoids_exhausted_models(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, RotationFeature.QUOTA_AWARE):
            policy = self.policy(conformance_target)
            limits = {
                "requests": 100.0,
                "tokens": 100_000.0,
                "requests_per_minute": 10.0,
                "tokens_per_minute": 100_000.0,
            }
            exhausted = ModelSnapshot(
                model_id="spent",
                provider_id="p1",
                pool_id="pool",
                limits=dict(limits),
                requests=100,
                tokens=100_000,
                requests_last_minute=10,
                tokens_last_minute=100_000,
            )
            roomy = ModelSnapshot(model_id="roomy", provider_id="p2", pool_id="pool", limits=dict(limits))
            for step in range(20):
                now = EPOCH + timedelta(seconds=step)
                chosen = policy.select([exhausted, roomy], _request(None), now)
                assert chosen is not None and chosen.model_id == "roomy", (
                    f"selection {step + 1}: 'spent' has used its whole quota (limits {limits}) and 'roomy' "
                    f"has all of it, yet select() gave {chosen and chosen.model_id!r}"
                )
