"""The scheduler process: one leader, a hot standby that takes over, a clean stop on SIGTERM,
and every process outliving its database sessions."""

import io
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from apscheduler.triggers.interval import IntervalTrigger
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from backend.core.models import IdempotencyKey
from backend.nudges import delivery
from backend.nudges import services as nudge_services
from backend.nudges.models import Delivery, Nudge
from backend.nudges.scheduler import LOCK_KEY, Job, Leadership, SchedulerProcess
from tests.factories import PatientFactory
from tests.helpers import requires_postgres

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]


def test_run_once_plans_and_delivers(patient):

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


def _connected() -> set[str]:
    return {name for (name,) in _sql("SELECT application_name FROM pg_stat_activity")}


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
        _wait_for(
            lambda: _lock_holder() in names and _sent() > 0 and set(names) <= _connected(),
            seconds=30,
            what="a leader delivering and a standby trying for the lock",
        )

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


def test_once_is_silent_at_verbosity_0_and_reports_counts_at_1(patient, capsys):
    long_ago = timezone.now() - timedelta(days=3)
    for key in ("first", "second"):
        IdempotencyKey.objects.create(
            user=patient, key=key, method="POST", path="/api/v1/x", created_at=long_ago
        )
    quiet = io.StringIO()
    call_command("run_scheduler", "--once", verbosity=0, stdout=quiet)
    assert quiet.getvalue() == ""
    assert capsys.readouterr().out == ""
    assert not IdempotencyKey.objects.exists()

    IdempotencyKey.objects.create(
        user=patient, key="third", method="POST", path="/api/v1/x", created_at=long_ago
    )
    told = io.StringIO()
    call_command("run_scheduler", "--once", verbosity=1, stdout=told)
    assert "purge idempotency keys: 1\n" in told.getvalue()
    assert "deliver: {'sent': 0" in told.getvalue()


def _run_in_thread(process: SchedulerProcess) -> threading.Thread:
    thread = threading.Thread(target=process.run, daemon=True)
    thread.start()
    return thread


def _stop(*pairs: tuple[SchedulerProcess, threading.Thread]) -> None:
    for process, _thread in pairs:
        process.stop()
    for _process, thread in pairs:
        thread.join(timeout=20)
        assert not thread.is_alive(), "a stopped scheduler ends"


def _messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "backend.scheduler"]


@pytest.mark.django_db(transaction=True)
def test_a_standby_says_so_once_not_at_every_try(tmp_path, settings, caplog):
    settings.SCHEDULER_LOCK_FILE = str(tmp_path / "scheduler.lock")
    caplog.set_level(logging.INFO, logger="backend.scheduler")
    nudge = _due_nudges(1, every=timedelta(seconds=1))[0]
    leader = SchedulerProcess(standby_poll=0.05, deliver_seconds=0.2)
    leader_thread = _run_in_thread(leader)
    _wait_for(lambda: _sent() == 1, seconds=10, what="the leader delivers")
    standby = SchedulerProcess(standby_poll=0.05, deliver_seconds=0.2)
    standby_thread = _run_in_thread(standby)
    time.sleep(1.5)  # some thirty tries for the lock
    _stop((standby, standby_thread), (leader, leader_thread))
    messages = _messages(caplog)
    assert messages.count(f"leading: running {len(leader.job_list)} jobs") == 1
    assert sum(m.startswith("standby: another scheduler leads") for m in messages) == 1
    assert messages.count("scheduler stopped") == 2
    assert Delivery.objects.filter(nudge=nudge, channel="inbox").count() == 1


@requires_postgres("ending the leader's lock session while a job runs")
@pytest.mark.django_db(transaction=True)
def test_a_leader_that_loses_its_lock_mid_job_starts_no_other_and_nothing_is_sent_twice(
    settings, caplog
):
    settings.NUDGE_CLAIM_LEASE_SECONDS = 60
    caplog.set_level(logging.INFO, logger="backend.scheduler")
    nudges = _due_nudges(3, every=timedelta(0))
    pushing, release = threading.Event(), threading.Event()
    pushed, rounds = [], []

    def slow_sender(nudge):
        pushed.append(nudge.pk)
        pushing.set()
        release.wait(20)  # a push service that takes its time
        return delivery.Outcome(True)

    def deliver():
        rounds.append(time.monotonic())
        return delivery.deliver_all(sender=slow_sender)

    process = SchedulerProcess(standby_poll=0.1)
    process.job_list = [Job("deliver", deliver, IntervalTrigger(seconds=0.2))]
    thread = _run_in_thread(process)
    rival = None
    try:
        assert pushing.wait(10), "the leader's round is pushing"
        # Someone else queues for the lock, then the leader's lock session ends: the
        # lock passes to the rival at once (a failover, or an operator's hand).
        rival = psycopg.connect(_env()["DATABASE_URL"], autocommit=True)
        queued = threading.Thread(
            target=rival.execute, args=("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        )
        queued.start()
        _wait_for(
            lambda: (
                _sql(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND objid = %s AND NOT granted",
                    (LOCK_KEY,),
                )[0][0]
                == 1
            ),
            seconds=5,
            what="the rival queues",
        )
        _sql(
            "SELECT pg_terminate_backend(pid) FROM pg_locks "
            "WHERE locktype = 'advisory' AND objid = %s AND granted",
            (LOCK_KEY,),
        )
        queued.join(timeout=5)
        _wait_for(
            lambda: "lost the scheduler lock: jobs stopped; back to standby" in _messages(caplog),
            seconds=5,  # at once, where the heartbeat alone would take 15 s
            what="the leader notices",
        )
        rounds_when_lost = len(rounds)

        # The rival delivers meanwhile: the rows the old round claimed are not its to send.
        assert delivery.deliver_all()["claimed"] == 0
        release.set()  # the old round finishes what it claimed
        _wait_for(lambda: _sent() == len(nudges), seconds=10, what="the old round finishes")
        time.sleep(1)  # five deliver intervals
        assert len(rounds) == rounds_when_lost, "no job starts without the lock"
        assert any(m.startswith("standby: another scheduler leads") for m in _messages(caplog))
    finally:
        release.set()
        if rival is not None:
            rival.close()
        _stop((process, thread))
    assert sorted(pushed) == sorted(n.pk for n in nudges), "each pushed once"
    for nudge in nudges:
        assert Delivery.objects.filter(nudge=nudge, channel="inbox").count() == 1
