"""The scheduler process: one leader, a hot standby that takes over, a clean stop on SIGTERM."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from backend.nudges.models import Delivery, Nudge
from backend.nudges.scheduler import LOCK_KEY, Leadership
from tests.factories import PatientFactory
from tests.helpers import requires_postgres

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]


def test_run_once_plans_and_delivers(patient):
    from backend.nudges import services as nudge_services

    now = timezone.now()
    local = now.astimezone(ZoneInfo(patient.time_zone))
    soon = (local + timedelta(minutes=1)).strftime("%H:%M")
    nudge_services.rule_create(patient=patient, data={"kind": "custom", "times": [soon]})
    call_command("run_scheduler", "--once")
    assert Nudge.objects.filter(recipient=patient).exists()


def test_one_leader_at_a_time(tmp_path, settings):
    settings.SCHEDULER_LOCK_FILE = str(tmp_path / "scheduler.lock")
    first, second = Leadership(), Leadership()
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        first.release()
        assert second.try_acquire()
    finally:
        first.release()
        second.release()


def _env() -> dict:
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": url,
        "NUDGE_CLAIM_LEASE_SECONDS": "15",
        "PYTHONUNBUFFERED": "1",
    }


def _start(log: Path, *, name: str = "") -> subprocess.Popen:
    """A run_scheduler process on the test database; ``name`` labels its sessions."""
    return subprocess.Popen(
        [
            sys.executable,
            str(REPO / "backend" / "manage.py"),
            "run_scheduler",
            "--deliver-every",
            "1",
            "--plan-every",
            "5",
            "--standby-poll",
            "2",
            "--max-backoff",
            "2",
        ],
        env={**_env(), "PGAPPNAME": name} if name else _env(),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def _leading(log: Path) -> bool:
    return "leading:" in log.read_text()


@requires_postgres("two scheduler processes on one database")
@pytest.mark.django_db(transaction=True)
def test_two_schedulers_for_two_minutes_deliver_every_nudge_once_and_survive_the_leader(
    tmp_path,
):
    patient = PatientFactory()
    start = timezone.now()
    # One nudge due every two seconds over the next two minutes.
    nudges = [
        Nudge.objects.create(
            recipient=patient,
            slot=start + timedelta(seconds=2 * n),
            due_at=start + timedelta(seconds=2 * n),
            next_attempt_at=start + timedelta(seconds=2 * n),
            title="Time for your daily note",
            tolerance=timedelta(minutes=5),
        )
        for n in range(60)
    ]
    connection.close()  # the subprocesses need the rows committed, and we hold no locks
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    began = time.monotonic()
    processes = [_start(logs[0])]
    time.sleep(3)
    processes.append(_start(logs[1]))
    try:
        time.sleep(40)
        leader = next(i for i, log in enumerate(logs) if _leading(log))
        standby = 1 - leader
        assert not _leading(logs[standby]), "only one leads"
        processes[leader].send_signal(signal.SIGKILL)  # a crash, not a clean stop
        processes[leader].wait(timeout=10)
        killed_at = time.monotonic()
        while not _leading(logs[standby]) and time.monotonic() - killed_at < 60:
            time.sleep(0.5)
        assert _leading(logs[standby]), "the standby takes over within a minute"
        # Two minutes in all, then until every nudge is out (at most half a minute more).
        while time.monotonic() - began < 150:
            done = not Nudge.objects.exclude(state=Nudge.State.SENT).exists()
            if done and time.monotonic() - began >= 120:
                break
            time.sleep(1)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=20)
    states = Nudge.objects.values_list("state", flat=True)
    assert set(states) == {"sent"}, [log.read_text()[-2000:] for log in logs]
    for nudge in nudges:
        assert Delivery.objects.filter(nudge=nudge, channel="inbox").count() == 1
    assert all(p.returncode in (0, -signal.SIGKILL) for p in processes)


@requires_postgres("the advisory lock is released when the leader stops")
@pytest.mark.django_db(transaction=True)
def test_sigterm_stops_the_leader_cleanly_and_frees_the_lock(tmp_path):
    connection.close()
    log = tmp_path / "leader.log"
    process = _start(log)
    try:
        deadline = time.monotonic() + 30
        while not _leading(log) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert _leading(log)
        standby = Leadership()
        assert not standby.try_acquire()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert "scheduler stopped" in log.read_text()
        assert standby.try_acquire(), "the lock is free at once"
        standby.release()
    finally:
        if process.poll() is None:
            process.kill()


def _due_nudges(count: int, *, every: timedelta) -> list[Nudge]:
    patient = PatientFactory()
    start = timezone.now()
    return [
        Nudge.objects.create(
            recipient=patient,
            slot=start + every * n,
            due_at=start + every * n,
            next_attempt_at=start + every * n,
            title="Time for your daily note",
            tolerance=timedelta(minutes=5),
        )
        for n in range(count)
    ]


def _sql(query: str, params: tuple = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def _lock_holder() -> str | None:
    """The application name of the session holding the scheduler lock, if any."""
    rows = _sql(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.objid = %s AND l.granted "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        (LOCK_KEY,),
    )
    return rows[0][0] if rows else None


def _wait_for(condition, *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {seconds}s"
        time.sleep(0.2)


def _sent() -> int:
    return Nudge.objects.filter(state=Nudge.State.SENT).count()


@requires_postgres("ending the scheduler processes' database sessions")
@pytest.mark.django_db(transaction=True)
def test_schedulers_survive_their_sessions_ending_and_deliver_every_nudge_once(tmp_path):
    nudges = _due_nudges(24, every=timedelta(seconds=1))
    names = ["scheduler-test-a", "scheduler-test-b"]
    logs = [tmp_path / f"{name}.log" for name in names]
    processes = [_start(log, name=name) for log, name in zip(logs, names, strict=True)]
    try:
        _wait_for(lambda: _lock_holder() in names and _sent() > 0, seconds=20, what="delivery")

        # A database restart or failover: every session of both processes ends at once.
        _sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = ANY(%s)",
            (names,),
        )
        sent_before = _sent()
        _wait_for(lambda: _lock_holder() in names, seconds=10, what="a leader again")
        _wait_for(lambda: _sent() > sent_before, seconds=10, what="delivery resumed")

        # Only the leader's lock session ends: it stops leading, and someone leads again.
        first_leader = _lock_holder()
        _sql(
            "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_stat_activity a "
            "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.objid = %s AND l.granted "
            "AND a.application_name = ANY(%s)",
            (LOCK_KEY, names),
        )
        leader_log = logs[names.index(first_leader)]
        _wait_for(
            lambda: "lost the scheduler lock" in leader_log.read_text(), seconds=5, what="noticed"
        )
        _wait_for(lambda: _lock_holder() in names, seconds=10, what="a leader once more")
        _wait_for(lambda: _sent() == len(nudges), seconds=30, what="every nudge delivered")
        assert [process.poll() for process in processes] == [None, None], "both still run"
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    output = [log.read_text() for log in logs]
    assert [process.returncode for process in processes] == [0, 0], output
    assert not any("Traceback" in text for text in output), output
    for nudge in nudges:
        assert Delivery.objects.filter(nudge=nudge, channel="inbox").count() == 1
    # Each process says when its state changed, not every wait.
    for text in output:
        assert text.count("standby: another scheduler leads") <= 4, text
