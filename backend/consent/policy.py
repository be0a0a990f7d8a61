"""The one access gate: (viewer, kind of record, action) -> what the viewer may have.

Every read of a patient's records by anyone, the patient included, and every
write by someone other than the patient, goes through here. Views, reports and
deliveries never filter by user themselves: they ask this module for

- ``readable(viewer, kind)``: the queryset of records the viewer may read;
- restricted fields, through ``readable``: a field no scope in force reveals to the
  viewer (a check-in's note) is read as ``shown_<field>``, null, and never selected;
- ``authorize(viewer, action, kind, ...)``: whether they may create, change or
  delete one (a record they may not see is a 404; a role that can never do the
  action is a 403, which reveals nothing);
- ``hand_out(...)``: the records of a response, each read by someone else
  written to the disclosure log under the grant that allowed it (42 CFR 2.25).

The rules, one place each:

- A patient sees all of their own records.
- Anyone else sees a patient's records only through a grant in force
  (``GrantScope.objects.in_force``: not revoked, started, not expired) whose
  scope reaches the record; each kind of record names its reaches (a scope and,
  for some, a condition on the record, such as an entry marked shared).
- The program's own treatment record (homework) is also seen by the therapist
  who wrote it, while they are on the patient's care team; such a read is
  logged without a grant. A kind may instead name who treats the patient there
  (``treating``: the IOP program's staff see its enrolments and attendance); such
  reads are logged without a grant too.
- Writing into a patient's records takes a therapist on the care team (holding
  the kind's scope where it names one); changing or deleting, for some kinds,
  only their own.
- Crisis alerts reach the holders of ``crisis_alerts`` in force whose account
  is open (``alert_recipients``).
- Nothing is cached: a revocation or an expiry holds from the next request.

The kinds are declared beside their models (``<app>/access.py``); this module
knows no record app, so it sits below them all. A clinic admin holds no grants
and so sees no patient record through the API, except where a kind names clinic
staff: they enrol patients in programs and hand an enrolment to another primary therapist
(``Writers.clinic``), and read the programs' enrolments (the program's ``treating`` rule),
logged like any other such read.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar
from uuid import UUID

from django.db import models
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.http import HttpRequest
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError

from backend.accounts.models import User
from backend.consent.models import GrantScope
from backend.consent.scopes import Purpose, Scope
from backend.disclosure.services import Disclosure, disclosures_log

T = TypeVar("T", bound=models.Model)

# Builds "the viewer is on the care team of the row's patient" (patient_ref names the column).
TeamRule = Callable[[User, str], Exists]


class Action(StrEnum):
    CREATE = "create"
    CHANGE = "change"
    DELETE = "delete"
    ANSWER = "answer"  # a homework's answers: drafted and submitted by its patient
    REVIEW = "review"  # a submitted homework: reviewed or returned by its assigner
    REASSIGN = "reassign"  # who is responsible for it (an enrolment's primary therapist)


@dataclass(frozen=True)
class Reach:
    """One way someone other than the patient reaches a record: a scope they hold for its
    patient, and values the record's fields must have (``{"shared": True}``)."""

    scope: str
    when: Mapping[str, Any] = field(default_factory=dict)

    def q(self) -> Q:
        return Q(**self.when)

    def holds_for(self, record: models.Model) -> bool:
        return all(_value(record, path) == value for path, value in self.when.items())


@dataclass(frozen=True)
class Writers:
    """Who may do one action on a kind's records: the patient on their own (``patient``),
    and a therapist on the care team by ``team`` (none if None), holding ``scope`` when one
    is named, on a record only if it names them as its ``author`` or, with ``treating``,
    only if the kind's ``treating`` rule gives it to them (a therapist of that enrolment's
    program, not of another the patient was in); clinic staff when ``clinic`` (a program's
    intake: enrolling a patient who has no care team yet)."""

    patient: bool = True
    team: TeamRule | None = None
    scope: str | None = None
    author: str | None = None
    treating: bool = False
    clinic: bool = False
    refusal: str = "Only the patient and their therapist may do this."


PATIENT_ONLY = Writers(refusal="Only the patient may do this.")


@dataclass(frozen=True, eq=False)
class Kind:
    """A kind of patient record, as the gate knows it."""

    name: str  # as the disclosure log names what was seen
    model: type[models.Model]
    reach: tuple[Reach, ...]
    patient: str = "patient"  # the path from a record to its patient
    live: Q = field(default_factory=Q)  # records that still exist (not deleted or archived)
    public: Q | None = None  # records of no patient, anyone's to read (the skills library)
    # The program's own record: the therapist named by this field sees it without a grant,
    # while on the care team by ``team``.
    assigned_by: str | None = None
    team: TeamRule | None = None
    # The program's own record by membership: SQL of the rows the viewer sees without a
    # grant because they treat the patient there (a program's therapists, its attendance).
    treating: Callable[[User], Q] | None = None
    # field -> the scopes that reveal it to someone other than the patient. Such a field
    # is read as ``shown_<field>``, null where no scope in force reveals it.
    fields: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Who may do each action; an action not named is the patient's alone.
    writers: Mapping[Action, Writers] = field(default_factory=dict)
    # The id the disclosure log names a record by (the phone's id where there is one).
    log_id: str = "pk"

    @property
    def patient_id(self) -> str:
        return f"{self.patient}_id"

    def patient_of(self, record: models.Model) -> UUID:
        return _value(record, self.patient_id.replace("__", "."))


def _value(record: Any, path: str) -> Any:
    for part in path.replace("__", ".").split("."):
        record = None if record is None else getattr(record, part)
    return record


# --- who treats a patient in a program ------------------------------------------------------

# Registered by the program app (ProgramConfig.ready): record apps beside it may not import
# it, yet their treatment records (a questionnaire's answers) are seen by the program's staff.
_program_staff_rules: list[TeamRule] = []


def program_staff_register(rule: TeamRule) -> None:
    """``rule(viewer, patient_ref)``: SQL, the viewer is on the staff of a program the row's
    patient is or was enrolled in."""
    if rule not in _program_staff_rules:
        _program_staff_rules.append(rule)


def program_staff(viewer: User, patient_ref: str = "patient") -> Q:
    """SQL: the viewer treats the row's patient in a program (see program_staff_register)."""
    rule = Q(pk__in=[])
    for staff_rule in _program_staff_rules:
        rule |= Q(staff_rule(viewer, patient_ref))
    return rule


# --- grants in force -----------------------------------------------------------------------


def in_force(*, now: datetime | None = None) -> QuerySet[GrantScope]:
    """Scope rows of grants in force at ``now``."""
    return GrantScope.objects.in_force(now=now)


def granted(
    viewer: User, scope: str, *, patient_ref: str = "patient", now: datetime | None = None
) -> Exists:
    """SQL: the viewer holds ``scope`` for the row's patient (``patient_ref`` names its column)."""
    return Exists(
        in_force(now=now).filter(recipient=viewer, scope=scope, patient=OuterRef(patient_ref))
    )


@dataclass(frozen=True, slots=True)
class HeldScope:
    """A scope the viewer holds for a patient: the grant that gives it, and its purpose."""

    grant_id: UUID | None
    purpose: str


# patient id -> scope -> what gives the viewer that scope now.
Held = dict[UUID, dict[str, HeldScope]]


def scopes_held(
    viewer: User,
    patient_ids: Iterable[UUID] | None = None,
    *,
    now: datetime | None = None,
    scopes: Iterable[str] | None = None,
) -> Held:
    """patient id -> scope -> the grant in force that gives the viewer that scope; one query.

    Limited to ``patient_ids`` and to ``scopes`` when given.
    """
    # Plain rows, not model instances: a caseload holds hundreds of them, and building
    # a GrantScope and a ConsentGrant for each was the slowest step of a feed page.
    rows = (
        in_force(now=now)
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


def patients_granting(viewer: User, *, now: datetime | None = None) -> QuerySet[User]:
    """Patients who granted the viewer any scope that is in force now."""
    return User.objects.filter(
        Exists(in_force(now=now).filter(recipient=viewer, patient=OuterRef("pk")))
    )


def alert_recipients(
    alerts: Iterable[Any], *, kind: Kind, now: datetime | None = None
) -> dict[UUID, set[UUID]]:
    """alert id -> who receives it now: holders of ``crisis_alerts`` in force for its patient,
    and the therapist who asked for what raised it (the kind's ``assigned_by``) while on the
    care team (its ``team``); in both cases only with an open account."""
    alerts = list(alerts)
    by_patient: dict[UUID, set[UUID]] = defaultdict(set)
    rows = in_force(now=now).filter(
        patient_id__in={kind.patient_of(a) for a in alerts},
        scope=Scope.CRISIS_ALERTS,
        recipient__is_active=True,
    )
    for patient_id, recipient_id in rows.values_list("patient_id", "recipient_id"):
        by_patient[patient_id].add(recipient_id)
    recipients = {alert.pk: set(by_patient[kind.patient_of(alert)]) for alert in alerts}
    if kind.assigned_by is not None and kind.team is not None:
        for alert in alerts:
            asker_id = _value(alert, f"{kind.assigned_by}_id")
            if asker_id is None:
                continue
            asker = User.objects.filter(pk=asker_id, is_active=True).first()
            if asker is not None and (
                User.objects.filter(pk=kind.patient_of(alert))
                .filter(kind.team(asker, "pk"))
                .exists()
            ):
                recipients[alert.pk].add(asker_id)
    return recipients


def alerts_reaching(
    viewer: User, *, kind: Kind, path: str = "alert", now: datetime | None = None
) -> Q:
    """SQL: the alert at ``path`` of a row may reach the viewer now (see alert_recipients)."""
    patient = f"{path}__{kind.patient}"
    rule = Q(granted(viewer, Scope.CRISIS_ALERTS, patient_ref=patient, now=now))
    if kind.assigned_by is not None and kind.team is not None:
        rule |= Q(kind.team(viewer, patient), **{f"{path}__{kind.assigned_by}": viewer})
    return rule


# --- reads ---------------------------------------------------------------------------------


def _by_patient(kind: Kind, patient_ids: Iterable[UUID]) -> Q:
    return Q(**{f"{kind.patient_id}__in": list(patient_ids)})


def _reach_rule(
    viewer: User, kind: Kind, *, now: datetime | None = None, held: Held | None = None
) -> Q:
    """SQL: the rows of ``kind`` a non-patient viewer reaches.

    With ``held`` (scopes_held for this viewer and request) the patients of each scope
    are literal ids: the planner estimates an id list from its statistics but an EXISTS
    blind, and on a caseload's feed that estimate picks the plan.
    """
    rule = Q(pk__in=[])
    if held is None:
        for reach in kind.reach:
            who = Q(granted(viewer, reach.scope, patient_ref=kind.patient, now=now))
            rule |= who & reach.q()
    else:
        # Reaches whose scopes the same patients hold share one id list: `patients IN (...)
        # AND (kind = entry OR ...)` rather than the list once per reach (a caseload's feed
        # had four copies of a hundred ids, each tested per row).
        groups: dict[tuple[UUID, ...], list[Reach]] = {}
        for reach in kind.reach:
            ids = tuple(pid for pid, scopes in held.items() if reach.scope in scopes)
            groups.setdefault(ids, []).append(reach)
        for ids, reaches in groups.items():
            if not ids:
                continue
            if any(not reach.when for reach in reaches):
                rule |= _by_patient(kind, ids)  # one of them reaches every record of theirs
                continue
            conditions = Q(pk__in=[])
            for reach in reaches:
                conditions |= reach.q()
            rule |= _by_patient(kind, ids) & conditions
    if kind.assigned_by is not None and kind.team is not None:
        rule |= Q(kind.team(viewer, kind.patient), **{kind.assigned_by: viewer})
    if kind.treating is not None:
        rule |= kind.treating(viewer)
    if kind.public is not None:
        rule |= kind.public
    return rule


def _shown_fields(
    qs: QuerySet,
    viewer: User,
    kind: Kind,
    *,
    now: datetime | None = None,
    held: Held | None = None,
) -> QuerySet:
    """For someone else, read each restricted field as ``shown_<field>``: the value where a
    scope in force reveals it, null elsewhere; the field itself stays unread.

    With ``held`` the revealing patients are literal ids, as in _reach_rule (no subquery
    per row of a page).
    """
    if not kind.fields or viewer.role == User.Role.PATIENT:
        return qs  # a patient reads every field of their own records as it is
    annotations = {}
    for path, scopes in kind.fields.items():
        output = _field_at(kind.model, path).__class__(null=True)
        if held is None:
            reveals = Q(pk__in=[])
            for scope in sorted(scopes):
                reveals |= Q(granted(viewer, scope, patient_ref=kind.patient, now=now))
        else:
            reveals = _by_patient(
                kind, [pid for pid, held_scopes in held.items() if scopes & set(held_scopes)]
            )
        annotations[shown_name(path)] = Case(
            When(reveals, then=F(path)), default=Value(None), output_field=output
        )
    return qs.defer(*kind.fields).annotate(**annotations)


def shown_name(path: str) -> str:
    """The name a restricted field is read as: ``note`` -> ``shown_note``, ``checkin__note``
    (a related record's) -> ``shown_checkin_note``."""
    return "shown_" + path.replace("__", "_")


def _field_at(model: type[models.Model], path: str) -> models.Field:
    *relations, name = path.split("__")
    for relation in relations:
        model = model._meta.get_field(relation).related_model  # type: ignore[assignment]
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{path} is not a field a record can hide")
    return field


def readable(
    viewer: User, kind: Kind, *, now: datetime | None = None, held: Held | None = None
) -> QuerySet:
    """The records of ``kind`` the viewer may read now (for others, restricted fields as
    ``shown_<field>``: see _shown_fields)."""
    rows = kind.model._default_manager.filter(kind.live)
    if viewer.role == User.Role.PATIENT:
        own = Q(**{kind.patient: viewer})
        rows = rows.filter(own | kind.public if kind.public is not None else own)
    else:
        rows = rows.filter(_reach_rule(viewer, kind, now=now, held=held))
    return _shown_fields(rows, viewer, kind, now=now, held=held)


def get_or_404(viewer: User, kind: Kind, queryset: QuerySet | None = None, **lookup: Any) -> Any:
    """One record of ``kind`` the viewer may read (from ``queryset`` when given); else 404."""
    rows = readable(viewer, kind) if queryset is None else queryset
    record = rows.filter(**lookup).first()
    if record is None:
        raise NotFound()
    return record


# --- writes --------------------------------------------------------------------------------


def _writers(kind: Kind, action: Action) -> Writers:
    return kind.writers.get(action, PATIENT_ONLY)


def may(
    viewer: User,
    action: Action,
    kind: Kind,
    *,
    patient_id: UUID,
    record: models.Model | None = None,
    now: datetime | None = None,
) -> bool:
    """Whether the viewer may do ``action`` on the patient's records of ``kind`` (on ``record``)."""
    writers = _writers(kind, action)
    if viewer.role == User.Role.PATIENT:
        return writers.patient and viewer.pk == patient_id
    if viewer.role == User.Role.CLINIC_ADMIN:
        return writers.clinic and User.objects.filter(pk=patient_id, is_active=True).exists()
    if writers.team is None or viewer.role != User.Role.THERAPIST:
        return False
    if (
        writers.author is not None
        and record is not None
        and _value(record, f"{writers.author}_id") != viewer.pk
    ):
        return False
    if (
        writers.treating
        and record is not None
        and kind.treating is not None
        and not kind.model._default_manager.filter(pk=record.pk)
        .filter(kind.treating(viewer))
        .exists()
    ):
        return False
    on_team = User.objects.filter(pk=patient_id).filter(writers.team(viewer, "pk"))
    if writers.scope is not None:
        on_team = on_team.filter(granted(viewer, writers.scope, patient_ref="pk", now=now))
    return on_team.exists()


def authorize(
    viewer: User,
    action: Action,
    kind: Kind,
    *,
    patient_id: UUID,
    record: models.Model | None = None,
    now: datetime | None = None,
) -> None:
    """Raise unless the viewer may do ``action``.

    Creating for a patient one may not write for is a 404 (whether the patient exists
    is not the viewer's to learn); a record the viewer can read but not change is a 403.
    """
    if may(viewer, action, kind, patient_id=patient_id, record=record, now=now):
        return
    if record is None:
        raise NotFound()
    raise PermissionDenied(_writers(kind, action).refusal)


def writable_patient(
    viewer: User, kind: Kind, patient_id: UUID | None, *, now: datetime | None = None
) -> User:
    """The patient a new record of ``kind`` is for: the viewer themselves, or a patient the
    viewer may create it for (named by ``patient_id``); 404 otherwise."""
    if viewer.role == User.Role.PATIENT:
        if patient_id not in (None, viewer.pk):
            raise NotFound()
        return viewer
    if patient_id is None:
        raise ValidationError({"patient": ["Name the patient on your care team this is for."]})
    authorize(viewer, Action.CREATE, kind, patient_id=patient_id, now=now)
    return User.objects.get(pk=patient_id)


# --- what a response hands out -------------------------------------------------------------


def reach_of(viewer: User, kind: Kind, record: models.Model, scopes: Mapping[str, Any]) -> str:
    """The scope under which ``record`` is shown to the viewer ('' if none of ``scopes``)."""
    for reach in kind.reach:
        if reach.scope in scopes and reach.holds_for(record):
            return reach.scope
    return ""


def hand_out(
    *,
    request: HttpRequest,
    viewer: User,
    kind: Kind,
    records: Sequence[T],
    now: datetime,
    held: Held | None = None,
    log_as: Callable[[T], tuple[str, str]] | None = None,
) -> list[T]:
    """The records the viewer may be shown, each read by someone else logged (42 CFR 2.25).

    A patient's own records pass unlogged. For anyone else a record is shown when a grant
    in force reaches it (logged under that grant, one row per patient, scope and kind), or
    when the viewer assigned it as the program's own record (logged without a grant). A
    record that fits neither (a grant revoked while this request ran) is left out.
    ``log_as`` names a record in the log (kind, id); by default the kind's name and log_id.
    """
    if viewer.role == User.Role.PATIENT:
        return [record for record in records if kind.patient_of(record) == viewer.pk]
    if not records:
        return []
    if held is None:
        held = scopes_held(
            viewer,
            {kind.patient_of(record) for record in records},
            now=now,
            scopes={reach.scope for reach in kind.reach},
        )
    name_of = log_as or (lambda record: (kind.name, str(_value(record, kind.log_id))))
    treated: set[Any] = set()
    if kind.treating is not None:
        # Asked again now, as a grant is: membership may have ended while this request ran.
        treated = set(
            kind.model._default_manager.filter(pk__in=[record.pk for record in records])
            .filter(kind.treating(viewer))
            .values_list("pk", flat=True)
        )
    shown: list[T] = []
    groups: dict[tuple[UUID, str, str], list[str]] = defaultdict(list)
    for record in records:
        patient_id = kind.patient_of(record)
        scope = reach_of(viewer, kind, record, held.get(patient_id, {}))
        if not scope and not (
            (kind.assigned_by and _value(record, f"{kind.assigned_by}_id") == viewer.pk)
            or record.pk in treated
        ):
            continue
        shown.append(record)
        logged_kind, record_id = name_of(record)
        groups[(patient_id, scope, logged_kind)].append(record_id)
    disclose(
        request=request,
        viewer=viewer,
        held=held,
        items=[
            Disclosure(patient_id, scope, logged_kind, ids, len(ids))
            for (patient_id, scope, logged_kind), ids in groups.items()
        ],
    )
    return shown


def disclose(
    *, request: HttpRequest, viewer: User, held: Held, items: Iterable[Disclosure]
) -> None:
    """Log what a response showed of others' records, each under the grant that allowed it.

    ``held`` is what scopes_held returned for this request; an item with a scope it does
    not cover is a bug, and fails the request rather than go unlogged. An item without a
    scope was seen as the program's own record (logged without a grant, for treatment).
    """
    rows = []
    for item in items:
        if item.count == 0:
            continue
        row = held[item.patient_id][item.scope] if item.scope else None
        rows.append(
            (item, row.grant_id if row else None, row.purpose if row else Purpose.TREATMENT)
        )
    disclosures_log(request=request, viewer=viewer, rows=rows)
