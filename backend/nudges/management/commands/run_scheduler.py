import logging
import signal

from django.core.management.base import BaseCommand

from backend.nudges.scheduler import SchedulerProcess


class Command(BaseCommand):
    help = (
        "Run the scheduler: plan and deliver nudges, re-import meeting feeds, flush expired "
        "tokens and idempotency keys, suggest high-risk windows weekly. One process leads "
        "(a PostgreSQL advisory lock); others wait as hot standbys. SIGTERM stops it cleanly."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run every job once and exit.")
        parser.add_argument("--standby-poll", type=float, default=5.0, help="Seconds.")
        parser.add_argument("--deliver-every", type=float, default=10.0, help="Seconds.")
        parser.add_argument("--plan-every", type=float, default=60.0, help="Seconds.")

    def handle(self, *args, **options):
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job run otherwise
        process = SchedulerProcess(
            standby_poll=options["standby_poll"],
            deliver_seconds=options["deliver_every"],
            plan_seconds=options["plan_every"],
        )
        if options["once"]:
            process.run_once()
            return
        signal.signal(signal.SIGTERM, process.stop)
        signal.signal(signal.SIGINT, process.stop)
        process.run()
