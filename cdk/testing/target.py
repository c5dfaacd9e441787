"""The connector under test: its class, its spec, where it came from, and how to build it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import attrs
import httpx

from ..clock import Clock
from ..connector import Connector
from ..errors import ConfigError
from ..interfaces.http_provider import HTTPProvider
from .fake_clock import FakeClock
from .spec import ConformanceSpec

__all__ = ["ConformanceTarget", "resolve_target", "target_for_class"]


@attrs.frozen
class ConformanceTarget:
    """A connector class with the spec the suite builds it from."""

    cls: type[Connector]
    spec: ConformanceSpec = attrs.field(factory=ConformanceSpec)
    plugin: str | None = None
    distribution: str | None = None
    version: str | None = None
    spec_source: str = "defaults"

    @property
    def connector_id(self) -> str:
        """The connector's id."""
        return self.cls.connector_id

    def __str__(self) -> str:
        return self.cls.connector_id

    def skip_reason(self, test_name: str) -> str | None:
        """Why ``test_name`` does not apply, if the spec says so."""
        return self.spec.skips.get(test_name)

    @asynccontextmanager
    async def environment(self) -> AsyncIterator[dict[str, Any]]:
        """Run the spec's setup (if any) and yield the config to build instances from."""
        config: dict[str, Any] = dict(self.spec.config)
        if self.spec.setup is None:
            yield config
            return
        async with self.spec.setup() as extra:
            config.update(extra or {})
            yield config

    def make(
        self,
        config: Mapping[str, Any],
        *,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> Any:
        """A new, unstarted instance built from ``config``."""
        kwargs: dict[str, Any] = {"clock": clock or FakeClock()}
        if transport is not None:
            kwargs["transport"] = transport
        # A non-mapping is passed through so that the connector reports it as bad config.
        settings = dict(config) if isinstance(config, Mapping) else config
        if self.spec.factory is not None:
            return self.spec.factory(settings, **kwargs)
        return self.cls(settings, **kwargs)

    def build(
        self,
        config: Mapping[str, Any],
        *,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> Any:
        """Like :meth:`make`; without a spec, a config the connector rejects skips the test."""
        try:
            return self.make(config, clock=clock, transport=transport)
        except ConfigError as exc:
            if self.spec_source != "defaults":
                raise
            import pytest

            pytest.skip(
                f"{self} cannot be built from its default config and no ConformanceSpec says how "
                f"(answer the meshkit_conformance hook): {exc}"
            )

    @property
    def is_http(self) -> bool:
        """True for providers built on HTTPProvider (the fault transport plugs in)."""
        return issubclass(self.cls, HTTPProvider)


def _check_spec(spec: Any, connector_id: str, source: str) -> ConformanceSpec:
    if spec is None:
        return ConformanceSpec()
    if not isinstance(spec, ConformanceSpec):
        raise TypeError(
            f"{source} answered meshkit_conformance({connector_id!r}) with {type(spec).__name__}; "
            "return a meshkit.testing.ConformanceSpec (or None)"
        )
    return spec


def resolve_target(name: str) -> ConformanceTarget:
    """The registered connector called ``name`` (id, vendor.name or name), with its spec.

    Raises ConnectorNotFoundError / AmbiguousConnectorError listing the close matches.
    """
    from ..plugins import get_registry

    registry = get_registry()
    entry = registry.entry(name)
    answer = registry.conformance(entry.connector_id)
    spec = _check_spec(answer, entry.connector_id, "a plugin")
    return ConformanceTarget(
        entry.cls,
        spec,
        plugin=entry.plugin,
        distribution=entry.distribution,
        version=entry.version,
        spec_source="defaults" if answer is None else "plugin hook",
    )


def target_for_class(cls: type[Connector], spec: ConformanceSpec | None = None) -> ConformanceTarget:
    """A target for a class given directly (a suite subclass); the spec defaults to the hook's."""
    from ..plugins import get_registry

    registry = get_registry()
    entry = next((e for e in registry if e.cls is cls), None)
    source = "subclass"
    if spec is None:
        answer = registry.conformance(cls.connector_id) if entry is not None else None
        spec = _check_spec(answer, cls.connector_id, "a plugin")
        source = "plugin hook" if answer is not None else "defaults"
    return ConformanceTarget(
        cls,
        spec,
        plugin=entry.plugin if entry else None,
        distribution=entry.distribution if entry else None,
        version=entry.version if entry else None,
        spec_source=source,
    )
