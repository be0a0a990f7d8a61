"""Create (or reuse) the benchmarks' verified patient and print an access token.

Run by bench/run.sh as `python bench/seed.py` with DJANGO_SETTINGS_MODULE=bench.settings
and the repository root on PYTHONPATH. Prints the token and nothing else on stdout.
"""

import os
from datetime import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
django.setup()

from django.utils import timezone  # noqa: E402 (after django.setup)

from backend.accounts.models import User  # noqa: E402
from backend.accounts.services import tokens_issue  # noqa: E402

EMAIL = "bench-patient@bench.invalid"


def bench_patient() -> User:
    user = User.objects.filter(email=EMAIL).first()
    if user is None:
        # No password: this account can never sign in, it only holds a token.
        user = User.objects.create_user(
            EMAIL,
            password=None,
            role=User.Role.PATIENT,
            display_name="Bench Patient Ñandú",  # non-ASCII: the JSON encodings must agree
            time_zone="America/Chicago",
            quiet_hours_start=time(22, 0),
            quiet_hours_end=time(7, 30),
            locale="es",
        )
    if user.email_verified_at is None or not user.is_active:
        user.email_verified_at = user.email_verified_at or timezone.now()
        user.is_active = True
        user.save(update_fields=["email_verified_at", "is_active"])
    return user


if __name__ == "__main__":
    print(tokens_issue(user=bench_patient())["access"])
