"""No module of the kit or of the built-in connectors grows past what one idea needs.

A module over the limit holds more than one idea: split it by idea (and add a line per new
module to docs/architecture.md) rather than raising the limit. ``Mesh`` is a thin front that
delegates, so its module has a lower cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FOLDERS = ("cdk", "connectors")

#: The most lines a module may have.
LIMIT = 500

#: Modules held to a lower cap than ``LIMIT``, each with why.
CAPS: dict[str, int] = {
    "cdk/runtime/mesh.py": 400,  # the front: the application API, start and close; the rest delegated
}

#: Modules allowed past ``LIMIT`` for now, each with why. Keep it empty: add one only with a
#: reason, and remove it as soon as its module is split (a test below insists).
ALLOWED: dict[str, str] = {}


def modules(root: Path = REPO) -> list[str]:
    """Every Python module under the checked folders, as a path relative to ``root``."""
    return sorted(
        path.relative_to(root).as_posix() for folder in FOLDERS for path in (root / folder).rglob("*.py")
    )


def lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def oversized(
    root: Path = REPO, *, caps: Mapping[str, int] = CAPS, allowed: Mapping[str, str] = ALLOWED
) -> list[str]:
    """One line per module over its cap (``caps``, else ``LIMIT``) and not ``allowed``."""
    problems = []
    for name in modules(root):
        cap = caps.get(name, LIMIT)
        count = lines(root / name)
        if name not in allowed and count > cap:
            problems.append(f"{name}: {count} lines, over {cap}: split it by idea")
    return problems


def test_no_module_is_over_its_line_limit() -> None:
    problems = oversized()
    assert not problems, "modules too long:\n" + "\n".join(problems)


def test_every_module_named_in_the_lists_exists() -> None:
    # A module renamed or split away must leave the lists too, or its entry would excuse nothing.
    missing = [name for name in sorted({*CAPS, *ALLOWED}) if not (REPO / name).is_file()]
    assert missing == [], f"named in tests/core/test_module_size.py but not in the tree: {missing}"


def test_every_allowed_module_is_still_over_the_limit() -> None:
    # Once a module is split under the limit its allowance goes, so it cannot grow back unseen.
    fitting = [name for name in sorted(ALLOWED) if lines(REPO / name) <= LIMIT]
    assert fitting == [], f"within {LIMIT} lines now, so remove them from ALLOWED: {fitting}"


def test_every_module_of_both_folders_is_counted() -> None:
    names = modules()
    assert {"cdk/runtime/mesh.py", "cdk/types/messages.py", "connectors/providers/anthropic.py"} <= set(names)


# --- the checker itself -----------------------------------------------------------------------


def write(root: Path, name: str, count: int) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x = 1\n" * count, encoding="utf-8")


def test_a_module_one_line_over_the_limit_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "cdk/fits.py", LIMIT)
    write(tmp_path, "connectors/storage/long.py", LIMIT + 1)
    assert oversized(tmp_path, caps={}, allowed={}) == [
        f"connectors/storage/long.py: {LIMIT + 1} lines, over {LIMIT}: split it by idea"
    ]


def test_a_lower_cap_and_an_allowance_each_apply_to_their_module_only(tmp_path: Path) -> None:
    write(tmp_path, "cdk/runtime/mesh.py", 401)
    write(tmp_path, "cdk/big.py", LIMIT + 50)
    write(tmp_path, "cdk/other.py", 450)
    problems = oversized(tmp_path, caps={"cdk/runtime/mesh.py": 400}, allowed={"cdk/big.py": "being split"})
    assert problems == ["cdk/runtime/mesh.py: 401 lines, over 400: split it by idea"]
