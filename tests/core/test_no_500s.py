"""No input, however odd, makes any write endpoint answer 500."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import client_for
from tests.test_access_matrix import CASES, world  # noqa: F401  (world: a fixture used below)

pytestmark = pytest.mark.django_db

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)
FIELD_NAMES = [
    "email", "password", "display_name", "time_zone", "locale", "token", "refresh", "uid",
    "new_password", "current_password", "code", "quiet_hours_start", "quiet_hours_end", "role",
    "scopes", "purpose", "recipient", "signature_name", "expires_at", "starts_at", "grant_days",
    "allow_journal_text", "comment", "reason", "recipient_name", "meeting", "attended_at",
    "duration_minutes", "neutral_titles", "name", "id", "kind", "times", "weekdays",
    "lead_minutes", "message", "quiet_hours", "daily_cap", "endpoint", "keys", "status",
    "suggestion_reason", "category", "summary", "steps", "approach", "patient", "title", "items",
    "skill", "text", "done", "reasons", "triggers", "warning_signs", "coping_strategies",
    "support_contacts", "after_lapse", "crisis_lines", "relation", "phone", "section", "proposed",
    "note", "decision", "feedback", "template", "instructions", "questions", "due_date",
    "recurrence", "occurrences", "answers", "type", "prompt", "choices", "required",
]  # fmt: skip
bodies = st.one_of(
    st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=5),
    json_values,
)
WRITE_ROUTES = sorted({(c.method, c.route) for c in CASES if c.method in {"POST", "PATCH"}})


@pytest.mark.parametrize(("method", "route"), WRITE_ROUTES)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies)
def test_random_json_never_causes_a_500(personas, method, route, body):
    case = next(c for c in CASES if (c.method, c.route) == (method, route))
    # Path ids are not needed: every write route under test takes no id.
    for persona in ("anonymous", "patient", "linked_therapist", "family"):
        client = client_for(personas[persona].user)
        response = client.generic(
            method, "/" + route, json.dumps(body), content_type="application/json"
        )
        assert response.status_code < 500, (persona, body, response.content[:300])
    assert case


# Routes that write into one record: fuzzed at a real record's URL, by its owner and by
# therapists with and without a grant, so validation past the 404 is exercised too.
RECORD_ROUTES = sorted(
    {
        (c.method, c.route)
        for c in CASES
        if c.method in {"POST", "PATCH", "PUT"}
        and "<" in c.route
        and c.route.startswith(("api/v1/coping/", "api/v1/homework/", "api/v1/nudges/"))
    }
)


@pytest.mark.parametrize(("method", "route"), RECORD_ROUTES)
@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies)
def test_random_json_to_a_record_never_causes_a_500(world, method, route, body):  # noqa: F811
    case = next(c for c in CASES if (c.method, c.route) == (method, route))
    for persona in ("patient", "granted_therapist", "linked_therapist"):
        client = world.personas[persona].client
        response = client.generic(
            method, case.url(world), json.dumps(body), content_type="application/json"
        )
        assert response.status_code < 500, (persona, body, response.content[:300])
