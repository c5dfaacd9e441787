"""The CDK's enums hold exactly the names and string values of the seed reference."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path

import pytest

import meshkit
from meshkit import enums

SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"
ENUM_SEED = SEEDS / "000_f800b433c478a8ea.txt"
EVENT_SEED = SEEDS / "004_9311e02188bfa74c.txt"

#: Every seed enum, member by member, as the seed spells it.
EXPECTED: dict[str, dict[str, str]] = {
    "AuthMethod": {"API_KEY": "api_key", "OAUTH": "oauth", "SERVICE_ACCOUNT": "service_account"},
    "ModelStatus": {"ACTIVE": "active", "STANDBY": "standby"},
    "DeactivationReason": {
        "ERROR_THRESHOLD": "error_threshold",
        "QUOTA_EXHAUSTED": "quota_exhausted",
        "BUDGET_EXCEEDED": "budget_exceeded",
        "TOKEN_LIMIT": "token_limit",
        "REQUEST_LIMIT": "request_limit",
        "MAINTENANCE_WINDOW": "maintenance_window",
        "MANUAL": "manual",
    },
    "RecoveryTrigger": {
        "COOLDOWN_EXPIRED": "cooldown_expired",
        "QUOTA_RESET": "quota_reset",
        "PROBE_SUCCESS": "probe_success",
        "MANUAL": "manual",
        "STARTUP_PROBE": "startup_probe",
    },
    "SyncPolicy": {
        "IN_MEMORY": "in-memory",
        "SYNC_ON_BOUNDARY": "sync-on-boundary",
        "PERIODIC": "periodic",
        "IMMEDIATE": "immediate",
    },
    "SerializationFormat": {"JSON": "json", "YAML": "yaml", "MSGPACK": "msgpack"},
    "EventType": {
        "MODEL_ACTIVATED": "model_activated",
        "MODEL_DEACTIVATED": "model_deactivated",
        "MODEL_ROTATED": "model_rotated",
        "PROVIDER_HEALTH_CHANGED": "provider_health_changed",
        "PROVIDER_DEACTIVATED": "provider_deactivated",
        "PROVIDER_RECOVERED": "provider_recovered",
        "POOL_MEMBERSHIP_CHANGED": "pool_membership_changed",
        "DISCOVERY_MODELS_UPDATED": "discovery_models_updated",
    },
    "Severity": {
        "DEBUG": "debug",
        "INFO": "info",
        "WARNING": "warning",
        "ERROR": "error",
        "CRITICAL": "critical",
    },
    "LogLevel": {"METADATA": "metadata", "SUMMARY": "summary", "FULL": "full"},
    "SyncAction": {"REGISTER": "register", "NOTIFY": "notify", "IGNORE": "ignore"},
    "DeprecationAction": {"DEACTIVATE": "deactivate", "NOTIFY": "notify", "IGNORE": "ignore"},
    "ConnectorType": {
        "PROVIDER": "provider",
        "ROTATION": "rotation",
        "SECRET_STORE": "secret_store",
        "STORAGE": "storage",
        "OBSERVABILITY": "observability",
        "DISCOVERY": "discovery",
    },
}

_PY_ENUM = re.compile(r"^class (\w+)\(Enum\):\n(.*?)(?=\n\S|\Z)", re.MULTILINE | re.DOTALL)
_PY_MEMBER = re.compile(r'^\s+([A-Z][A-Z0-9_]*) = "([^"]*)"\s*$', re.MULTILINE)


def parse_seed_enums(text: str) -> dict[str, dict[str, str]]:
    """Every ``class X(Enum):`` block of the seed's Python listings, member name → value."""
    found: dict[str, dict[str, str]] = {}
    for match in _PY_ENUM.finditer(text):
        members = dict(_PY_MEMBER.findall(match.group(2)))
        if found.setdefault(match.group(1), members) != members:
            raise AssertionError(f"the seed lists {match.group(1)} twice with different members")
    return found


def actual_members(enum_cls: type[Enum]) -> dict[str, str]:
    return {member.name: member.value for member in enum_cls}


@pytest.mark.parametrize("enum_name", sorted(EXPECTED))
def test_enum_members_match_the_table(enum_name: str) -> None:
    enum_cls = getattr(enums, enum_name)
    assert actual_members(enum_cls) == EXPECTED[enum_name]


@pytest.mark.parametrize("enum_name", sorted(EXPECTED))
def test_enum_members_equal_their_string_values(enum_name: str) -> None:
    # StrEnum: a member reads as its value in YAML, JSON and log output, and parses back.
    for member in getattr(enums, enum_name):
        assert member == member.value
        assert str(member) == member.value
        assert getattr(enums, enum_name)(member.value) is member


@pytest.mark.parametrize("enum_name", sorted(EXPECTED))
def test_enum_is_exported_from_the_package(enum_name: str) -> None:
    assert getattr(meshkit, enum_name) is getattr(enums, enum_name)
    assert enum_name in meshkit.__all__


def test_seed_parser_reads_a_listing() -> None:
    text = 'Python:\n\nclass Colour(Enum):\n    RED = "red"\n    DARK_BLUE = "dark-blue"\n\nTypeScript:\n'
    assert parse_seed_enums(text) == {"Colour": {"RED": "red", "DARK_BLUE": "dark-blue"}}


@pytest.mark.skipif(not ENUM_SEED.is_file(), reason=f"seed file not found at {ENUM_SEED}")
def test_enum_seed_agrees_with_the_table_both_ways() -> None:
    seed = parse_seed_enums(ENUM_SEED.read_text(encoding="utf-8"))
    assert sorted(seed) == sorted(EXPECTED), "the seed and the table name different enums"
    for name, members in seed.items():
        missing = sorted(set(members) - set(EXPECTED[name]))
        extra = sorted(set(EXPECTED[name]) - set(members))
        assert not missing, f"{name}: the table lacks seed members {missing}"
        assert not extra, f"{name}: the table has members the seed lacks {extra}"
        assert members == EXPECTED[name], f"{name}: string values differ from the seed"


@pytest.mark.skipif(not ENUM_SEED.is_file(), reason=f"seed file not found at {ENUM_SEED}")
def test_enum_seed_agrees_with_the_code_both_ways() -> None:
    seed = parse_seed_enums(ENUM_SEED.read_text(encoding="utf-8"))
    for name, members in seed.items():
        enum_cls = getattr(enums, name, None)
        assert enum_cls is not None, f"meshkit.enums has no {name}"
        assert actual_members(enum_cls) == members, f"{name} differs from the seed"


@pytest.mark.skipif(not EVENT_SEED.is_file(), reason=f"seed file not found at {EVENT_SEED}")
def test_event_seed_event_types_match() -> None:
    seed = parse_seed_enums(EVENT_SEED.read_text(encoding="utf-8"))
    assert seed["EventType"] == actual_members(enums.EventType) == EXPECTED["EventType"]


def test_every_connector_type_has_a_closed_feature_enum() -> None:
    assert set(enums.FEATURES_BY_TYPE) == set(enums.ConnectorType)
    for feature_enum in enums.FEATURES_BY_TYPE.values():
        assert issubclass(feature_enum, Enum)
        assert len(feature_enum) > 0


def test_severity_ranks_follow_the_seed_order() -> None:
    ranks = [s.rank for s in enums.Severity]
    assert ranks == sorted(ranks) == list(range(len(enums.Severity)))
    assert enums.Severity.DEBUG.rank < enums.Severity.CRITICAL.rank
