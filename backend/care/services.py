"""Writes to care links and invites."""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions

from backend.accounts.models import User
from backend.accounts.services import therapist_deactivate
from backend.care.models import CareInvite, CareLink
from backend.consent.services import grants_revoke_between
from backend.core import invites
from backend.core.errors import Conflict


@transaction.atomic
def invite_create(*, therapist: User) -> tuple[CareInvite, str]:
    """A single-use, expiring invite code; the plain code is returned only now."""
    return invites.invite_issue(
        model=CareInvite,
        lifetime=settings.CARE_INVITE_LIFETIME,
        now=timezone.now(),
        fields={"therapist": therapist},
    )


@transaction.atomic
def invite_revoke(*, invite: CareInvite) -> None:
    """Withdraw an unused invite; a used or already withdrawn one stays as it is."""
    invites.invite_withdraw(invite=invite)


def _invalid_code() -> exceptions.ValidationError:
    # One message for unknown, used, withdrawn and expired codes.
    return exceptions.ValidationError(
        {"code": ["This code is not valid. Ask your therapist for a new one."]}
    )


@transaction.atomic
def invite_redeem(*, patient: User, code: str) -> CareLink:
    """Link the patient to the therapist who issued the code, using the code up."""
    now = timezone.now()
    invite = (
        invites.usable_invites(model=CareInvite, code=code, now=now)
        .select_for_update(of=("self",))
        .select_related("therapist")
        .first()
    )
    if (
        invite is None
        or not invite.therapist.is_active
        or invite.therapist.role != User.Role.THERAPIST
    ):
        raise _invalid_code()
    link = link_create(patient=patient, therapist=invite.therapist, source=CareLink.Source.INVITE)
    invites.invite_use(invite=invite, by=patient, now=now)
    return link


@transaction.atomic
def link_create(*, patient: User, therapist: User, source: str) -> CareLink:
    """Put a therapist on a patient's care team (by invite or by a clinic admin)."""
    if patient.role != User.Role.PATIENT:
        raise exceptions.ValidationError(
            {"patient": ["Only a patient can be linked to a therapist."]}
        )
    if therapist.role != User.Role.THERAPIST:
        raise exceptions.ValidationError(
            {"therapist": ["Only a therapist can be linked to a patient."]}
        )
    try:
        with transaction.atomic():
            return CareLink.objects.create(patient=patient, therapist=therapist, source=source)
    except IntegrityError as exc:
        raise Conflict("This therapist is already on your care team.") from exc


@transaction.atomic
def link_end(*, link: CareLink, by: User) -> None:
    """End a care link (either side may). History is kept."""
    if link.ended_at is None:
        link.ended_at = timezone.now()
        link.ended_by = by
        link.save(update_fields=["ended_at", "ended_by"])
        # Consent to a care team member lasts only while they are on the team.
        grants_revoke_between(
            patient=link.patient, recipient=link.therapist, by=by, reason="Care link ended."
        )


@transaction.atomic
def therapist_retire(*, therapist: User, by: User) -> int:
    """A therapist leaves the clinic: each of their care links ends (revoking the consents
    given to them), their unused invites are withdrawn, then their account closes. Returns
    how many links ended.

    Ending the links, not only closing the account, keeps the history readable (ended, by
    whom) and means an account reopened later in the admin is on no one's care team.
    """
    if therapist.role != User.Role.THERAPIST:
        raise exceptions.ValidationError({"therapist": ["Only a therapist's account closes here."]})
    links = list(
        CareLink.objects.filter(therapist=therapist, ended_at__isnull=True)
        .select_related("patient", "therapist")
        .select_for_update(of=("self",))
    )
    for link in links:
        link_end(link=link, by=by)
    # Their unused codes could not link anyone any more; withdrawn, they leave the open list.
    CareInvite.objects.filter(
        therapist=therapist, used_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    therapist_deactivate(therapist=therapist, by=by)
    return len(links)
