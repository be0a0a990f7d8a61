"""Planning: turn active rules into outbox rows, on each patient's clock.

Runs as one periodic job over all rules (never a job per user). Each rule's
slots within the horizon become Nudge rows keyed by (rule, slot): planning twice,
or in two processes at once, inserts nothing twice (the unique constraint and
``ignore_conflicts``). Quiet hours move a slot to their end or drop it, per rule;
a daily cap per patient keeps the earliest nudges of each local day.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone

from backend.accounts.models import User
from backend.homework.models import Homework
from backend.measures.models import MeasureResponse, MeasureSchedule
from backend.measures.selectors import window_of
from backend.meetings.search import next_start
from backend.nudges.models import Nudge, NudgePreferences, NudgeRule
from backend.program.selectors import upcoming_session_starts

HORIZON = timedelta(hours=36)
TOLERANCE = {
    NudgeRule.Kind.CHECKIN: timedelta(hours=2),
    NudgeRule.Kind.CUSTOM: timedelta(hours=1),
    NudgeRule.Kind.HIGH_RISK: timedelta(minutes=30),
    NudgeRule.Kind.MEETING: timedelta(minutes=10),
    NudgeRule.Kind.HOMEWORK: timedelta(hours=1),
    NudgeRule.Kind.MEASURE: timedelta(hours=2),
    NudgeRule.Kind.SESSION: timedelta(minutes=10),
}
# Rules whose moments come from the patient's records (homework due dates, the first days
# of questionnaire windows not yet answered, program sessions added or cancelled): they
# are looked at again at least every RECHECK.
DATED_KINDS = (NudgeRule.Kind.HOMEWORK, NudgeRule.Kind.MEASURE, NudgeRule.Kind.SESSION)
DEFAULT_DAILY_CAP = 6


def local_moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    """``day`` at ``at`` on a wall clock, as an aware instant.

    A time skipped by a daylight-saving change moves forward by the gap; a time
    that happens twice is the first one (fold 0), so it is planned once.
    """
    naive = datetime.combine(day, at)
    return naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)


def in_quiet_hours(moment: datetime, start: time | None, end: time | None) -> bool:
    if start is None or end is None or start == end:
        return False
    clock = moment.timetz().replace(tzinfo=None)
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end  # wraps midnight


def quiet_hours_end(moment: datetime, start: time, end: time, zone: ZoneInfo) -> datetime:
    """The end of the quiet hours ``moment`` falls in."""
    day = moment.date()
    if start > end and moment.timetz().replace(tzinfo=None) >= start:
        day += timedelta(days=1)
    return local_moment(day, end, zone)


def _times(rule: NudgeRule) -> list[time]:
    return [time.fromisoformat(value) for value in rule.times]


def rule_slots(
    rule: NudgeRule,
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    *,
    due_dates: Iterable[date] = (),
) -> list[datetime]:
    """The moments in [start, end) the rule asks for, before quiet hours and caps.

    ``due_dates``: the local due dates of the patient's open homework (homework rules), or
    the first days of their unanswered questionnaire windows (measure rules), or the starts
    of their program sessions (session rules).
    """
    if rule.kind == NudgeRule.Kind.MEASURE:
        moments = (local_moment(d, at, zone) for d in due_dates for at in _times(rule))
        return sorted({m for m in moments if start <= m < end})
    if rule.kind == NudgeRule.Kind.SESSION:
        lead = timedelta(minutes=rule.lead_minutes)
        return sorted({(s - lead).astimezone(zone) for s in due_dates if start <= s - lead < end})
    if rule.kind == NudgeRule.Kind.HOMEWORK:
        # Homework is due by the end of its due date on the patient's clock.
        lead = timedelta(minutes=rule.lead_minutes)
        moments = (local_moment(d + timedelta(days=1), time(0), zone) - lead for d in due_dates)
        return sorted({m for m in moments if start <= m < end})
    if rule.kind == NudgeRule.Kind.MEETING:
        if rule.meeting is None or rule.meeting.day is None or rule.meeting.retired_at:
            return []
        lead = timedelta(minutes=rule.lead_minutes)
        slots, cursor = [], start
        while True:
            meeting_start = next_start(rule.meeting, cursor + lead)
            slot = meeting_start - lead
            if slot >= end:
                return slots
            slots.append(slot.astimezone(zone))
            cursor = slot + timedelta(minutes=1)
    weekdays = set(rule.weekdays) if rule.weekdays else set(range(7))
    slots = []
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    day = first
    while day <= last:
        if day.weekday() in weekdays:
            for at in _times(rule):
                moment = local_moment(day, at, zone)
                if start <= moment < end:
                    slots.append(moment)
        day += timedelta(days=1)
    return sorted(slots)


def _open_homework_due_dates(patient_ids: list, now: datetime) -> dict:
    """Patient id -> local due dates of their open homework, in one query."""
    if not patient_ids:
        return {}
    dates: dict = defaultdict(set)
    rows = Homework.objects.filter(
        patient_id__in=patient_ids,
        state__in=Homework.OPEN_STATES,
        due_date__gte=(now - timedelta(days=1)).date(),
        due_date__lte=(now + HORIZON + timedelta(days=1)).date(),
    ).values_list("patient_id", "due_date")
    for patient_id, due_date in rows:
        dates[patient_id].add(due_date)
    return dates


def _having(by_patient: dict, kind: str) -> list:
    return [pid for pid, rules in by_patient.items() if any(r.kind == kind for r in rules)]


def _open_measure_windows(patient_ids: list, now: datetime) -> dict:
    """Patient id -> first days (local) of questionnaire windows opening around now that
    have no answer yet; two queries."""
    if not patient_ids:
        return {}
    schedules = list(
        MeasureSchedule.objects.filter(
            patient_id__in=patient_ids, stopped_at__isnull=True
        ).select_related("patient")
    )
    answered = set(
        MeasureResponse.objects.filter(
            schedule__in=schedules, window_start__gte=(now - timedelta(days=2)).date()
        ).values_list("schedule_id", "window_start")
    )
    days: dict = defaultdict(set)
    for schedule in schedules:
        today = now.astimezone(ZoneInfo(schedule.patient.time_zone)).date()
        last = today + timedelta(days=3)  # past the horizon, on any clock
        start = window_of(schedule, max(today - timedelta(days=1), schedule.starts_on))
        while start is not None and start <= last:
            if start >= today - timedelta(days=1) and (schedule.pk, start) not in answered:
                days[schedule.patient_id].add(start)
            start += timedelta(days=schedule.every_days)
    return days


def _session_starts(patient_ids: list, now: datetime) -> dict:
    """Patient id -> starts of their program sessions a reminder may precede now."""
    if not patient_ids:
        return {}
    # A reminder leads its session by at most a day (the rule's lead_minutes).
    return upcoming_session_starts(patient_ids, now, now + HORIZON + timedelta(days=1))


# Rules whose slots depend on records that change (homework due dates, sessions added or
# cancelled) are looked at again at least this often.
RECHECK = timedelta(hours=1)
# How far past the horizon the next moment of a rule is looked for.
LOOKOUT = timedelta(days=8)


def _next_moment(rule: NudgeRule, zone: ZoneInfo, after: datetime, due_dates) -> datetime:
    """When the sweep must look at the rule again: its first slot from ``after`` on."""
    if rule.kind in DATED_KINDS:
        return after - HORIZON + RECHECK
    slots = rule_slots(rule, zone, after, after + LOOKOUT, due_dates=due_dates)
    return slots[0] if slots else after + LOOKOUT - HORIZON


def rules_due(now: datetime, end: datetime):
    """Active rules with a moment before ``end`` not yet planned (an indexed range)."""
    return (
        NudgeRule.objects.filter(status=NudgeRule.Status.ACTIVE, patient__is_active=True)
        .filter(Q(next_due_at__isnull=True) | Q(next_due_at__lt=end))
        .select_related("patient", "meeting")
        .order_by("patient_id", "created_at")
    )


def plan(now: datetime | None = None, *, rules: Iterable[NudgeRule] | None = None) -> int:
    """Insert the outbox rows due within the horizon; returns how many rows were offered.

    Reads only the rules whose next moment has entered the horizon since the last
    sweep (and their patients' planned nudges), then moves each rule's next moment
    past the horizon: a sweep costs what falls due, not what exists.
    """
    now = now or timezone.now()
    end = now + HORIZON
    rules = list(rules_due(now, end) if rules is None else rules)
    by_patient: dict[int, list[NudgeRule]] = defaultdict(list)
    for rule in rules:
        by_patient[rule.patient_id].append(rule)
    due_dates = {
        NudgeRule.Kind.HOMEWORK: _open_homework_due_dates(_having(by_patient, "homework"), now),
        NudgeRule.Kind.MEASURE: _open_measure_windows(_having(by_patient, "measure"), now),
        NudgeRule.Kind.SESSION: _session_starts(_having(by_patient, "session"), now),
    }
    caps = dict(
        NudgePreferences.objects.filter(patient_id__in=list(by_patient)).values_list(
            "patient_id", "daily_cap"
        )
    )
    planned, taken = _already_planned(list(by_patient), now)
    new_rows = []
    for patient_id, patient_rules in by_patient.items():
        patient: User = patient_rules[0].patient
        zone = ZoneInfo(patient.time_zone)
        candidates = []
        for rule in patient_rules:
            dates = due_dates[rule.kind].get(patient_id, ()) if rule.kind in DATED_KINDS else ()
            candidates += _rule_candidates(rule, patient, zone, now, end, dates, taken)
            rule.next_due_at = _next_moment(rule, zone, end, dates)
        kept = _within_cap(
            candidates, planned[patient_id], caps.get(patient_id, DEFAULT_DAILY_CAP), zone
        )
        new_rows += [
            Nudge(
                recipient_id=patient_id,
                rule=rule,
                slot=slot,
                due_at=due,
                next_attempt_at=due,
                title=rule.message,
                tolerance=TOLERANCE[rule.kind],
            )
            for due, slot, rule in kept
        ]
    Nudge.objects.bulk_create(new_rows, batch_size=1000, ignore_conflicts=True)
    NudgeRule.objects.bulk_update(rules, ["next_due_at"], batch_size=1000)
    return len(new_rows)


def _already_planned(
    patient_ids: list, now: datetime
) -> tuple[dict[object, list[datetime]], set[tuple]]:
    """Per patient the due times already planned (the cap counts them), and the (rule, slot)
    pairs taken."""
    planned: dict[object, list[datetime]] = defaultdict(list)
    taken: set[tuple] = set()
    if patient_ids:
        for recipient_id, rule_id, slot, due in Nudge.objects.filter(
            recipient_id__in=patient_ids,
            rule__isnull=False,
            due_at__gte=now - timedelta(days=2),
        ).values_list("recipient_id", "rule_id", "slot", "due_at"):
            taken.add((rule_id, slot))
            planned[recipient_id].append(due)
    return planned, taken


Candidate = tuple[datetime, datetime, NudgeRule]  # (due, slot, rule)


def _rule_candidates(
    rule: NudgeRule,
    patient: User,
    zone: ZoneInfo,
    now: datetime,
    end: datetime,
    dates: Iterable[date],
    taken: set[tuple],
) -> list[Candidate]:
    """The rule's slots not yet planned, each moved out of (or dropped in) quiet hours.

    Several slots moved to the end of the same quiet hours make one nudge.
    """
    start, stop = patient.quiet_hours_start, patient.quiet_hours_end
    candidates: list[Candidate] = []
    seen: set[datetime] = set()
    for slot in rule_slots(rule, zone, now, end, due_dates=dates):
        if (rule.pk, slot) in taken:
            continue
        due = slot
        if in_quiet_hours(slot, start, stop):
            if rule.quiet_hours == NudgeRule.Quiet.DROP:
                continue
            due = quiet_hours_end(slot, start, stop, zone)
        if due not in seen:
            seen.add(due)
            candidates.append((due, slot, rule))
    return candidates


def _within_cap(
    candidates: list[Candidate], planned: list[datetime], cap: int, zone: ZoneInfo
) -> list[Candidate]:
    """The earliest candidates of each local day that fit under the daily cap, with what
    is already planned counted first."""
    per_day: dict[date, int] = defaultdict(int)
    for due in planned:
        per_day[due.astimezone(zone).date()] += 1
    kept = []
    for candidate in sorted(candidates, key=lambda c: (c[0], str(c[2].pk))):
        local_day = candidate[0].astimezone(zone).date()
        if per_day[local_day] < cap:
            per_day[local_day] += 1
            kept.append(candidate)
    return kept


def replan(patient: User) -> None:
    """The patient's clock or quiet hours changed: what was planned and not sent goes."""
    Nudge.objects.filter(
        recipient=patient, rule__isnull=False, state__in=[Nudge.State.PENDING, Nudge.State.FAILED]
    ).delete()
    NudgeRule.objects.filter(patient=patient).update(next_due_at=None)
