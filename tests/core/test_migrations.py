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


@pytest.mark.django_db(transaction=True)
def test_feed_items_take_their_records_sharing_and_deletion_when_they_start_to_keep_them():
    """journal 0006: an item's copies of its entry's `shared` and its record's deletion."""
    before, after = (
        [("journal", "0005_alerts_from_measures")],
        [("journal", "0006_feed_item_state")],
    )
    executor = MigrationExecutor(connection)
    try:
        others = [n for n in executor.loader.graph.leaf_nodes() if n[0] != "journal"]
        executor.migrate(before)
        old = executor.loader.project_state(before + others).apps
        patient = old.get_model("accounts", "User").objects.create(
            email="feed-state@example.test", role="patient", time_zone="UTC"
        )
        when = datetime(2026, 11, 1, 12, tzinfo=UTC)
        Entry, CheckIn = (
            old.get_model("journal", "JournalEntry"),
            old.get_model("journal", "CheckIn"),
        )
        Item = old.get_model("journal", "FeedItem")
        items = {}
        for seq, (name, shared, deleted) in enumerate(
            [("private", False, None), ("shared", True, None), ("deleted", True, when)], start=1
        ):
            entry = Entry.objects.create(
                client_id=uuid.uuid4(), patient=patient, seq=seq, occurred_at=when,
                utc_offset_minutes=0, intensity=4, substance="alcohol", outcome="resisted",
                shared=shared, deleted_at=deleted,
            )  # fmt: skip
            items[name] = Item.objects.create(patient=patient, kind="entry", entry=entry, at=when)
        for seq, (name, deleted) in enumerate([("checkin", None), ("gone", when)], start=10):
            checkin = CheckIn.objects.create(
                client_id=uuid.uuid4(), patient=patient, seq=seq, local_date=date(2026, 11, seq),
                mood=0, peak_craving=2, used_today=False, medication="yes", deleted_at=deleted,
            )  # fmt: skip
            items[name] = Item.objects.create(
                patient=patient, kind="checkin", checkin=checkin, at=when
            )

        executor.loader.build_graph()
        executor.migrate(after)
        new = executor.loader.project_state(after + others).apps
        state = {
            name: new.get_model("journal", "FeedItem")
            .objects.values_list("shared", "withdrawn")
            .get(pk=item.pk)
            for name, item in items.items()
        }
        assert state == {
            "private": (False, False),
            "shared": (True, False),
            "deleted": (True, True),
            "checkin": (False, False),
            "gone": (False, True),
        }
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_stored_entries_are_dated_on_their_patients_clocks_when_the_date_is_kept():
    """journal 0007: local_date for every entry already stored, each in its patient's zone."""
    before, after = [("journal", "0006_feed_item_state")], [("journal", "0007_entry_local_date")]
    executor = MigrationExecutor(connection)
    try:
        others = [n for n in executor.loader.graph.leaf_nodes() if n[0] != "journal"]
        executor.migrate(before)
        old = executor.loader.project_state(before + others).apps
        User, Entry = old.get_model("accounts", "User"), old.get_model("journal", "JournalEntry")
        when = datetime(2026, 11, 2, 3, 30, tzinfo=UTC)  # the 1st in New York, 2nd in Kolkata
        ids = {}
        for seq, zone in enumerate(["America/New_York", "Asia/Kolkata"], start=1):
            patient = User.objects.create(
                email=f"dated-{seq}@example.test", role="patient", time_zone=zone
            )
            ids[zone] = Entry.objects.create(
                client_id=uuid.uuid4(), patient=patient, seq=seq, occurred_at=when,
                utc_offset_minutes=0, intensity=4, substance="alcohol", outcome="resisted",
            ).pk  # fmt: skip

        executor.loader.build_graph()
        executor.migrate(after)
        new = executor.loader.project_state(after + others).apps
        dated = dict(
            new.get_model("journal", "JournalEntry").objects.values_list("pk", "local_date")
        )
        assert dated == {
            ids["America/New_York"]: date(2026, 11, 1),
            ids["Asia/Kolkata"]: date(2026, 11, 2),
        }
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
