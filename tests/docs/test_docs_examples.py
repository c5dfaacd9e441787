"""Every Python and YAML example in README.md and docs/ runs or loads.

How a page's examples are run (the conventions are also stated in docs/architecture.md):

- A ```` ```yaml ```` block must parse. When it is a mesh configuration (its top-level keys
  are configuration sections) it must also pass the configuration check: a fragment that
  names no providers or models is checked on top of one local provider and model.
- A ```` ```yaml ```` block whose first line is ``# <file>.yaml`` is also written to that file
  in the page's working folder, for the Python examples after it; so is a ```` ```python ````
  block whose first line is ``# <path>.py`` (``# myapp/monitoring.py``), which also makes that
  module importable while the page's YAML is checked.
- A ```` ```python ```` block runs in a fresh interpreter, in the page's working folder, after
  the page's setup (an HTML comment ``<!-- docs-setup ... -->`` holding Python, hidden from
  readers). Top-level ``await`` is allowed in fragments, as in a notebook; the README and the
  application guide hold whole programs.
- A local OpenAI- and Anthropic-compatible server answers: ``http://127.0.0.1:8000/v1`` in an
  example means that server, and ``OPENAI_API_KEY``/``OPENAI_BASE_URL`` (and Anthropic's) point
  at it, so ``from_env()`` examples run too.
- ``<!-- not-run: why -->`` on the line before a block skips it; only for an example that needs
  a service the test cannot stand in for (a hosted API, a collector), and the reason is shown.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml

from meshkit.plugins import get_registry
from meshkit.runtime.plan import make_plan
from meshkit.runtime.settings import MeshSettings
from meshkit.testing.mock_server import MockOpenAIServer

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
#: Pages whose Python examples must be whole programs, pasteable into a file as they are.
WHOLE_PROGRAMS = {"README.md", "docs/application.md"}
LOCAL_URL = "http://127.0.0.1:8000/v1"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.S | re.M)
NOT_RUN = re.compile(r"<!--\s*not-run:?\s*(.*?)\s*-->\s*$", re.S)
SETUP = re.compile(r"<!--\s*docs-setup\s*\n(.*?)-->", re.S)
SECTIONS = {f.alias or f.name for f in attrs.fields(MeshSettings)}
BASE = {
    "providers": {"local": {"connector": "mock", "config": {"models": ["small", "large"]}}},
    "models": {"local.small": {"provider": "local"}, "local.large": {"provider": "local"}},
}
MODELS = [
    "small",
    "large",
    "gpt-4.1-mini",
    "gpt-4o-mini",
    "text-embedding-3-small",
    "claude-haiku-4-5",
    "claude-3-5-haiku-latest",
]


#: Examples that do not run yet, by page and a piece of their code, with why. Each is a strict
#: xfail: fixing the example makes its test pass, and the entry must then go.
NOT_YET: dict[tuple[str, str], str] = {}


@attrs.frozen
class Example:
    page: str
    line: int
    language: str
    code: str
    skip: str | None  # the reason, when marked not-run

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def examples() -> list[Example]:
    found = []
    for path in PAGES:
        text = path.read_text(encoding="utf-8")
        page = str(path.relative_to(ROOT))
        for match in FENCE.finditer(text):
            language = match.group(1).lower()
            if language not in ("python", "yaml", "yml"):
                continue
            before = text[: match.start()].rstrip().rsplit("\n", 1)[-1]
            marker = NOT_RUN.search(before)
            line = text.count("\n", 0, match.start()) + 1
            found.append(
                Example(
                    page=page,
                    line=line,
                    language="yaml" if language == "yml" else language,
                    code=match.group(2),
                    skip=marker.group(1) if marker else None,
                )
            )
    return found


ALL = examples()


def by_language(language: str) -> list[Any]:
    params = []
    for e in ALL:
        if e.language != language:
            continue
        why = next((r for (page, bit), r in NOT_YET.items() if page == e.page and bit in e.code), None)
        marks = [pytest.mark.xfail(reason=why, strict=True)] if why else []
        params.append(pytest.param(e, id=e.id, marks=marks))
    return params


def test_examples_are_found_on_every_page_that_has_them() -> None:
    pages = {e.page for e in ALL}
    assert "README.md" in pages and "docs/quickstart.md" in pages
    assert sum(e.language == "python" for e in ALL) >= 10


def test_a_skipped_example_says_why() -> None:
    unexplained = [e.id for e in ALL if e.skip is not None and len(e.skip) < 10]
    assert not unexplained, f"`<!-- not-run: ... -->` needs a reason (what service it needs): {unexplained}"


@pytest.mark.parametrize("example", by_language("yaml"))
def test_yaml_example_loads(example: Example, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if example.skip is not None:
        pytest.skip(example.skip)
    try:
        data = yaml.safe_load(example.code)
    except yaml.YAMLError as exc:
        pytest.fail(f"{example.id}: not valid YAML: {exc}")
    if not isinstance(data, dict) or not data or not set(data) <= SECTIONS:
        return  # YAML that is not a mesh configuration (a workflow, a template answer file)
    # The page's own modules (a callback the configuration names) are importable during the check.
    modules = {name: code for name, code in page_files(example.page).items() if name.endswith(".py")}
    for name, code in modules.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(code, encoding="utf-8")
    if modules:
        monkeypatch.syspath_prepend(str(tmp_path))
    roots = {name.split("/")[0].removesuffix(".py") for name in modules}
    try:
        make_plan(completed(data), get_registry(), source=example.id)
    finally:
        for loaded in [m for m in sys.modules if m.split(".")[0] in roots]:
            del sys.modules[loaded]  # another page may have a module of the same name


def completed(data: dict[str, Any]) -> dict[str, Any]:
    """A fragment made whole: the providers and models it names but does not define, as mock ones.

    A page about a rotation policy shows only its pool; the models it lists are checked for
    their shape, not looked up.
    """
    config = copy.deepcopy(data)
    if "providers" not in config and "models" not in config:
        config = {**copy.deepcopy(BASE), **config}
    providers = config.setdefault("providers", {})
    models = config.setdefault("models", {})
    for pool in (config.get("pools") or {}).values():
        for model_id in (pool or {}).get("models") or ():
            models.setdefault(model_id, {"provider": model_id.split(".", 1)[0]})
    for model in models.values():
        if isinstance(model, dict) and model.get("provider") not in providers:
            providers[model["provider"]] = {"connector": "mock", "config": {}}
    if not models:
        config["models"] = copy.deepcopy(BASE["models"])
        providers.setdefault("local", copy.deepcopy(BASE["providers"]["local"]))
    return config


@pytest.fixture(scope="module")
def server() -> Iterator[MockOpenAIServer]:
    with MockOpenAIServer(models=MODELS) as running:
        yield running


FILE_NAMES = {"yaml": re.compile(r"[\w.-]+\.ya?ml"), "python": re.compile(r"(?:\w+/)*\w+\.py")}


def page_files(page: str) -> dict[str, str]:
    """The ``# <file>.yaml`` YAML blocks and ``# <path>.py`` Python blocks of ``page``, by name."""
    files = {}
    for e in ALL:
        if e.page == page and e.language in FILE_NAMES:
            first = e.code.split("\n", 1)[0].strip()
            name = first.removeprefix("#").strip()
            if first.startswith("#") and FILE_NAMES[e.language].fullmatch(name):
                files[name] = e.code
    return files


def page_setup(page: str) -> str:
    text = (ROOT / page).read_text(encoding="utf-8")
    return "\n".join(textwrap.dedent(m.group(1)) for m in SETUP.finditer(text))


RUNNER = """
import ast, asyncio, sys
source = open(sys.argv[1], encoding="utf-8").read()
code = compile(source, sys.argv[2], "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
namespace = {"__name__": "__main__"}
result = eval(code, namespace)
if asyncio.iscoroutine(result):
    asyncio.run(result)
"""


@pytest.mark.slow
@pytest.mark.parametrize("example", by_language("python"))
def test_python_example_runs(example: Example, server: MockOpenAIServer, tmp_path: Path) -> None:
    if example.skip is not None:
        pytest.skip(example.skip)
    local = server.base_url
    if example.page in WHOLE_PROGRAMS:
        try:
            compile(example.code, example.id, "exec")
        except SyntaxError as exc:
            pytest.fail(f"{example.id}: not a whole program ({exc.msg}); wrap awaits in asyncio.run(main())")
    for name, content in page_files(example.page).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content.replace(LOCAL_URL, local), encoding="utf-8")
    source = page_setup(example.page) + "\n" + example.code
    (tmp_path / "example.py").write_text(source.replace(LOCAL_URL, local), encoding="utf-8")
    env = {
        **{k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("MESHKIT")},
        "OPENAI_API_KEY": "sk-docs",
        "OPENAI_BASE_URL": local,
        "ANTHROPIC_API_KEY": "sk-ant-docs",
        "ANTHROPIC_BASE_URL": local,
        "LOCAL_KEY": "local-docs-key",
        "MESHKIT_DOCS_SERVER": local,
    }
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(tmp_path / "example.py"), example.id],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (
        f"{example.id} failed; fix the example, give the page a <!-- docs-setup --> for what it "
        f"assumes, or mark it <!-- not-run: why --> if it needs an outside service:\n{done.stderr[-3000:]}"
    )
