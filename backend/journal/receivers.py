"""The journal's part when a lower app announces something (connected in JournalConfig.ready)."""

import logging

from django.db import DatabaseError
from rest_framework.exceptions import APIException, ValidationError

from backend.accounts.models import User
from backend.core.time import local_today
from backend.journal.models import SobrietyCounter, Substance
from backend.journal.services import answer_alert_raise, entries_relocalize
from backend.measures.services import standard_set_schedule

logger = logging.getLogger(__name__)


def clock_changed(*, user, changed=("time_zone",), **_) -> None:
    """A patient's new time zone dates their entries on the new clock."""
    if user.role == User.Role.PATIENT and "time_zone" in changed:
        entries_relocalize(patient=user)


def crisis_answered(*, response, **_) -> None:
    answer_alert_raise(response=response)


def patient_enrolled(*, patient, enrolment, **_) -> None:
    """Enrolment asks for the baseline of the standard measures, scheduled by the primary
    therapist from the first day of the program (or today, if that is past); PACS joins
    when alcohol is one of the patient's substances (a sobriety counter says so).

    Sent after the enrolment committed: a failure here must not fail the enrolment, so it
    is logged (ids only) and the therapist schedules by hand.
    """
    alcohol = SobrietyCounter.objects.filter(patient=patient, substance=Substance.ALCOHOL).exists()
    try:
        standard_set_schedule(
            therapist=enrolment.primary_therapist,
            patient=patient,
            alcohol=alcohol,
            starts_on=max(enrolment.starts_on, local_today(patient)),
        )
    except (APIException, ValidationError, DatabaseError):
        logger.warning(
            "Baseline measures were not scheduled at enrolment %s", enrolment.pk, exc_info=True
        )
