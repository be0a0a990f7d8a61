"""The scheduler process: one leader runs a few periodic jobs; others wait as hot standbys.

Leadership is a PostgreSQL session advisory lock held on a connection of its own:
it is released when the leader's process or connection dies, and a standby, which
tries again every ``standby_poll`` seconds, takes over. On SQLite the lock is an
exclusive lock on a file beside the database (one machine). Jobs are few and
global (plan every rule, deliver every due row...), never one per user.
"""

import fcntl
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from django.conf import settings
from django.core.management import call_command
from django.db import close_old_connections, connection
from django.utils import timezone

from backend.accounts import outbox
from backend.accounts import services as account_services
from backend.nudges import delivery, high_risk, planning

logger = logging.getLogger("backend.scheduler")
LOCK_KEY = 0x5EC0DE  # the advisory lock's key: one scheduler leader per database


class Leadership:
    """Who leads: try_acquire() without waiting; release() when stopping."""

    def __init__(self) -> None:
        self._conn = None
        self._file = None

    def try_acquire(self) -> bool:
        if connection.vendor == "postgresql":
            import psycopg

            if self._conn is None or self._conn.closed:
                params = connection.get_connection_params()
                params.pop("cursor_factory", None)
                params.pop("context", None)
                # Keepalives: if the leader's machine or network dies (not only its process),
                # the server notices within a minute and frees the lock for the standby.
                self._conn = psycopg.connect(
                    autocommit=True,
                    keepalives=1,
                    keepalives_idle=15,
                    keepalives_interval=5,
                    keepalives_count=3,
                    **params,
                )
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

    def still_held(self) -> bool:
        if self._conn is None:
            return self._file is not None
        try:
            row = self._conn.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                "AND objid = %s AND pid = pg_backend_pid() AND granted)",
                (LOCK_KEY,),
            ).fetchone()
        except Exception:
            return False
        return bool(row and row[0])

    def release(self) -> None:
        if self._conn is not None and not self._conn.closed:
            try:
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
            finally:
                self._conn.close()
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def reimport_due_feeds() -> int:
    """Meeting feeds whose refresh interval has passed (a no-op without registered feeds)."""
    from backend.meetings.importer import ImportFailed, import_feed
    from backend.meetings.models import MeetingFeed

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
        except ImportFailed as exc:
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
            lambda: call_command("purge_idempotency_keys", verbosity=0),
            IntervalTrigger(hours=1),
        ),
    ]


def _guarded(job: Job, *, tidy_connections: bool = True) -> Callable[[], None]:
    """The job, logged, its errors kept from stopping the scheduler.

    In the long-running process each run starts and ends with the connection
    checks a request gets (a dropped database connection is replaced).
    """

    def run() -> None:
        if tidy_connections:
            close_old_connections()
        try:
            result = job.run()
            busy = any(result.values()) if isinstance(result, dict) else bool(result)
            # Counts only (never content); quiet rounds stay out of the log.
            logger.log(logging.INFO if busy else logging.DEBUG, "job %s: %s", job.name, result)
        except Exception:
            logger.exception("job %s failed", job.name)
        finally:
            if tidy_connections:
                close_old_connections()

    return run


class SchedulerProcess:
    """Wait for leadership, then run the jobs until stopped (SIGTERM) or the lock is lost."""

    def __init__(
        self, *, standby_poll: float = 5.0, deliver_seconds: float = 10, plan_seconds: float = 60
    ):
        self.standby_poll = standby_poll
        self.job_list = jobs(deliver_seconds=deliver_seconds, plan_seconds=plan_seconds)
        self.leadership = Leadership()
        self.stopping = threading.Event()
        self.scheduler: BlockingScheduler | None = None

    def stop(self, *_args) -> None:
        self.stopping.set()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                if self.leadership.try_acquire():
                    break
                logger.info("standby: another scheduler leads; trying again")
                self.stopping.wait(self.standby_poll)
            if self.stopping.is_set():
                return
            logger.info("leading: running %d jobs", len(self.job_list))
            self.scheduler = BlockingScheduler(timezone="UTC")
            for job in self.job_list:
                # Planning and delivery start at once (a standby taking over has work waiting).
                first = {"next_run_time": timezone.now()} if job.name in ("plan", "deliver") else {}
                self.scheduler.add_job(
                    _guarded(job),
                    job.trigger,
                    id=job.name,
                    max_instances=1,
                    coalesce=True,
                    # A weekly job missed while no scheduler ran still runs when one does.
                    misfire_grace_time=6 * 3600 if isinstance(job.trigger, CronTrigger) else 60,
                    **first,
                )
            self.scheduler.add_job(
                self._check_leadership, IntervalTrigger(seconds=15), id="leadership"
            )
            self.scheduler.start()
        finally:
            self.leadership.release()
            close_old_connections()
            logger.info("scheduler stopped")

    def _check_leadership(self) -> None:
        if not self.leadership.still_held():
            logger.error("lost the scheduler lock: stopping")
            self.stop()

    def run_once(self) -> None:
        for job in self.job_list:
            _guarded(job, tidy_connections=False)()
