"""Writes of family invites and links.

A patient signs the consent when inviting (scopes, lifetime, typed name); the
family member's acceptance links them and puts that consent in force. Codes are
single-use, expire, are bound to the invited address and are stored only as a
keyed hash.
"""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions

from backend.accounts.models import User, normalize_email
from backend.accounts.services import account_register
from backend.consent.scopes import REVEALS_JOURNAL_TEXT
from backend.consent.services import MAX_GRANT_LIFETIME, grant_create, grants_revoke_between
from backend.core import invites
from backend.core.errors import Conflict
from backend.disclosure.models import Purpose
from backend.family.models import FamilyInvite, FamilyLink

MAX_GRANT_DAYS = MAX_GRANT_LIFETIME.days


@transaction.atomic
def invite_create(
    *,
    patient: User,
    email: str,
    recipient_name: str,
    scopes: list[str],
    signature_name: str,
    grant_days: int = 365,
    allow_journal_text: bool = False,
) -> tuple[FamilyInvite, str]:
    """A single-use code for one address; the plain code is returned only now.

    The code is not emailed: the patient passes it on themselves, so a mistyped
    address never receives a message naming this service.
    """
    email = normalize_email(email)
    errors: dict[str, list[str]] = {}
    if email == patient.email:
        errors["email"] = ["Invite someone else: this is your own address."]
    if REVEALS_JOURNAL_TEXT & set(scopes) and not allow_journal_text:
        errors["scopes"] = [
            "journal.shared and journal.all show your own words; for family they are off unless "
            "you also send allow_journal_text: true."
        ]
    if not signature_name.strip():
        errors["signature_name"] = ["Type your name to sign."]
    if not recipient_name.strip():
        errors["recipient_name"] = ["Name the person you are inviting."]
    if errors:
        raise exceptions.ValidationError(errors)
    now = timezone.now()
    return invites.invite_issue(
        model=FamilyInvite,
        lifetime=settings.FAMILY_INVITE_LIFETIME,
        now=now,
        fields={
            "patient": patient,
            "email": email,
            "recipient_name": recipient_name.strip(),
            "scopes": list(scopes),
            "allow_journal_text": allow_journal_text,
            "grant_days": grant_days,
            "signature_name": signature_name.strip(),
            "signed_at": now,
        },
    )


@transaction.atomic
def invite_revoke(*, invite: FamilyInvite) -> None:
    """Withdraw an unused invite (withdrawing twice changes nothing).

    Locked against a concurrent acceptance: an invite already accepted is a
    conflict, since withdrawing it would not undo the link it made.
    """
    invite = FamilyInvite.objects.select_for_update().get(pk=invite.pk)
    if invite.used_at is not None:
        raise Conflict(
            "This invite was already accepted. End the family connection to stop sharing."
        )
    invites.invite_withdraw(invite=invite)


def _invalid_code() -> exceptions.ValidationError:
    # One answer for unknown, used, withdrawn, expired codes and another address:
    # a guessed code and a guessed address learn nothing.
    return exceptions.ValidationError(
        {"code": ["This code is not valid for this email address. Ask for a new invitation."]}
    )


def _usable_invite(*, code: str, email: str, lock: bool) -> FamilyInvite:
    usable = invites.usable_invites(
        model=FamilyInvite, code=code, now=timezone.now()
    ).select_related("patient")
    if lock:
        usable = usable.select_for_update(of=("self",))
    invite = usable.first()
    if (
        invite is None
        or invite.email != normalize_email(email)
        or not invite.patient.is_active
        or invite.patient.role != User.Role.PATIENT
    ):
        raise _invalid_code()
    return invite


@transaction.atomic
def member_register(
    *, code: str, email: str, password: str, display_name: str, time_zone: str, locale: str
) -> None:
    """Open a family account for the invited address; the code stays unused.

    The address must be confirmed from the emailed link before sign-in, and the
    invite is accepted after sign-in: only the owner of the invited address can
    take it. An address that already has an account gets an email saying so, and
    the caller the same answer as everyone else.
    """
    _usable_invite(code=code, email=email, lock=False)
    account_register(
        role=User.Role.FAMILY,
        email=email,
        password=password,
        display_name=display_name,
        time_zone=time_zone,
        locale=locale,
    )


@transaction.atomic
def invite_accept(*, member: User, code: str) -> FamilyLink:
    """Link the signed-in family member to the patient and put the signed consent in force."""
    invite = _usable_invite(code=code, email=member.email, lock=True)
    # Locked so that closing the account cannot slip between this check and the grant.
    patient = User.objects.select_for_update().get(pk=invite.patient_id)
    scopes = invite.scope_list()
    if not patient.is_active or not scopes or len(scopes) != len(invite.scopes):
        raise _invalid_code()
    try:
        with transaction.atomic():
            link = FamilyLink.objects.create(patient=patient, member=member, invite=invite)
    except IntegrityError as exc:
        raise Conflict("You are already connected to this person.") from exc
    now = timezone.now()
    try:
        grant_create(
            patient=patient,
            recipient_id=member.pk,
            scopes=scopes,
            purpose=Purpose.FAMILY_SUPPORT,
            signature_name=invite.signature_name,
            starts_at=now,
            expires_at=now + timedelta(days=invite.grant_days),
            allow_journal_text=invite.allow_journal_text,
            signed_at=invite.signed_at,
        )
    except exceptions.ValidationError as exc:
        # The consent the patient signed no longer holds (e.g. the rules changed since).
        raise exceptions.ValidationError(
            {"code": ["This invitation can no longer be accepted. Ask for a new one."]}
        ) from exc
    invites.invite_use(invite=invite, by=member, now=now)
    return link


@transaction.atomic
def link_end(*, link: FamilyLink, by: User) -> None:
    """End a family link (either side may): every consent between them is revoked with it."""
    link = FamilyLink.objects.select_for_update().get(pk=link.pk)
    if link.ended_at is None:
        link.ended_at = timezone.now()
        link.save(update_fields=["ended_at"])
        grants_revoke_between(
            patient=link.patient, recipient=link.member, by=by, reason="Family connection ended."
        )
