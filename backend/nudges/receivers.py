"""Nudges' part when a lower app announces something (connected in NudgesConfig.ready)."""

from backend.nudges.planning import replan
from backend.nudges.services import (
    INTO_AFTERCARE,
    aftercare_reminders_start,
    crisis_alerts_enqueue,
    measure_reminder_ensure,
    nudges_stop_for,
    session_reminders_start,
    session_reminders_stop,
)
from backend.program.models import AftercarePlan


def alerts_raised(*, alerts, **_) -> None:
    crisis_alerts_enqueue(alerts)


def account_closed(*, user, **_) -> None:
    nudges_stop_for(user)


def clock_changed(*, user, **_) -> None:
    replan(user)


def measure_scheduled(*, patient, **_) -> None:
    measure_reminder_ensure(patient)


def patient_enrolled(*, patient, **_) -> None:
    session_reminders_start(patient=patient)


def enrolment_ended(*, patient, enrolment, **_) -> None:
    session_reminders_stop(patient=patient)
    plan = AftercarePlan.objects.filter(enrolment=enrolment, accepted_at__isnull=False).first()
    if plan is not None and enrolment.status in INTO_AFTERCARE:
        aftercare_reminders_start(patient=patient, plan=plan)
