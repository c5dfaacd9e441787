"""``meshkit chat "question"``: one prompt through a mesh, the answer streamed as it comes.

The answer goes to stdout; which model answered and what it cost go to stderr, so
``meshkit chat "..." > answer.txt`` keeps only the answer. Text piped in is the prompt (or
comes before the question: ``cat notes.txt | meshkit chat "summarise this"``). Without
``--config``, the mesh is built from the API keys in the environment.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ._common import Subparsers

if TYPE_CHECKING:
    from ..runtime.sync_mesh import SyncMesh
    from ..types import TokenUsage

__all__ = ["add_parser", "run"]


def add_parser(sub: Subparsers) -> None:
    """Add ``chat`` to the ``meshkit`` subcommands."""
    p = sub.add_parser(
        "chat",
        help="send one prompt and stream the answer (from the API keys set, or --config)",
        description="Send one prompt through a mesh and stream the answer; stdin is read as input.",
    )
    p.add_argument("question", nargs="?", help="the prompt; '-' or nothing reads it from stdin")
    p.add_argument("--model", "-m", default="chat", help="a pool, capability or model id (default: chat)")
    p.add_argument("--config", "-c", help="mesh.yaml (default: built from the API keys in the environment)")
    p.add_argument("--system", "-s", help="a system message to send first")
    p.set_defaults(func=run)


def prompt_of(question: str | None, stdin: str | None) -> str:
    """The prompt: the question, the piped text, or the piped text followed by the question."""
    parts = [p.strip() for p in (stdin, None if question == "-" else question) if p and p.strip()]
    return "\n\n".join(parts)


def run(args: argparse.Namespace) -> int:
    """Stream one answer; exit 2 on a configuration problem, 1 when no model could answer."""
    from ..errors import ConfigError, MeshkitError

    piped = None if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    prompt = prompt_of(args.question, piped)
    if not prompt:
        hint = 'give a question (meshkit chat "hi") or pipe one in'
        print(f"meshkit chat: nothing to ask; {hint}", file=sys.stderr)
        return 2
    messages = [{"role": "user", "content": prompt}]
    if args.system:
        messages.insert(0, {"role": "system", "content": args.system})
    try:
        mesh = _mesh(args.config)
    except ConfigError as exc:
        print(f"meshkit: {exc}", file=sys.stderr)
        return 2
    try:
        with mesh:
            return _stream(mesh, args.model, messages)
    except ConfigError as exc:
        print(f"meshkit: {exc}", file=sys.stderr)
        return 2
    except MeshkitError as exc:
        print(f"\nmeshkit: {exc}", file=sys.stderr)
        return 1


def _mesh(config: str | None) -> SyncMesh:
    from ..runtime.sync_mesh import SyncMesh

    return SyncMesh.from_config(config) if config else SyncMesh.from_env()


def _stream(mesh: SyncMesh, target: str, messages: list[dict[str, str]]) -> int:
    model = None
    usage = None
    ended_with_newline = True
    for chunk in mesh.stream(model=target, messages=messages):
        model = chunk.model or model
        usage = chunk.usage or usage
        if chunk.text:
            sys.stdout.write(chunk.text)
            sys.stdout.flush()
            ended_with_newline = chunk.text.endswith("\n")
    if not ended_with_newline:
        sys.stdout.write("\n")
        sys.stdout.flush()
    print(f"-- {footer(mesh, model, usage)}", file=sys.stderr)
    return 0


def footer(mesh: SyncMesh, model: str | None, usage: TokenUsage | None) -> str:
    """``answered by openai.gpt-4.1-mini · 9 tokens · $0.000012``."""
    parts = [f"answered by {model or 'an unknown model'}"]
    entry = mesh.mesh.entries.get(model) if model else None
    if usage is None:
        parts.append("tokens and cost unknown (the provider reported no usage)")
        return " · ".join(parts)
    parts.append(f"{usage.total_tokens} tokens ({usage.prompt_tokens} in, {usage.completion_tokens} out)")
    pricing = entry.pricing if entry is not None else None
    if pricing is None:
        parts.append("cost unknown (no pricing configured for this model)")
    else:
        parts.append(f"{pricing.currency} {pricing.cost(usage):.6f}".replace("USD ", "$"))
    return " · ".join(parts)
