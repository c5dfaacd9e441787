"""Parts of a routed request switched off one at a time, to see what each costs (``--without``).

A part switched off does nothing (or hands back what it would have made the first time), so a
measurement without it differs from the full one by what the part costs. The answers stay right
for the bench's own requests only: this is for measuring, never for serving.
"""

from __future__ import annotations

from typing import Any

#: What each part is, for ``--help``.
PARTS = {
    "front": "mesh.complete()'s checks and the request it builds (built once, then reused)",
    "begin": "counting a call's start (Outcomes.begin)",
    "succeeded": "counting a success, its caps check included (Outcomes.succeeded)",
    "caps": "the caps and budgets check after a success (CapGuard.enforce)",
    "select": "the selection: the pool's members, the snapshots, the policy (the first member instead)",
}


def switch_off(parts: list[str]) -> None:
    """Replace each of ``parts`` with a stand-in that does nothing, in this process."""
    from meshkit.runtime import caps, mesh, outcomes, pool

    for part in parts:
        if part == "front":
            build = mesh.completion_request
            built: dict[tuple[int, tuple[Any, ...]], Any] = {}

            def once(
                messages: Any, deadline: Any, params: Any, build: Any = build, built: Any = built
            ) -> Any:
                key = (id(messages), tuple(params.items()))
                if key not in built:
                    built[key] = build(messages, deadline, params)
                return built[key]

            mesh.completion_request = once  # type: ignore[assignment]
        elif part == "begin":
            outcomes.Outcomes.begin = lambda self, model_id: None  # type: ignore[method-assign]
        elif part == "succeeded":
            outcomes.Outcomes.succeeded = lambda self, *a, **k: None  # type: ignore[method-assign]
        elif part == "caps":
            caps.CapGuard.enforce = lambda self, *a, **k: None  # type: ignore[method-assign]
        elif part == "select":

            def first(self: Any, lifecycle: Any, request: Any, exclude: Any = (), **_: Any) -> Any:
                return None if exclude else self.members[0]

            pool.Pool.select = first  # type: ignore[method-assign]
        else:
            raise ValueError(f"unknown part {part!r}; choose from {sorted(PARTS)}")
