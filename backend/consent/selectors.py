"""Reads of grants, from the side of the one who gave or received them."""

from uuid import UUID

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from backend.accounts.models import User
from backend.consent.models import ConsentGrant


def grants_of(viewer: User) -> QuerySet[ConsentGrant]:
    """Grants the viewer gave (a patient) or received (anyone else), history included."""
    side = Q(patient=viewer) if viewer.role == User.Role.PATIENT else Q(recipient=viewer)
    return (
        ConsentGrant.objects.filter(side)
        .select_related("patient", "recipient")
        .prefetch_related("scope_rows")
    )


def grant_get(*, viewer: User, grant_id: UUID) -> ConsentGrant:
    return get_object_or_404(grants_of(viewer), pk=grant_id)


def grant_get_for_patient(*, patient: User, grant_id: UUID) -> ConsentGrant:
    return get_object_or_404(ConsentGrant.objects.filter(patient=patient), pk=grant_id)
