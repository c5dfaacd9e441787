"""Check the answers before anything is generated: they become a connector id, names and code."""

import re
import sys

CONNECTOR_TYPES = ("provider", "rotation", "secret_store", "storage", "observability", "discovery")
# The name is also part of a Python package and class name, so it starts with a letter.
NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
VENDOR = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
RULE = "lowercase letters and digits, with single hyphens inside"
# Longer answers would push generated lines past a readable width.
MAX_NAME = 32
MAX_TEXT = 80
# Text copied into docstrings and string literals.
UNSAFE_TEXT = ("\n", "\r", "\\", '"""')

connector_type = {{ cookiecutter.connector_type | tojson }}
name = {{ cookiecutter.name | tojson }}
vendor = {{ cookiecutter.vendor | tojson }}
texts = {"description": {{ cookiecutter.description | tojson }}, "author": {{ cookiecutter.author | tojson }}}

problems = []
if connector_type not in CONNECTOR_TYPES:
    problems.append(f"connector_type {connector_type!r}: expected one of {', '.join(CONNECTOR_TYPES)}")
if not NAME.fullmatch(name) or len(name) > MAX_NAME:
    problems.append(
        f"name {name!r}: expected {RULE}, starting with a letter, at most {MAX_NAME} characters "
        "(e.g. 'acme' or 'my-llm')"
    )
if not VENDOR.fullmatch(vendor) or len(vendor) > MAX_NAME:
    problems.append(f"vendor {vendor!r}: expected {RULE}, at most {MAX_NAME} characters (e.g. 'acme')")
for label, text in texts.items():
    if len(text) > MAX_TEXT or any(bad in text for bad in UNSAFE_TEXT):
        problems.append(
            f"{label} {text!r}: one line of plain text, at most {MAX_TEXT} characters, "
            "without backslashes or triple quotes"
        )
if problems:
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    sys.exit(1)
