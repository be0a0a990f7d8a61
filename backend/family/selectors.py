"""Reads of family invites and links, always from one side of the link."""

from collections import defaultdict
from collections.abc import Sequence
from uuid import UUID

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from backend.accounts.models import User
from backend.consent import policy
from backend.family.models import FamilyInvite, FamilyLink


def invites_of(patient: User) -> QuerySet[FamilyInvite]:
    return FamilyInvite.objects.filter(patient=patient)


def invite_get_for_patient(*, patient: User, invite_id: UUID) -> FamilyInvite:
    return get_object_or_404(invites_of(patient), pk=invite_id)


def active_links() -> QuerySet[FamilyLink]:
    return FamilyLink.objects.filter(
        ended_at__isnull=True, patient__is_active=True, member__is_active=True
    )


def patients_of(member: User) -> QuerySet[FamilyLink]:
    """The people a family member supports (links they accepted and nobody ended)."""
    return active_links().filter(member=member).select_related("patient")


def members_of(patient: User) -> QuerySet[FamilyLink]:
    """A patient's family members and friends."""
    return active_links().filter(patient=patient).select_related("member", "invite")


def is_linked_pair(patient: User, member: User) -> bool:
    """The consent app's rule for whom a patient may grant to (see FamilyConfig.ready)."""
    return active_links().filter(patient=patient, member=member).exists()


def link_get_for_party(*, viewer: User, link_id: UUID) -> FamilyLink:
    side = Q(patient=viewer) if viewer.role == User.Role.PATIENT else Q(member=viewer)
    return get_object_or_404(active_links().filter(side), pk=link_id)


def with_open_scopes(links: Sequence[FamilyLink]) -> Sequence[FamilyLink]:
    """Set ``open_scopes`` on each link: the scopes in force now, in one query for the page."""
    if not links:
        return links
    held: dict[tuple, set[str]] = defaultdict(set)
    rows = policy.in_force().filter(
        patient_id__in={link.patient_id for link in links},
        recipient_id__in={link.member_id for link in links},
    )
    for patient_id, recipient_id, scope in rows.values_list("patient_id", "recipient_id", "scope"):
        held[patient_id, recipient_id].add(scope)
    for link in links:
        link.open_scopes = sorted(held[link.patient_id, link.member_id])
    return links
