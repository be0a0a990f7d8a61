"""Personas and API clients shared by every test."""

from dataclasses import dataclass

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from backend.accounts import services as account_services
from backend.accounts.models import User
from tests.factories import (
    PASSWORD,
    CareLinkFactory,
    ClinicAdminFactory,
    FamilyFactory,
    PatientFactory,
    TherapistFactory,
)
from tests.helpers import client_for

PERSONAS = (
    "anonymous",
    "patient",
    "other_patient",
    "linked_therapist",
    "unlinked_therapist",
    "family",
    "clinic_admin",
    "deactivated",
)


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
def family(db) -> User:
    return FamilyFactory(email="family@example.test")


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
    db, patient, other_patient, linked_therapist, unlinked_therapist, family, clinic_admin
):
    """Every persona with an authenticated client (the deactivated one holds a stale token)."""
    deactivated = PatientFactory(email="deactivated@example.test")
    deactivated_client = client_for(deactivated)
    account_services.user_deactivate(user=deactivated, password=PASSWORD)
    users = {
        "anonymous": None,
        "patient": patient,
        "other_patient": other_patient,
        "linked_therapist": linked_therapist,
        "unlinked_therapist": unlinked_therapist,
        "family": family,
        "clinic_admin": clinic_admin,
    }
    result = {
        name: Persona(name, user, client_for(user), PASSWORD if user else None)
        for name, user in users.items()
    }
    result["deactivated"] = Persona("deactivated", deactivated, deactivated_client, PASSWORD)
    return result
