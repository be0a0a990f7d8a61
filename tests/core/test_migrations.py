"""The models and the committed migrations agree (a change without its migration fails here)."""

import uuid
from datetime import UTC, date, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor


@pytest.mark.django_db
def test_no_model_change_is_missing_a_migration():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exit_:
        pytest.fail(f"models changed without a migration:\n{out.getvalue()}")
        raise exit_


@pytest.mark.django_db(transaction=True)
def test_existing_records_keep_their_ids_when_client_ids_become_per_patient():
    """Rows written before journal 0003 and meetings 0003 answer to the ids the phones hold."""

    # The feed items were consent's until consent 0007 gave them to journal (0004).
    feed_owner = ("consent", "0006_disclosure_without_grant")
    before = [
        ("journal", "0002_journalentry_shared"),
        ("meetings", "0002_keys_as_text"),
        feed_owner,
    ]
    after = [("journal", "0003_client_ids_per_patient"), ("meetings", "0003_attendance_client_id"), feed_owner]  # fmt: skip
    pinned = ("journal", "meetings", "consent", "disclosure", "sharing")
    executor = MigrationExecutor(connection)
    try:
        others = [n for n in executor.loader.graph.leaf_nodes() if n[0] not in pinned]
        executor.migrate(before)
        old = executor.loader.project_state(before + others).apps
        patient = old.get_model("accounts", "User").objects.create(
            email="migrated@example.test", role="patient", time_zone="UTC"
        )
        when = datetime(2026, 11, 1, 12, tzinfo=UTC)
        entry = old.get_model("journal", "JournalEntry").objects.create(
            id=uuid.uuid4(), patient=patient, seq=1, occurred_at=when, utc_offset_minutes=0,
            intensity=4, substance="alcohol", outcome="resisted",
        )  # fmt: skip
        checkin = old.get_model("journal", "CheckIn").objects.create(
            id=uuid.uuid4(), patient=patient, seq=2, local_date=date(2026, 11, 1), mood=0,
            peak_craving=2, used_today=False, medication="yes",
        )  # fmt: skip
        attendance = old.get_model("meetings", "Attendance").objects.create(
            patient=patient, name="Group", attended_at=when
        )
        feed_item = old.get_model("consent", "FeedItem").objects.create(
            patient=patient, kind="entry", entry_id=entry.pk, at=when
        )

        executor.loader.build_graph()
        executor.migrate(after)
        new = executor.loader.project_state(after + others).apps
        for model, row in (
            ("journal.JournalEntry", entry),
            ("journal.CheckIn", checkin),
            ("meetings.Attendance", attendance),
        ):
            migrated = new.get_model(model).objects.get(pk=row.pk)
            assert migrated.client_id == row.pk, model
        moved = new.get_model("consent", "FeedItem").objects.get(pk=feed_item.pk)
        assert moved.entry.client_id == entry.pk
        # Another patient may now use the same phone id; the same patient may not.
        Entry = new.get_model("journal", "JournalEntry")
        other = new.get_model("accounts", "User").objects.create(
            email="other@example.test", role="patient", time_zone="UTC"
        )
        fields = {"occurred_at": when, "utc_offset_minutes": 0, "intensity": 1,
                  "substance": "alcohol", "outcome": "resisted"}  # fmt: skip
        Entry.objects.create(patient_id=other.pk, client_id=entry.pk, seq=1, **fields)

        with pytest.raises(IntegrityError), transaction.atomic():
            Entry.objects.create(patient_id=patient.pk, client_id=entry.pk, seq=3, **fields)
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
