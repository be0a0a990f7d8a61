"""Reads of the disclosure log: a patient's own accounting of who saw what."""

from django.db.models import QuerySet

from backend.accounts.models import User
from backend.disclosure.models import DisclosureLog


def disclosures_of(patient: User) -> QuerySet[DisclosureLog]:
    return DisclosureLog.objects.filter(patient=patient).select_related("viewer")
