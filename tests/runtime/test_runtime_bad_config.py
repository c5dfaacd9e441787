"""Malformed configuration files: each a ConfigError naming the path and what to do, never a traceback.

Every case goes through the API (``Mesh.from_config`` then start, where secrets resolve) and
through the CLI (``meshkit status``), which must exit 2 with the same lines and no traceback.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import anyio
import pytest

from meshkit.cli import main as cli_main
from meshkit.errors import ConfigError
from meshkit.runtime.mesh import Mesh

BASE = (
    "providers: {up: {connector: mock, config: {models: [a, b]}}}\n"
    "models: {up.a: {provider: up}, up.b: {provider: up}}\n"
)


def pool(body: str) -> bytes:
    return (BASE + f"pools: {{p: {{{body}}}}}\n").encode()


CASES: dict[str, tuple[bytes, list[str]]] = {
    "not UTF-8": (
        b"providers: {up: {connector: mock}}\n# caf\xe9\n",
        ["line 2, column 6: byte 0xe9 is not UTF-8 text; save the file as UTF-8"],
    ),
    "thousands of nested lists": (
        ("extra: " + "[" * 5000 + "]" * 5000 + "\n").encode(),
        ["nested more than 64 levels deep"],
    ),
    "deeply nested mappings": (
        (BASE + "capabilities: " + "{a: " * 100 + "1" + "}" * 100 + "\n").encode(),
        ["nested more than 64 levels deep"],
    ),
    "a repeated top-level key": (
        (BASE + "pools: {p: {models: [up.a]}}\npools: {q: {models: [up.b]}}\n").encode(),
        ["pools: given twice, on line 3 and line 4; keep one"],
    ),
    "a repeated nested key": (
        b"providers:\n  up: {connector: mock}\n  up: {connector: mock}\nmodels: {up.a: {provider: up}}\n",
        ["providers.up: given twice, on line 2 and line 3"],
    ),
    "not a mapping": (b"- providers\n- models\n", ["config: expected a mapping of sections, got list"]),
    "a pool with no models": (
        pool("models: []"),
        ["pools.p.models: the list is empty; name at least one model, or give 'capability' instead"],
    ),
    "a pool naming a model twice": (
        pool("models: [up.a, up.b, up.a]"),
        ["pools.p.models[2]: 'up.a' is already listed at models[0]; list each model once"],
    ),
    "an absurd max_attempts": (
        pool("models: [up.a], retry: {max_attempts: 1000000000000000000000000000000}"),
        ["pools.p.retry.max_attempts: expected a whole number up to 9223372036854775807"],
    ),
    "too many attempts": (
        pool("models: [up.a], retry: {max_attempts: 5000}"),
        ["pools.p.retry.max_attempts: expected a whole number from 1 to 1000, got 5000"],
    ),
    "an absurd cooldown": (
        pool("models: [up.a], rotation: {connector: stick-until-failure, config: {cooldown: 99999999999d}}"),
        [
            "pools.p.rotation.config.cooldown: expected a duration such as 500ms, 30s, 5m, 1h or 7d, "
            "up to 3650 days, got '99999999999d'"
        ],
    ),
    "a duration of the wrong type": (
        pool("models: [up.a], retry: {deadline: [1, 2]}"),
        ["pools.p.retry.deadline: expected a duration such as 500ms, 30s"],
    ),
    "a weight that is not a number": (
        (BASE.replace("up.b: {provider: up}", "up.b: {provider: up, weight: .nan}")).encode(),
        ["models.up.b.weight: expected a finite number"],
    ),
    "an unknown key does not hide a bad reference": (
        (
            BASE.replace("up.b: {provider: up}", "up.b: {provider: upp}") + "pools: {p: {modles: [up.a]}}\n"
        ).encode(),
        [
            "pools.p.modles: unknown key; did you mean 'models'?",
            "models.up.b.provider: no provider named 'upp'",
        ],
    ),
    "an unknown key does not hide a connector config error": (
        (BASE + "storage: {connector: file, config: {fsync: maybe}, colour: blue}\n").encode(),
        ["storage.colour: unknown key", "storage.config.fsync: expected true or false"],
    ),
    "a zero provider timeout": (
        b"providers: {up: {connector: openai-compatible, config: {timeout: 0s}}}\n"
        b"models: {up.a: {provider: up}}\n",
        ["providers.up.config.timeout: expected a positive duration such as 30s"],
    ),
}

#: Cases that need an optional library to be missing: the module hidden, and the expected lines.
MISSING_LIBRARY: dict[str, tuple[str, bytes, list[str]]] = {
    "redis storage without redis": (
        "redis",
        (BASE + "storage: {connector: redis}\n").encode(),
        ["storage.connector: meshkit.redis.v1 needs the 'redis' library: pip install 'meshkit[redis]'"],
    ),
    "keyring secrets without keyring": (
        "keyring",
        (BASE + "secrets: {store: keyring}\n").encode(),
        ["secrets.connector: meshkit.keyring.v1 needs the 'keyring' library: pip install 'meshkit[keyring]'"],
    ),
    "prometheus without prometheus-client": (
        "prometheus_client",
        (BASE + "observability: {connectors: [{connector: prometheus}]}\n").encode(),
        [
            "observability.connectors[0].connector: meshkit.prometheus.v1 needs the 'prometheus_client' "
            "library: pip install 'meshkit[prometheus]'"
        ],
    ),
    "opentelemetry without its api": (
        "opentelemetry",
        (BASE + "observability: {connectors: [{connector: opentelemetry}]}\n").encode(),
        [
            "observability.connectors[0].connector: meshkit.opentelemetry.v1 needs",
            "pip install 'meshkit[otel]'",
        ],
    ),
    "maintenance windows without cronsim": (
        "cronsim",
        (
            BASE.replace(
                "up.b: {provider: up}",
                "up.b: {provider: up, maintenance: [{cron: '0 3 * * *', duration: 1h}]}",
            )
        ).encode(),
        [
            "models.up.b.maintenance[0].cron: maintenance windows need the 'cronsim' library: "
            "pip install 'meshkit[cron]'"
        ],
    ),
    "msgpack storage without msgpack": (
        "msgpack",
        (BASE + "storage: {format: msgpack}\n").encode(),
        ["storage.format: the msgpack format needs the 'msgpack' library: pip install 'meshkit[msgpack]'"],
    ),
}


def api_error(path: Path) -> str:
    """The ConfigError a mesh built from ``path`` raises, by the time it has started."""

    async def start() -> None:
        async with Mesh.from_config(path):
            pass

    with pytest.raises(ConfigError) as info:
        anyio.run(start)
    return str(info.value)


def check(path: Path, expected: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    message = api_error(path)
    for line in expected:
        assert line in message
    assert "timedelta" not in message and "NoneType" not in message
    capsys.readouterr()
    code = cli_main(["status", str(path)])
    printed = capsys.readouterr()
    output = printed.out + printed.err
    assert code == 2
    assert "Traceback" not in output
    for line in expected:
        assert line in output


@pytest.mark.parametrize("case", list(CASES))
def test_a_malformed_config_is_one_clear_error(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, expected = CASES[case]
    path = tmp_path / "mesh.yaml"
    path.write_bytes(data)
    check(path, expected, capsys)


@pytest.mark.parametrize("case", list(MISSING_LIBRARY))
def test_a_connector_without_its_library_names_the_extra(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, data, expected = MISSING_LIBRARY[case]
    monkeypatch.setitem(sys.modules, module, None)  # importing it now fails, as if not installed
    path = tmp_path / "mesh.yaml"
    path.write_bytes(data)
    check(path, expected, capsys)


def test_doctor_lists_connectors_whose_library_is_missing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.setitem(sys.modules, "keyring", None)
    cli_main(["doctor"])
    out = capsys.readouterr().out
    assert "2 connector(s) installed without the library they need:" in out
    assert "meshkit.redis.v1 needs the 'redis' library: pip install 'meshkit[redis]'" in out
    assert "meshkit.keyring.v1 needs the 'keyring' library: pip install 'meshkit[keyring]'" in out


def test_a_missing_secret_is_named_at_the_key_that_referenced_it(tmp_path: Path) -> None:
    path = tmp_path / "mesh.yaml"
    path.write_bytes(
        b"providers: {up: {connector: openai-compatible, config: {api_key: '${secrets:REL_TEST_NOPE1}'}}}\n"
        b"models: {up.a: {provider: up}}\n"
    )
    message = api_error(path)
    assert "providers.up.config.api_key: secret 'REL_TEST_NOPE1' not found" in message


#: Secrets referenced by a provider, the storage and a sink, none of them set, and one that is.
SEVERAL_SECRETS = """\
secrets: {store: env, config: {prefix: REL_TEST_}}
providers:
  up: {connector: openai-compatible, config: {api_key: "${secrets:UP_KEY}"}}
  down: {connector: openai-compatible, config: {api_key: "${secrets:SET_KEY}"}}
  other:
    connector: anthropic
    config: {api_key: "${secrets:OTHER_KEY}"}
models: {up.a: {provider: up}, down.a: {provider: down}, other.a: {provider: other}}
storage: {connector: redis, config: {url: "redis://127.0.0.1:9/0", password: "${secrets:REDIS_PASSWORD}"}}
observability:
  connectors:
    - connector: webhook
      config: {url: "${secrets:HOOK_URL}", headers: {Authorization: "Bearer ${secrets:HOOK_TOKEN}"}}
"""

SEVERAL_MISSING = [
    "storage.config.password: secret 'REDIS_PASSWORD' not found",
    "observability.connectors[0].config.url: secret 'HOOK_URL' not found",
    "observability.connectors[0].config.headers.Authorization: secret 'HOOK_TOKEN' not found",
    "providers.up.config.api_key: secret 'UP_KEY' not found",
    "providers.other.config.api_key: secret 'OTHER_KEY' not found",
]


def test_every_missing_secret_is_reported_together_from_the_api_and_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REL_TEST_SET_KEY", "sk-set")
    path = tmp_path / "mesh.yaml"
    path.write_text(SEVERAL_SECRETS)

    async def start() -> None:
        async with Mesh.from_config(path):
            pass

    with pytest.raises(ConfigError) as info:
        anyio.run(start)
    problems = info.value.problems
    assert len(problems) == len(SEVERAL_MISSING)
    for expected, problem in zip(SEVERAL_MISSING, problems, strict=True):
        assert problem.startswith(expected)
    assert "SET_KEY" not in str(info.value)

    capsys.readouterr()
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # nothing piped in
    code = cli_main(["chat", "--config", str(path), "hi"])
    printed = capsys.readouterr()
    output = printed.out + printed.err
    assert code == 2
    assert "Traceback" not in output
    for expected in SEVERAL_MISSING:
        assert expected in output
