"""``meshkit.callback.v1``: hands every event, log, trace and report to a Python callable."""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from meshkit import ConfigError, RequestLogEntry, RoutingEvent, TraceEntry
from meshkit.interfaces import Observability, ObservabilityConfig, redact, redact_entry, redact_text

from ._kinds import Kind, all_kinds

logger = logging.getLogger("meshkit.observability")

Callback = Callable[[Any], object]


def _check_path(path: str) -> None:
    # Resolved while the config is built, so a mesh reports a bad path before anything starts.
    if path:
        resolve_callable(path)


@attrs.frozen(kw_only=True)
class CallbackConfig(ObservabilityConfig):
    """Which callable, and what it receives."""

    #: ``package.module:function`` (or ``package.module.function``); code may pass ``callback=`` instead.
    callback: str = attrs.field(default="", validator=lambda _, __, value: _check_path(value))
    #: Which records are passed on: any of ``event``, ``log``, ``trace``, ``report``.
    kinds: list[Kind] = attrs.field(factory=all_kinds)


class CallbackObservability(Observability[CallbackConfig]):
    """Calls ``callback(record)`` synchronously, in the router's task.

    ``record`` is a :class:`RoutingEvent`, a :class:`RequestLogEntry` (trimmed to the
    log level), a :class:`TraceEntry` or, for a report, the statistics mapping; each
    is a copy with secrets masked. The callable must return quickly and must not be
    a coroutine function. An exception it raises is logged, counted in ``errors`` and
    never reaches the router.
    """

    connector_id = "meshkit.callback.v1"
    description = "Calls a Python function for each event, log and trace"
    Config = CallbackConfig

    def __init__(self, config: Any = None, *, callback: Callback | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        if callback is None:
            if not self.config.callback:
                raise ConfigError(
                    "config.callback: required: a 'package.module:function' path (or pass callback= in code)",
                    source=self.connector_id,
                )
            callback = resolve_callable(self.config.callback)
        _check_callable(callback, self.connector_id)
        self.callback: Callback = callback
        self.errors = 0
        self._kinds = frozenset(self.config.kinds)

    def handle_event(self, event: RoutingEvent) -> None:
        if "event" in self._kinds:
            self._call(lambda: attrs.evolve(event, metadata=redact(event.metadata)))

    def handle_log(self, entry: RequestLogEntry) -> None:
        if "log" in self._kinds:
            self._call(lambda: redact_entry(entry))

    def handle_trace(self, entry: TraceEntry) -> None:
        if "trace" in self._kinds:
            self._call(
                lambda: attrs.evolve(
                    entry, message=redact_text(entry.message), metadata=redact(entry.metadata)
                )
            )

    def handle_report(self, stats: Mapping[str, Any]) -> None:
        if "report" in self._kinds:
            self._call(lambda: redact(stats))

    def _call(self, make_record: Callable[[], Any]) -> None:
        try:
            result = self.callback(make_record())
            if inspect.isawaitable(result):
                # Nobody would await it; close it so Python does not warn, and say why.
                getattr(result, "close", lambda: None)()
                raise TypeError("the callback returned an awaitable; it must be a plain function")
        except Exception:
            self.errors += 1
            logger.exception(
                "%s: the callback %s raised; the router goes on", self.name, _describe(self.callback)
            )


def resolve_callable(path: str) -> Callback:
    """Import ``module:attr`` (or ``module.attr``) and return the plain function it names.

    Raises ValueError as ``callback: <what is wrong>``, which the config machinery reports
    at the field's path (``observability.connectors[0].config.callback: ...``).
    """
    module_name, sep, attr_path = path.partition(":")
    if not sep:
        module_name, _, attr_path = path.rpartition(".")
    if not module_name or not attr_path:
        raise ValueError(f"callback: expected 'package.module:function', got {path!r}")
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise ValueError(
            f"callback: cannot import module {module_name!r}: {type(exc).__name__}: {exc}"
        ) from None
    for part in attr_path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ValueError(f"callback: {module_name!r} has no attribute {attr_path!r}") from None
    if not callable(target):
        raise ValueError(f"callback: {path!r} is a {type(target).__name__}, not a callable")
    if _is_coroutine_function(target):
        raise ValueError(f"callback: {path!r} is a coroutine function; {_SYNC_ONLY}")
    return target  # type: ignore[no-any-return]


_SYNC_ONLY = (
    "the callback is called synchronously from the router and must return at once "
    "(use the webhook or a buffered sink for async delivery)"
)


def _is_coroutine_function(callback: object) -> bool:
    dunder_call = type(callback).__dict__.get("__call__")  # an instance whose __call__ is async
    return inspect.iscoroutinefunction(callback) or inspect.iscoroutinefunction(dunder_call)


def _check_callable(callback: object, source: str) -> None:
    if not callable(callback):
        raise ConfigError(f"callback: expected a callable, got {type(callback).__name__}", source=source)
    if _is_coroutine_function(callback):
        raise ConfigError(
            f"callback: {_describe(callback)} is a coroutine function; {_SYNC_ONLY}", source=source
        )


def _describe(callback: object) -> str:
    module = getattr(callback, "__module__", None)
    name = getattr(callback, "__qualname__", None) or type(callback).__name__
    return f"{module}:{name}" if module else str(name)
