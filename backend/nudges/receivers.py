"""Nudges' part when a lower app announces something (connected in NudgesConfig.ready)."""

from backend.nudges.planning import replan
from backend.nudges.services import (
    crisis_alerts_enqueue,
    measure_reminder_ensure,
    nudges_stop_for,
)


def alerts_raised(*, alerts, **_) -> None:
    crisis_alerts_enqueue(alerts)


def account_closed(*, user, **_) -> None:
    nudges_stop_for(user)


def clock_changed(*, user, **_) -> None:
    replan(user)


def measure_scheduled(*, patient, **_) -> None:
    measure_reminder_ensure(patient)
