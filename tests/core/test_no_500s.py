"""No input, however odd, makes any write endpoint answer 500."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import client_for
from tests.test_access_matrix import CASES

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
    "suggestion_reason",
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
