"""The disclosure log is append-only in the database itself, on PostgreSQL and SQLite."""

import pytest
from django.contrib import admin
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.disclosure.models import DisclosureLog
from backend.disclosure.services import Disclosure, disclosures_log
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


def test_one_statement_writes_every_row_of_a_response_as_it_was_given(
    patient, other_patient, linked_therapist
):
    grant = grant_for(patient, linked_therapist, ["checkins", "counters"])
    request = RequestFactory().get("/api/v1/care/caseload/summaries/", REMOTE_ADDR="10.0.0.7")
    rows = [
        (Disclosure(patient.pk, "checkins", "checkin_streak", None, 1), grant.pk, "treatment"),
        (Disclosure(patient.pk, "counters", "counter", ["c1", "c2"], 2), grant.pk, "treatment"),
        # Seen without a consent (the program's own record): no grant, every row alike.
        (Disclosure(other_patient.pk, "", "program_progress", None, 1), None, "treatment"),
    ]
    with CaptureQueriesContext(connection) as captured:
        disclosures_log(request=request, viewer=linked_therapist, rows=rows)
    assert len(captured) == 1
    written = list(
        DisclosureLog.objects.order_by("id").values_list(
            "viewer_id", "viewer_role", "patient_id", "kind", "record_ids", "record_count",
            "grant_id", "purpose", "endpoint", "ip",
        )
    )  # fmt: skip
    common = ("GET /api/v1/care/caseload/summaries/", "10.0.0.7")
    assert written == [
        (linked_therapist.pk, "therapist", patient.pk, "checkin_streak", [], 1, grant.pk,
         "treatment", *common),
        (linked_therapist.pk, "therapist", patient.pk, "counter", ["c1", "c2"], 2, grant.pk,
         "treatment", *common),
        (linked_therapist.pk, "therapist", other_patient.pk, "program_progress", [], 1, None,
         "treatment", *common),
    ]  # fmt: skip
    assert len(set(DisclosureLog.objects.values_list("at", flat=True))) == 1
    # A response whose rows are all without a grant.
    disclosures_log(request=request, viewer=linked_therapist, rows=rows[2:])
    assert DisclosureLog.objects.filter(grant__isnull=True).count() == 2


def test_one_index_leads_with_the_patient():
    """disclosure 0002 dropped the patient's own index (the tests above: the triggers stayed)."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "consent_disclosurelog")
    leading = [
        info["columns"]
        for info in constraints.values()
        if info["index"] and info["columns"] and info["columns"][0] == "patient_id"
    ]
    assert leading == [["patient_id", "at"]]
