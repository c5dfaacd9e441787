"""The provider contract, one module per part of it (and per optional feature).

- ``chat``: completions well formed, usage, probe, concurrency, secrets, and what reaches
  the wire (every message, the model, max_tokens / temperature / stop);
- ``streaming``: ``streaming`` and ``usage_in_stream``: chunks, delivery as they arrive,
  usage on a last chunk of its own;
- ``tools``, ``json_mode``: those features on the wire and in the parsed answer;
- ``catalogue``: ``list_models`` and ``pricing``;
- ``resources``: connections given back (cancelled or closed streams, ``aclose()``), the
  configured timeout enforced against a real slow server;
- ``faults``: every upstream failure mapped to the right ``ProviderError``;
- ``upstream_errors``: errors in the API's own words (error bodies, error events in a stream,
  ``retry-after-ms``) and answers that leave optional fields out, over real HTTP;
- ``meshkit.testing.provider_capability_suite``: ``embeddings``, ``json_schema``, ``vision``.

``harness`` builds providers against the fault-injecting transport or the local server;
``wire_reading`` reads a recorded request back. A new feature adds a module with a
``…Tests(ProviderHarness)`` class and joins :class:`ProviderSuite` below.
"""

from __future__ import annotations

from typing import ClassVar

from ...enums import ConnectorType
from ..provider_capability_suite import ProviderCapabilityTests
from .catalogue import CatalogueTests
from .chat import ChatTests
from .faults import FaultTests
from .json_mode import JsonModeTests
from .resources import ResourceTests
from .streaming import StreamingTests
from .tools import ToolTests
from .upstream_errors import UpstreamErrorTests

__all__ = ["ProviderSuite"]


class ProviderSuite(
    ChatTests,
    StreamingTests,
    ToolTests,
    JsonModeTests,
    CatalogueTests,
    ResourceTests,
    FaultTests,
    UpstreamErrorTests,
    ProviderCapabilityTests,
):
    """Every provider passes this; HTTP providers also face the fault-injecting transport."""

    connector_type: ClassVar[ConnectorType] = ConnectorType.PROVIDER
