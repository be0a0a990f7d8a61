"""Writes to the journal.

Every entry write goes through ``entries_apply``: the single-entry endpoints
send it one operation, the offline batch up to 500. It runs a fixed number of
SQL statements whatever the number of operations (bulk reads and writes).
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal, cast
from uuid import UUID
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.models import Max, Min, OuterRef, Subquery
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from backend.accounts.models import User
from backend.core.crisis import DANGER_STEP, crisis_block
from backend.core.errors import Conflict, PreconditionFailed
from backend.core.time import local_today
from backend.journal import reports
from backend.journal.models import (
    CareTeamAlert,
    CheckIn,
    CounterDecision,
    EntryTrigger,
    FeedItem,
    JournalEntry,
    Outcome,
    SobrietyCounter,
    Trigger,
)
from backend.journal.selectors import with_triggers
from backend.journal.signals import alerts_raised
from backend.journal.sync import seq_reserve
from backend.measures.models import MeasureResponse

SIMPLE_FIELDS = (
    "intensity",
    "intensity_after",
    "duration_minutes",
    "substance",
    "mood",
    "emotions",
    "place_label",
    "situation",
    "thoughts",
    "coping_skills",
    "outcome",
    "shared",
)
# A full upsert replaces the entry: what it leaves out goes back to these.
FULL_DEFAULTS: dict[str, Any] = {
    "intensity_after": None,
    "duration_minutes": None,
    "triggers": [],
    "halt": [],
    "mood": None,
    "emotions": [],
    "place_label": "",
    "situation": "",
    "thoughts": "",
    "coping_skills": [],
    "shared": False,
}
# Cleared from a deleted entry's tombstone: deleting means the words are gone.
TOMBSTONE_CLEARED = {
    "situation": "",
    "thoughts": "",
    "emotions": [],
    "coping_skills": [],
    "place_label": "",
    "shared": False,
}

Status = Literal["created", "updated", "unchanged", "conflict", "invalid"]


@dataclass
class EntryOp:
    kind: Literal["upsert", "delete"]
    id: UUID
    base_version: int | None = None
    data: dict[str, Any] | None = None
    partial: bool = False


@dataclass
class EntryResult:
    id: UUID
    status: Status
    entry: JournalEntry | None = None
    errors: dict[str, list[str]] | None = None
    alerts: list[str] = field(default_factory=list)

    @property
    def deleted(self) -> bool:
        return self.entry is not None and self.entry.deleted_at is not None


def _offset_minutes(value: datetime) -> int:
    # Aware datetimes only (the API refuses naive ones), so there is an offset.
    return int(cast(timedelta, value.utcoffset()).total_seconds() // 60)


def _snapshot(entry: JournalEntry) -> dict[str, Any]:
    """The client-writable content of an entry, in comparable form."""
    snap = {name: getattr(entry, name) for name in SIMPLE_FIELDS}
    snap["occurred_at"] = (entry.occurred_at, entry.utc_offset_minutes)
    snap["halt"] = entry.halt_list
    snap["triggers"] = [(t["category"], t["label"].lower()) for t in entry.trigger_list]
    return snap


def _incoming(data: dict[str, Any]) -> dict[str, Any]:
    snap = {name: data[name] for name in SIMPLE_FIELDS if name in data}
    if "occurred_at" in data:
        snap["occurred_at"] = (data["occurred_at"], _offset_minutes(data["occurred_at"]))
    if "halt" in data:
        snap["halt"] = list(data["halt"])
    if "triggers" in data:
        snap["triggers"] = [(t["category"], t["label"].lower()) for t in data["triggers"]]
    return snap


def _assign(entry: JournalEntry, data: dict[str, Any], zone: ZoneInfo) -> None:
    for name in SIMPLE_FIELDS:
        if name in data:
            setattr(entry, name, data[name])
    if "occurred_at" in data:
        entry.occurred_at = data["occurred_at"]
        entry.utc_offset_minutes = _offset_minutes(data["occurred_at"])
        entry.local_date = data["occurred_at"].astimezone(zone).date()
    if "halt" in data:
        for name, model_field in JournalEntry.HALT_FIELDS:
            setattr(entry, model_field, name in data["halt"])
    entry.coping_used = bool(entry.coping_skills)


def alert_reasons(entry: JournalEntry) -> list[str]:
    """Why this entry should reach the care team, if the patient allows it."""
    if entry.deleted_at is not None:
        return []
    reasons: list[str] = []
    if entry.intensity >= settings.CRISIS_INTENSITY_THRESHOLD:
        reasons.append(CareTeamAlert.Reason.HIGH_INTENSITY)
    if entry.outcome == Outcome.LAPSED:
        reasons.append(CareTeamAlert.Reason.LAPSE)
    elif entry.outcome == Outcome.USED:
        reasons.append(CareTeamAlert.Reason.USE)
    return reasons


Verdict = Literal["invalid", "unchanged", "conflict", "create", "update", "delete"]

REPEATED_ID_ERRORS = {"id": ["This id appears more than once in the request."]}
UNKNOWN_BASE_ERRORS = {
    "base_version": ["No entry of yours has this id: send it without a base version to create it."]
}


def _judge(op: EntryOp, entry: JournalEntry | None, data: dict[str, Any]) -> Verdict:  # noqa: PLR0911 (a decision table)
    """What one operation does to the stored entry (``None``: no entry of theirs has the id).

    Pure: it reads the entry and the operation and changes nothing.
    """
    if op.kind == "delete":
        if entry is None or entry.deleted_at is not None:
            return "unchanged"
        if op.base_version is not None and op.base_version != entry.version:
            return "conflict"
        return "delete"
    if entry is None:
        # Updating what is not there: the client thinks it has a copy we never had.
        return "invalid" if op.base_version is not None else "create"
    current = _snapshot(entry)
    if entry.deleted_at is None and {**current, **_incoming(data)} == current:
        return "unchanged"  # a retry of what is stored, whatever version it names
    if entry.deleted_at is not None or op.base_version != entry.version:
        return "conflict"
    return "update"


@dataclass
class _Writes:
    """What a run of operations leaves to write, keyed by the server's id of each entry."""

    created: dict[UUID, JournalEntry] = field(default_factory=dict)
    changed: dict[UUID, JournalEntry] = field(default_factory=dict)
    trigger_sets: dict[UUID, list[dict[str, str]]] = field(default_factory=dict)


def _carry_out(
    verdict: Verdict,
    op: EntryOp,
    entry: JournalEntry | None,
    data: dict[str, Any],
    *,
    patient: User,
    seq: int,
    now: datetime,
    writes: _Writes,
) -> EntryResult:
    """Apply a verdict to the entry in memory, noting what to write; returns the op's result."""
    if verdict == "invalid":
        return EntryResult(op.id, "invalid", errors=UNKNOWN_BASE_ERRORS)
    if verdict == "unchanged":
        return EntryResult(op.id, "unchanged", entry)
    if verdict == "conflict":
        return EntryResult(op.id, "conflict", entry)
    if verdict == "create":
        entry = JournalEntry(client_id=op.id, patient=patient, seq=seq, version=1)
        _assign(entry, data, ZoneInfo(patient.time_zone))
        writes.created[entry.pk] = entry
        writes.trigger_sets[entry.pk] = data["triggers"]
        return EntryResult(op.id, "created", entry, alerts=alert_reasons(entry))
    if entry is None:
        raise AssertionError("only a stored entry is deleted or updated")
    if verdict == "delete":
        for name, value in TOMBSTONE_CLEARED.items():
            setattr(entry, name, value)
        entry.deleted_at = now
        writes.trigger_sets[entry.pk] = []
    else:
        _assign(entry, data, ZoneInfo(patient.time_zone))
        if "triggers" in data:
            writes.trigger_sets[entry.pk] = data["triggers"]
    entry.version, entry.seq = entry.version + 1, seq
    writes.changed[entry.pk] = entry
    return EntryResult(op.id, "updated", entry, alerts=alert_reasons(entry))


def entries_apply(*, patient: User, ops: list[EntryOp]) -> list[EntryResult]:
    """Apply creates, updates and deletes of the patient's entries, in order.

    Operations name entries by the phone's id, which is the patient's own: another
    patient's entry under the same id is neither seen nor touched. Per operation:
    created, updated, unchanged (a retry of what is stored), conflict (based on an
    older version; the result carries the current copy) or invalid. Deletes leave
    tombstones.
    """
    if not ops:
        return []
    [op, *others] = ops
    if not others and op.kind == "upsert" and op.base_version is None:
        # One new entry, the usual write from the phone: insert it without first
        # reading whether the id is taken (one round trip fewer). The unique
        # (patient, client_id) constraint says when it is; then the write is undone
        # and judged against the stored entry, as every other write is.
        try:
            return _apply(patient=patient, ops=ops, look_up=False)
        except IntegrityError:
            pass
    return _apply(patient=patient, ops=ops, look_up=True)


@transaction.atomic
def _apply(*, patient: User, ops: list[EntryOp], look_up: bool) -> list[EntryResult]:
    """entries_apply's work; ``look_up=False`` takes it that none of the ids is stored."""
    next_seq = seq_reserve(patient=patient, count=len(ops))
    existing: dict[UUID, JournalEntry] = {}
    if look_up:
        stored = JournalEntry.objects.filter(patient=patient, client_id__in={op.id for op in ops})
        existing = {entry.client_id: entry for entry in with_triggers(stored)}
    now = timezone.now()
    repeated = {pk for pk, n in Counter(op.id for op in ops).items() if n > 1}
    writes = _Writes()
    results: list[EntryResult] = []
    for op in ops:
        if op.id in repeated:
            # Which of two writes to one id is meant? Neither is guessed at.
            results.append(EntryResult(op.id, "invalid", errors=REPEATED_ID_ERRORS))
            continue
        seq, next_seq = next_seq, next_seq + 1
        entry = existing.get(op.id)
        data = op.data if op.partial else {**FULL_DEFAULTS, **(op.data or {})}
        verdict = _judge(op, entry, data or {})
        results.append(
            _carry_out(
                verdict, op, entry, data or {}, patient=patient, seq=seq, now=now, writes=writes
            )
        )
    _write(patient, writes, stored=existing.values(), now=now)
    _record_alerts(
        patient,
        # Only results that carry their entry have alerts.
        [(cast(JournalEntry, r.entry), reason) for r in results for reason in r.alerts],
        updated=list(writes.changed),
    )
    _open_counter_decisions(patient, [*writes.created.values(), *writes.changed.values()])
    return results


CHANGED_FIELDS = (
    *SIMPLE_FIELDS,
    "occurred_at",
    "utc_offset_minutes",
    "local_date",
    "coping_used",
    "version",
    "seq",
    "deleted_at",
    *(f for _, f in JournalEntry.HALT_FIELDS),
    "updated_at",
)


def _write(
    patient: User, writes: _Writes, *, stored: Iterable[JournalEntry], now: datetime
) -> None:
    """Store the entries, their triggers and their feed items (bulk statements)."""
    created, changed = writes.created, writes.changed
    JournalEntry.objects.bulk_create(created.values())
    if changed:
        for entry in changed.values():
            entry.updated_at = now
        JournalEntry.objects.bulk_update(changed.values(), CHANGED_FIELDS)
    _store_triggers(
        patient,
        writes.trigger_sets,
        {e.pk: e for e in (*stored, *created.values())},
        replaced=[pk for pk in writes.trigger_sets if pk not in created],
    )
    moved = [e.pk for e in changed.values() if e.deleted_at is None]
    if moved:
        # The feed is ordered by when things happened: follow a corrected occurred_at, and
        # the entry's sharing, which decides who of the journal.shared holders sees it.
        stored = JournalEntry.objects.filter(pk=OuterRef("entry_id"))
        FeedItem.objects.filter(entry_id__in=moved).update(
            at=Subquery(stored.values("occurred_at")), shared=Subquery(stored.values("shared"))
        )
    deleted = [e.pk for e in changed.values() if e.deleted_at is not None]
    if deleted:
        FeedItem.objects.filter(entry_id__in=deleted).update(withdrawn=True)
    if created:
        FeedItem.objects.bulk_create(
            [
                FeedItem(
                    patient=patient,
                    kind=FeedItem.Kind.ENTRY,
                    entry=e,
                    at=e.occurred_at,
                    shared=e.shared,
                )
                for e in created.values()
            ]
        )


@transaction.atomic
def entries_relocalize(*, patient: User) -> None:
    """Date every entry of the patient again on their clock, after their time zone changed.

    An entry's local_date is its day in the patient's zone as it is now, as insights and
    summaries compute days; one UPDATE, whatever the number of entries (the conversion
    in SQL, reports.local_clock).
    """
    entries = JournalEntry.objects.filter(patient=patient)
    span = entries.aggregate(lower=Min("occurred_at"), upper=Max("occurred_at"))
    if span["lower"] is None:
        return
    clock = reports.local_clock(
        connections[entries.db].vendor,
        ZoneInfo(patient.time_zone),
        span["lower"],
        span["upper"] + timedelta(seconds=1),
    )
    entries.update(local_date=clock.date)


def _store_triggers(
    patient: User,
    trigger_sets: dict[UUID, list[dict[str, str]]],
    entries: dict[UUID, JournalEntry],
    *,
    replaced: list[UUID],
) -> None:
    """Set the triggers of the given entries, growing the patient's vocabulary.

    ``replaced`` are the entries that may have triggers already (a new one has none).
    """
    if replaced:
        EntryTrigger.objects.filter(entry_id__in=replaced).delete()
    wanted = {
        (t["category"], t["label"].lower()): t["label"] for ts in trigger_sets.values() for t in ts
    }
    vocabulary: dict[tuple[str, str], Trigger] = {}
    if wanted:
        Trigger.objects.bulk_create(
            [
                Trigger(patient=patient, category=c, key=k, label=label)
                for (c, k), label in wanted.items()
            ],
            ignore_conflicts=True,
        )
        keys = {k for _, k in wanted}
        vocabulary = {
            (t.category, t.key): t for t in Trigger.objects.filter(patient=patient, key__in=keys)
        }
    links = []
    for pk, triggers in trigger_sets.items():
        entry = entries[pk]
        # What with_triggers' Prefetch(to_attr=...) sets; the plugin types it on those rows only.
        entry.prefetched_triggers = []  # type: ignore[attr-defined]
        for position, t in enumerate(triggers):
            link = EntryTrigger(
                entry=entry,
                trigger=vocabulary[(t["category"], t["label"].lower())],
                position=position,
            )
            links.append(link)
            entry.prefetched_triggers.append(link)  # type: ignore[attr-defined]  # set above
    if links:
        EntryTrigger.objects.bulk_create(links)


def _record_alerts(
    patient: User, pairs: Iterable[tuple[JournalEntry, str]], *, updated: list[UUID]
) -> None:
    """One alert per entry and reason, each also an urgent item in recipients' feeds."""
    pairs = list(pairs)
    if not pairs:
        return
    known: set[tuple[UUID, str]] = set()
    if updated:
        # An updated entry may have raised this alert before: it is not raised twice.
        known = set(
            CareTeamAlert.objects.filter(entry_id__in=updated).values_list("entry_id", "reason")
        )
    now = timezone.now()
    alerts = [
        CareTeamAlert(patient=patient, entry=entry, reason=reason)
        for entry, reason in pairs
        if (entry.pk, reason) not in known
    ]
    CareTeamAlert.objects.bulk_create(alerts)
    FeedItem.objects.bulk_create(
        [FeedItem(patient=patient, kind=FeedItem.Kind.ALERT, alert=a, at=now) for a in alerts]
    )
    # And an urgent nudge for each recipient whose consent covers crisis alerts.
    alerts_raised.send(sender=CareTeamAlert, alerts=alerts)


@transaction.atomic
def answer_alert_raise(*, response: MeasureResponse) -> CareTeamAlert:
    """A questionnaire's answer told of thoughts of self-harm: an urgent alert to the
    therapist who asked for it and to the holders of crisis alerts, through the same
    path as a journal entry's (an urgent feed item and an urgent nudge for each)."""
    alert, created = CareTeamAlert.objects.get_or_create(
        response=response,
        reason=CareTeamAlert.Reason.SELF_HARM_THOUGHTS,
        defaults={"patient_id": response.patient_id, "asked_by_id": response.assigned_by_id},
    )
    if created:
        FeedItem.objects.create(
            patient_id=response.patient_id, kind=FeedItem.Kind.ALERT, alert=alert, at=timezone.now()
        )
        alerts_raised.send(sender=CareTeamAlert, alerts=[alert])
    return alert


def crisis_support(
    reasons: list[str], contacts: list[dict[str, str]] | None = None
) -> dict[str, Any] | None:
    """What to offer someone at a hard moment: crisis lines, one small next step, and the
    support contacts of their relapse-prevention plan (``contacts``, see
    backend.coping.selectors.support_contacts)."""
    if not reasons:
        return None
    lapse = bool({CareTeamAlert.Reason.LAPSE, CareTeamAlert.Reason.USE} & set(reasons))
    message = (
        "Thank you for logging this. A lapse does not erase your progress: it is information "
        "you and your care team can learn from, and you can start again right now."
        if lapse
        else "That sounds really hard, and you took a strong step by logging it. Cravings rise "
        "and fall, often within 15 to 30 minutes."
    )
    return crisis_block(
        reasons=reasons,
        message=message,
        next_step="Pick one thing for the next 15 minutes: slow breathing, a walk, or calling "
        f"someone you trust. {DANGER_STEP}",
        contacts=contacts,
    )


USE_OUTCOMES = (Outcome.USED, Outcome.LAPSED)


def _open_counter_decisions(patient: User, entries: list[JournalEntry]) -> None:
    """A use opens a pending decision on the counter for that substance; nothing resets."""
    uses = [e for e in entries if e.deleted_at is None and e.outcome in USE_OUTCOMES]
    if not uses:
        return
    counters = {
        c.substance: c
        for c in SobrietyCounter.objects.filter(
            patient=patient, substance__in={e.substance for e in uses}
        )
    }
    decisions = [
        CounterDecision(
            counter=counters[e.substance],
            entry=e,
            decision=CounterDecision.Decision.PENDING,
            previous_start_date=counters[e.substance].start_date,
            new_start_date=counters[e.substance].start_date,
        )
        for e in uses
        if e.substance in counters
    ]
    if decisions:
        CounterDecision.objects.bulk_create(decisions, ignore_conflicts=True)


def _not_in_future(value: date, patient: User, field_name: str) -> None:
    if value > local_today(patient):
        raise ValidationError({field_name: ["This date is in the future in your time zone."]})


# --- check-ins -------------------------------------------------------------------


CHECKIN_FIELDS = (
    "local_date",
    "mood",
    "sleep_hours",
    "peak_craving",
    "used_today",
    "medication",
    "note",
)


@transaction.atomic
def checkin_create(
    *, patient: User, checkin_id: UUID, data: dict[str, Any]
) -> tuple[CheckIn, bool]:
    """Record the day's check-in; a retry of the same one answers the stored copy.

    Returns (check-in, created). ``checkin_id`` is the phone's id, the patient's
    own: another patient's check-in under it is neither seen nor touched. One per
    local date: another check-in already on that date is a conflict.
    """
    _not_in_future(data["local_date"], patient, "local_date")
    seq = seq_reserve(patient=patient, count=1)
    existing = CheckIn.objects.filter(patient=patient, client_id=checkin_id).first()
    if existing is not None:
        if existing.deleted_at is None and all(
            getattr(existing, f) == data.get(f, getattr(existing, f)) for f in CHECKIN_FIELDS
        ):
            return existing, False
        raise Conflict("A different check-in already has this id.", current=existing)
    same_day = CheckIn.objects.filter(
        patient=patient, local_date=data["local_date"], deleted_at__isnull=True
    ).first()
    if same_day is not None:
        raise Conflict(
            "You already checked in on this date: change that check-in instead.", current=same_day
        )
    checkin = CheckIn(client_id=checkin_id, patient=patient, seq=seq, **{"note": "", **data})
    checkin.save(force_insert=True)
    FeedItem.objects.create(
        patient=patient, kind=FeedItem.Kind.CHECKIN, checkin=checkin, at=checkin.created_at
    )
    return checkin, True


@transaction.atomic
def checkin_update(
    *, checkin: CheckIn, data: dict[str, Any], expected_version: int | None
) -> CheckIn:
    """Change a check-in if it is still at the version the client read."""
    seq = seq_reserve(patient=checkin.patient, count=1)
    checkin = CheckIn.objects.select_for_update().get(pk=checkin.pk)
    if expected_version is not None and expected_version != checkin.version:
        raise PreconditionFailed(current=checkin)
    if "local_date" in data:
        _not_in_future(data["local_date"], checkin.patient, "local_date")
        clash = CheckIn.objects.filter(
            patient_id=checkin.patient_id, local_date=data["local_date"], deleted_at__isnull=True
        ).exclude(pk=checkin.pk)
        if clash.exists():
            raise Conflict("You already checked in on that date.")
    changed = [f for f in CHECKIN_FIELDS if f in data and getattr(checkin, f) != data[f]]
    if not changed:
        return checkin
    for name in changed:
        setattr(checkin, name, data[name])
    checkin.version += 1
    checkin.seq = seq
    checkin.save(update_fields=[*changed, "version", "seq", "updated_at"])
    return checkin


@transaction.atomic
def checkin_delete(*, checkin: CheckIn, expected_version: int | None) -> None:
    """Delete a check-in, leaving a tombstone for the changes feed."""
    seq = seq_reserve(patient=checkin.patient, count=1)
    checkin = CheckIn.objects.select_for_update().get(pk=checkin.pk)
    if expected_version is not None and expected_version != checkin.version:
        raise PreconditionFailed(current=checkin)
    checkin.deleted_at = timezone.now()
    checkin.note = ""
    checkin.version += 1
    checkin.seq = seq
    checkin.save(update_fields=["deleted_at", "note", "version", "seq", "updated_at"])
    FeedItem.objects.filter(checkin=checkin).update(withdrawn=True)


# --- sobriety counters ---------------------------------------------------------------


@transaction.atomic
def counter_create(*, patient: User, substance: str, start_date: date) -> SobrietyCounter:
    """Start counting sober days for a substance or behaviour."""
    _not_in_future(start_date, patient, "start_date")
    try:
        with transaction.atomic():
            return SobrietyCounter.objects.create(
                patient=patient, substance=substance, start_date=start_date
            )
    except IntegrityError as exc:
        raise Conflict("You already have a counter for this substance.") from exc


@transaction.atomic
def counter_decide(
    *,
    counter: SobrietyCounter,
    decision: str,
    new_start_date: date | None,
    entry_client_id: UUID | None,
) -> CounterDecision:
    """Record the patient's decision to reset or keep a counter (after a use, or at any time)."""
    counter = SobrietyCounter.objects.select_for_update().get(pk=counter.pk)
    if decision == CounterDecision.Decision.RESET:
        if new_start_date is None:
            raise ValidationError({"new_start_date": ["Say from which day to count again."]})
        _not_in_future(new_start_date, counter.patient, "new_start_date")
    elif new_start_date is not None:
        raise ValidationError({"new_start_date": ["Only a reset takes a new start date."]})
    record = None
    if entry_client_id is not None:
        # The counter is the patient's, so the entry it names by its phone id is theirs too.
        record = CounterDecision.objects.filter(
            counter=counter, entry__client_id=entry_client_id
        ).first()
        if record is None:
            raise ValidationError(
                {"entry": ["No use of this substance is waiting for a decision with this entry."]}
            )
        if record.decision != CounterDecision.Decision.PENDING:
            raise Conflict("You already decided about this entry.")
    if record is None:
        record = CounterDecision(counter=counter)
    record.decision = decision
    record.previous_start_date = counter.start_date
    record.new_start_date = new_start_date or counter.start_date
    record.decided_at = timezone.now()
    record.save()
    if decision == CounterDecision.Decision.RESET:
        counter.start_date = cast(date, new_start_date)  # a reset requires it (above)
        counter.save(update_fields=["start_date", "updated_at"])
    return record


@transaction.atomic
def counter_delete(*, counter: SobrietyCounter) -> None:
    """Remove a counter and its decisions (the patient's own choice; entries stay)."""
    counter.delete()
