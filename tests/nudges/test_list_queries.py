"""Every list of the nudges and meetings apps runs the same queries for one row as for many."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.meetings import services as meeting_services
from backend.nudges import services as nudge_services
from backend.nudges.models import Nudge, PushSubscription
from tests.helpers import client_for

pytestmark = pytest.mark.django_db


def _queries(client, path: str, size: int) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, {"page_size": size})
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == size
    return len(captured)


def _fill(patient, rows: int) -> None:
    # Attendance is logged for the last two years only: a month ago, whenever the suite runs.
    due = (timezone.now() - timedelta(days=30)).replace(minute=0, second=0, microsecond=0)
    for number in range(rows):
        rule = nudge_services.rule_create(
            patient=patient, data={"kind": "custom", "times": [f"{number % 24:02d}:15"]}
        )
        Nudge.objects.create(
            recipient=patient,
            rule=rule,
            slot=due + timedelta(hours=number),
            due_at=due + timedelta(hours=number),
            next_attempt_at=due,
            title="A reminder you set",
            tolerance=timedelta(hours=1),
            state=Nudge.State.SENT,
        )
        PushSubscription.objects.create(
            user=patient, endpoint=f"https://push.example.test/{number}", p256dh="x", auth="y"
        )
        meeting_services.attendance_log(
            patient=patient,
            attendance_id=None,
            meeting=None,
            name="Group",
            attended_at=due + timedelta(hours=2 * number),
            duration_minutes=60,
        )


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
    assert _queries(client, path, 1) == _queries(client, path, 10)
