"""``meshkit chat`` and ``meshkit config --from-env``, run as a user runs them: in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from meshkit.plugins import get_registry
from meshkit.runtime.environment import ENV_PROVIDERS, config_from_env
from meshkit.runtime.plan import make_plan
from meshkit.testing.mock_server import Fault, MockOpenAIServer, Reply

pytestmark = pytest.mark.slow

KEY = "sk-test-key"


@pytest.fixture(scope="module")
def server() -> Iterator[MockOpenAIServer]:
    with MockOpenAIServer(models=["gpt-4.1-mini", "small"], api_key=KEY) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(server: MockOpenAIServer) -> None:
    server.reset()


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any provider key, plus ``extra``."""
    drop = {p.variable for p in ENV_PROVIDERS} | {"OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return {**env, **extra}


def meshkit(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meshkit", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def keyed(server: MockOpenAIServer) -> dict[str, str]:
    return clean_env(OPENAI_API_KEY=KEY, OPENAI_BASE_URL=server.base_url)


def test_chat_streams_the_answer_and_says_who_answered_and_the_cost(server: MockOpenAIServer) -> None:
    server.script("gpt-4.1-mini", Reply("Paris is the capital.", usage={"prompt_tokens": 1000}))
    done = meshkit("chat", "What is the capital of France?", env=keyed(server))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Paris is the capital.\n"
    footer = done.stderr.strip()
    assert footer.startswith("-- answered by openai.gpt-4.1-mini · 1004 tokens (1000 in, 4 out)")
    # gpt-4.1-mini's list price: 0.0004 per 1k in, 0.0016 per 1k out
    assert footer.endswith("$0.000406")
    sent = server.requests[-1]
    assert sent.json["stream"] is True
    assert sent.json["messages"] == [{"role": "user", "content": "What is the capital of France?"}]


def test_chat_reads_the_prompt_from_stdin_and_puts_it_before_the_question(server: MockOpenAIServer) -> None:
    assert meshkit("chat", env=keyed(server), stdin="a question from a pipe\n").returncode == 0
    assert meshkit("chat", "summarise", env=keyed(server), stdin="some notes").returncode == 0
    prompts = [r.json["messages"][-1]["content"] for r in server.requests]
    assert prompts == ["a question from a pipe", "some notes\n\nsummarise"]


def test_chat_with_a_config_file_and_a_model(server: MockOpenAIServer, tmp_path: Path) -> None:
    config = {
        "providers": {
            "local": {
                "connector": "openai-compatible",
                "config": {"base_url": server.base_url, "api_key": KEY},
            }
        },
        "models": {"local.small": {"provider": "local"}},
    }
    path = tmp_path / "mesh.yaml"
    path.write_text(yaml.safe_dump(config))
    done = meshkit(
        "chat", "hi", "--config", str(path), "--model", "local.small", "-s", "Be brief.", env=clean_env()
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hello from small.\n"
    assert "answered by local.small" in done.stderr
    assert "cost unknown (no pricing configured for this model)" in done.stderr
    assert server.requests[-1].json["messages"][0] == {"role": "system", "content": "Be brief."}


def test_chat_without_any_key_names_the_variables_to_set() -> None:
    done = meshkit("chat", "hi", env=clean_env())
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    for variable in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OLLAMA_HOST"):
        assert variable in done.stderr


def test_chat_with_nothing_to_ask_says_so() -> None:
    done = meshkit("chat", env=clean_env(OPENAI_API_KEY=KEY), stdin="")
    assert done.returncode == 2
    assert "nothing to ask" in done.stderr


def test_a_failed_chat_is_one_message_naming_the_url_it_could_not_reach(tmp_path: Path) -> None:
    closed = "http://127.0.0.1:9/v1"  # the discard port: nothing listens there
    done = meshkit("chat", "hi", env=clean_env(OPENAI_API_KEY=KEY, OPENAI_BASE_URL=closed))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "every model for 'chat' failed (1 attempt):" in done.stderr
    assert f"could not reach {closed}/chat/completions" in done.stderr


def test_a_refused_key_is_reported_without_a_traceback(server: MockOpenAIServer) -> None:
    server.script("gpt-4.1-mini", Fault.auth())
    done = meshkit("chat", "hi", env=keyed(server))
    assert done.returncode == 1
    assert "AuthenticationError" in done.stderr and "Traceback" not in done.stderr


def test_config_from_env_prints_the_yaml_from_env_builds(server: MockOpenAIServer) -> None:
    env = clean_env(OPENAI_API_KEY=KEY, GROQ_API_KEY="gsk-secret", OPENAI_BASE_URL=server.base_url)
    done = meshkit("config", "--from-env", env=env)
    assert done.returncode == 0, done.stderr
    printed = yaml.safe_load(done.stdout)
    assert printed == config_from_env(env)
    assert "gsk-secret" not in done.stdout and KEY not in done.stdout
    make_plan(printed, get_registry())  # a configuration the mesh accepts as it is


def test_config_from_env_without_keys_exits_2_naming_them() -> None:
    done = meshkit("config", "--from-env", env=clean_env())
    assert done.returncode == 2 and "MISTRAL_API_KEY" in done.stderr and done.stdout == ""
