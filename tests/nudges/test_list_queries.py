"""Every list of the nudges and meetings apps runs the same queries for one row as for many."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import (
    AttendanceFactory,
    NudgeFactory,
    NudgeRuleFactory,
    PushSubscriptionFactory,
)
from tests.helpers import assert_flat_queries, client_for, full_page

pytestmark = pytest.mark.django_db


def _fill(patient, rows: int) -> None:
    # Attendance is logged for the last two years only: a month ago, whenever the suite runs.
    due = (timezone.now() - timedelta(days=30)).replace(minute=0, second=0, microsecond=0)
    for number in range(rows):
        rule = NudgeRuleFactory(
            patient=patient, data={"kind": "custom", "times": [f"{number % 24:02d}:15"]}
        )
        NudgeFactory(rule=rule, slot=due + timedelta(hours=number), next_attempt_at=due)
        PushSubscriptionFactory(user=patient)
        AttendanceFactory(patient=patient, attended_at=due + timedelta(hours=2 * number))


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nudges/rules/",
        "/api/v1/nudges/inbox/",
        "/api/v1/nudges/push-subscriptions/",
        "/api/v1/meetings/attendance/",
    ],
)
def test_the_list_runs_the_same_queries_for_one_row_as_for_ten(patient, path):
    _fill(patient, 10)
    client = client_for(patient)
    assert_flat_queries(lambda size: full_page(client, path, size), (1, 10))
