"""The disclosure log is append-only in the database itself, on PostgreSQL and SQLite."""

import pytest
from django.contrib import admin
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from backend.disclosure.models import DisclosureLog
from tests.factories import grant_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def row(patient, linked_therapist):
    grant = grant_for(patient, linked_therapist, ["checkins"])
    return DisclosureLog.objects.create(
        viewer=linked_therapist,
        viewer_role="therapist",
        patient=patient,
        kind="checkin",
        record_ids=["a"],
        record_count=1,
        grant=grant,
        purpose="treatment",
        at=timezone.now(),
        endpoint="GET /api/v1/care/feed/",
    )


def _refused(action) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        action()


def test_the_database_refuses_to_update_a_row(row):
    _refused(lambda: DisclosureLog.objects.filter(pk=row.pk).update(record_count=0))
    row.refresh_from_db()
    assert row.record_count == 1


def test_the_database_refuses_to_delete_a_row(row):
    _refused(lambda: DisclosureLog.objects.filter(pk=row.pk).delete())
    assert DisclosureLog.objects.filter(pk=row.pk).exists()


def test_raw_sql_cannot_change_it_either(row):
    table = DisclosureLog._meta.db_table

    def raw_update():
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET viewer_role = 'nobody'")  # noqa: S608

    def raw_delete():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608

    _refused(raw_update)
    _refused(raw_delete)
    assert DisclosureLog.objects.get(pk=row.pk).viewer_role == "therapist"


def test_the_log_is_not_in_the_admin():

    assert DisclosureLog not in admin.site._registry
