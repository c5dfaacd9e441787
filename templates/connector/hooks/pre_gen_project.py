"""Check the answers before anything is generated: they become a connector id and import names."""

import re
import sys

CONNECTOR_TYPES = ("provider", "rotation", "secret_store", "storage", "observability", "discovery")
# The name is also part of a Python package and class name, so it starts with a letter.
NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
VENDOR = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
RULE = "lowercase letters and digits, with single hyphens inside"

connector_type = {{ cookiecutter.connector_type | tojson }}
name = {{ cookiecutter.name | tojson }}
vendor = {{ cookiecutter.vendor | tojson }}

problems = []
if connector_type not in CONNECTOR_TYPES:
    problems.append(f"connector_type {connector_type!r}: expected one of {', '.join(CONNECTOR_TYPES)}")
if not NAME.fullmatch(name):
    problems.append(f"name {name!r}: expected {RULE}, starting with a letter (e.g. 'acme' or 'my-llm')")
if not VENDOR.fullmatch(vendor):
    problems.append(f"vendor {vendor!r}: expected {RULE} (e.g. 'acme')")
if problems:
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    sys.exit(1)
