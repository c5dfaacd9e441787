"""Running the app on uvicorn: one process or several workers, graceful on SIGTERM.

Workers are separate processes, each with its own mesh; uvicorn imports the app in each of
them from an import string, so the config path and the command-line overrides travel in
environment variables. With shared storage (Redis, ``sync_policy: immediate``) the workers
share one state: a model set aside by one is set aside for all.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import attrs

from ..config import format_duration, structure
from ..runtime.plan import load_config_file
from ..runtime.settings import ServeSettings
from .app import build_app

__all__ = ["app_from_environment", "serve", "serve_settings"]

_CONFIG_VAR = "MESHKIT_SERVE_CONFIG"
_OVERRIDES_VAR = "MESHKIT_SERVE_OVERRIDES"


def serve_settings(config: str | os.PathLike[str], overrides: Mapping[str, Any]) -> ServeSettings:
    """The file's ``serve:`` section with the command-line ``overrides`` applied (ConfigError if bad)."""
    data = load_config_file(config)
    section = dict(data.get("serve") or {}) if isinstance(data, Mapping) else {}
    section.update({k: v for k, v in overrides.items() if v is not None})
    return structure(section, ServeSettings, path="serve", source=os.fspath(config))


def app_from_environment() -> Any:
    """The app uvicorn builds in each worker (``factory=True``), from the environment."""
    config = os.environ[_CONFIG_VAR]
    overrides = json.loads(os.environ.get(_OVERRIDES_VAR, "{}"))
    return build_app(config, settings=serve_settings(config, overrides))


def serve(config: str | os.PathLike[str], overrides: Mapping[str, Any]) -> None:
    """Serve until SIGINT/SIGTERM; in-flight requests get ``grace_period`` to finish."""
    import uvicorn

    settings = serve_settings(config, overrides)
    build_app(config, settings=settings)  # a bad config stops here, before any worker starts
    os.environ[_CONFIG_VAR] = os.fspath(config)
    os.environ[_OVERRIDES_VAR] = json.dumps(
        {k: format_duration(v) if k == "grace_period" else v for k, v in attrs.asdict(settings).items()}
    )
    uvicorn.run(
        "meshkit.serve.server:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers if settings.workers > 1 else None,
        timeout_graceful_shutdown=int(settings.grace_period.total_seconds()) or 1,
        log_level="info",
        access_log=False,
    )
