"""The committed OpenAPI schema matches the code, and documents every operation fully."""

import re
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "api_schema" / "openapi.yaml"
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("schema") / "openapi.yaml"
    # --fail-on-warn: generation must run without a single warning.
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(out))
    return out.read_text()


def test_the_committed_schema_matches_the_code(generated):
    assert SCHEMA_FILE.read_text() == generated, (
        "api_schema/openapi.yaml is out of date: run `make schema` (or "
        "`.venv/bin/python backend/manage.py spectacular --fail-on-warn --validate "
        "--file api_schema/openapi.yaml`) and commit the result."
    )


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield f"{method.upper()} {path}", operation


def test_every_operation_has_a_summary_a_tag_and_its_errors(generated):
    schema = yaml.safe_load(generated)
    problems = []
    for name, operation in _operations(schema):
        if not operation.get("summary"):
            problems.append(f"{name}: no summary")
        if not operation.get("tags"):
            problems.append(f"{name}: no tag")
        errors = {code for code in operation["responses"] if code.startswith(("4", "5"))}
        if not errors:
            problems.append(f"{name}: no error responses")
        for code in errors:
            content = operation["responses"][code].get("content", {})
            if "application/problem+json" not in content:
                problems.append(f"{name}: {code} is not a problem document")
        if operation.get("security") != [{}] and operation.get("security") and "401" not in errors:
            problems.append(f"{name}: authenticated but no 401")
        if "{" in name and "404" not in errors:
            problems.append(f"{name}: has a path id but no 404")
    assert not problems, "\n".join(problems)


def test_no_two_components_would_get_one_class_name_in_a_generated_client(generated):
    # Generators derive class names from component names, dropping underscores and case
    # (openapi-python-client made both `Person` and `_Person` into `Person` and left one out).
    names: dict[str, list[str]] = {}
    for name in yaml.safe_load(generated)["components"]["schemas"]:
        names.setdefault(re.sub(r"[^a-z0-9]", "", name.lower()), []).append(name)
    assert [alike for alike in names.values() if len(alike) > 1] == []
