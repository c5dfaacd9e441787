"""The meshkit plugin offering the broken connectors, and how the suite builds them."""

from __future__ import annotations

from typing import Any

from meshkit.hookspecs import hookimpl
from meshkit.testing import ConformanceSpec, Loopback, openai_payloads

from . import CONNECTORS, discovery, metrics, observability, plain_http, providers, rotation

MODEL = "conformance-model"


@hookimpl
def meshkit_connectors() -> list[type[Any]]:
    return list(CONNECTORS)


@hookimpl
def meshkit_conformance(connector_id: str) -> Any:
    ids = {cls.connector_id for cls in CONNECTORS}
    if connector_id not in ids:
        return None
    if connector_id in {cls.connector_id for cls in providers.CONNECTORS}:
        return ConformanceSpec(
            http=openai_payloads(model=MODEL), model=MODEL, loopback=Loopback(wire="openai")
        )
    if connector_id in {
        c.connector_id
        for c in (discovery.FileReadOnce, discovery.TrustsItsModelsFile, discovery.ZeroTimeoutAccepted)
    }:
        from meshkit.connectors.discovery._conformance import static_spec

        return static_spec()
    if connector_id in {cls.connector_id for cls in plain_http.CONNECTORS}:
        # No loopback spec: the suite reads the base_url off the Config.
        return ConformanceSpec(model=MODEL)
    if connector_id == observability.RotatesEveryBatch.connector_id:
        from meshkit.connectors.observability._conformance import _SPECS

        return _SPECS["meshkit.jsonl.v1"]()  # the sink's own spec: a temp file, read back
    if connector_id in {cls.connector_id for cls in observability.CONNECTORS}:
        return ConformanceSpec(collect_delivered=observability.collect, stall_delivery=observability.stall)
    if connector_id in {cls.connector_id for cls in metrics.CONNECTORS}:
        return ConformanceSpec(collect_metrics=metrics.collect_metrics)
    if connector_id in rotation.RULES:
        return ConformanceSpec(rule=rotation.RULES[connector_id])
    return ConformanceSpec()
