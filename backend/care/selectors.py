"""Reads of care links, always from one side of the link."""

from datetime import datetime
from uuid import UUID

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404

from backend.accounts.models import User
from backend.care.models import CareInvite, CareLink


def active_links() -> QuerySet[CareLink]:
    """Links in force: not ended, both accounts open. The one meaning of "on the care team"."""
    return CareLink.objects.filter(
        ended_at__isnull=True, patient__is_active=True, therapist__is_active=True
    )


def on_care_team(therapist: User, patient_ref: str = "patient") -> Exists:
    """SQL: the therapist is on the care team of the row's patient (``patient_ref``) now."""
    return Exists(active_links().filter(therapist=therapist, patient=OuterRef(patient_ref)))


def care_team_for(patient: User) -> QuerySet[CareLink]:
    """A patient's current therapists."""
    return active_links().filter(patient=patient).select_related("therapist")


def caseload_for(therapist: User) -> QuerySet[CareLink]:
    """A therapist's current patients."""
    return active_links().filter(therapist=therapist).select_related("patient")


def is_linked_pair(patient: User, therapist: User) -> bool:
    """The consent app's rule for whom a patient may grant to (see CareConfig.ready)."""
    return active_links().filter(therapist=therapist, patient=patient).exists()


def link_get_for_party(*, viewer: User, link_id: UUID) -> CareLink:
    """An active link the viewer is a party to; 404 otherwise."""
    return get_object_or_404(
        active_links().filter(pk=link_id).select_related("patient", "therapist"),
        **({"patient": viewer} if viewer.role == User.Role.PATIENT else {"therapist": viewer}),
    )


def invites_of(therapist: User) -> QuerySet[CareInvite]:
    return CareInvite.objects.filter(therapist=therapist)


def invite_get_for_therapist(*, therapist: User, invite_id: UUID) -> CareInvite:
    return get_object_or_404(CareInvite.objects.filter(pk=invite_id, therapist=therapist))


# --- the clinic's view (clinic staff: who is linked to whom, never what is shared) ----------


def therapists_with_caseload() -> QuerySet[User]:
    """Every therapist account, open ones first, each with ``caseload``: their links in force."""
    in_force = Q(
        care_links_as_therapist__ended_at__isnull=True,
        care_links_as_therapist__patient__is_active=True,
        is_active=True,
    )
    return (
        User.objects.filter(role=User.Role.THERAPIST)
        .annotate(caseload=Count("care_links_as_therapist", filter=in_force))
        .order_by("-is_active", "display_name", "email")
    )


def clinic_links() -> QuerySet[CareLink]:
    """Every care link of the clinic, newest first, ended ones included (history is kept)."""
    return CareLink.objects.select_related("patient", "therapist", "ended_by").order_by(
        "-created_at", "-id"
    )


def open_link_get(*, link_id: UUID) -> CareLink:
    """A link not yet ended, whoever its parties are (clinic staff); 404 otherwise."""
    return get_object_or_404(
        CareLink.objects.filter(ended_at__isnull=True).select_related("patient", "therapist"),
        pk=link_id,
    )


def open_invites(*, now: datetime) -> QuerySet[CareInvite]:
    """Care invites that could still be redeemed at ``now``, newest first."""
    return (
        CareInvite.objects.filter(used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now)
        .select_related("therapist")
        .order_by("-created_at", "-id")
    )
