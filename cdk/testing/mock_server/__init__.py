"""A local OpenAI-compatible (and Anthropic Messages) server for tests, demos and benchmarks.

It runs on ``127.0.0.1`` at a free port, in a background thread with its own asyncio
event loop, so asyncio and trio tests can both talk to it over real HTTP::

    from meshkit.testing.mock_server import Fault, MockOpenAIServer, Reply

    with MockOpenAIServer(models=["small", "large"]) as server:     # or: async with
        server.base_url                     # "http://127.0.0.1:PORT/v1"
        server.script(
            "small",                        # consumed one step per request to that model
            Fault.rate_limit(retry_after=2),
            Fault.status(503),
            Reply("scripted answer"),
        )
        ...                                 # point a provider at server.base_url
        server.requests                     # [RecordedRequest(method, path, headers, json), ...]
        server.wait_for_requests(1)         # block until a request has arrived (e.g. one that hangs)
        server.reset()                      # forget scripts and recorded requests

Endpoints:

- ``POST /v1/chat/completions``: JSON, or ``stream: true`` server-sent events ending in
  ``data: [DONE]``, with a final usage chunk when ``stream_options.include_usage`` is set.
- ``POST /v1/messages``: the Anthropic Messages API (``max_tokens`` and the
  ``anthropic-version`` header required), JSON or its SSE event types.
- ``POST /v1/embeddings``: OpenAI's embeddings API (``input`` a string or a list of strings,
  ``dimensions``, ``encoding_format`` ``float`` or ``base64``); deterministic unit vectors in
  input order (:func:`meshkit.testing.vectors.fake_embedding`) and ``usage.prompt_tokens``.
  Scripted faults apply as for completions.
- Chat requests are checked as the APIs check them: OpenAI content parts (``text``,
  ``image_url``), tools and ``response_format`` (``json_schema`` answers are an object with
  every property of the schema); Anthropic content blocks (``text``, ``image`` with a base64 or
  URL source, ``tool_use`` in assistant turns, ``tool_result`` answering an earlier
  ``tool_use``) and tools with an ``input_schema``. A request that fails a check gets a 400.
- ``GET /v1/models``: the model list, in Anthropic's shape when the request carries an
  ``anthropic-version`` header, OpenAI's otherwise. ``server.script_listing(...)`` scripts it.

Steps (each request to a model takes the next one; with none left, the default reply):

- ``Reply(text=None, *, tool_calls=(), finish_reason=None, usage=None, latency=None, hold_after=None,
  omit=())``; ``tool_calls`` items are ``{"name": ..., "arguments": {...}}``; a stream with
  ``hold_after=n`` sends its first ``n`` content chunks, then waits until ``server.release()``
  before the rest (``server.held`` counts the streams not yet released), so a test can see a
  chunk arrive before the last one is sent; ``omit`` leaves fields out of the answer, of
  each stream event and of an embeddings answer, as some servers do (dotted paths: ``model``,
  ``usage.total_tokens``, ``choices.0.message.role``; ``data.-1`` drops the last vector).
- a :class:`~meshkit.testing.Fault` (the same class the fault transport plays):
  ``Fault.rate_limit(retry_after=None)`` 429 with ``Retry-After`` (seconds or an HTTP date);
  ``Fault.quota()`` the quota-exhausted body; ``Fault.auth()`` 401; ``Fault.context_window()``
  the context-length body; ``Fault.overloaded()`` 503 (529 on the Anthropic endpoint);
  ``Fault.status(code, message=None, *, retry_after=None, body=None)`` any status;
  ``Fault.hang(after=None)`` never answers (or stalls a stream after ``after`` chunks) until
  the client gives up or the server stops; ``Fault.cut_stream(after=2)`` drops the connection
  after ``after`` chunks (a plain response is cut mid-body); ``Fault.malformed()`` a 200 that is
  not the protocol; ``Fault.disconnect()`` closes the connection without answering;
  ``Fault.stream_error(after=1, error="overloaded")`` sends the API's error event mid-stream.

Constructor options: ``models``, ``reply`` (``{model}`` is replaced; default
``"Hello from {model}."``), ``echo`` (answer with the last user message), ``latency``
(seconds, for every model or a ``{model: seconds}`` mapping; ``set_latency`` changes it)
and ``api_key`` (when set, a request without that key gets a 401).

``python -m meshkit.testing.mock_server --port 8000 --models small,large`` serves until
interrupted and prints its base URL first.

Modules: ``scripting`` (steps, latency, recorded requests), ``server`` (the aiohttp app
and its thread), ``openai_wire`` and ``anthropic_wire`` (each API's answers, streams and
errors), ``wire`` (what the two share).
"""

from __future__ import annotations

# aiohttp first: without it there is no server, and importing this package says so at once
# (the demo falls back to in-process providers on that ImportError).
import aiohttp  # noqa: F401

from ..faults import Fault
from .scripting import RecordedRequest, Reply, Step
from .server import MockOpenAIServer

__all__ = ["Fault", "MockOpenAIServer", "RecordedRequest", "Reply", "Step"]
