"""A mesh from the API keys in the environment: the config it builds, and a real request through it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from meshkit import ConfigError, Mesh, SyncMesh
from meshkit.plugins import get_registry
from meshkit.runtime.environment import ENV_PROVIDERS, config_from_env, ollama_base_url
from meshkit.runtime.plan import make_plan
from meshkit.testing.mock_server import MockOpenAIServer

USER = [{"role": "user", "content": "hi"}]
VARIABLES = [p.variable for p in ENV_PROVIDERS] + ["OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


# --- the config it builds ------------------------------------------------------------------


def test_each_key_that_is_set_adds_its_provider_to_one_chat_pool() -> None:
    config = config_from_env({"OPENAI_API_KEY": "sk-1", "GROQ_API_KEY": "gsk-2", "PATH": "/bin"})
    assert list(config["providers"]) == ["openai", "groq"]
    assert config["providers"]["groq"] == {
        "connector": "openai-compatible",
        "config": {"preset": "groq", "api_key": "${secrets:GROQ_API_KEY}"},
    }
    assert config["pools"]["chat"]["models"] == ["openai.gpt-4.1-mini", "groq.llama-3.3-70b-versatile"]
    assert config["models"]["groq.llama-3.3-70b-versatile"]["name"] == "llama-3.3-70b-versatile"
    # openai offers embeddings, groq does not
    assert config["pools"]["embed"]["models"] == ["openai.text-embedding-3-small"]
    assert config["models"]["openai.text-embedding-3-small"]["capabilities"] == [
        "understanding.embeddings.text-embeddings"
    ]


def test_the_config_never_holds_a_key_only_a_reference_to_it() -> None:
    env = {p.variable: f"secret-value-{p.name}" for p in ENV_PROVIDERS if not p.is_host}
    text = yaml.safe_dump(config_from_env(env))
    assert "secret-value" not in text
    assert "${secrets:ANTHROPIC_API_KEY}" in text


def test_every_well_known_provider_builds_a_valid_plan() -> None:
    env = {p.variable: "127.0.0.1:11434" if p.is_host else "k" for p in ENV_PROVIDERS}
    config = config_from_env(env)
    plan = make_plan(config, get_registry())
    assert sorted(plan.providers) == sorted(p.name for p in ENV_PROVIDERS)
    assert len(config["pools"]["chat"]["models"]) == len(ENV_PROVIDERS)
    # upstream names with slashes get a plain model id
    assert "together.llama-3.3-70b-instruct-turbo" in plan.entries
    assert plan.entries["together.llama-3.3-70b-instruct-turbo"].upstream == (
        "meta-llama/Llama-3.3-70B-Instruct-Turbo"
    )


def test_an_empty_key_counts_as_unset() -> None:
    config = config_from_env({"OPENAI_API_KEY": "", "MISTRAL_API_KEY": "m"})
    assert list(config["providers"]) == ["mistral"]


def test_no_key_at_all_is_an_error_naming_the_variables() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_env({"HOME": "/root"})
    message = str(info.value)
    for variable in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GROQ_API_KEY", "XAI_API_KEY", "OLLAMA_HOST"):
        assert variable in message
    with pytest.raises(ConfigError, match="OPENROUTER_API_KEY"):
        Mesh.from_env()


def test_without_embeddings_there_is_no_embed_pool() -> None:
    config = config_from_env({"OPENAI_API_KEY": "k"}, embeddings=False)
    assert list(config["pools"]) == ["chat"]
    assert list(config["models"]) == ["openai.gpt-4.1-mini"]


def test_openai_base_url_points_the_openai_provider_elsewhere() -> None:
    config = config_from_env({"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "http://127.0.0.1:9999/v1/"})
    assert config["providers"]["openai"]["config"]["base_url"] == "http://127.0.0.1:9999/v1"


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1:11434", "http://127.0.0.1:11434/v1"),
        ("0.0.0.0", "http://127.0.0.1:11434/v1"),
        ("http://gpu-box:8080", "http://gpu-box:8080/v1"),
        ("https://ollama.example.com/", "https://ollama.example.com:11434/v1"),
        ("[::1]:11500", "http://[::1]:11500/v1"),
    ],
)
def test_ollama_host_is_read_as_ollama_reads_it(host: str, url: str) -> None:
    assert ollama_base_url(host) == url
    config = config_from_env({"OLLAMA_HOST": host})
    assert config["providers"]["ollama"]["config"] == {"preset": "ollama", "base_url": url}


# --- presets read their own key ------------------------------------------------------------


def test_a_preset_without_api_key_reads_its_own_key() -> None:
    config = {
        "providers": {"g": {"connector": "openai-compatible", "config": {"preset": "groq"}}},
        "models": {"g.llama": {"provider": "g"}},
    }
    plan = make_plan(config, get_registry())
    assert plan.providers["g"].data["api_key"] == "${secrets:GROQ_API_KEY}"


async def _start(config: dict[str, Any]) -> None:
    async with Mesh.from_config(config):
        pass


def test_a_missing_preset_key_names_the_variable_when_the_mesh_starts() -> None:
    import anyio

    config = {
        "providers": {"g": {"connector": "openai-compatible", "config": {"preset": "groq"}}},
        "models": {"g.llama": {"provider": "g"}},
    }
    with pytest.raises(ConfigError, match=r"providers\.g\.config\.api_key: .*GROQ_API_KEY"):
        anyio.run(_start, config)


# --- end to end, against the local server ------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[MockOpenAIServer]:
    with MockOpenAIServer(models=["gpt-4.1-mini"], api_key="sk-from-env") as running:
        yield running


@pytest.mark.slow
@pytest.mark.anyio
async def test_mesh_from_env_answers_through_openai_base_url(
    server: MockOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.reset()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    async with Mesh.from_env() as mesh:
        reply = await mesh.complete(model="chat", messages=USER)
        cost = mesh.status()["models"]["openai.gpt-4.1-mini"]["counters"]["cost"]
    assert reply.text == "Hello from gpt-4.1-mini."
    assert reply.model == "openai.gpt-4.1-mini"
    assert server.requests[-1].headers["Authorization"] == "Bearer sk-from-env"
    assert cost > 0  # the default model comes with its price


@pytest.mark.slow
def test_sync_mesh_from_env_streams(server: MockOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.reset()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    with SyncMesh.from_env() as mesh:
        text = "".join(c.text for c in mesh.stream(model="chat", messages=USER))
    assert text == "Hello from gpt-4.1-mini."


@pytest.mark.slow
def test_a_wrong_key_in_the_environment_is_refused_upstream(
    server: MockOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from meshkit import AllModelsExhaustedError

    server.reset()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    with SyncMesh.from_env() as mesh, pytest.raises(AllModelsExhaustedError, match="AuthenticationError"):
        mesh.complete(model="chat", messages=USER)


def test_the_quickstart_table_lists_every_variable_with_its_default_models() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "quickstart.md").read_text(encoding="utf-8")
    rows = {
        cells[0].strip("`"): cells
        for line in text.splitlines()
        if line.startswith("| `")
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
    }
    for provider in ENV_PROVIDERS:
        cells = rows[provider.variable]
        assert cells[2] == f"`{provider.chat.name}`"
        assert cells[3] == (f"`{provider.embeddings.name}`" if provider.embeddings else "-")
