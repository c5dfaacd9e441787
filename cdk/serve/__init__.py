"""``meshkit serve``: the mesh behind OpenAI's HTTP API (extra ``meshkit[serve]``).

``build_app(config)`` gives the ASGI app for tests or another server; ``serve(config, overrides)``
runs it on uvicorn, with workers.
"""

from __future__ import annotations

from .app import build_app
from .server import serve, serve_settings

__all__ = ["build_app", "serve", "serve_settings"]
