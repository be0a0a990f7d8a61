"""What the seed scripts share. Import after django.setup()."""

from django.utils import timezone

from backend.accounts.models import User
from backend.care.models import CareLink


def bench_user(email: str, role: str, display_name: str, time_zone: str) -> User:
    """The account with this address, created verified and without a password if new.

    Bench accounts never sign in: they only hold tokens.
    """
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email,
            password=None,
            role=role,
            display_name=display_name,
            time_zone=time_zone,
            email_verified_at=timezone.now(),
        )
    return user


def bench_caseload(
    therapist: User, *, count: int, address: str, name: str, zones: tuple[str, ...]
) -> list[User]:
    """``count`` bench patients on the therapist's care team (``address``/``name`` take {number}).

    Patient n lives in zones[n % len(zones)]; existing accounts and links are reused.
    """
    patients = []
    for number in range(count):
        patient = bench_user(
            address.format(number=number),
            User.Role.PATIENT,
            name.format(number=number),
            zones[number % len(zones)],
        )
        if not CareLink.objects.filter(
            patient=patient, therapist=therapist, ended_at__isnull=True
        ).exists():
            CareLink.objects.create(patient=patient, therapist=therapist, source="admin")
        patients.append(patient)
    return patients
