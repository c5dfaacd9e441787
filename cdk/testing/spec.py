"""How a connector package tells the conformance suite to build and observe its connector.

A plugin answers the ``meshkit_conformance(connector_id)`` hook with a
:class:`ConformanceSpec`; without one the suite builds the connector from its default
configuration and skips, with the reason, whatever it cannot build.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import TYPE_CHECKING, Any, Literal

import attrs

from ..events import RoutingEvent
from ..types import RequestLogEntry, TraceEntry
from .metric_samples import Metrics

if TYPE_CHECKING:
    from .rotation_rules import SelectionRule

__all__ = [
    "DISCOVERY_CONTEXT_WINDOW",
    "DISCOVERY_SCENARIO",
    "ConformanceSpec",
    "Delivered",
    "HTTPPayloads",
    "Loopback",
    "to_record",
]

ALL_BACKENDS = ("asyncio", "trio")

#: The models the discovery suite's providers offer, by provider id. A discovery
#: connector that reads its catalogue from config is configured with these.
DISCOVERY_SCENARIO: Mapping[str, Sequence[str]] = {"alpha": ["a1", "a2", "a3"], "beta": ["b1"]}

#: The context window those providers report for every model; a catalogue read from
#: config that states a context window must state this one, or its models look changed.
DISCOVERY_CONTEXT_WINDOW = 8192


def _json_bytes(value: Mapping[str, Any] | bytes | str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value).encode()


@attrs.frozen(kw_only=True)
class HTTPPayloads:
    """Good upstream answers in the provider's own wire format, served by the fault transport.

    The transport answers a request whose path ends with ``models_path`` with
    ``models_body``; a request to ``completion_path`` (or ``stream_path``) with
    ``completion_body``, or with ``stream_lines`` when it is a streaming request: its
    path ends with ``stream_path`` when that differs from ``completion_path``, else its
    JSON body has a true ``"stream"``. A request whose path ends with ``embedding_path``
    gets ``embedding_body``, the answer to as many inputs as ``embedding_vectors`` holds.
    """

    #: The JSON body of a successful (non-streaming) completion.
    completion_body: Mapping[str, Any] | bytes = attrs.field(converter=_json_bytes)
    #: The lines of a successful stream, end marker included (``data: [DONE]`` for OpenAI).
    stream_lines: tuple[str, ...] = ()
    #: The JSON body of a successful model listing, if the provider lists models.
    models_body: Mapping[str, Any] | bytes | None = attrs.field(
        default=None, converter=attrs.converters.optional(_json_bytes)
    )
    #: Path suffix of a completion request (``/chat/completions`` for OpenAI).
    completion_path: str = "/chat/completions"
    #: Path suffix of a streaming request; the completion path when streams share it.
    stream_path: str | None = None
    #: Path suffix of the model listing.
    models_path: str = "/models"
    #: Content type of a streamed answer.
    stream_content_type: str = "text/event-stream"
    #: The config key that holds the API key; the suite puts a recognisable fake key there.
    api_key_field: str | None = "api_key"
    #: A line that is not the provider's stream protocol (the malformed-SSE fault).
    malformed_stream_line: str = "data: {this is not json"
    #: For providers with EMBEDDINGS: the body of a successful embeddings call.
    embedding_body: Mapping[str, Any] | bytes | None = attrs.field(
        default=None, converter=attrs.converters.optional(_json_bytes)
    )
    #: Path suffix of an embeddings call.
    embedding_path: str = "/embeddings"
    #: The vectors ``embedding_body`` carries, in input order: what ``embed()`` must return.
    embedding_vectors: tuple[tuple[float, ...], ...] = ()

    @property
    def completion_bytes(self) -> bytes:
        """``completion_body`` as bytes."""
        assert isinstance(self.completion_body, bytes)
        return self.completion_body


@attrs.frozen(kw_only=True)
class Loopback:
    """How to point a provider at the suite's local server (real HTTP on ``127.0.0.1``).

    With this, the provider tests also run against
    :class:`~meshkit.testing.mock_server.MockOpenAIServer`, whichever way the provider
    talks HTTP: what reaches the wire is read there, streams are held open there, and
    connections and timeouts are observed there.
    """

    #: The API the provider speaks: the server's OpenAI or Anthropic endpoints.
    wire: Literal["openai", "anthropic"] = "openai"
    #: The config key of the base URL; it gets ``http://127.0.0.1:PORT/v1``.
    base_url_field: str = "base_url"
    #: The config key of the API key, if any; it gets a fake key.
    api_key_field: str | None = "api_key"
    #: The config key of the request timeout (a duration), if the provider has one.
    timeout_field: str | None = "timeout"


@attrs.frozen(kw_only=True)
class Delivered:
    """What an observability connector delivered, each record as a plain mapping.

    Events look like ``RoutingEvent.to_dict()``; log and trace records carry their
    entry's fields (``request``, ``response``, ``usage``, ``severity``, …).
    """

    events: Sequence[Mapping[str, Any]] = ()
    logs: Sequence[Mapping[str, Any]] = ()
    traces: Sequence[Mapping[str, Any]] = ()
    #: Everything the target received as text, when the records were read back from text
    #: (lines on a stream): searched too for what must not be there.
    raw: str = ""
    #: What the spec found wrong with the target as it read it back: a rule of the target
    #: broken (a file past its size limit, a gap in its backups, a batch larger than the
    #: target takes), one sentence each.
    problems: Sequence[str] = ()

    @classmethod
    def of(cls, records: Sequence[Any]) -> Delivered:
        """Sort RoutingEvent / RequestLogEntry / TraceEntry objects into a Delivered."""
        events: list[Mapping[str, Any]] = []
        logs: list[Mapping[str, Any]] = []
        traces: list[Mapping[str, Any]] = []
        for record in records:
            if isinstance(record, RoutingEvent):
                events.append(record.to_dict())
            elif isinstance(record, RequestLogEntry):
                logs.append(to_record(record))
            elif isinstance(record, TraceEntry):
                traces.append(to_record(record))
        return cls(events=events, logs=logs, traces=traces)

    def text(self) -> str:
        """Everything delivered, as one string (to look for what must not be there)."""
        return repr([self.events, self.logs, self.traces]) + self.raw


def to_record(entry: RequestLogEntry | TraceEntry) -> dict[str, Any]:
    """An entry's fields as a shallow dict (nested values kept as they are)."""
    return {a.name: getattr(entry, a.name) for a in attrs.fields(type(entry))}


#: ``collect_delivered(connector)``: what the connector has delivered so far.
Collector = Callable[[Any], Awaitable[Delivered]]
#: ``collect_metrics(connector)``: the samples the connector exposes now.
MetricsCollector = Callable[[Any], Awaitable[Metrics]]
#: ``stall_delivery(connector)``: make the delivery target stuck; returns what unsticks it.
Staller = Callable[[Any], Callable[[], None]]


@attrs.frozen(kw_only=True)
class Options:
    """What a connector's own documentation promises about its options, for the suite to hold it to.

    The interface says nothing of a connector's own settings (a file's size limit, a preset's
    URL); its docs do. ``defaults``: option → the value a config without it gets, as the built
    config holds it. ``accepted``: configs (merged over the spec's) that must build. ``refused``:
    configs that must raise ``ConfigError`` naming ``config.<key>`` of their first key.
    """

    defaults: Mapping[str, Any] = attrs.field(factory=dict)
    accepted: Sequence[Mapping[str, Any]] = ()
    refused: Sequence[Mapping[str, Any]] = ()


@attrs.frozen(kw_only=True)
class ConformanceSpec:
    """How the conformance suite builds, feeds and observes one connector.

    Every field is optional: an empty spec means "build it from its default config".
    """

    #: The connector's config mapping (what would sit under ``config:`` in mesh.yaml).
    config: Mapping[str, Any] = attrs.field(factory=dict)
    #: Builds an instance: ``factory(config, clock=..., [transport=...])``; default: the class.
    factory: Callable[..., Any] | None = None
    #: For HTTP providers: good upstream answers the fault-injecting transport serves.
    http: HTTPPayloads | None = None
    #: Providers: how to point the provider at the suite's local server.
    loopback: Loopback | None = None
    #: Entered around every test, on the test's event loop (start a server, make a temp
    #: folder); the mapping it yields is merged over ``config``.
    setup: Callable[[], AbstractAsyncContextManager[Mapping[str, Any] | None]] | None = None
    #: Persistent storage: a fresh instance over the same data; default: build one from
    #: the same config once the first is closed.
    reopen: Callable[[Any], Any] | None = None
    #: False when the connector measures time on its own instead of the injected clock
    #: (lock TTLs in a server); the fake-clock tests are then skipped.
    uses_injected_clock: bool = True
    #: Secret stores without MANAGEMENT: puts ``{name: value}`` where a fresh instance
    #: reads it, for the duration of the ``with`` block.
    seed_secrets: Callable[[Mapping[str, str]], AbstractContextManager[None]] | None = None
    #: Observability: what the connector has delivered so far (works after ``aclose``).
    collect_delivered: Collector | None = None
    #: Observability with METRICS: the samples it exposes now (read as a scraper would).
    collect_metrics: MetricsCollector | None = None
    #: Observability: make the delivery target stuck; return a function that unsticks it.
    stall_delivery: Staller | None = None
    #: Discovery: ``async (connector, provider_id, models)`` makes ``provider_id`` list the
    #: model names ``models`` from now on, for a connector that reads listings from elsewhere
    #: than the provider (a file); the suite changes the provider's own listing as well.
    change_listing: Callable[[Any, str, Sequence[str]], Awaitable[None]] | None = None
    #: Discovery with a listing source of its own (a file): each ``async (connector)`` breaks
    #: that source in one way (gone, not parseable, the wrong shape) for a fresh connector;
    #: without any, the suite breaks the providers' own listings instead.
    break_listing: Sequence[Callable[[Any], Awaitable[None]]] = ()
    #: Provider: the model named in test requests (default: the provider's choice).
    model: str | None = None
    #: Rotation policies: the policy's own selection rule (``meshkit.testing.rotation_rules``),
    #: which every choice it makes is then checked against.
    rule: SelectionRule | None = None
    #: The anyio backends the connector supports; tests on the others are skipped.
    backends: tuple[str, ...] = ALL_BACKENDS
    #: The connector's documented options: defaults, and values it must accept and refuse.
    options: Options | None = None
    #: Test name (``test_…``) → why it does not apply to this connector.
    skips: Mapping[str, str] = attrs.field(factory=dict)
