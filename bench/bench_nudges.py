"""Benchmark the nudge planner and the outbox sender (issue 7), in-process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recovery_bench_nudges \\
        .venv/bin/python bench/bench_nudges.py

Seeds 10,000 and then 100,000 synthetic patients with three rules each, in the
steady state a running scheduler keeps them in: every rule planned up to the
horizon, its next moment somewhere in the coming day. Then times planning sweeps
one minute apart (target: under 2 s, growing with the nudges due, not with the
rules) and the delivery of 10,000 due inbox nudges (target: under 10 s).
Prints figures and PASS or FAIL; exit status 1 when a target is missed.
"""

import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# Bench-only secrets: this process never serves anyone.
os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production-" + "k" * 32)
os.environ.setdefault("JWT_SIGNING_KEY", "bench-jwt-signing-key-not-for-production-" + "j" * 32)
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtb25seS1maWVsZC1rZXktLTMyLWJ5dGVzISE=")
os.environ.setdefault("ENV_FILE", "/nonexistent/.env")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from backend.accounts.models import User  # noqa: E402
from backend.nudges import delivery, planning  # noqa: E402
from backend.nudges.models import Delivery, Nudge, NudgeRule  # noqa: E402
from backend.nudges.wording import DEFAULT_TITLES  # noqa: E402

ZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London",
         "Pacific/Auckland", "Asia/Kolkata"]  # fmt: skip
SWEEP_TARGET_S = 2.0
DELIVERY_TARGET_S = 10.0
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _seed(total: int, rng: random.Random) -> None:
    have = User.objects.filter(email__startswith="bench-nudge-").count()
    if have >= total:
        return
    users = [
        User(
            email=f"bench-nudge-{n}@bench.invalid",
            role=User.Role.PATIENT,
            display_name=f"Bench {n}",
            time_zone=rng.choice(ZONES),
            password="!",  # no password: never signs in
        )
        for n in range(have, total)
    ]
    User.objects.bulk_create(users, batch_size=2000)
    users = list(
        User.objects.filter(email__startswith="bench-nudge-")
        .order_by("date_joined", "email")
        .only("pk")[have:total]
    )
    rules = []
    for user in users:
        for kind, times, weekdays in (
            ("checkin", [f"{rng.randint(18, 22):02d}:{rng.choice([0, 30]):02d}"], []),
            ("custom", ["08:15", "13:45"], [0, 1, 2, 3, 4]),
            ("custom", [f"{rng.randint(6, 11):02d}:00"], []),
        ):
            rules.append(
                NudgeRule(
                    patient=user,
                    kind=kind,
                    times=times,
                    weekdays=weekdays,
                    message=DEFAULT_TITLES[kind],
                    # The steady state: planned up to the horizon, next moment within a day.
                    next_due_at=NOW + planning.HORIZON + timedelta(seconds=rng.randint(0, 86399)),
                )
            )
    NudgeRule.objects.bulk_create(rules, batch_size=5000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE accounts_user, nudges_nudgerule, nudges_nudge")


def _sweeps(minutes: int = 5) -> tuple[list[float], list[int], list[int]]:
    seconds, rules_read, queries = [], [], []
    for minute in range(1, minutes + 1):
        at = NOW + timedelta(minutes=minute)
        due = planning.rules_due(at, at + planning.HORIZON).count()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            planning.plan(at)
            seconds.append(time.perf_counter() - started)
        rules_read.append(due)
        queries.append(len(captured))
    return seconds, rules_read, queries


def _delivery(count: int = 10_000) -> float:
    Delivery.objects.filter(nudge__title="bench delivery").delete()
    Nudge.objects.filter(title="bench delivery").delete()
    recipients = list(
        User.objects.filter(email__startswith="bench-nudge-").values_list("pk", flat=True)[:count]
    )
    due = datetime.now(UTC) - timedelta(seconds=30)
    Nudge.objects.bulk_create(
        [
            Nudge(
                recipient_id=pk,
                slot=due,
                due_at=due,
                next_attempt_at=due,
                title="bench delivery",
                tolerance=timedelta(hours=1),
            )
            for pk in recipients
        ],
        batch_size=5000,
    )
    started = time.perf_counter()
    totals = delivery.deliver_all(budget_seconds=600)
    elapsed = time.perf_counter() - started
    if totals["sent"] < len(recipients):
        raise SystemExit(f"delivered {totals['sent']} of {len(recipients)}")
    return elapsed


def main() -> int:
    call_command("migrate", verbosity=0)
    rng = random.Random(7)
    passed = True
    print(f"== nudges on {connection.vendor}")
    for total in (10_000, 100_000):
        _seed(total, rng)
        seconds, rules_read, queries = _sweeps()
        worst = max(seconds)
        ok = worst < SWEEP_TARGET_S
        passed &= ok
        print(
            f"   {total:>7,} patients x 3 rules: planning sweeps one minute apart read "
            f"{statistics.median(rules_read):.0f} rules (median), {max(queries)} queries, "
            f"median {statistics.median(seconds) * 1000:.0f} ms, worst {worst * 1000:.0f} ms "
            f"(target: under {SWEEP_TARGET_S:.0f} s): {'PASS' if ok else 'FAIL'}"
        )
    seconds = _delivery()
    ok = seconds < DELIVERY_TARGET_S
    passed &= ok
    print(
        f"   delivering 10,000 inbox nudges: {seconds:.2f} s "
        f"(target: under {DELIVERY_TARGET_S:.0f} s): {'PASS' if ok else 'FAIL'}"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
