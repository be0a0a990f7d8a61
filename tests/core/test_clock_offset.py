"""The shifted-clock CI run: TESTS_CLOCK_OFFSET_SECONDS moves the clock of every process that
loads the test settings by the same amount, so a server the suite starts agrees with it."""

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from tests.settings import CLOCK_OFFSET_ENV

REPO = Path(__file__).resolve().parents[2]
YEAR = 365 * 86400


def _child_clock(offset: str | None) -> float:
    """The time a fresh Django process on the test settings reads, as a Unix timestamp."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(REPO)}
    env.pop(CLOCK_OFFSET_ENV, None)
    if offset is not None:
        env[CLOCK_OFFSET_ENV] = offset
    code = "from django.utils import timezone; print(timezone.now().isoformat())"
    result = subprocess.run(
        [sys.executable, str(REPO / "backend" / "manage.py"), "shell", "--no-imports", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return datetime.fromisoformat(result.stdout.strip()).timestamp()


def test_a_process_on_the_test_settings_runs_on_the_moved_clock():
    moved = _child_clock(str(2 * YEAR))
    unmoved = _child_clock(None)
    # The two children start seconds apart: the offset is all that differs.
    assert abs(moved - unmoved - 2 * YEAR) < 120
