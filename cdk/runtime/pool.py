"""Pools: the models a request may go to, the policy that picks among them, how failover retries.

A pool is configured (``pools:`` in the configuration) or implicit (a request named a
capability or a model id). :func:`members` is the one rule for which models a pool holds.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

import attrs

from ..interfaces.provider import Provider
from ..interfaces.rotation import RotationPolicy
from ..types import CompletionRequest, EmbeddingRequest
from . import status_generation
from .candidates import Candidates
from .capabilities import CapabilityTree
from .catalogue import ModelEntry
from .needs import RequestNeeds, lacking
from .settings import BudgetSettings, PoolSettings, RetrySettings

if TYPE_CHECKING:
    from .lifecycle import Lifecycle

__all__ = ["Pool", "members", "policy_view"]


def members(
    entries: Mapping[str, ModelEntry],
    tree: CapabilityTree,
    *,
    capability: str | None = None,
    models: Sequence[str] | None = None,
    providers: Collection[str] | None = None,
) -> tuple[str, ...]:
    """The models a pool holds, in configuration order.

    Named ``models`` (those that exist), else every model not deprecated whose capabilities
    fall under the ``capability`` node; then only those of ``providers``, when given.
    """
    if models is not None:
        chosen = [m for m in models if m in entries]
    else:
        node = capability or ""
        chosen = [
            model_id
            for model_id, entry in entries.items()
            if not entry.deprecated and any(tree.covers(node, c) for c in entry.capabilities)
        ]
    if providers is not None:
        chosen = [m for m in chosen if entries[m].provider_id in providers]
    return tuple(chosen)


@attrs.frozen
class Pool:
    """A set of models, a rotation policy over them, a budget, and how failover retries.

    ``id`` is None only for the stand-in a model's scheduled checks use when it belongs to no
    configured pool.
    """

    id: str | None
    policy: RotationPolicy
    members: tuple[str, ...] = ()
    budget: BudgetSettings | None = None
    retry: RetrySettings = attrs.field(factory=RetrySettings)
    settings: PoolSettings | None = None  # None for the implicit pool of a capability or a model
    target: str | None = None  # what the request named, for an implicit pool
    #: What the last selection found (see ``_active``); not part of the pool's identity.
    _selection: _Selection | None = attrs.field(default=None, init=False, eq=False, repr=False)
    #: What the members lack, by kind of request (see ``lacking``).
    _gaps: dict[RequestNeeds, tuple[object, object, dict[str, tuple[str, ...]]]] = attrs.field(
        factory=dict, init=False, eq=False, repr=False
    )

    @classmethod
    def configured_from(
        cls,
        pool_id: str,
        settings: PoolSettings,
        policy: RotationPolicy,
        entries: Mapping[str, ModelEntry],
        tree: CapabilityTree,
    ) -> Pool:
        """The configured pool ``pool_id``."""
        return cls(
            pool_id,
            policy,
            members_of(settings, entries, tree),
            settings.budget,
            settings.retry,
            settings,
            target=pool_id,
        )

    @property
    def label(self) -> str:
        """What a request named to reach this pool (for errors): its target, else its id."""
        return self.target or self.id or ""

    @property
    def configured(self) -> bool:
        """True for a pool from the configuration, False for an implicit one."""
        return self.settings is not None

    def select(
        self,
        lifecycle: Lifecycle,
        request: CompletionRequest,
        exclude: Collection[str] = (),
        *,
        fallback: bool = False,
    ) -> str | None:
        """Bring time-based state up to date, then let the policy pick an active member.

        ``fallback``: the pick after a failed call in the same request (the policy's
        ``fallback``, which leaves what it remembers alone).
        """
        active = self._active(lifecycle)
        if exclude:
            active = [model_id for model_id in active if model_id not in exclude]
        if not active:
            return None
        candidates = Candidates(
            active, lifecycle.views.maker(self.id, self.policy.reads), all_active=True, pool_id=self.id
        )
        pick = self.policy.fallback if fallback else self.policy.select
        chosen = pick(candidates, request, lifecycle.now())
        if chosen is None:
            return None
        return chosen.model_id

    def lacking(
        self, entries: Mapping[str, ModelEntry], providers: Mapping[str, Provider], needs: RequestNeeds
    ) -> dict[str, tuple[str, ...]]:
        """The members that cannot serve ``needs``, each with what it lacks (``needs.lacking``).

        Worked out once per kind of request: a pool's members are fixed, and their features
        and providers change only when the catalogue does, which makes new pools.
        """
        known = self._gaps.get(needs)
        if known is None or known[0] is not entries or known[1] is not providers:
            known = self._gaps[needs] = (entries, providers, lacking(self.members, entries, providers, needs))
        return dict(known[2])

    def _active(self, lifecycle: Lifecycle) -> list[str]:
        """The usable members, in member order, with time's rules applied to those they can reach.

        Members only a change of state can set aside (active, no maintenance window: see
        ``Recovery.steady``) are remembered until a status changes or usage is read back from
        storage (``status_generation``): a selection then evaluates only the others (models in
        standby, models with maintenance windows), and costs the same at any pool size.
        """
        state = lifecycle.state
        key = (status_generation.current(), id(state), len(state.models), len(state.providers))
        known = self._selection
        if known is not None and known.key == key and known.members is self.members:
            if not known.timed:
                return known.active
            for model_id in known.timed:
                lifecycle.evaluate(model_id, self)
            if status_generation.current() == key[0]:
                usable = lifecycle.usable
                steady, timed = known.steady, known.timed
                return [m for m in self.members if m in steady or (m in timed and usable(m))]
        return self._look_again(lifecycle)

    def _look_again(self, lifecycle: Lifecycle) -> list[str]:
        evaluate, usable, is_steady = lifecycle.evaluate, lifecycle.usable, lifecycle.recovery.steady
        for model_id in self.members:
            evaluate(model_id, self)
        state = lifecycle.state
        active = [model_id for model_id in self.members if usable(model_id)]
        timed = frozenset(model_id for model_id in self.members if not is_steady(model_id))
        steady = frozenset(active) - timed
        key = (status_generation.current(), id(state), len(state.models), len(state.providers))
        object.__setattr__(self, "_selection", _Selection(key, self.members, active, steady, timed))
        return active

    def with_members(self, members: Sequence[str]) -> Pool:
        """The same pool over another member list."""
        return attrs.evolve(self, members=tuple(members))

    def detached(self) -> Pool:
        """The same pool with a copy of its policy, whose cursors move without moving the original's."""
        return attrs.evolve(self, policy=_detached(self.policy))


@attrs.frozen
class _Selection:
    key: tuple[int, int, int, int]
    members: tuple[str, ...]
    active: list[str]  # usable members in order; handed to Candidates, never changed
    steady: frozenset[str]  # usable members time cannot change
    timed: frozenset[str]  # members evaluated on every selection


def policy_view(request: EmbeddingRequest) -> CompletionRequest:
    """What a rotation policy sees of an embedding request.

    Policies take a CompletionRequest: each input is a user message (so prompt-token
    estimates agree) and ``max_tokens`` is 0, since an embedding has no output tokens.
    """
    return CompletionRequest(
        messages=[{"role": "user", "content": text} for text in request.input], max_tokens=0
    )


def members_of(
    settings: PoolSettings, entries: Mapping[str, ModelEntry], tree: CapabilityTree
) -> tuple[str, ...]:
    """The models the configured pool ``settings`` holds."""
    node = tree.resolve(settings.capability or "") if settings.models is None else None
    return members(entries, tree, capability=node, models=settings.models, providers=settings.providers)


def _detached(policy: RotationPolicy) -> RotationPolicy:
    dup = copy.copy(policy)
    for name, value in vars(policy).items():
        if name in ("clock", "config"):
            continue
        try:
            setattr(dup, name, copy.deepcopy(value))
        except Exception:  # an attribute that cannot be copied is shared; selection only reads most
            pass
    return dup
