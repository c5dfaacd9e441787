"""What a request's target names — a configured pool, a capability or a model id — and its pool.

The configured pools live here, with the implicit pools made on first use for a capability
or a model id; when the catalogue changes, :meth:`Targets.refresh` recomputes membership.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping

import attrs

from ..enums import EventType
from ..errors import NotTried, UnknownTargetError
from ..events import RoutingEvent
from ..interfaces.provider import Provider
from ..interfaces.rotation import RotationPolicy
from ..types import CompletionRequest
from .capabilities import CapabilityTree
from .catalogue import ModelEntry
from .lifecycle import Lifecycle
from .needs import RequestNeeds, skipped
from .pool import Pool, members, members_of
from .settings import RetrySettings
from .telemetry import Telemetry

__all__ = ["Selection", "Targets"]


@attrs.frozen(kw_only=True)
class Selection:
    """What ``mesh.select`` found: where a request would go, without calling anyone.

    ``candidates`` are the active members that can serve the request; ``skipped`` the
    members passed over because they lack something it needs.
    """

    target: str
    pool_id: str
    model_id: str | None
    provider_id: str | None
    upstream: str | None
    candidates: tuple[str, ...]
    skipped: tuple[NotTried, ...] = ()


class Targets:
    """Resolves targets to pools; keeps pool membership in step with the catalogue."""

    def __init__(
        self,
        pools: Mapping[str, Pool],
        *,
        entries: Mapping[str, ModelEntry],
        providers: Mapping[str, Provider],
        tree: CapabilityTree,
        lifecycle: Lifecycle,
        telemetry: Telemetry,
        retry: RetrySettings,
        default_policy: Callable[[], RotationPolicy],
    ) -> None:
        self.pools: dict[str, Pool] = dict(pools)
        self.entries = entries
        self.providers = providers
        self.tree = tree
        self.lifecycle = lifecycle
        self.telemetry = telemetry
        self.retry = retry  # the implicit pools' retry settings (``routing.retry``)
        self._default_policy = default_policy
        self._implicit: dict[str, Pool] = {}
        lifecycle.set_pools(self.pools.values())

    def resolve(self, target: str) -> Pool:
        """The pool a request for ``target`` goes through (configured or implicit)."""
        pool = self.pools.get(target) or self._implicit.get(target)
        if pool is not None:
            return pool
        if target in self.entries:
            pool_id = target
            chosen = members(self.entries, self.tree, models=(target,))
        else:
            try:
                node = self.tree.resolve(target)
            except ValueError as exc:
                raise UnknownTargetError(str(exc)) from None
            if node is None:
                tree = self.tree
                names = [*self.pools, *self.entries, *tree, *(n.rsplit(".", 1)[-1] for n in tree)]
                raise UnknownTargetError(
                    f"no pool, model or capability named {target!r}{_hint(target, names)}"
                )
            pool_id = node
            chosen = members(self.entries, self.tree, capability=node)
        pool = Pool(pool_id, self._default_policy(), chosen, retry=self.retry, target=target)
        for model_id in chosen:
            self.lifecycle.ensure(self.entries[model_id])
        self._implicit[target] = pool
        return pool

    def dry_run(
        self, target: str, pool: Pool, request: CompletionRequest, needs: RequestNeeds | None
    ) -> Selection:
        """Where ``request`` to ``pool`` would go now, without calling any provider.

        With ``needs``, members that lack any of it are passed over, as the router does.
        """
        lifecycle = self.lifecycle
        gaps = pool.lacking(self.entries, self.providers, needs) if needs is not None else {}
        # A copy of the policy answers, so a dry run does not move a round-robin cursor.
        chosen = pool.detached().select(lifecycle, request, exclude=gaps)
        entry = self.entries.get(chosen) if chosen else None
        return Selection(
            target=target,
            pool_id=pool.id or target,
            model_id=chosen,
            provider_id=entry.provider_id if entry else None,
            upstream=entry.upstream if entry else None,
            candidates=tuple(m for m in pool.members if m not in gaps and lifecycle.usable(m)),
            skipped=tuple(skipped(gaps)),
        )

    def model(self, model_id: str) -> ModelEntry:
        """The catalogue entry of ``model_id``; UnknownTargetError (with close names) if none."""
        entry = self.entries.get(model_id)
        if entry is None:
            raise UnknownTargetError(f"no model named {model_id!r}{_hint(model_id, self.entries)}")
        return entry

    def refresh(self) -> None:
        """Recompute configured pools after the catalogue changed; implicit pools are made again."""
        for pool_id, pool in list(self.pools.items()):
            assert pool.settings is not None
            now_members = members_of(pool.settings, self.entries, self.tree)
            if now_members == pool.members:
                continue
            added = [m for m in now_members if m not in pool.members]
            removed = [m for m in pool.members if m not in now_members]
            self.pools[pool_id] = pool.with_members(now_members)
            self.telemetry.emit(
                RoutingEvent(
                    event_type=EventType.POOL_MEMBERSHIP_CHANGED,
                    timestamp=self.lifecycle.clock.now(),
                    pool_id=pool_id,
                    metadata={"added": added, "removed": removed, "size": len(now_members)},
                )
            )
        self.lifecycle.set_pools(self.pools.values())
        self._implicit.clear()


def _hint(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(set(known)), n=3, cutoff=0.6)
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
