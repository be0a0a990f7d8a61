"""Seed the `measures` benchmark: answers to score and store, and a patient's FHIR export.

Run by bench/run.sh as `python bench/seed_measures.py` with DJANGO_SETTINGS_MODULE=bench.settings
and the repository root on PYTHONPATH. Seeded afresh every run (it takes a second):

- The answering patient holds SCHEDULES stopped BAM schedules with day-long windows
  from FIRST_DAY: every POST of the benchmark answers a window of its own (one answer per
  window), and each wrk run answers the schedule its run number picks
  (bench/wrk_report.lua), so neither the API nor the bare insert meets a taken window.
  Stopped schedules accept answers up to the day they stopped, and a patient may hold
  any number of them (only one may run per instrument).
- The export patient has 12 weeks of the standard set, answered through the service:
  BAM and PACS weekly, PHQ-9 and GAD-7 every two weeks, scheduled by a therapist on
  the care team.

Prints five lines on stdout: the answering patient's access token, the schedules' ids
(comma-separated, for wrk), the export patient's id, the export patient's token and the
therapist's token; then a JSON object of the queries each timed request runs (measured
in-process, on a schedule of its own).
"""

import json
import os
import random
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
django.setup()

from django.db import connection, transaction  # noqa: E402 (after django.setup)
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from backend.accounts.models import User  # noqa: E402
from backend.accounts.services import tokens_issue  # noqa: E402
from backend.care.models import CareLink  # noqa: E402
from backend.core.time import local_today  # noqa: E402
from backend.measures import services  # noqa: E402
from backend.measures.models import (  # noqa: E402
    Instrument,
    MeasureDraft,
    MeasureResponse,
    MeasureSchedule,
)
from backend.program import services as programs  # noqa: E402
from backend.program.models import Enrolment, Program, Session  # noqa: E402
from bench.seeding import bench_user  # noqa: E402

PATIENT_EMAIL = "bench-measures@bench.invalid"
EXPORT_EMAIL = "bench-measures-export@bench.invalid"
THERAPIST_EMAIL = "bench-measures-therapist@bench.invalid"
EXPORT_PROGRAM = "Bench export IOP"
# More than the wrk runs of any bench/run.sh or bench/compare.sh invocation (each run of
# wrk, of any scenario, takes the next run number; the POSTs answer schedule number % SCHEDULES).
SCHEDULES = 1000
# Day-long windows from here to yesterday: about 20,000 answers per wrk run.
FIRST_DAY = date(1970, 1, 2)  # day 1 of the Unix epoch, which wrk_report.lua counts from
EXPORT_WEEKS = 12
# The BAM with every item asked: item 6 above 0 asks 7A-7G, so 24 answers (the largest).
BAM_ANSWERS = {
    "1": 2, "2": 3, "3": 2, "4": 1, "5": 1, "6": 1, "7A": 0, "7B": 1, "7C": 0, "7D": 0,
    "7E": 0, "7F": 0, "7G": 0, "8": 2, "9": 3, "10": 2, "11": 1, "12": 2, "13": 3, "14": 4,
    "15": 1, "16": 3, "17": 2,
}  # fmt: skip


def _forget(patient: User) -> None:
    """The patient's measures from an earlier run (ids only: each run has new keys)."""
    for model in (MeasureDraft, MeasureResponse, MeasureSchedule):
        model.objects.filter(patient=patient).only("pk").delete()


def _answering_patient(therapist: User) -> tuple[User, list[MeasureSchedule]]:
    """The patient whose SCHEDULES + 1 stopped BAM schedules are empty (the last one is
    for the query count)."""
    patient = bench_user(
        PATIENT_EMAIL, User.Role.PATIENT, "Bench Measures Ñandú", "America/Chicago"
    )
    _forget(patient)
    bam = Instrument.objects.get(slug="bam")
    now = timezone.now()
    schedules = MeasureSchedule.objects.bulk_create(
        MeasureSchedule(
            patient=patient,
            instrument=bam,
            assigned_by=therapist,
            every_days=1,
            starts_on=FIRST_DAY,
            stopped_at=now,
        )
        for _ in range(SCHEDULES + 1)
    )
    return patient, schedules


def _answers(instrument: Instrument, rng: random.Random, week: int) -> dict[str, int]:
    """Every item asked, drifting down over the weeks; no crisis item above 0."""
    answers: dict[str, int] = {}
    for item in instrument.items:
        condition = item.get("enable_when")
        if condition and answers.get(condition["item"], 0) <= condition["above"]:
            continue
        values = sorted(option["value"] for option in item["options"])
        if instrument.slug == "phq-9" and item["link_id"] == "9":
            answers[item["link_id"]] = 0
            continue
        top = max(0, len(values) - 1 - week // 4)
        answers[item["link_id"]] = values[rng.randint(0, top)]
    return answers


@transaction.atomic
def _export_patient(therapist: User) -> User:
    """EXPORT_WEEKS weeks of the standard set, answered through the service."""
    patient = bench_user(EXPORT_EMAIL, User.Role.PATIENT, "Bench Export Ñandú", "America/New_York")
    if not CareLink.objects.filter(
        patient=patient, therapist=therapist, ended_at__isnull=True
    ).exists():
        CareLink.objects.create(patient=patient, therapist=therapist, source="admin")
    _forget(patient)
    tz = ZoneInfo(patient.time_zone)
    starts_on = local_today(patient) - timedelta(weeks=EXPORT_WEEKS)
    rng = random.Random(20261207)
    for instrument in Instrument.objects.filter(slug__in=["phq-9", "gad-7", "bam", "pacs"]):
        schedule = MeasureSchedule.objects.create(
            patient=patient,
            instrument=instrument,
            assigned_by=therapist,
            every_days=instrument.default_every_days,
            starts_on=starts_on,
        )
        for number in range(EXPORT_WEEKS * 7 // schedule.every_days):
            day = starts_on + timedelta(days=number * schedule.every_days + 1)
            services.response_submit(
                schedule=schedule,
                response_id=uuid.uuid4(),
                answered_at=datetime.combine(day, time(20, rng.randrange(60)), tz),
                answers=_answers(instrument, rng, number * schedule.every_days // 7),
            )
    _export_program(patient, therapist)
    return patient


def _export_program(patient: User, therapist: User) -> None:
    """The export patient's IOP program: three groups a week for 13 weeks and a day, so 40
    sessions they are expected at, those past marked present (enrolled after the measures,
    which the enrolment's request for a baseline then finds running)."""
    Enrolment.objects.filter(program__name=EXPORT_PROGRAM).delete()
    Program.objects.filter(name=EXPORT_PROGRAM).delete()
    today = local_today(patient)
    monday = today - timedelta(days=today.weekday(), weeks=EXPORT_WEEKS)
    iop = programs.program_create(
        data={
            "name": EXPORT_PROGRAM,
            "time_zone": patient.time_zone,
            "starts_on": monday,
            "ends_on": monday + timedelta(weeks=13),
            "therapists": [therapist.pk],
        }
    )
    for weekday in (0, 2, 4):
        programs.slot_add(
            program=iop,
            data={
                "kind": "group",
                "title": "Relapse prevention group",
                "weekday": weekday,
                "start_time": time(18, 0),
                "duration_minutes": 90,
                "therapist": therapist,
                "place": "Room 2",
            },
        )
    programs.enrol(
        by=therapist, patient=patient, program=iop, primary_therapist=therapist, starts_on=monday
    )
    for session in Session.objects.filter(program=iop, starts_at__lt=timezone.now()):
        programs.attendance_mark(
            session=session, patient_id=patient.pk, by=therapist, status="present"
        )


def export_path(patient_id) -> str | None:
    """The FHIR $everything path, or None where this checkout has no FHIR export."""
    try:
        return reverse("fhir-patient-everything", kwargs={"patient_id": patient_id})
    except NoReverseMatch:
        return None


def _queries(tokens: dict[str, str], schedule: MeasureSchedule, export: User) -> dict[str, int]:
    """Queries each timed request runs, from authentication to the response (the POSTs
    answer a schedule of their own, on the first two days)."""
    posts = {"create": "/api/v1/measures/responses/", "bare": "/bench/bare-measure-response/"}
    counts = {}
    for day, (label, url) in enumerate(posts.items(), start=2):
        body = {
            "id": str(uuid.uuid4()),
            "schedule": str(schedule.pk),
            "answered_at": f"1970-01-{day:02}T18:00:00Z",
            "answers": BAM_ANSWERS,
        }
        counts[label] = _count(tokens["answer"], url, body)
    path = export_path(export.pk)
    if path:
        counts["export"] = _count(tokens["export"], path)
        counts["therapist"] = _count(tokens["therapist"], path)
    return counts


def _count(token: str, url: str, body: dict | None = None) -> int:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
    with CaptureQueriesContext(connection) as captured:
        if body is None:
            response = client.get(url)
        else:
            response = client.post(url, body, content_type="application/json")
    if response.status_code != (200 if body is None else 201):
        raise SystemExit(f"{url} answered {response.status_code}: {response.content[:300]!r}")
    return len(captured.captured_queries)


def main() -> None:
    therapist = bench_user(
        THERAPIST_EMAIL, User.Role.THERAPIST, "Bench Measures Therapist", "America/Chicago"
    )
    patient, schedules = _answering_patient(therapist)
    export = _export_patient(therapist)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE measures_measureschedule, measures_measureresponse")
    tokens = {
        "answer": tokens_issue(user=patient)["access"],
        "export": tokens_issue(user=export)["access"],
        "therapist": tokens_issue(user=therapist)["access"],
    }
    print(tokens["answer"])
    print(",".join(str(schedule.pk) for schedule in schedules[:SCHEDULES]))
    print(export.pk)
    print(tokens["export"])
    print(tokens["therapist"])
    print(json.dumps(_queries(tokens, schedules[SCHEDULES], export)))


if __name__ == "__main__":
    main()
