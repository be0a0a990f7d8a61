"""Personas and API clients shared by every test."""

import importlib
import os
from dataclasses import dataclass
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from backend.accounts import services as account_services
from backend.accounts.models import User
from backend.consent import services as consent_services
from backend.consent.scopes import Scope
from tests.factories import (
    PASSWORD,
    CareLinkFactory,
    ClinicAdminFactory,
    FamilyFactory,
    FamilyLinkFactory,
    PatientFactory,
    TherapistFactory,
    grant_for,
)
from tests.helpers import client_for
from tests.settings import CLOCK_OFFSET_ENV

PERSONAS = (
    "anonymous",
    "patient",
    "other_patient",
    "granted_therapist",  # linked, holding every scope of the patient's records
    "shared_therapist",  # linked, holding journal.shared only: the entries marked shared
    "linked_therapist",  # linked, no grant
    "expired_therapist",  # linked, grant expired
    "revoked_therapist",  # linked, grant revoked
    "unlinked_therapist",
    "family_granted",  # accepted family, granted check-ins, counters, insights, crisis alerts
    "family",  # accepted family, granted meeting attendance only
    "family_revoked",  # accepted family, grant revoked
    "clinic_admin",
    "deactivated",
)
FAMILY_SCOPES = ("checkins", "counters", "insights", "crisis_alerts")


def pytest_report_header(config):
    if os.environ.get(CLOCK_OFFSET_ENV):
        return f"clock moved by {CLOCK_OFFSET_ENV}: now is {timezone.now():%Y-%m-%d %H:%M:%S %Z}"
    return None


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counters live in the cache; each test starts from zero.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def patient(db) -> User:
    return PatientFactory(email="patient@example.test", display_name="Sam")


@pytest.fixture
def other_patient(db) -> User:
    return PatientFactory(email="other.patient@example.test", display_name="Alex")


@pytest.fixture
def linked_therapist(db, patient) -> User:
    therapist = TherapistFactory(email="linked.therapist@example.test")
    CareLinkFactory(patient=patient, therapist=therapist)
    return therapist


@pytest.fixture
def unlinked_therapist(db) -> User:
    return TherapistFactory(email="unlinked.therapist@example.test")


@pytest.fixture
def family(db, patient) -> User:
    member = FamilyFactory(email="family@example.test")
    FamilyLinkFactory(patient=patient, member=member)
    grant_for(patient, member, ["meetings"])
    return member


@pytest.fixture
def granted_therapist(db, patient) -> User:
    therapist = TherapistFactory(email="granted.therapist@example.test")
    CareLinkFactory(patient=patient, therapist=therapist)
    grant_for(patient, therapist, Scope.values)
    return therapist


@pytest.fixture
def shared_therapist(db, patient) -> User:
    therapist = TherapistFactory(email="shared.therapist@example.test")
    CareLinkFactory(patient=patient, therapist=therapist)
    grant_for(patient, therapist, [Scope.JOURNAL_SHARED])
    return therapist


@pytest.fixture
def expired_therapist(db, patient) -> User:
    therapist = TherapistFactory(email="expired.therapist@example.test")
    CareLinkFactory(patient=patient, therapist=therapist)
    with time_machine.travel(timezone.now() - timedelta(days=400)):
        grant_for(patient, therapist, Scope.values)
    return therapist


@pytest.fixture
def revoked_therapist(db, patient) -> User:
    therapist = TherapistFactory(email="revoked.therapist@example.test")
    CareLinkFactory(patient=patient, therapist=therapist)
    grant = grant_for(patient, therapist, Scope.values)
    consent_services.grant_revoke(grant=grant, by=patient)
    return therapist


@pytest.fixture
def family_granted(db, patient) -> User:
    member = FamilyFactory(email="family.granted@example.test")
    FamilyLinkFactory(patient=patient, member=member)
    grant_for(patient, member, FAMILY_SCOPES)
    return member


@pytest.fixture
def family_revoked(db, patient) -> User:
    member = FamilyFactory(email="family.revoked@example.test")
    FamilyLinkFactory(patient=patient, member=member)
    grant = grant_for(patient, member, FAMILY_SCOPES)
    consent_services.grant_revoke(grant=grant, by=patient)
    return member


@pytest.fixture
def clinic_admin(db) -> User:
    return ClinicAdminFactory(email="admin@example.test")


@dataclass
class Persona:
    name: str
    user: User | None
    client: APIClient
    password: str | None


@pytest.fixture
def personas(
    db,
    patient,
    other_patient,
    granted_therapist,
    shared_therapist,
    linked_therapist,
    expired_therapist,
    revoked_therapist,
    unlinked_therapist,
    family_granted,
    family,
    family_revoked,
    clinic_admin,
):
    """Every persona with an authenticated client (the deactivated one holds a stale token)."""
    deactivated = PatientFactory(email="deactivated@example.test")
    deactivated_client = client_for(deactivated)
    account_services.user_deactivate(user=deactivated, password=PASSWORD)
    users = {
        "anonymous": None,
        "patient": patient,
        "other_patient": other_patient,
        "granted_therapist": granted_therapist,
        "shared_therapist": shared_therapist,
        "linked_therapist": linked_therapist,
        "expired_therapist": expired_therapist,
        "revoked_therapist": revoked_therapist,
        "unlinked_therapist": unlinked_therapist,
        "family_granted": family_granted,
        "family": family,
        "family_revoked": family_revoked,
        "clinic_admin": clinic_admin,
    }
    result = {
        name: Persona(name, user, client_for(user), PASSWORD if user else None)
        for name, user in users.items()
    }
    result["deactivated"] = Persona("deactivated", deactivated, deactivated_client, PASSWORD)
    return result


@pytest.fixture
def disclosures_cleared_after(transactional_db):
    """The flush after a transactional test DELETEs every row, which the disclosure log's
    append-only triggers refuse on SQLite (PostgreSQL truncates, firing no row trigger).
    Lift them for this one cleanup, then put them back."""
    yield
    if connection.vendor != "sqlite":
        return
    triggers = importlib.import_module("backend.consent.migrations.0002_disclosure_log_append_only")
    with connection.cursor() as cursor:
        for statement in triggers.SQLITE_BACKWARD:
            cursor.execute(statement)
        cursor.execute(f"DELETE FROM {triggers.TABLE}")  # noqa: S608 (a constant name)
        for statement in triggers.SQLITE_FORWARD:
            cursor.execute(statement)
