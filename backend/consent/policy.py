"""The one access policy: (viewer, kind of record) -> what the viewer may see.

Every read of a patient's records by anyone, the patient included, goes
through here; views and other selectors never filter by user themselves.

- A patient sees all of their own records.
- Anyone else sees a patient's records only through an open consent grant
  whose window contains now and whose scope covers the record: entries need
  ``journal.all``, or ``journal.shared`` and the entry marked shared; custom
  coping skills, checklists and the relapse-prevention plan need ``coping``;
  homework needs ``homework``.
- One exception, named by the product: homework is also visible to the
  therapist who assigned it, while that therapist is on the patient's care
  team (the assignment is the program's own treatment record).
- Writing into a patient's records (a checklist, a custom skill, a suggestion
  to the plan) takes a therapist on the care team holding the scope.
- Nothing is cached: a revocation or an expiry holds from the next request.

A clinic admin holds no grants and so sees no patient record through the API.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from backend.accounts.models import User
from backend.care.models import CareLink
from backend.consent.models import FeedItem, GrantScope
from backend.consent.scopes import Scope
from backend.coping.models import (
    Checklist,
    ChecklistDay,
    PlanSuggestion,
    PlanVersion,
    RelapsePlan,
    Skill,
)
from backend.homework.models import Homework
from backend.journal.models import CareTeamAlert, CheckIn, JournalEntry, SobrietyCounter


def open_scopes(*, now: datetime | None = None) -> QuerySet[GrantScope]:
    """Scope rows of grants in force at ``now``: not revoked, started, not expired."""
    now = now or timezone.now()
    return GrantScope.objects.filter(ended_at__isnull=True, starts_at__lte=now, expires_at__gt=now)


def granted(viewer: User, scope: str, *, patient_ref: str = "patient", now=None) -> Exists:
    """SQL: the viewer holds ``scope`` for the row's patient (``patient_ref`` names its column)."""
    return Exists(
        open_scopes(now=now).filter(recipient=viewer, scope=scope, patient=OuterRef(patient_ref))
    )


def _entry_rule(viewer: User, *, now=None) -> Q:
    return Q(granted(viewer, Scope.JOURNAL_ALL, now=now)) | Q(
        granted(viewer, Scope.JOURNAL_SHARED, now=now), shared=True
    )


def entries_visible_to(viewer: User, *, now=None) -> QuerySet[JournalEntry]:
    live = JournalEntry.objects.filter(deleted_at__isnull=True)
    if viewer.role == User.Role.PATIENT:
        return live.filter(patient=viewer)
    return live.filter(_entry_rule(viewer, now=now))


# Scopes under which a viewer may be shown figures computed over every entry (counts,
# means, flags), never an entry itself: insights, and journal.all, which shows them all.
AGGREGATE_SCOPES = (Scope.INSIGHTS, Scope.JOURNAL_ALL)


def entries_for_aggregates_visible_to(viewer: User, *, now=None) -> QuerySet[JournalEntry]:
    """Entries the viewer may see summarised (AGGREGATE_SCOPES); not for showing one by one."""
    live = JournalEntry.objects.filter(deleted_at__isnull=True)
    if viewer.role == User.Role.PATIENT:
        return live.filter(patient=viewer)
    rule = Q()
    for scope in AGGREGATE_SCOPES:
        rule |= Q(granted(viewer, scope, now=now))
    return live.filter(rule)


def checkins_visible_to(viewer: User, *, now=None) -> QuerySet[CheckIn]:
    live = CheckIn.objects.filter(deleted_at__isnull=True)
    if viewer.role == User.Role.PATIENT:
        return live.filter(patient=viewer)
    return live.filter(granted(viewer, Scope.CHECKINS, now=now))


def counters_visible_to(viewer: User, *, now=None) -> QuerySet[SobrietyCounter]:
    if viewer.role == User.Role.PATIENT:
        return SobrietyCounter.objects.filter(patient=viewer)
    return SobrietyCounter.objects.filter(granted(viewer, Scope.COUNTERS, now=now))


def alerts_visible_to(viewer: User, *, now=None) -> QuerySet[CareTeamAlert]:
    if viewer.role == User.Role.PATIENT:
        return CareTeamAlert.objects.filter(patient=viewer)
    return CareTeamAlert.objects.filter(granted(viewer, Scope.CRISIS_ALERTS, now=now))


def attendance_visible_to(viewer: User, *, now=None) -> QuerySet:
    """Support-group meetings the patient logged going to (scope meetings)."""
    from backend.meetings.models import Attendance

    if viewer.role == User.Role.PATIENT:
        return Attendance.objects.filter(patient=viewer)
    return Attendance.objects.filter(granted(viewer, Scope.MEETINGS, now=now))


def skills_visible_to(viewer: User, *, now=None) -> QuerySet[Skill]:
    """The library's skills for everyone, and custom skills of the patients it covers."""
    live = Skill.objects.filter(archived_at__isnull=True)
    if viewer.role == User.Role.PATIENT:
        return live.filter(Q(patient__isnull=True) | Q(patient=viewer))
    return live.filter(Q(patient__isnull=True) | Q(granted(viewer, Scope.COPING, now=now)))


def checklists_visible_to(viewer: User, *, now=None) -> QuerySet[Checklist]:
    live = Checklist.objects.filter(archived_at__isnull=True)
    if viewer.role == User.Role.PATIENT:
        return live.filter(patient=viewer)
    return live.filter(granted(viewer, Scope.COPING, now=now))


def checklist_days_visible_to(viewer: User, *, now=None) -> QuerySet[ChecklistDay]:
    live = ChecklistDay.objects.filter(checklist__archived_at__isnull=True)
    if viewer.role == User.Role.PATIENT:
        return live.filter(checklist__patient=viewer)
    return live.filter(granted(viewer, Scope.COPING, patient_ref="checklist__patient", now=now))


def plans_visible_to(viewer: User, *, now=None) -> QuerySet[RelapsePlan]:
    if viewer.role == User.Role.PATIENT:
        return RelapsePlan.objects.filter(patient=viewer)
    return RelapsePlan.objects.filter(granted(viewer, Scope.COPING, now=now))


def plan_versions_visible_to(viewer: User, *, now=None) -> QuerySet[PlanVersion]:
    if viewer.role == User.Role.PATIENT:
        return PlanVersion.objects.filter(plan__patient=viewer)
    return PlanVersion.objects.filter(
        granted(viewer, Scope.COPING, patient_ref="plan__patient", now=now)
    )


def plan_suggestions_visible_to(viewer: User, *, now=None) -> QuerySet[PlanSuggestion]:
    if viewer.role == User.Role.PATIENT:
        return PlanSuggestion.objects.filter(plan__patient=viewer)
    return PlanSuggestion.objects.filter(
        granted(viewer, Scope.COPING, patient_ref="plan__patient", now=now)
    )


def _on_care_team(therapist: User, *, patient_ref: str = "patient") -> Exists:
    return Exists(
        CareLink.objects.filter(
            therapist=therapist,
            patient=OuterRef(patient_ref),
            ended_at__isnull=True,
            patient__is_active=True,
        )
    )


def homework_visible_to(viewer: User, *, now=None) -> QuerySet[Homework]:
    """Own homework for a patient; else what the viewer assigned (while linked) or a grant covers."""
    if viewer.role == User.Role.PATIENT:
        return Homework.objects.filter(patient=viewer)
    rule = Q(granted(viewer, Scope.HOMEWORK, now=now))
    if viewer.role == User.Role.THERAPIST:
        rule |= Q(_on_care_team(viewer), assigned_by=viewer)
    return Homework.objects.filter(rule)


def may_write_for(viewer: User, patient_id: UUID, scope: str, *, now=None) -> bool:
    """A therapist on the patient's care team, holding ``scope`` now, may add to their records."""
    if viewer.role != User.Role.THERAPIST:
        return False
    return (
        open_scopes(now=now)
        .filter(recipient=viewer, patient_id=patient_id, scope=scope)
        .filter(_on_care_team(viewer))
        .exists()
    )


@dataclass(frozen=True, slots=True)
class HeldScope:
    """A scope the viewer holds for a patient: the grant that gives it, and its purpose."""

    grant_id: UUID | None
    purpose: str


# patient id -> scope -> what gives the viewer that scope now.
Held = dict[UUID, dict[str, HeldScope]]


FEED_SCOPES = (Scope.JOURNAL_ALL, Scope.JOURNAL_SHARED, Scope.CHECKINS, Scope.CRISIS_ALERTS)


def feed_visible_to(viewer: User, *, now=None, held: Held | None = None) -> QuerySet[FeedItem]:
    """Feed items the viewer may see, across all the patients who granted them anything.

    ``held`` is scopes_held(viewer, now=now) (covering at least FEED_SCOPES); read here
    when not given. The rule names the patients of each scope as literal ids rather
    than EXISTS subqueries: the planner estimates an id list from its statistics but
    an EXISTS blind, and that estimate picks the plan. Walking the feed_at index
    newest first suits a caseload; a viewer whose patients hold a small part of the
    feed is served by feed_patient_at and a small sort instead.
    """
    if viewer.role == User.Role.PATIENT:
        return FeedItem.objects.none()
    if held is None:
        held = scopes_held(viewer, now=now, scopes=FEED_SCOPES)
    patients = {
        scope: [patient_id for patient_id, scopes in held.items() if scope in scopes]
        for scope in FEED_SCOPES
    }
    entries = Q(kind=FeedItem.Kind.ENTRY, entry__deleted_at__isnull=True) & (
        Q(patient_id__in=patients[Scope.JOURNAL_ALL])
        | Q(patient_id__in=patients[Scope.JOURNAL_SHARED], entry__shared=True)
    )
    checkins = Q(
        kind=FeedItem.Kind.CHECKIN,
        checkin__deleted_at__isnull=True,
        patient_id__in=patients[Scope.CHECKINS],
    )
    alerts = Q(kind=FeedItem.Kind.ALERT, patient_id__in=patients[Scope.CRISIS_ALERTS])
    return FeedItem.objects.filter(entries | checkins | alerts)


def scopes_held(
    viewer: User,
    patient_ids: Iterable[UUID] | None = None,
    *,
    now=None,
    scopes: Iterable[str] | None = None,
) -> Held:
    """patient id -> scope -> the grant in force that gives the viewer that scope; one query.

    Limited to ``patient_ids`` and to ``scopes`` when given.
    """
    # Plain rows, not model instances: a caseload holds hundreds of them, and building
    # a GrantScope and a ConsentGrant for each was the slowest step of a feed page.
    rows = (
        open_scopes(now=now)
        .filter(recipient=viewer)
        .values_list("patient_id", "scope", "grant_id", "grant__purpose")
    )
    if patient_ids is not None:
        rows = rows.filter(patient_id__in=list(patient_ids))
    if scopes is not None:
        rows = rows.filter(scope__in=list(scopes))
    held: Held = {}
    for patient_id, scope, grant_id, purpose in rows:
        held.setdefault(patient_id, {})[scope] = HeldScope(grant_id, purpose)
    return held


def patients_granting(viewer: User, *, now=None) -> QuerySet[User]:
    """Patients who granted the viewer any scope that is in force now."""
    return User.objects.filter(
        Exists(open_scopes(now=now).filter(recipient=viewer, patient=OuterRef("pk")))
    )
