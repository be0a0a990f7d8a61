"""Synthetic people and records for tests. No real patient data, ever."""

import factory
from django.utils import timezone

from backend.accounts.models import User
from backend.care.models import CareLink

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    display_name = factory.Faker("first_name")
    role = User.Role.PATIENT
    time_zone = "America/New_York"
    email_verified_at = factory.LazyFunction(timezone.now)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            instance.save()


class PatientFactory(UserFactory):
    role = User.Role.PATIENT


class TherapistFactory(UserFactory):
    role = User.Role.THERAPIST
    display_name = factory.Sequence(lambda n: f"Dr. Therapist {n}")


class FamilyFactory(UserFactory):
    role = User.Role.FAMILY


class ClinicAdminFactory(UserFactory):
    role = User.Role.CLINIC_ADMIN
    is_staff = True
    is_superuser = True


class CareLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CareLink

    patient = factory.SubFactory(PatientFactory)
    therapist = factory.SubFactory(TherapistFactory)
    source = CareLink.Source.ADMIN


class FamilyLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "family.FamilyLink"

    patient = factory.SubFactory(PatientFactory)
    member = factory.SubFactory(FamilyFactory)


def grant_for(patient, recipient, scopes, *, purpose=None, **kwargs):
    """A signed consent grant through the real service (the recipient must be connected)."""
    from backend.consent import services as consent_services

    if purpose is None:
        purpose = "family_support" if recipient.role == User.Role.FAMILY else "treatment"
    return consent_services.grant_create(
        patient=patient,
        recipient_id=recipient.pk,
        scopes=list(scopes),
        purpose=purpose,
        signature_name=patient.display_name or "Patient",
        allow_journal_text=True,
        **kwargs,
    )
