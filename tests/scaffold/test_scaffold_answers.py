"""The answers to ``meshkit new`` are checked before anything is written, and decide every name."""

from __future__ import annotations

import pytest

from meshkit import ConnectorType
from meshkit.cli.scaffold import ConnectorPackage, plan
from meshkit.connector import parse_connector_id
from meshkit.errors import ScaffoldError


@pytest.mark.parametrize(
    ("kind", "name", "vendor", "connector_id", "class_name"),
    [
        ("provider", "acme", None, "acme.acme.v1", "AcmeProvider"),
        ("rotation", "fair-share", None, "fair-share.fair-share.v1", "FairSharePolicy"),
        ("secret_store", "vault", "hashi", "hashi.vault.v1", "VaultSecretStore"),
        ("storage", "s3x2", "a-b", "a-b.s3x2.v1", "S3x2Storage"),
        ("observability", "sink", None, "sink.sink.v1", "SinkObservability"),
        ("discovery", "registry", "9lives", "9lives.registry.v1", "RegistryDiscovery"),
    ],
)
def test_the_id_and_the_class_follow_from_the_answers(
    kind: str, name: str, vendor: str | None, connector_id: str, class_name: str
) -> None:
    answers = plan(kind, name, vendor=vendor)
    assert answers.connector_type is ConnectorType(kind)
    assert answers.connector_id == connector_id
    assert parse_connector_id(answers.connector_id) == (vendor or name, name, 1)
    assert answers.class_name == class_name and class_name.isidentifier()


def test_the_project_and_package_names_follow_from_the_name() -> None:
    answers = plan("rotation", "fair-share")
    assert answers.project_name == "meshkit-fair-share"
    assert answers.package_name == "meshkit_fair_share"


def test_the_vendor_defaults_to_the_name_and_the_description_to_the_type() -> None:
    answers = plan("secret_store", "vault")
    assert answers.vendor == "vault"
    assert answers.description == "A meshkit secret store connector for vault"


def test_the_context_carries_the_running_meshkit_version() -> None:
    from meshkit import __version__

    context = plan("storage", "kv", vendor="acme", description="Keys and values").context()
    assert context == {
        "connector_type": "storage",
        "name": "kv",
        "vendor": "acme",
        "description": "Keys and values",
        "author": "",
        "_meshkit_version": __version__,
    }


def test_a_near_miss_type_gets_a_suggestion() -> None:
    with pytest.raises(ScaffoldError, match="did you mean 'secret_store'"):
        plan("secret-store", "vault")


def test_an_unknown_type_is_named_with_the_choices() -> None:
    with pytest.raises(ScaffoldError) as info:
        plan("widget", "acme")
    message = str(info.value)
    assert "unknown connector type 'widget'" in message
    for kind in ConnectorType:
        assert kind.value in message


@pytest.mark.parametrize(
    "name", ["Bad Name!", "Acme", "3d", "-acme", "acme-", "a--b", "a_b", "a.b", "", "ünï", "a" * 33]
)
def test_an_invalid_name_is_refused(name: str) -> None:
    with pytest.raises(ScaffoldError) as info:
        plan("provider", name)
    assert f"invalid name {name!r}" in str(info.value)
    assert "lowercase letters and digits" in str(info.value)


@pytest.mark.parametrize("vendor", ["Acme", "acme corp", "acme.corp", "-x", "", "v" * 33])
def test_an_invalid_vendor_is_refused(vendor: str) -> None:
    with pytest.raises(ScaffoldError, match="invalid vendor"):
        plan("provider", "acme", vendor=vendor)


@pytest.mark.parametrize(
    "text", ["two\nlines", 'has """ quotes', "back\\slash", "{{ cookiecutter.name }}", "{% if %}", "x" * 81]
)
def test_text_that_would_break_the_generated_files_is_refused(text: str) -> None:
    with pytest.raises(ScaffoldError, match="invalid description"):
        plan("provider", "acme", description=text)
    with pytest.raises(ScaffoldError, match="invalid author"):
        plan("provider", "acme", author=text)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ScaffoldError) as info:
        plan("widget", "Bad Name!", vendor="Bad Vendor")
    message = str(info.value)
    assert "unknown connector type 'widget'" in message
    assert "invalid name 'Bad Name!'" in message
    assert "invalid vendor 'Bad Vendor'" in message
    assert info.value.exit_status == 2


def test_names_with_hyphens_and_digits_are_accepted() -> None:
    answers = plan("storage", "my-kv2", vendor="acme-2")
    assert isinstance(answers, ConnectorPackage)
    assert answers.connector_id == "acme-2.my-kv2.v1"


def test_a_bad_name_is_not_reported_twice_as_the_default_vendor() -> None:
    with pytest.raises(ScaffoldError) as info:
        plan("storage", "Bad Name!")
    assert "vendor" not in str(info.value)


def test_the_longest_answers_are_accepted() -> None:
    answers = plan("storage", "n" * 32, vendor="v" * 32, description="d" * 80, author="a" * 80)
    assert answers.connector_id == f"{'v' * 32}.{'n' * 32}.v1"
