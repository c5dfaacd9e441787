"""What the mock server is told to do and what it saw: scripted steps, latency, recorded requests.

All of it is shared between the test's thread and the server's thread, behind one lock.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ..faults import Fault
from .wire import Answer, WireFormat

__all__ = ["RecordedRequest", "Reply", "Script", "Step"]


@attrs.frozen
class Reply:
    """A scripted answer: text and/or tool calls (``{"name": ..., "arguments": {...}}``)."""

    text: str | None = None
    tool_calls: Sequence[Mapping[str, Any]] = attrs.field(default=(), kw_only=True)
    finish_reason: str | None = attrs.field(default=None, kw_only=True)
    usage: Mapping[str, int] | None = attrs.field(default=None, kw_only=True)
    latency: float | None = attrs.field(default=None, kw_only=True)
    #: In a stream: send this many content chunks, then wait for ``server.release()``.
    hold_after: int | None = attrs.field(default=None, kw_only=True)
    #: Fields left out of the answer (each stream event, each embeddings answer), as dotted
    #: paths: ``model``, ``usage.total_tokens``, ``choices.0.message.role``, ``data.-1``. A path
    #: the wire format does not have is ignored.
    omit: Sequence[str] = attrs.field(default=(), kw_only=True)
    #: In a stream: write each field as ``data:{...}``, without the space the format makes
    #: optional (some servers leave it out), and open with a ``: comment`` line.
    compact_sse: bool = attrs.field(default=False, kw_only=True)


Step = Reply | Fault


@attrs.frozen
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    headers: Mapping[str, str]
    json: Any


class Script:
    """The scripts, latencies and recorded requests of one server (thread-safe)."""

    def __init__(
        self,
        models: Sequence[str],
        *,
        reply: str,
        echo: bool,
        latency: float | Mapping[str, float],
    ) -> None:
        self.models = list(models)
        self.reply = reply
        self.echo = echo
        self._initial_latency = latency
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._scripts: dict[str, deque[Step]] = {}
        self._listing_script: deque[Fault] = deque()
        self._requests: list[RecordedRequest] = []
        self._latency: dict[str, float] = {}
        self._default_latency = 0.0
        self._apply_initial_latency()
        self._ids = 0
        self._held = 0

    # --- the test's side -------------------------------------------------------------

    def script(self, model: str, *steps: Step) -> None:
        """Queue steps for ``model``; each request to it takes the next one."""
        for step in steps:
            if not isinstance(step, Reply | Fault):
                raise TypeError(f"script({model!r}): expected Reply or Fault steps, got {step!r}")
        with self._lock:
            self._scripts.setdefault(model, deque()).extend(steps)

    def script_listing(self, *steps: Fault) -> None:
        """Queue faults for ``GET /v1/models``; each listing takes the next one."""
        with self._lock:
            self._listing_script.extend(steps)

    def set_latency(self, model: str | None, seconds: float) -> None:
        """Delay every answer for ``model`` (``None``: every model) by ``seconds``."""
        with self._lock:
            if model is None:
                self._default_latency = seconds
            else:
                self._latency[model] = seconds

    def pending(self, model: str) -> int:
        """How many scripted steps ``model`` has left."""
        with self._lock:
            return len(self._scripts.get(model, ()))

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> bool:
        """Block until ``count`` requests have arrived in total; False if ``timeout`` passes first."""
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self._requests) >= count, timeout)

    @property
    def held(self) -> int:
        """How many streams held by ``Reply(hold_after=...)`` wait for ``release()`` (or will)."""
        with self._lock:
            return self._held

    @property
    def requests(self) -> list[RecordedRequest]:
        """What the server received, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forget scripts, recorded requests and latency changes."""
        with self._lock:
            self._scripts.clear()
            self._listing_script.clear()
            self._requests.clear()
            self._latency.clear()
            self._default_latency = 0.0
            self._apply_initial_latency()

    def _apply_initial_latency(self) -> None:
        if isinstance(self._initial_latency, Mapping):
            self._latency.update(self._initial_latency)
        else:
            self._default_latency = float(self._initial_latency)

    # --- the server's side -----------------------------------------------------------

    def record(self, request: RecordedRequest) -> None:
        """Remember a request and wake whoever waits for it."""
        with self._arrived:
            self._requests.append(request)
            self._arrived.notify_all()

    def count_held(self, change: int) -> None:
        """A held stream began (+1) or was let go (-1)."""
        with self._lock:
            self._held += change

    def next_step(self, model: str) -> Step | None:
        """The next scripted step for ``model``, if any."""
        with self._lock:
            queue = self._scripts.get(model)
            return queue.popleft() if queue else None

    def next_listing_step(self) -> Fault | None:
        """The next scripted fault for the model listing, if any."""
        with self._lock:
            return self._listing_script.popleft() if self._listing_script else None

    def latency_for(self, model: str) -> float:
        """How long answers for ``model`` are delayed."""
        with self._lock:
            return self._latency.get(model, self._default_latency)

    def next_id(self, prefix: str) -> str:
        """A fresh id with ``prefix``."""
        with self._lock:
            self._ids += 1
            return f"{prefix}{self._ids}"

    def answer(self, step: Reply | None, model: str, body: Mapping[str, Any], wire: WireFormat) -> Answer:
        """What to answer a request for ``model``: the step's reply, the echo or the default reply.

        Stop sequences and ``max_tokens`` are honoured the way the APIs do: the text ends
        before the first stop sequence, and is cut to ``max_tokens`` words (``length``).
        """
        messages = body.get("messages") or []
        if step is not None and (step.text is not None or step.tool_calls):
            text = step.text or ""
        elif self.echo:
            users = [
                text_of(m.get("content")) for m in messages if isinstance(m, dict) and m.get("role") == "user"
            ]
            text = users[-1] if users else ""
        else:
            text = self.reply.replace("{model}", model)
            schema = json_schema_of(body)
            if schema is not None:
                text = json.dumps(sample_of(schema, text))
            elif wants_json(body):
                text = json.dumps({"model": model, "reply": text})
        finish = "stop"
        stops = body.get(wire.stop_field)
        if isinstance(stops, str):
            stops = [stops]
        for stop in stops or []:
            if isinstance(stop, str) and stop and stop in text:
                text = text[: text.index(stop)]
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        words = text.split(" ") if text else []
        if isinstance(limit, int) and 0 < limit < len(words):
            text = " ".join(words[:limit])
            finish = "length"
        tool_calls = [
            {
                "id": self.next_id(wire.call_prefix),
                "name": str(call["name"]),
                "arguments": call.get("arguments", {}),
            }
            for call in (step.tool_calls if step is not None else ())
        ]
        if tool_calls:
            finish = "tool_calls"
        if step is not None and step.finish_reason is not None:
            finish = step.finish_reason
        prompt = max(1, sum(len(text_of(m.get("content"))) for m in messages if isinstance(m, dict)) // 4)
        completion = max(1, len(text.split())) if text or not tool_calls else len(tool_calls) * 8
        usage = {"prompt_tokens": prompt, "completion_tokens": completion}
        if step is not None and step.usage is not None:
            usage.update(step.usage)
        return Answer(
            id=self.next_id(wire.id_prefix),
            model=model,
            text=text,
            tool_calls=tool_calls,
            finish_reason=finish,
            prompt_tokens=usage["prompt_tokens"],
            completion_tokens=usage["completion_tokens"],
        )

    def fault_answer(self, model: str, wire: WireFormat) -> Answer:
        """The eight-word answer a stream fault starts (and cuts short)."""
        return Answer(
            id=self.next_id(wire.id_prefix),
            model=model,
            text=" ".join(f"word{i}" for i in range(1, 9)),
            tool_calls=[],
            finish_reason="stop",
            prompt_tokens=1,
            completion_tokens=8,
        )


def without(body: dict[str, Any], paths: Sequence[str]) -> dict[str, Any]:
    """``body`` with each dotted path in ``paths`` removed (``choices.0.message.role``; a number
    is a list index, ``-1`` the last item); paths it does not have are ignored."""
    for path in paths:
        *parents, last = path.split(".")
        node: Any = body
        for name in parents:
            node = _child(node, name)
        if isinstance(node, dict):
            node.pop(last, None)
        elif isinstance(node, list) and _child(node, last) is not None:
            node.pop(int(last))
    return body


def _child(node: Any, name: str) -> Any:
    if isinstance(node, dict):
        return node.get(name)
    if isinstance(node, list):
        try:
            return node[int(name)]
        except (ValueError, IndexError):
            return None
    return None


def without_in_events(events: list[str], paths: Sequence[str]) -> list[str]:
    """Server-sent ``events`` with ``paths`` removed from the JSON each one carries."""
    if not paths:
        return events
    out = []
    for event in events:
        lines = []
        for line in event.split("\n"):
            if line.startswith("data: ") and line[6:].startswith("{"):
                line = "data: " + json.dumps(without(json.loads(line[6:]), paths))
            lines.append(line)
        out.append("\n".join(lines))
    return out


def compact_events(events: list[str]) -> list[str]:
    """Server-sent ``events`` as a terse server writes them: no space after a field's colon,
    and a comment first (which a reader must skip)."""
    compact = [re.sub(r"^(data|event|id): ", r"\1:", event, flags=re.MULTILINE) for event in events]
    return [": the stream starts\n\n", *compact]


def text_of(content: Any) -> str:
    """The text of a message's content (a string, or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def json_schema_of(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The schema of a ``response_format`` of type ``json_schema``, or None."""
    fmt = body.get("response_format")
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return None
    spec = fmt.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    return schema if isinstance(schema, dict) else {}


def sample_of(schema: Mapping[str, Any], text: str) -> Any:
    """A value that fits a JSON schema's ``type`` (objects with every property); strings are ``text``."""
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {name: sample_of(sub if isinstance(sub, dict) else {}, text) for name, sub in props.items()}
    if kind == "array":
        items = schema.get("items")
        return [sample_of(items if isinstance(items, dict) else {}, text)]
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if schema.get("enum"):
        return schema["enum"][0]
    return text


def wants_json(body: Mapping[str, Any]) -> bool:
    """Whether the request asks for JSON output."""
    fmt = body.get("response_format")
    return isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema")
