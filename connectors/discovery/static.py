"""``meshkit.static.v1``: a fixed catalogue, and health from each provider's own probe."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import anyio
import attrs
import yaml

from meshkit import ConfigError, DiscoveryFeature, HealthReport, ModelInfo, ProbeResult, SyncResult
from meshkit.interfaces import Discovery, check, format_duration

from ._calls import CallTimedOut, call_with_timeout
from ._results import failed_probe, sync_result, unknown_provider_probe


@attrs.frozen(kw_only=True)
class StaticModel:
    """A model as the catalogue states it: its name and, when known, what it can take."""

    name: str = attrs.field(validator=check(bool, "a model name"))
    context_window: int | None = attrs.field(
        default=None, validator=check(lambda v: v is None or v > 0, "a positive number of tokens")
    )
    max_output_tokens: int | None = attrs.field(
        default=None, validator=check(lambda v: v is None or v > 0, "a positive number of tokens")
    )
    capabilities: list[str] = attrs.field(factory=list)

    def info(self, provider_id: str) -> ModelInfo:
        """The model as a sync reports it."""
        return ModelInfo(
            id=self.name,
            provider_id=provider_id,
            context_window=self.context_window,
            max_output_tokens=self.max_output_tokens,
            capabilities=tuple(self.capabilities),
        )


@attrs.frozen(kw_only=True)
class StaticDiscoveryConfig:
    """``models`` maps a provider id to the models it is known to offer (names, or mappings
    that also state a context window, output limit or capabilities); a probe that has not
    answered within ``timeout`` fails."""

    models: dict[str, list[StaticModel]] = attrs.field(factory=dict)
    #: A YAML (or JSON) file of the same shape as ``models``, read again at every sync, so an
    #: edit takes effect without a restart; a provider it lists takes its list from there.
    models_file: str | None = None
    timeout: timedelta = attrs.field(
        default=timedelta(seconds=10), validator=check(lambda v: v > timedelta(0), "a duration above 0")
    )


class StaticDiscovery(Discovery[StaticDiscoveryConfig]):
    """Reports the configured model lists as the providers' catalogues; probes on demand."""

    connector_id = "meshkit.static.v1"
    Config = StaticDiscoveryConfig
    features = frozenset({DiscoveryFeature.SYNC, DiscoveryFeature.HEALTH})
    description = "Fixed model lists from config; health from provider probes"

    @classmethod
    def build_config(cls, config: Any, *, path: str = "config") -> Any:
        """As for any connector, with a bare model name standing for ``{name: ...}``."""
        if isinstance(config, Mapping) and isinstance(config.get("models"), Mapping):
            models = {
                provider: [{"name": m} if isinstance(m, str) else m for m in names]
                if isinstance(names, list)
                else names
                for provider, names in config["models"].items()
            }
            config = {**config, "models": models}
        return super().build_config(config, path=path)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._last: dict[str, ProbeResult] = {}
        self._checks: dict[str, tuple[int, int, int]] = {}  # ok, total, consecutive failures
        file = self.config.models_file
        self._models_file = anyio.Path(os.path.expanduser(file)) if file is not None else None

    async def sync(self, provider_ids: Sequence[str] | None = None) -> SyncResult:
        try:
            configured = {**self.config.models, **await self._read_models_file()}
        except (OSError, ValueError, yaml.YAMLError, ConfigError) as exc:
            # Nothing is known of any provider then: report them all, retire nothing.
            names = list(provider_ids) if provider_ids is not None else sorted(self.config.models)
            error = f"cannot read models_file {self.config.models_file}: {exc}"
            return sync_result(names, {}, self.context.catalogue(), errors=dict.fromkeys(names, error))
        names = list(provider_ids) if provider_ids is not None else sorted(configured)
        listed: dict[str, list[ModelInfo]] = {}
        errors: dict[str, str] = {}
        for provider_id in names:
            if provider_id in configured:
                listed[provider_id] = [m.info(provider_id) for m in configured[provider_id]]
            else:
                errors[provider_id] = "no models configured for this provider"
        return sync_result(names, listed, self.context.catalogue(), errors=errors)

    async def _read_models_file(self) -> dict[str, list[StaticModel]]:
        if self._models_file is None:
            return {}
        text = await self._models_file.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        if data is None:
            return {}
        if not isinstance(data, Mapping):
            raise ValueError(f"expected a mapping of provider ids to models, got {type(data).__name__}")
        models: dict[str, list[StaticModel]] = self.build_config({"models": data}, path="").models
        return models

    async def probe(self, provider_id: str) -> ProbeResult:
        provider = self.context.providers.get(provider_id)
        if provider is None:
            result = unknown_provider_probe(provider_id, self.clock.now())
        else:
            try:
                result = await call_with_timeout(
                    self.clock, self.config.timeout.total_seconds(), provider.probe
                )
            except CallTimedOut:
                error = f"probe timed out after {format_duration(self.config.timeout)}"
                result = failed_probe(provider_id, self.clock.now(), error)
            except Exception as exc:  # probes report, they do not raise
                error = provider.redact(f"{type(exc).__name__}: {exc}")
                result = failed_probe(provider_id, self.clock.now(), error)
            result = attrs.evolve(result, provider_id=provider_id)
        ok, total, failures = self._checks.get(provider_id, (0, 0, 0))
        self._checks[provider_id] = (ok + result.ok, total + 1, 0 if result.ok else failures + 1)
        self._last[provider_id] = result
        return result

    async def health(self, provider_id: str | None = None) -> list[HealthReport]:
        ids = [provider_id] if provider_id is not None else sorted(self.context.providers)
        reports = []
        for pid in ids:
            last = self._last.get(pid)
            ok, total, failures = self._checks.get(pid, (0, 0, 0))
            reports.append(
                HealthReport(
                    provider_id=pid,
                    available=last.ok if last else True,
                    availability=ok / total if total else 1.0,
                    consecutive_failures=failures,
                    latency_ms=last.latency_ms if last else None,
                    last_checked=last.checked_at if last else None,
                    last_error=last.error if last else None,
                )
            )
        return reports
