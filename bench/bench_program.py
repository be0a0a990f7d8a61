"""Benchmark the IOP program (issue 17), in-process.

    SQLITE_PATH=/tmp/bench_program.sqlite3 .venv/bin/python bench/bench_program.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recovery_bench_program \\
        .venv/bin/python bench/bench_program.py

1. Generating a year of sessions for 50 programs (5 weekly slots each, about 13,000
   rows) from their timetables in one call, as the daily sweep does: target under 2 s
   (and, for the record, a call per program).
2. A program of 300 patients over 12 weeks (5 sessions a week: 60 sessions, 18,000
   attendance marks): a therapist's attendance sheet of one session through the API,
   one page of 100 patients and the whole sheet (3 pages): target p50 under 50 ms a page.
3. A therapist's caseload summaries (100 patients granting check-ins and counters),
   without and with the program scope (progress and the missed-sessions flag):
   target within 20%.
Prints figures and PASS or FAIL; exit status 1 when a target is missed.
"""

import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# Bench-only secrets: this process never serves anyone.
os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production-" + "k" * 32)
os.environ.setdefault("JWT_SIGNING_KEY", "bench-jwt-signing-key-not-for-production-" + "j" * 32)
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtb25seS1maWVsZC1rZXktLTMyLWJ5dGVzISE=")
os.environ.setdefault("ENV_FILE", "/nonexistent/.env")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")

import django

django.setup()

import time_machine  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from backend.accounts import services as account_services  # noqa: E402
from backend.accounts.models import User  # noqa: E402
from backend.care.models import CareLink  # noqa: E402
from backend.consent import services as consent_services  # noqa: E402
from backend.program import services  # noqa: E402
from backend.program.models import (  # noqa: E402
    Attendance,
    Enrolment,
    Program,
    ProgramTherapist,
    Session,
    Slot,
)

GENERATE_TARGET_S = 2.0
SHEET_TARGET_MS = 50.0
CASELOAD_MARGIN = 0.20
START = date(2026, 9, 7)  # a Monday
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # week 12 of the big program
TIMETABLE = [(0, 18), (1, 18), (2, 18), (3, 17), (4, 18)]  # (weekday, hour)
ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
         "Europe/London"]  # fmt: skip


def _user(email: str, role: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create(email=email, role=role, display_name=email.split("@")[0])
    return user


def _generation(*, one_by_one: bool = False) -> tuple[float, int]:
    """A year of sessions for 50 programs, timed from their timetables alone: in one call,
    as the daily sweep makes them (or ``one_by_one``, a call per program)."""
    Program.objects.filter(name__startswith="bench-gen-").delete()
    therapists = [
        _user(f"bench-gen-therapist-{n}@bench.invalid", User.Role.THERAPIST) for n in range(50)
    ]
    programs = Program.objects.bulk_create(
        Program(name=f"bench-gen-{n}", time_zone=ZONES[n % len(ZONES)], starts_on=START)
        for n in range(50)
    )
    ProgramTherapist.objects.bulk_create(
        ProgramTherapist(program=p, therapist=t) for p, t in zip(programs, therapists, strict=True)
    )
    Slot.objects.bulk_create(
        Slot(
            program=program,
            kind="group",
            title="Group",
            weekday=weekday,
            start_time=clock(hour),
            duration_minutes=90,
            therapist=therapist,
            valid_from=START,
        )
        for program, therapist in zip(programs, therapists, strict=True)
        for weekday, hour in TIMETABLE
    )
    until = START + timedelta(days=364)
    started = time.perf_counter()
    if one_by_one:
        made = sum(services.sessions_generate(program=p, until=until) for p in programs)
    else:
        made = services.programs_generate(plans=[(p, until) for p in programs])
    return time.perf_counter() - started, made


def _big_program() -> tuple[Program, User, list[User]]:
    """300 patients over 12 weeks, every session marked: 18,000 attendance rows."""
    therapist = _user("bench-sheet-therapist@bench.invalid", User.Role.THERAPIST)
    program = Program.objects.filter(name="bench-sheet").first()
    patients = list(User.objects.filter(email__startswith="bench-sheet-patient-").order_by("email"))
    if program is not None:
        return program, therapist, patients
    program = services.program_create(
        data={
            "name": "bench-sheet",
            "time_zone": "America/New_York",
            "starts_on": START,
            "ends_on": START + timedelta(weeks=12, days=-1),
            "therapists": [therapist.pk],
        }
    )
    for weekday, hour in TIMETABLE:
        services.slot_add(
            program=program,
            data={
                "kind": "group",
                "title": "Group",
                "weekday": weekday,
                "start_time": clock(hour),
                "duration_minutes": 90,
                "therapist": therapist,
            },
        )
    User.objects.bulk_create(
        User(
            email=f"bench-sheet-patient-{n:03d}@bench.invalid",
            role=User.Role.PATIENT,
            display_name=f"Patient {n:03d}",
            password="!",
        )
        for n in range(300)
    )
    patients = list(User.objects.filter(email__startswith="bench-sheet-patient-").order_by("email"))
    CareLink.objects.bulk_create(
        CareLink(patient=p, therapist=therapist, source=CareLink.Source.ADMIN) for p in patients
    )
    enrolments = Enrolment.objects.bulk_create(
        Enrolment(
            patient=p,
            program=program,
            primary_therapist=therapist,
            starts_on=START,
            planned_end=program.ends_on,
        )
        for p in patients
    )
    sessions = list(Session.objects.filter(program=program))
    statuses = ["present"] * 8 + ["late", "absent"]
    Attendance.objects.bulk_create(
        (
            Attendance(
                session=s,
                patient_id=e.patient_id,
                enrolment=e,
                status=statuses[(i + j) % len(statuses)],
                source="therapist",
                marked_by=therapist,
                marked_at=s.starts_at,
            )
            for i, s in enumerate(sessions)
            for j, e in enumerate(enrolments)
        ),
        batch_size=5000,
    )
    return program, therapist, patients


def _client(user: User) -> APIClient:
    client = APIClient()
    access = account_services.tokens_issue(user=user)["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def _timed(run, times: int = 40) -> float:
    for _ in range(3):
        run()  # warm up
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds) * 1000


def _sheet(program: Program, therapist: User) -> tuple[float, float, int]:
    session = Session.objects.filter(program=program).order_by("starts_at")[30]
    client = _client(therapist)
    url = f"/api/v1/program/sessions/{session.pk}/attendance/"

    def page() -> None:
        response = client.get(url, {"page_size": 100})
        assert response.status_code == 200, response.content[:300]

    def whole() -> int:
        rows, next_url = 0, f"{url}?page_size=100"
        while next_url:
            body = client.get(next_url).json()
            rows += len(body["results"])
            next_url = body["next"]
        return rows

    return _timed(page), _timed(whole, times=15), whole()


def _caseload(therapist: User, patients: list[User]) -> tuple[float, float]:
    """Caseload summaries of 100 patients: their grants without, then with, the program."""
    client = _client(therapist)
    url = "/api/v1/care/caseload/summaries/"
    some = patients[:100]
    for patient in some:
        consent_services.grants_revoke_between(
            patient=patient, recipient=therapist, by=patient, reason="bench"
        )
        consent_services.grant_create(
            patient=patient,
            recipient_id=therapist.pk,
            scopes=["checkins", "counters"],
            purpose="treatment",
            signature_name="Bench",
        )

    def run() -> None:
        response = client.get(url, {"page_size": 100})
        assert response.status_code == 200, response.content[:300]
        assert len(response.json()["results"]) == 100

    without = _timed(run, times=15)
    for patient in some:
        consent_services.grant_create(
            patient=patient,
            recipient_id=therapist.pk,
            scopes=["program"],
            purpose="treatment",
            signature_name="Bench",
        )
    with_program = _timed(run, times=15)
    return without, with_program


def main() -> int:
    call_command("migrate", verbosity=0)
    passed = True
    print(f"== program on {connection.vendor}")
    seconds, made = _generation()
    one_by_one, _ = _generation(one_by_one=True)
    ok = seconds < GENERATE_TARGET_S
    passed &= ok
    print(
        f"   a year of sessions for 50 programs: {made:,} rows in {seconds:.2f} s "
        f"(target: under {GENERATE_TARGET_S:.0f} s): {'PASS' if ok else 'FAIL'}; "
        f"a call per program {one_by_one:.2f} s"
    )
    with time_machine.travel(NOW, tick=True):
        program, therapist, patients = _big_program()
        print(
            f"   seeded: 300 patients, {Session.objects.filter(program=program).count()} sessions, "
            f"{Attendance.objects.filter(session__program=program).count():,} attendance marks"
        )
        page, whole, rows = _sheet(program, therapist)
        ok = page < SHEET_TARGET_MS
        passed &= ok
        print(
            f"   attendance sheet of one session: p50 {page:.1f} ms a page of 100 "
            f"(target: under {SHEET_TARGET_MS:.0f} ms): {'PASS' if ok else 'FAIL'}; "
            f"the whole sheet ({rows} patients, 3 pages) p50 {whole:.1f} ms"
        )
        without, with_program = _caseload(therapist, patients)
        ok = with_program <= without * (1 + CASELOAD_MARGIN)
        passed &= ok
        print(
            f"   caseload summaries, 100 patients: p50 {without:.1f} ms, with the program "
            f"section and flag {with_program:.1f} ms ({(with_program / without - 1) * 100:+.0f}%; "
            f"target: within {CASELOAD_MARGIN:.0%}): {'PASS' if ok else 'FAIL'}"
        )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
