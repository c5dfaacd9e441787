"""How the conformance suite builds the connector and reads what it delivered.

``collect_delivered`` lets the suite check delivery, not only that calls return: that
every event type arrives in order, that log levels trim payloads, that the severity
filter holds, and that no secret is delivered in clear. REPLACE it to read from a
test instance of your system (a local server, a temporary file...). If delivery can
get stuck (a slow server), also give ``stall_delivery``: the suite then checks that
``emit`` never blocks while the target is stuck.
"""

from __future__ import annotations

from typing import Any

from meshkit.testing import ConformanceSpec, Delivered


async def collect_delivered(connector: Any) -> Delivered:
    """The records the connector kept, sorted by kind."""
    return Delivered(
        events=connector.of_kind("event"),
        logs=connector.of_kind("log"),
        traces=connector.of_kind("trace"),
    )


def conformance_spec() -> ConformanceSpec:
    """The connector's config in tests, and how to read what it delivered."""
    return ConformanceSpec(config={}, collect_delivered=collect_delivered)
