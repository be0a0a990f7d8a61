"""The app keeps the contract its OpenAPI schema states, for every persona.

Schemathesis reads api_schema/openapi.yaml and, for each operation, generates
requests (valid and invalid ones) that it sends to the app in-process; each answer
must not be a server error, must have a documented status and content type, and
must match the documented body. Each example is sent as one of four personas: the
patient, their therapist (linked, holding every scope), a family member holding a
grant, or nobody. Half the examples aim their path ids at real records (those the
access matrix uses), so the answers for records that exist are checked too.

`make contract-deep` runs the same checks with 100 examples per operation
(CONTRACT_EXAMPLES=100) and, with CONTRACT_STATEFUL=1, Schemathesis' stateful phase:
sequences of calls that feed one answer's ids into the next request (see README).
"""

import os
import re
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import hypothesis
import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.config.wsgi import application
from tests.test_access_matrix import CASES, world  # noqa: F401  (world: a fixture used below)

pytestmark = pytest.mark.django_db

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "api_schema" / "openapi.yaml"
# About 25 per operation keeps the test command's run near a minute of CPU.
EXAMPLES_PER_OPERATION = int(os.environ.get("CONTRACT_EXAMPLES", "25"))
STATEFUL = os.environ.get("CONTRACT_STATEFUL") == "1"
CONFIG = schemathesis.Config.from_dict(
    {
        # A fixed seed: the test command sends the same requests on every run.
        "seed": 20261204,
        "generation": {
            "mode": "all",
            "max-examples": EXAMPLES_PER_OPERATION,
            "database": "none",
        },
        "phases": {
            "examples": {"enabled": False},
            "coverage": {"enabled": False},
            "stateful": {"enabled": STATEFUL},
        },
        "suppress-health-check": ["too_slow", "filter_too_much"],
    }
)
schema = schemathesis.openapi.from_path(SCHEMA_FILE, config=CONFIG)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
PERSONAS = ("patient", "granted_therapist", "family_granted", "anonymous")
# Requests sent per operation, read by tests/contract/conftest.py for the run's summary.
SENT: Counter = Counter()


def _django_route_to_template(route: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


REAL_URLS = {(c.method, _django_route_to_template(c.route)): c.url for c in CASES}


def _real_path_parameters(world, method: str, template: str) -> dict[str, str]:  # noqa: F811
    """The path ids of the record the access matrix uses for this operation."""
    url = REAL_URLS.get((method, template))
    if url is None:
        return {}
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    match = re.fullmatch(pattern, url(world).split("?", 1)[0])
    return match.groupdict() if match else {}


@pytest.fixture
def tokens(world, client):  # noqa: F811
    """An access token for each persona, from signing in as the app does."""
    result = {"anonymous": None}
    for name in PERSONAS:
        if name == "anonymous":
            continue
        persona = world.personas[name]
        response = client.post(
            "/api/v1/auth/token/",
            {"email": persona.user.email, "password": persona.password},
            content_type="application/json",
        )
        assert response.status_code == 200, response.content
        result[name] = response.json()["access"]
    return result


@pytest.fixture
def app(tokens):
    """The WSGI app, with the test's connection kept open across its requests.

    After each request the WSGI handler closes a connection left inside a transaction,
    as it should in production; here that transaction is the test's, so the signal is
    held off while the in-process requests run, as Django's test client does (which is
    why this comes after the sign-ins: the test client connects it again)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield application
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@schema.given(persona=st.sampled_from(PERSONAS), real_ids=st.booleans())
def test_every_operation_keeps_its_contract(case, persona, real_ids, world, tokens, app):  # noqa: F811
    # The world and the tokens are made once per operation and shared by its examples:
    # what one example changes (a deleted record, a used code) the next one meets, as a
    # real client would. Throttle counters live in the cache: each example starts from
    # zero, so sign-in and registration examples reach the view instead of the 429.
    cache.clear()
    if real_ids and case.path_parameters:
        case.path_parameters.update(
            _real_path_parameters(world, case.method.upper(), case.operation.path)
        )
    # A generated id can spell a sibling route ("scopes" as a grant id is /consents/scopes/):
    # that answer keeps the sibling's contract, checked under its own operation.
    hypothesis.assume(not _routes_elsewhere(case))
    headers = {"Authorization": f"Bearer {tokens[persona]}"} if tokens[persona] else {}
    SENT[case.operation.label] += 1
    case.call_and_validate(app=app, headers=headers, checks=CHECKS)


def _routes_elsewhere(case) -> bool:
    """The case's path resolves to another operation's URL pattern than its own."""
    try:
        match = resolve(urlsplit(case.formatted_path).path)
    except Resolver404:
        return False
    return _django_route_to_template(match.route) != case.operation.path


@pytest.mark.skipif(not STATEFUL, reason="the stateful phase runs in `make contract-deep`")
@pytest.mark.parametrize("persona", ["patient", "granted_therapist", "family_granted"])
def test_sequences_of_calls_keep_the_contract(persona, world, tokens, app):  # noqa: F811
    headers = {"Authorization": f"Bearer {tokens[persona]}"}

    class Workflow(schema.as_state_machine()):
        # Each scenario starts from the same records (a savepoint rolled back after it):
        # Hypothesis replays a failing scenario to report it, and must meet the same state.
        def setup(self):
            cache.clear()
            self._scenario = transaction.atomic()
            self._scenario.__enter__()

        def teardown(self):
            transaction.set_rollback(True)
            self._scenario.__exit__(None, None, None)

        def get_call_kwargs(self, case):
            return {"app": app, "headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            SENT[f"stateful {case.operation.label}"] += 1
            case.validate_response(response, checks=CHECKS, headers=headers)

    Workflow.run(
        settings=hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            stateful_step_count=10,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )
