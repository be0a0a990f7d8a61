"""The scheduler process: one leader runs a few periodic jobs; others wait as hot standbys.

Leadership is a PostgreSQL session advisory lock held on a connection of its own:
it is released when the leader's process or connection dies, and a standby, which
tries again every ``standby_poll`` seconds, takes over. On SQLite the lock is an
exclusive lock on a file beside the database (one machine). Jobs are few and
global (plan every rule, deliver every due row...), never one per user.

Every process outlives its database: a lost or refused connection (a restart, a
failover, ``pg_terminate_backend``) sends it back to standby, reconnecting with
back-off. A leader watches its lock connection's socket, so it learns of the lost
session at once, starts no job after it, and lets the job that was running finish
against the outbox claims: a row claimed by the old leader is not claimed again
until its lease ends, and only the claim's holder records it sent, so nothing is
delivered twice. The log says when the state changes, not every wait.
"""

import contextlib
import fcntl
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import psycopg
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from django import db
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from backend.accounts import outbox
from backend.accounts import services as account_services
from backend.core.idempotency import idempotency_keys_purge
from backend.meetings.importer import FeedImportError, import_feed
from backend.meetings.models import MeetingFeed
from backend.nudges import delivery, high_risk, planning
from backend.program import services as program_services

logger = logging.getLogger("backend.scheduler")
LOCK_KEY = 0x5EC0DE  # the advisory lock's key: one scheduler leader per database
# The database is gone or refuses us (not a bug of ours): wait, reconnect, carry on.
CONNECTION_ERRORS = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    db.OperationalError,
    db.InterfaceError,
)


def _error_name(exc: BaseException) -> str:
    """The most precise class name of a database error (psycopg's, under Django's wrapper).

    Only the name reaches the log: a server's message may quote values.
    """
    cause = exc.__cause__ if isinstance(exc.__cause__, psycopg.Error) else exc
    return type(cause).__name__


def _drop_django_connections() -> None:
    """Close this thread's Django connections; a broken one is replaced at its next use."""
    with contextlib.suppress(*CONNECTION_ERRORS):
        db.connections.close_all()


class Leadership:
    """Who leads: try_acquire() without waiting; release() when stopping.

    try_acquire() raises one of CONNECTION_ERRORS when the database cannot be reached;
    the caller discards the connection and tries again later.
    """

    def __init__(self) -> None:
        self._conn: psycopg.Connection | None = None
        self._file = None

    def try_acquire(self) -> bool:
        if connection.vendor == "postgresql":
            if self._conn is None or self._conn.closed:
                self._conn = self._connect()
            row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
            return bool(row and row[0])
        path = Path(settings.SCHEDULER_LOCK_FILE)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self._file or path.open("w")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    @staticmethod
    def _connect() -> psycopg.Connection:
        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        # Keepalives both ways: if the leader's machine or network dies (not only its
        # process), the server notices within a minute and frees the lock for a standby
        # (the client's alone would tell only the client), and the leader learns of it.
        conn = psycopg.connect(
            autocommit=True,
            keepalives=1,
            keepalives_idle=15,
            keepalives_interval=5,
            keepalives_count=3,
            **params,
        )
        conn.execute(
            "SELECT set_config('tcp_keepalives_idle', '15', false), "
            "set_config('tcp_keepalives_interval', '5', false), "
            "set_config('tcp_keepalives_count', '3', false)"
        )
        return conn

    def still_held(self) -> bool:
        """Whether the lock is still ours: one small query; False once its session is gone."""
        conn = self._conn  # another thread may discard it meanwhile
        if conn is None:
            return self._file is not None
        try:
            row = conn.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                "AND objid = %s AND pid = pg_backend_pid() AND granted)",
                (LOCK_KEY,),
            ).fetchone()
        except psycopg.Error:
            return False
        return bool(row and row[0])

    def fileno(self) -> int | None:
        """The lock connection's socket, readable when the server ends the session."""
        conn = self._conn
        if conn is None or conn.closed:
            return None
        return conn.fileno()

    def discard(self) -> None:
        """Forget a lost lock connection (the server freed the lock with its session)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def release(self) -> None:
        conn = self._conn
        if conn is not None and not conn.closed:
            with contextlib.suppress(psycopg.Error):  # a lost session holds nothing any more
                conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        self.discard()
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def reimport_due_feeds() -> int:
    """Meeting feeds whose refresh interval has passed (a no-op without registered feeds)."""
    now = timezone.now()
    count = 0
    for feed in MeetingFeed.objects.filter(active=True).exclude(url=""):
        if (
            feed.last_imported_at
            and feed.last_imported_at + timedelta(hours=feed.refresh_hours) > now
        ):
            continue
        try:
            import_feed(feed)
            count += 1
        except FeedImportError as exc:
            logger.warning("meeting feed %s failed: %s", feed.name, exc)
    return count


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], object]
    trigger: object


def jobs(*, deliver_seconds: float = 10, plan_seconds: float = 60) -> list[Job]:
    return [
        Job("plan", planning.plan, IntervalTrigger(seconds=plan_seconds)),
        Job("deliver", delivery.deliver_all, IntervalTrigger(seconds=deliver_seconds)),
        Job("meeting feeds", reimport_due_feeds, IntervalTrigger(minutes=15)),
        # Daily: every program's sessions made up to its horizon (idempotent).
        Job("program sessions", program_services.programs_extend, CronTrigger(hour=2)),
        Job(
            "high-risk windows",
            high_risk.suggest_for_everyone,
            CronTrigger(day_of_week="mon", hour=3),
        ),
        Job(
            "flush expired tokens",
            lambda: call_command("flushexpiredtokens", verbosity=0),
            IntervalTrigger(hours=6),
        ),
        # Account emails (password reset) every 5 seconds: the request only queued them.
        Job("account emails", outbox.account_emails_send, IntervalTrigger(seconds=5)),
        # Expired throttle counters and finished sign-ins, hourly.
        Job("purge auth records", account_services.auth_records_purge, IntervalTrigger(hours=1)),
        Job(
            "purge idempotency keys",
            lambda: idempotency_keys_purge(now=timezone.now()),
            IntervalTrigger(hours=1),
        ),
    ]


def _guarded(
    job: Job,
    *,
    own_connections: bool = True,
    on_connection_lost: Callable[[], None] = lambda: None,
) -> Callable[[], object]:
    """The job, logged, its errors kept from stopping the scheduler; returns its result.

    In the long-running process a run opens its own database connection and closes
    it at the end: no scheduler thread holds one between runs, so a restarted
    database or a lost leadership leaves no stale connection behind (a connection
    every few seconds is nothing to PostgreSQL).
    """

    def run() -> object:
        try:
            result = job.run()
            busy = any(result.values()) if isinstance(result, dict) else bool(result)
            # Counts only (never content); quiet rounds stay out of the log.
            logger.log(logging.INFO if busy else logging.DEBUG, "job %s: %s", job.name, result)
            return result
        except CONNECTION_ERRORS as exc:
            # The database went away (or, on SQLite, stayed locked) mid-run: not a bug, so
            # one line and no traceback; the job runs again at its next time. Rows this run
            # claimed stay claimed until their lease ends (never sent twice).
            logger.warning("job %s stopped: database unavailable (%s)", job.name, _error_name(exc))
            on_connection_lost()
        except Exception:
            logger.exception("job %s failed", job.name)
        finally:
            if own_connections:
                _drop_django_connections()
        return None

    return run


class SchedulerProcess:
    """Lead when the lock is free, stand by when it is not, until stopped (SIGTERM).

    States, each logged once when entered (and again every ``remind_every`` seconds
    while it lasts): standby, leading, unreachable (reconnecting with back-off).
    """

    def __init__(
        self,
        *,
        standby_poll: float = 5.0,
        deliver_seconds: float = 10,
        plan_seconds: float = 60,
        heartbeat: float = 15.0,
        max_backoff: float = 30.0,
        remind_every: float = 3600.0,
    ):
        self.standby_poll = standby_poll
        self.heartbeat = heartbeat  # a lock check even when its socket stays quiet
        self.max_backoff = max_backoff
        self.remind_every = remind_every
        self.job_list = jobs(deliver_seconds=deliver_seconds, plan_seconds=plan_seconds)
        self.leadership = Leadership()
        self.stopping = threading.Event()
        self._leading = threading.Event()
        # stop() and a job that lost its connection wake the leader's wait through a socket pair
        # (safe from a signal handler, selectable beside the lock's socket); run() owns it.
        self._wake_read: socket.socket | None = None
        self._wake_write: socket.socket | None = None
        self._state = ""
        self._state_since = self._state_logged = 0.0

    def stop(self, *_args) -> None:
        self.stopping.set()
        self._wake()

    def _wake(self) -> None:
        wake = self._wake_write
        if wake is not None:
            # Full: already awake. Closed: the process has stopped.
            with contextlib.suppress(OSError):
                wake.send(b".")

    def _enter(self, state: str, message: str, level: int = logging.INFO) -> None:
        now = time.monotonic()
        if state != self._state:
            self._state, self._state_since, self._state_logged = state, now, now
            logger.log(level, message)
        elif now - self._state_logged >= self.remind_every:
            self._state_logged = now
            logger.log(level, "%s (for %d min)", message, (now - self._state_since) // 60)

    def run(self) -> None:
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._wake_write.setblocking(False)
        try:
            while not self.stopping.is_set():
                if self._stand_by():
                    self._lead()
        finally:
            self.leadership.release()
            _drop_django_connections()
            ends = (self._wake_read, self._wake_write)
            self._wake_read = self._wake_write = None
            for end in ends:
                end.close()
            logger.info("scheduler stopped")

    def _stand_by(self) -> bool:
        """Wait for the lock, through database outages: True once it is ours, False if stopped."""
        failures = 0
        while not self.stopping.is_set():
            try:
                if self.leadership.try_acquire():
                    return True
            except CONNECTION_ERRORS as exc:
                self.leadership.discard()
                _drop_django_connections()
                failures += 1
                self._enter(
                    "unreachable",
                    f"database connection lost or refused ({_error_name(exc)}): "
                    f"reconnecting, with back-off up to {self.max_backoff:g}s",
                    logging.WARNING,
                )
                self.stopping.wait(min(self.max_backoff, 2 ** (failures - 1)))
                continue
            failures = 0
            self._enter(
                "standby", f"standby: another scheduler leads; trying every {self.standby_poll:g}s"
            )
            self.stopping.wait(self.standby_poll)
        return False

    def _lead(self) -> None:
        """Run the jobs while the lock is ours; stop starting them the moment it is lost."""
        self._enter("leading", f"leading: running {len(self.job_list)} jobs")
        self._leading.set()
        scheduler = BackgroundScheduler(timezone="UTC")
        for job in self.job_list:
            # Planning and delivery start at once (a standby taking over has work waiting).
            first = {"next_run_time": timezone.now()} if job.name in ("plan", "deliver") else {}
            scheduler.add_job(
                self._as_leader(job),
                job.trigger,
                id=job.name,
                max_instances=1,
                coalesce=True,
                # A weekly job missed while no scheduler ran still runs when one does.
                misfire_grace_time=6 * 3600 if isinstance(job.trigger, CronTrigger) else 60,
                **first,
            )
        scheduler.start()
        try:
            while not self.stopping.is_set():
                self._wait_for_news()
                if not self.stopping.is_set() and not self.leadership.still_held():
                    self._enter(
                        "lost",
                        "lost the scheduler lock: jobs stopped; back to standby",
                        logging.WARNING,
                    )
                    return
        finally:
            self._leading.clear()
            # A job already running finishes in its thread (its claims keep it harmless).
            scheduler.shutdown(wait=False)
            if not self.stopping.is_set():
                self.leadership.discard()

    def _as_leader(self, job: Job) -> Callable[[], None]:
        guarded = _guarded(job, on_connection_lost=self._wake)

        def run() -> None:
            # A job starts only while the lock is ours (one small query on its connection).
            if not self._leading.is_set() or not self.leadership.still_held():
                self._wake()
                return
            guarded()

        return run

    def _wait_for_news(self) -> None:
        """Until the lock's socket stirs (its session ended), a wake-up, or the heartbeat."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake_read, selectors.EVENT_READ)
            lock_socket = self.leadership.fileno()
            if lock_socket is not None:
                selector.register(lock_socket, selectors.EVENT_READ)
            selector.select(self.heartbeat)
        with contextlib.suppress(BlockingIOError):
            while self._wake_read.recv(512):
                pass

    def run_once(self) -> dict[str, object]:
        """Every job once, here and now (no lock): job name -> its result."""
        return {job.name: _guarded(job, own_connections=False)() for job in self.job_list}
