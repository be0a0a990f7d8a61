"""Summaries of patients for the people they share with: check-in streak, sobriety
counters and flags that tell a therapist at a glance who may be struggling.

``summaries_for`` answers for many patients at once and shows only what the
viewer's open grants allow; a section or flag no grant covers is absent (not
false, not zero). Records are read through backend.consent.policy, and the
queries are a fixed number whatever the number of patients: each kind of record
is aggregated in SQL grouped by patient (and by the patient's local date), and
only those small rows reach Python, which finishes each patient on their clock.

Flag rules, on each patient's clock (their IANA time zone; "today" is their
local date at ``now``):

- ``no_checkin_3_days`` (scope checkins): the last check-in is three or more
  local dates before today, or there is none. Checked in on Monday: flagged from
  Thursday 00:00 on the patient's clock.
- ``rising_craving_trend`` (insights or journal.all): the mean craving intensity
  of the entries of the last 7 local dates (today and the 6 before) is at least
  1 point (on the 0-10 scale) above the mean of the 7 dates before those, and
  each of the two weeks holds at least 3 entries. Means over entries, not over
  days, so a day of many cravings weighs more than a quiet one; too few entries
  in either week is not called a trend.
- ``lapse_last_7_days`` (insights or journal.all): an entry in the last 7 local
  dates (today and the 6 before) ended lapsed or used.
- ``measure_flags`` (measures): a standard questionnaire's answers raise a flag a
  clinician acts on (backend.measures.scoring: PHQ-9 or GAD-7 up 5 or more since
  baseline; BAM Use above 0 or Risk rising; PACS rising two weeks running).
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db.models import (
    Count,
    F,
    Func,
    IntegerField,
    Max,
    Q,
    Sum,
    Window,
)
from django.db.models.functions import RowNumber
from rest_framework.exceptions import NotFound

from backend.accounts.models import User
from backend.consent import policy
from backend.consent.scopes import Scope
from backend.disclosure.services import Disclosure
from backend.journal import reports, selectors
from backend.journal.access import CHECKIN, COUNTER, ENTRY_FIGURES
from backend.journal.models import CheckIn, Outcome
from backend.measures import selectors as measures
from backend.measures.access import RESPONSE
from backend.meetings.access import ATTENDANCE
from backend.program import selectors as program_selectors

SILENCE_DAYS = 3
TREND_DAYS = 7
TREND_MIN_ENTRIES = 3
TREND_RISE = 1  # points of mean intensity, 0-10 scale
LAPSE_DAYS = 7
ATTENDANCE_WEEKS = 4  # this local week and the three before
LAPSE_OUTCOMES = (Outcome.LAPSED, Outcome.USED)
INSIGHTS_DAYS = 30

FLAGS = (
    "no_checkin_3_days",
    "rising_craving_trend",
    "lapse_last_7_days",
    "measure_flags",
    "missed_two_sessions_in_a_row",
)
ENTRY_FLAGS = ("rising_craving_trend", "lapse_last_7_days")

# The sections of a summary, each shown only under one of its scopes.
FIGURE_SCOPES = tuple(reach.scope for reach in ENTRY_FIGURES.reach)  # insights, journal.all
SECTIONS: dict[str, tuple[str, ...]] = {
    "checkins": (Scope.CHECKINS,),
    "counters": (Scope.COUNTERS,),
    "craving_trend": FIGURE_SCOPES,
    "insights": (Scope.INSIGHTS,),
    "trigger_labels": (Scope.JOURNAL_ALL,),  # the patient's own words
    "meetings": (Scope.MEETINGS,),
    "measures": (Scope.MEASURES,),
    "program": (Scope.PROGRAM,),
}


def sections_shown(scopes: Iterable[str]) -> dict[str, str]:
    """section -> the scope it is shown under, for a patient's scopes in force."""
    scopes = set(scopes)
    return {
        section: next(scope for scope in needs if scope in scopes)
        for section, needs in SECTIONS.items()
        if scopes.intersection(needs)
    }


class DayNumber(Func):
    """A date as whole days since 1970-01-01, so consecutive dates differ by one."""

    output_field = IntegerField()

    def as_sql(self, compiler, connection, **extra):
        return self.as_sql_template(
            compiler, connection, "(%(expressions)s - DATE '1970-01-01')", **extra
        )

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql_template(
            compiler, connection, "CAST(julianday(%(expressions)s) - 2440587.5 AS INTEGER)", **extra
        )

    def as_sql_template(self, compiler, connection, template, **extra):
        return super().as_sql(compiler, connection, template=template, **extra)


def _current_runs(
    viewer: User, patient_ids: list[UUID], *, now: datetime, held: policy.Held
) -> dict[UUID, dict]:
    """patient id -> {"days", "last"}: the run of consecutive check-in dates ending at the last one.

    Gaps and islands in one query: numbered newest first, the check-ins of the
    run that ends at the latest date L are exactly those with date = L - (n - 1).
    Only one row per patient leaves the database.
    """
    if not patient_ids:
        return {}
    day = DayNumber("local_date")
    by_patient = {"partition_by": [F("patient_id")]}
    ranked = (
        policy.readable(viewer, CHECKIN, now=now, held=held)
        .filter(patient_id__in=patient_ids)
        .annotate(
            behind=Window(Max(day), **by_patient)
            - day
            - Window(RowNumber(), order_by=F("local_date").desc(), **by_patient)
            + 1
        )
        .filter(behind=0)
    )
    rows = (
        CheckIn.objects.filter(pk__in=ranked.values("pk"))
        .values("patient_id")
        .annotate(days=Count("pk"), last=Max("local_date"))
        .order_by()
    )
    return {row["patient_id"]: row for row in rows}


def _entry_days(
    viewer: User,
    patients: Sequence[User],
    todays: dict[UUID, date],
    *,
    now: datetime,
    held: policy.Held,
) -> dict[UUID, dict[date, dict]]:
    """patient id -> local date -> {"entries", "intensity", "lapses"} over the trend window.

    One query over the widest window any patient needs, grouped by the entries' stored
    local dates (each on its patient's clock); dates outside a patient's own window are
    dropped in Python.
    """
    if not patients:
        return {}
    firsts = {p.pk: todays[p.pk] - timedelta(days=2 * TREND_DAYS - 1) for p in patients}
    rows = (
        policy.readable(viewer, ENTRY_FIGURES, now=now, held=held)
        .filter(
            patient_id__in=list(firsts),
            local_date__gte=min(firsts.values()),
            local_date__lte=max(todays[pk] for pk in firsts),
        )
        .values("patient_id", "local_date")
        .annotate(
            entries=Count("pk"),
            intensity=Sum("intensity"),
            lapses=Count("pk", filter=Q(outcome__in=LAPSE_OUTCOMES)),
        )
        .order_by()
    )
    days: dict[UUID, dict[date, dict]] = defaultdict(dict)
    for row in rows:
        patient_id, day = row["patient_id"], row["local_date"]
        if firsts[patient_id] <= day <= todays[patient_id]:
            days[patient_id][day] = row
    return days


def _week(days: dict[date, dict], first: date, last: date) -> tuple[dict[str, Any], int]:
    """The week's figures for the response, and its intensity total for exact comparisons."""
    rows = [row for day, row in days.items() if first <= day <= last]
    count = sum(row["entries"] for row in rows)
    total = sum(row["intensity"] for row in rows)
    figures = {
        "from": first,
        "to": last,
        "entries": count,
        "mean_intensity": round(total / count, 2) if count else None,
    }
    return figures, total


def _craving_trend(days: dict[date, dict], today: date) -> tuple[dict, bool]:
    recent, recent_total = _week(days, today - timedelta(days=TREND_DAYS - 1), today)
    previous, previous_total = _week(
        days, today - timedelta(days=2 * TREND_DAYS - 1), today - timedelta(days=TREND_DAYS)
    )
    n_recent, n_previous = recent["entries"], previous["entries"]
    # Each of the 14 dates, oldest first (a sparkline's points; not in the API's answer).
    series = []
    for back in range(2 * TREND_DAYS - 1, -1, -1):
        day = today - timedelta(days=back)
        row = days.get(day)
        series.append(
            {
                "date": day,
                "entries": row["entries"] if row else 0,
                "mean_intensity": round(row["intensity"] / row["entries"], 2) if row else None,
                "lapses": row["lapses"] if row else 0,
            }
        )
    enough = n_recent >= TREND_MIN_ENTRIES and n_previous >= TREND_MIN_ENTRIES
    # recent mean - previous mean >= TREND_RISE, in whole numbers: no rounding at the edge.
    rising = enough and (
        recent_total * n_previous - previous_total * n_recent >= TREND_RISE * n_recent * n_previous
    )
    return {"recent": recent, "previous": previous, "days": series}, rising


def summaries_for(
    viewer: User,
    patients: Iterable[User],
    *,
    now: datetime,
    held: policy.Held | None = None,
    only: Iterable[str] | None = None,
) -> dict[UUID, dict[str, Any]]:
    """patient id -> what the viewer's grants in force at ``now`` allow them to see.

    Patients who granted the viewer nothing are left out. At most six queries
    (five when ``held``, policy.scopes_held for these patients at ``now``, is given),
    whatever the number of patients. ``only`` names the SECTIONS wanted (e.g. a list that
    shows flags and a streak need not read counters); the rest are neither read nor shown.
    """
    patients = list(patients)
    if held is None:
        held = policy.scopes_held(viewer, [p.pk for p in patients], now=now)
    patients = [p for p in patients if held.get(p.pk)]
    todays = {p.pk: now.astimezone(ZoneInfo(p.time_zone)).date() for p in patients}

    wanted = None if only is None else set(only)
    shown = {
        p.pk: {
            section: scope
            for section, scope in sections_shown(held[p.pk]).items()
            if wanted is None or section in wanted
        }
        for p in patients
    }

    def holding(section: str) -> list[User]:
        return [p for p in patients if section in shown[p.pk]]

    with_checkins = holding("checkins")
    with_counters = holding("counters")
    with_entries = holding("craving_trend")

    runs = _current_runs(viewer, [p.pk for p in with_checkins], now=now, held=held)
    counters: dict[UUID, list] = defaultdict(list)
    if with_counters:
        for counter in (
            policy.readable(viewer, COUNTER, now=now, held=held)
            .filter(patient_id__in=[p.pk for p in with_counters])
            .order_by("substance")
        ):
            counters[counter.patient_id].append(counter)
    entry_days = _entry_days(viewer, with_entries, todays, now=now, held=held)
    attendance = _attendance_weeks(viewer, holding("meetings"), todays, now=now, held=held)
    results = _measure_results(viewer, holding("measures"), now=now, held=held)
    with_program = holding("program")
    progress = (
        program_selectors.progress_for(viewer, [p.pk for p in with_program], now=now, held=held)
        if with_program
        else {}
    )

    return {
        patient.pk: _summary(
            patient,
            scopes=held[patient.pk],
            sections=shown[patient.pk],
            today=todays[patient.pk],
            read=Read(
                run=runs.get(patient.pk),
                counters=counters.get(patient.pk, []),
                days=entry_days.get(patient.pk, {}),
                attendance=attendance.get(patient.pk),
                results=results.get(patient.pk, []),
                progress=progress.get(patient.pk),
            ),
        )
        for patient in patients
    }


@dataclass(frozen=True)
class Read:
    """What was read for one patient's summary, each only where a section needs it."""

    run: dict | None
    counters: list
    days: dict[date, dict]
    attendance: dict[str, Any] | None
    results: list
    progress: Any = None  # the current program's (program selectors' Progress), if any


def _measure_results(
    viewer: User, patients: list[User], *, now: datetime, held: policy.Held
) -> dict[UUID, list]:
    """patient id -> each instrument's trend and flags (measures.selectors.Result); one query."""
    if not patients:
        return {}
    rows = (
        policy.readable(viewer, RESPONSE, now=now, held=held)
        .filter(patient_id__in=[p.pk for p in patients])
        .select_related("instrument")
        .defer("answers")  # the scores are what a summary shows; the answers stay unread
    )
    by_patient: dict[UUID, list] = defaultdict(list)
    for row in rows:
        by_patient[row.patient_id].append(row)
    return {pk: measures.results_from(answers) for pk, answers in by_patient.items()}


def _summary(
    patient: User,
    *,
    scopes: Iterable[str],
    sections: dict[str, str],
    today: date,
    read: "Read",
) -> dict[str, Any]:
    """One patient's summary from the rows read for them: no query, and only ``sections``."""
    run, counters, days = read.run, read.counters, read.days
    summary: dict[str, Any] = {
        "patient": patient,
        "today": today,
        "scopes": sorted(scopes),
        "flags": {},
    }
    if "checkins" in sections:
        last = run["last"] if run else None
        # Today is still open: a run that reached yesterday is still current.
        current = run["days"] if run and last is not None and (today - last).days <= 1 else 0
        summary["checkins"] = {
            "current_streak": current,
            "last_check_in": last,
            "checked_in_today": last == today,
        }
        summary["flags"]["no_checkin_3_days"] = last is None or (today - last).days >= SILENCE_DAYS
    if "counters" in sections:
        summary["counters"] = [
            {
                "id": counter.pk,
                "substance": counter.substance,
                "start_date": counter.start_date,
                "days_sober": selectors.counter_days_sober(counter, today=today),
            }
            for counter in counters
        ]
    if "craving_trend" in sections:
        summary["craving_trend"], summary["flags"]["rising_craving_trend"] = _craving_trend(
            days, today
        )
        first_lapse_day = today - timedelta(days=LAPSE_DAYS - 1)
        summary["flags"]["lapse_last_7_days"] = any(
            row["lapses"] for day, row in days.items() if day >= first_lapse_day
        )
    if "meetings" in sections:
        summary["meetings"] = read.attendance
    if "measures" in sections:
        summary["measures"] = [
            {
                "instrument": result.instrument,
                "answered_at": result.latest.answered_at,
                "scores": result.latest.scores,
                "band": result.latest.band,
                "change": result.change(),
                "flags": result.flags,
            }
            for result in read.results
        ]
        summary["flags"]["measure_flags"] = any(result.flags for result in read.results)
    if "program" in sections:
        # No section when not in a program now; the flag then stays down.
        if read.progress is not None:
            summary["program"] = read.progress
        summary["flags"]["missed_two_sessions_in_a_row"] = bool(
            read.progress and program_selectors.flagged_for_missing(read.progress.missed_in_a_row)
        )
    return summary


def _attendance_weeks(
    viewer: User,
    patients: list[User],
    todays: dict[UUID, date],
    *,
    now: datetime,
    held: policy.Held,
) -> dict[UUID, dict[str, Any]]:
    """Meetings attended per local week (Monday to Sunday), this week and the three before.

    Two queries whatever the number of patients: the attendance of those weeks, and
    each patient's last attendance.
    """
    if not patients:
        return {}
    ids = [p.pk for p in patients]
    zones = {p.pk: ZoneInfo(p.time_zone) for p in patients}
    mondays = {pk: today - timedelta(days=today.weekday()) for pk, today in todays.items()}
    earliest = min(mondays[pk] for pk in ids) - timedelta(weeks=ATTENDANCE_WEEKS - 1, days=1)
    visible = policy.readable(viewer, ATTENDANCE, now=now, held=held).filter(patient_id__in=ids)
    counts: dict[UUID, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for patient_id, attended_at in visible.filter(
        attended_at__gte=datetime.combine(earliest, datetime.min.time(), tzinfo=UTC)
    ).values_list("patient_id", "attended_at"):
        local = attended_at.astimezone(zones[patient_id]).date()
        counts[patient_id][local - timedelta(days=local.weekday())] += 1
    last = dict(
        visible.values("patient_id")
        .annotate(last=Max("attended_at"))
        .values_list("patient_id", "last")
        .order_by()
    )
    result = {}
    for pk in ids:
        weeks = [
            {
                "from": monday,
                "to": monday + timedelta(days=6),
                "count": counts[pk].get(monday, 0),
            }
            for monday in (mondays[pk] - timedelta(weeks=back) for back in range(ATTENDANCE_WEEKS))
        ]
        result[pk] = {
            "this_week": weeks[0]["count"],
            "weeks": weeks,
            "last_attended_at": last.get(pk),
        }
    return result


def patient_summary_get(
    *, viewer: User, patient_id: UUID, now: datetime, insights_days: int = INSIGHTS_DAYS
) -> tuple[dict, policy.Held]:
    """One patient's summary for the viewer, with ``insights_days`` (30) of insights under the
    insights scope.

    Returns the summary and the grants it was read under. A patient who granted
    the viewer nothing in force is NotFound (404), never 403. Insights are computed
    from the entries and counters the policy hands over for this viewer, so a section
    no scope covers is never computed.
    """
    held = policy.scopes_held(viewer, [patient_id], now=now)
    patient = policy.patients_granting(viewer, now=now).filter(pk=patient_id).first()
    if patient is None or patient.pk not in held:
        raise NotFound()
    summary = summaries_for(viewer, [patient], now=now, held=held)[patient.pk]
    sections = sections_shown(held[patient.pk])
    if "insights" in sections:
        end = summary["today"]
        summary["insights"] = reports.insights_for(
            patient,
            end - timedelta(days=insights_days - 1),
            end,
            entries=policy.readable(viewer, ENTRY_FIGURES, now=now, held=held),
            # Days sober belong to the counters scope: a summary shows them in "counters".
            counters=None,
            trigger_labels="trigger_labels" in sections,
        )
    return summary, held


def patient_summary_disclosed(
    *,
    request: Any,
    viewer: User,
    patient_id: UUID,
    now: datetime,
    insights_days: int = INSIGHTS_DAYS,
) -> tuple[dict, policy.Held]:
    """patient_summary_get, with what the summary shows written to the disclosure log."""
    summary, held = patient_summary_get(
        viewer=viewer, patient_id=patient_id, now=now, insights_days=insights_days
    )
    policy.disclose(request=request, viewer=viewer, held=held, items=summary_disclosures([summary]))
    return summary, held


def patients_flagged(viewer: User, flag: str, *, now: datetime) -> list[UUID]:
    """Ids of the patients granting the viewer something whose ``flag`` is raised now.

    A patient whose grants do not cover the flag is not flagged. A fixed number of
    queries; the rows read grow with the caseload, not the queries.
    """
    patients = list(policy.patients_granting(viewer, now=now))
    return [
        patient_id
        for patient_id, summary in summaries_for(viewer, patients, now=now).items()
        if summary["flags"].get(flag)
    ]


def summary_disclosures(summaries: Iterable[dict[str, Any]]) -> list[Disclosure]:
    """What the summaries show, as disclosure-log items: one per patient and kind.

    Counters are records, logged by id. The other kinds are figures computed over
    records (a streak, flags, insights); each is logged as one summary.
    """
    items = []
    for summary in summaries:
        patient_id = summary["patient"].pk
        sections = sections_shown(summary["scopes"])
        if "checkins" in summary:
            items.append(Disclosure(patient_id, sections["checkins"], "checkin_streak", None, 1))
        if "counters" in summary:
            ids = [str(counter["id"]) for counter in summary["counters"]]
            items.append(Disclosure(patient_id, sections["counters"], "counter", ids, len(ids)))
        if "craving_trend" in summary:
            scope = sections["craving_trend"]
            items.append(Disclosure(patient_id, scope, "craving_flags", None, 1))
        if "insights" in summary:
            items.append(Disclosure(patient_id, sections["insights"], "insights", None, 1))
        if "meetings" in summary:
            scope = sections["meetings"]
            items.append(Disclosure(patient_id, scope, "meeting_attendance", None, 1))
        if "measures" in summary:
            scope = sections["measures"]
            items.append(Disclosure(patient_id, scope, "measure_results", None, 1))
        if summary.get("program") is not None:
            scope = sections["program"]
            items.append(Disclosure(patient_id, scope, "program_progress", None, 1))
    return items
