"""The access gate's own promises: fields no scope reveals are never read, writes are
decided in one place (404 for what may not be seen, 403 for what may be seen but not
changed), each record handed out is logged under the grant that allowed it, and crisis
alerts reach only those whose consent holds."""

import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone
from rest_framework.exceptions import NotFound, PermissionDenied

from backend.consent import policy
from backend.consent.policy import Action
from backend.consent.scopes import Scope
from backend.consent.services import grant_revoke
from backend.coping.access import CHECKLIST
from backend.disclosure.models import DisclosureLog
from backend.homework.access import HOMEWORK
from backend.homework.models import Homework
from backend.journal import reports
from backend.journal.access import ALERT, CHECKIN, ENTRY, ENTRY_FIGURES, FEED_ITEM
from backend.journal.models import JournalEntry
from backend.journal.services import EntryOp, checkin_delete, entries_apply
from tests.factories import (
    CareLinkFactory,
    CheckInFactory,
    ChecklistFactory,
    EntryFactory,
    FamilyFactory,
    FamilyLinkFactory,
    HomeworkFactory,
    PatientFactory,
    TherapistFactory,
    grant_for,
)

pytestmark = pytest.mark.django_db


class _Request:
    """What the disclosure log reads of a request."""

    method = "GET"
    path = "/api/v1/test/"
    META = {"REMOTE_ADDR": "127.0.0.1"}


def _family_with(patient, scopes):
    member = FamilyFactory()
    FamilyLinkFactory(patient=patient, member=member)
    grant_for(patient, member, scopes)
    return member


def test_a_check_in_note_no_journal_scope_reveals_is_never_read_for_the_viewer(patient):
    CheckInFactory(patient=patient, note="Hard morning, called my sponsor.")
    member = _family_with(patient, [Scope.CHECKINS])

    [checkin] = policy.readable(member, CHECKIN)

    assert checkin.shown_note is None
    assert "note" in checkin.get_deferred_fields()


def test_a_journal_scope_reveals_the_check_in_note(patient, linked_therapist):
    CheckInFactory(patient=patient, note="Hard morning, called my sponsor.")
    grant_for(patient, linked_therapist, [Scope.CHECKINS, Scope.JOURNAL_SHARED])

    [checkin] = policy.readable(linked_therapist, CHECKIN)

    assert checkin.shown_note == "Hard morning, called my sponsor."


def test_journal_shared_reaches_only_entries_marked_shared(patient, linked_therapist):
    shared = EntryFactory(patient=patient, shared=True)
    EntryFactory(patient=patient, shared=False)
    grant_for(patient, linked_therapist, [Scope.JOURNAL_SHARED])

    assert list(policy.readable(linked_therapist, ENTRY)) == [shared]
    assert not policy.readable(linked_therapist, ENTRY_FIGURES).exists()


def test_insights_handed_no_counters_leave_the_section_out(patient):
    EntryFactory(patient=patient)
    today = timezone.localdate()

    insights = reports.insights_for(
        patient,
        today - timedelta(days=6),
        today,
        entries=policy.readable(patient, ENTRY_FIGURES),
        counters=None,
        trigger_labels=False,
    )

    assert "counters" not in insights
    assert all(row["label"] is None for row in insights["top_triggers"])


def test_a_therapist_off_the_care_team_cannot_assign_homework(patient, unlinked_therapist):
    with pytest.raises(NotFound):
        policy.authorize(unlinked_therapist, Action.CREATE, HOMEWORK, patient_id=patient.pk)


def _homework(patient, therapist) -> Homework:
    return HomeworkFactory(patient=patient, therapist=therapist)


def test_only_the_assigning_therapist_reviews_a_homework_they_can_see(patient, linked_therapist):
    colleague = TherapistFactory()
    CareLinkFactory(patient=patient, therapist=colleague)
    grant_for(patient, colleague, [Scope.HOMEWORK])
    homework = _homework(patient, linked_therapist)

    assert policy.readable(colleague, HOMEWORK).filter(pk=homework.pk).exists()
    with pytest.raises(PermissionDenied):
        policy.authorize(colleague, Action.REVIEW, HOMEWORK, patient_id=patient.pk, record=homework)
    policy.authorize(
        linked_therapist, Action.REVIEW, HOMEWORK, patient_id=patient.pk, record=homework
    )


def test_an_assigner_who_left_the_care_team_no_longer_sees_their_homework(patient):
    therapist = TherapistFactory()
    link = CareLinkFactory(patient=patient, therapist=therapist)
    homework = _homework(patient, therapist)
    assert policy.readable(therapist, HOMEWORK).filter(pk=homework.pk).exists()

    link.ended_at = timezone.now()
    link.save(update_fields=["ended_at"])

    assert not policy.readable(therapist, HOMEWORK).exists()


def test_writing_a_checklist_takes_the_coping_scope_and_the_care_team(patient, linked_therapist):
    assert not policy.may(linked_therapist, Action.CREATE, CHECKLIST, patient_id=patient.pk)
    grant_for(patient, linked_therapist, [Scope.COPING])
    assert policy.may(linked_therapist, Action.CREATE, CHECKLIST, patient_id=patient.pk)
    outsider = TherapistFactory()
    assert not policy.may(outsider, Action.CREATE, CHECKLIST, patient_id=patient.pk)


def test_deleting_a_checklist_takes_its_author(patient, linked_therapist):
    grant_for(patient, linked_therapist, [Scope.COPING])
    checklist = ChecklistFactory(patient=patient)

    assert policy.may(linked_therapist, Action.CHANGE, CHECKLIST, patient_id=patient.pk)
    assert not policy.may(
        linked_therapist, Action.DELETE, CHECKLIST, patient_id=patient.pk, record=checklist
    )
    assert policy.may(patient, Action.DELETE, CHECKLIST, patient_id=patient.pk, record=checklist)


def test_hand_out_logs_each_record_under_the_grant_that_allowed_it(patient, linked_therapist):
    grant = grant_for(patient, linked_therapist, [Scope.HOMEWORK])
    own = _homework(patient, linked_therapist)
    colleague = TherapistFactory()
    CareLinkFactory(patient=patient, therapist=colleague)
    theirs = _homework(patient, colleague)
    now = timezone.now()

    shown = policy.hand_out(
        request=_Request(),
        viewer=linked_therapist,
        kind=HOMEWORK,
        records=[own, theirs],
        now=now,
    )

    assert shown == [own, theirs]
    [row] = DisclosureLog.objects.filter(viewer=linked_therapist)
    assert (row.grant_id, row.kind, row.record_count) == (grant.pk, "homework", 2)


def test_hand_out_logs_the_assigners_own_homework_without_a_grant(patient, linked_therapist):
    homework = _homework(patient, linked_therapist)

    shown = policy.hand_out(
        request=_Request(),
        viewer=linked_therapist,
        kind=HOMEWORK,
        records=[homework],
        now=timezone.now(),
    )

    assert shown == [homework]
    [row] = DisclosureLog.objects.filter(viewer=linked_therapist)
    assert (row.grant_id, row.purpose, row.record_ids) == (None, "treatment", [str(homework.pk)])


def test_hand_out_leaves_out_a_record_whose_grant_ended_during_the_request(
    patient, linked_therapist
):
    grant = grant_for(patient, linked_therapist, [Scope.CHECKINS])
    checkin = CheckInFactory(patient=patient)
    [read] = policy.readable(linked_therapist, CHECKIN)
    grant_revoke(grant=grant, by=patient)

    shown = policy.hand_out(
        request=_Request(),
        viewer=linked_therapist,
        kind=CHECKIN,
        records=[read],
        now=timezone.now(),
    )

    assert (shown, checkin.pk == read.pk) == ([], True)
    assert not DisclosureLog.objects.exists()


def test_crisis_alerts_reach_open_accounts_holding_the_scope_in_force(patient):
    holder = _family_with(patient, [Scope.CRISIS_ALERTS])
    closed = _family_with(patient, [Scope.CRISIS_ALERTS])
    closed.is_active = False
    closed.save(update_fields=["is_active"])
    _family_with(patient, [Scope.CHECKINS])
    revoked_member = FamilyFactory()
    FamilyLinkFactory(patient=patient, member=revoked_member)
    grant_revoke(grant=grant_for(patient, revoked_member, [Scope.CRISIS_ALERTS]), by=patient)
    stranger = PatientFactory()

    alert = SimpleNamespace(pk=uuid.uuid4(), patient_id=patient.pk, asked_by_id=None)
    other = SimpleNamespace(pk=uuid.uuid4(), patient_id=stranger.pk, asked_by_id=None)

    recipients = policy.alert_recipients([alert, other], kind=ALERT)

    assert recipients == {alert.pk: {holder.pk}, other.pk: set()}


def test_feed_items_follow_their_records_and_each_patients_scopes_with_or_without_held(
    linked_therapist,
):
    """Scopes held by the same patients share one id list in the SQL (policy._reach_rule:
    here journal.all and check-ins); the others keep theirs. Sharing, unsharing and deleting a record move its feed
    item in or out at once (the item keeps copies of its record's state)."""
    everything, only_shared = PatientFactory(), PatientFactory()
    for patient, scopes in (
        (everything, [Scope.JOURNAL_ALL, Scope.JOURNAL_SHARED, Scope.CHECKINS]),
        (only_shared, [Scope.JOURNAL_SHARED]),
    ):
        CareLinkFactory(patient=patient, therapist=linked_therapist)
        grant_for(patient, linked_therapist, scopes)
    records = {}
    for patient in (everything, only_shared):
        records[patient, "private"] = EntryFactory(patient=patient, shared=False)
        records[patient, "shared"] = EntryFactory(patient=patient, shared=True)
        records[patient, "checkin"] = CheckInFactory(patient=patient)
    names = {record.pk: (patient.pk, name) for (patient, name), record in records.items()}

    def seen() -> set[tuple]:
        now = timezone.now()
        held = policy.scopes_held(linked_therapist, [p.pk for p, _ in records], now=now)
        with_held = set(policy.readable(linked_therapist, FEED_ITEM, now=now, held=held))
        without = set(policy.readable(linked_therapist, FEED_ITEM, now=now))
        assert with_held == without
        return {names[item.entry_id or item.checkin_id] for item in without}

    def change(patient, name, kind, data=None):
        entry = JournalEntry.objects.get(pk=records[patient, name].pk)
        op = EntryOp(kind, entry.client_id, entry.version, data, partial=data is not None)
        assert entries_apply(patient=patient, ops=[op])[0].status == "updated"

    assert seen() == {
        (everything.pk, "private"),
        (everything.pk, "shared"),
        (everything.pk, "checkin"),
        (only_shared.pk, "shared"),
    }

    change(only_shared, "shared", "upsert", {"shared": False})
    change(only_shared, "private", "upsert", {"shared": True})
    change(everything, "private", "delete")
    checkin_delete(checkin=records[everything, "checkin"], expected_version=None)

    assert seen() == {(everything.pk, "shared"), (only_shared.pk, "private")}
