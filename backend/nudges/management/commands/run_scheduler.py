import logging
import signal

from django.core.management.base import BaseCommand

from backend.nudges.scheduler import SchedulerProcess

# --verbosity: 0 warnings and errors only, 1 changes of state and busy rounds, 2+ every round.
LOG_LEVELS = {0: logging.WARNING, 1: logging.INFO}


class Command(BaseCommand):
    help = (
        "Run the scheduler: plan and deliver nudges, re-import meeting feeds, flush expired "
        "tokens and idempotency keys, suggest high-risk windows weekly. One process leads "
        "(a PostgreSQL advisory lock); others wait as hot standbys, and every process goes "
        "back to standby and reconnects when the database goes away. SIGTERM stops it cleanly."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run every job once and exit.")
        parser.add_argument("--standby-poll", type=float, default=5.0, help="Seconds.")
        parser.add_argument("--deliver-every", type=float, default=10.0, help="Seconds.")
        parser.add_argument("--plan-every", type=float, default=60.0, help="Seconds.")
        parser.add_argument(
            "--heartbeat",
            type=float,
            default=15.0,
            help="Seconds between lock checks while the lock's connection stays quiet.",
        )
        parser.add_argument(
            "--max-backoff",
            type=float,
            default=30.0,
            help="Longest wait, in seconds, between attempts to reach the database.",
        )

    def handle(self, *args, **options):
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job run otherwise
        verbosity = options["verbosity"]
        logging.getLogger("backend.scheduler").setLevel(LOG_LEVELS.get(verbosity, logging.DEBUG))
        process = SchedulerProcess(
            standby_poll=options["standby_poll"],
            deliver_seconds=options["deliver_every"],
            plan_seconds=options["plan_every"],
            heartbeat=options["heartbeat"],
            max_backoff=options["max_backoff"],
        )
        if options["once"]:
            results = process.run_once()
            if verbosity >= 1:
                for name, result in results.items():
                    self.stdout.write(f"{name}: {'done' if result is None else result}")
            return
        signal.signal(signal.SIGTERM, process.stop)
        signal.signal(signal.SIGINT, process.stop)
        process.run()
