"""``python -m meshkit.testing.mock_server``: serve until interrupted, printing the base URL first."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Sequence

from .server import MockOpenAIServer

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until interrupted; print the base URL first (for benchmarks and demos)."""
    parser = argparse.ArgumentParser(prog="python -m meshkit.testing.mock_server")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    parser.add_argument("--models", default="small,large", help="comma-separated model names")
    parser.add_argument("--reply", default="Hello from {model}.", help="the default reply")
    args = parser.parse_args(argv)
    server = MockOpenAIServer(
        models=[m for m in args.models.split(",") if m], reply=args.reply, port=args.port
    )
    with server:
        print(server.base_url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
