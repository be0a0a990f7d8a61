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
3. Today's caseload (the `caseload` bench's: 100 patients with 1,000 journal entries,
   check-ins, counters and shares each, granting every scope), against another
   therapist's of the same patients who also hold the program scope (progress and the
   missed-sessions flag), in alternating requests: target, the median of the rounds'
   ratios within 20%.
Prints figures and PASS or FAIL; exit status 1 when a target is missed.

BENCH_PROGRAM_PARTS names the parts to run (generation, sheet, caseload; default all).
BENCH_PROGRAM_APP=DIR times another checkout's app code (its backend/) with this bench,
e.g. the code before a change, in turns with this checkout's on one database (README,
Benchmarks); where that code has no programs_generate, generation is a call per program.
"""

import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
if os.environ.get("BENCH_PROGRAM_APP"):
    # Its backend/ first (and its bench/settings.py, the same two lines in every checkout).
    sys.path.insert(0, str(Path(os.environ["BENCH_PROGRAM_APP"]).resolve()))
PARTS = set((os.environ.get("BENCH_PROGRAM_PARTS") or "generation,sheet,caseload").split(","))
# Bench-only secrets: this process never serves anyone.
os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production-" + "k" * 32)
os.environ.setdefault("JWT_SIGNING_KEY", "bench-jwt-signing-key-not-for-production-" + "j" * 32)
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtb25seS1maWVsZC1rZXktLTMyLWJ5dGVzISE=")
os.environ.setdefault("ENV_FILE", "/nonexistent/.env")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")

import django  # noqa: E402

django.setup()

import time_machine  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from backend.accounts import services as account_services  # noqa: E402
from backend.accounts.models import User  # noqa: E402
from backend.care.models import CareLink  # noqa: E402
from backend.consent import services as consent_services  # noqa: E402
from backend.consent.scopes import Scope  # noqa: E402
from backend.program import services  # noqa: E402
from backend.program.models import (  # noqa: E402
    Attendance,
    Enrolment,
    Program,
    ProgramTherapist,
    Session,
    Slot,
)
from bench import seed_caseload  # noqa: E402

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
    if one_by_one or not hasattr(services, "programs_generate"):
        made = sum(services.sessions_generate(program=p, until=until) for p in programs)
    else:
        made = services.programs_generate(plans=[(p, until) for p in programs])
    return time.perf_counter() - started, made


GENERATE_ROUNDS = 3


def _generations() -> tuple[list[float], list[float], int]:
    """Rounds of the sweep's generation and of a call per program, in turns."""
    sweep, one_by_one, made = [], [], 0
    for _ in range(GENERATE_ROUNDS):
        seconds, made = _generation()
        sweep.append(seconds)
        one_by_one.append(_generation(one_by_one=True)[0])
    return sweep, one_by_one, made


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


CASELOAD_ROUNDS = 60
# The caseload's two readers hold their grants from an hour before NOW: each run's clock
# starts at NOW again, and a grant made during an earlier run would not yet be in force.
CASELOAD_SCOPES = {
    "without": [scope for scope in Scope.values if scope != Scope.PROGRAM],
    "with": list(Scope.values),
}


def _caseload_readers(patients: list[User]) -> dict[str, User]:
    """Two therapists with the same 100 patients on their caseload and the same grants, but
    for the program scope: the caseload as it is, and with the program section and flag."""
    readers = {}
    for name, scopes in CASELOAD_SCOPES.items():
        reader = _user(f"bench-caseload-{name}@bench.invalid", User.Role.THERAPIST)
        readers[name] = reader
        if CareLink.objects.filter(therapist=reader).exists():
            continue
        CareLink.objects.bulk_create(
            CareLink(patient=p, therapist=reader, source=CareLink.Source.ADMIN) for p in patients
        )
        with time_machine.travel(NOW - timedelta(hours=1), tick=False):
            for patient in patients:
                consent_services.grant_create(
                    patient=patient,
                    recipient_id=reader.pk,
                    scopes=scopes,
                    purpose="treatment",
                    signature_name="Bench",
                )
    return readers


def _caseload(patients: list[User]) -> tuple[float, float, float]:
    """Caseload summaries of 100 patients, without and with the program section, in
    alternating requests (AB, BA, ...): the median of each, and the median of the rounds'
    ratios (with / without), which a noisy machine moves far less than either."""
    patients = patients[:100]
    if not seed_caseload._is_seeded(patients):
        # The journals of the caseload bench (bench/seed_caseload.py), so that the figure
        # compared with is today's caseload, not one of patients who logged nothing.
        seed_caseload._seed_journals(patients)
    readers = _caseload_readers(patients)
    clients = {name: _client(reader) for name, reader in readers.items()}
    url = "/api/v1/care/caseload/summaries/"

    def run(name: str) -> float:
        started = time.perf_counter()
        response = clients[name].get(url, {"page_size": 100})
        seconds = time.perf_counter() - started
        assert response.status_code == 200, response.content[:300]
        assert len(response.json()["results"]) == 100
        return seconds

    for _ in range(3):  # warm up
        run("without")
        run("with")
    times: dict[str, list[float]] = {"without": [], "with": []}
    ratios = []
    for number in range(CASELOAD_ROUNDS):
        order = ("without", "with") if number % 2 == 0 else ("with", "without")
        took = {name: run(name) for name in order}
        for name, seconds in took.items():
            times[name].append(seconds)
        ratios.append(took["with"] / took["without"])
    return (
        statistics.median(times["without"]) * 1000,
        statistics.median(times["with"]) * 1000,
        statistics.median(ratios),
    )


def main() -> int:
    call_command("migrate", verbosity=0)
    passed = True
    print(f"== program on {connection.vendor}, app code from {Path(services.__file__).parents[2]}")
    if "generation" in PARTS:
        sweep, one_by_one, made = _generations()
        ok = max(sweep) < GENERATE_TARGET_S
        passed &= ok
        how = "in one call" if hasattr(services, "programs_generate") else "a call per program"
        print(
            f"   a year of sessions for 50 programs ({how}): {made:,} rows in "
            f"{', '.join(f'{s:.2f}' for s in sweep)} s, median {statistics.median(sweep):.2f} s "
            f"(target: under {GENERATE_TARGET_S:.0f} s each): {'PASS' if ok else 'FAIL'}; "
            f"a call per program {', '.join(f'{s:.2f}' for s in one_by_one)} s"
        )
    with time_machine.travel(NOW, tick=True):
        program, therapist, patients = _big_program()
        print(
            f"   seeded: 300 patients, {Session.objects.filter(program=program).count()} sessions, "
            f"{Attendance.objects.filter(session__program=program).count():,} attendance marks"
        )
        if "sheet" in PARTS:
            page, whole, rows = _sheet(program, therapist)
            ok = page < SHEET_TARGET_MS
            passed &= ok
            print(
                f"   attendance sheet of one session: p50 {page:.1f} ms a page of 100 "
                f"(target: under {SHEET_TARGET_MS:.0f} ms): {'PASS' if ok else 'FAIL'}; "
                f"the whole sheet ({rows} patients, 3 pages) p50 {whole:.1f} ms"
            )
        if "caseload" in PARTS:
            without, with_program, ratio = _caseload(patients)
            ok = ratio <= 1 + CASELOAD_MARGIN
            passed &= ok
            print(
                f"   caseload summaries, 100 patients, {CASELOAD_ROUNDS} alternating rounds: p50 "
                f"{without:.1f} ms, with the program section and flag {with_program:.1f} ms; "
                f"median of the rounds' ratios {(ratio - 1) * 100:+.0f}% (target: within "
                f"{CASELOAD_MARGIN:.0%}): {'PASS' if ok else 'FAIL'}"
            )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
