"""Every endpoint x every persona -> the status it must answer.

A new URL pattern fails `test_every_url_pattern_is_in_the_matrix` until it is
listed here. Objects a persona may not see answer 404, never 403.
"""

import datetime
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlencode, urlsafe_base64_encode

from backend.accounts import services as account_services
from backend.accounts.services import _verification_link
from backend.care import services as care_services
from backend.care.models import CareLink
from backend.consent.models import ConsentGrant
from backend.consent.scopes import Scope
from backend.coping import services as coping_services
from backend.coping.models import Skill
from backend.core.time import local_today
from backend.family import services as family_services
from backend.family.models import FamilyLink
from backend.homework import services as homework_services
from backend.homework.models import HomeworkTemplate
from backend.journal.models import CheckIn, FeedItem, JournalEntry
from backend.measures import services as measure_services
from backend.meetings import services as meeting_services
from backend.meetings.models import Attendance, MeetingFeed
from backend.nudges.models import NudgeRule
from backend.program import services as program_services
from backend.program.models import Session
from tests.conftest import FAMILY_SCOPES, PERSONAS
from tests.console.conftest import signed_in as console_session
from tests.factories import (
    AttendanceFactory,
    CareLinkFactory,
    CheckInFactory,
    CounterFactory,
    EntryFactory,
    FamilyFactory,
    FamilyLinkFactory,
    HomeworkFactory,
    NudgeFactory,
    NudgeRuleFactory,
    PatientFactory,
    PushSubscriptionFactory,
    ResponseFactory,
    ScheduleFactory,
    TherapistFactory,
    grant_for,
    program_make,
)
from tests.helpers import assert_problem
from tests.meetings.helpers import make_meetings, record
from tests.nudges.helpers import push_subscription_body

pytestmark = pytest.mark.django_db

ANON_OK = ("anonymous",)


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(PERSONAS, status)


def signed_in(status: int, **overrides: int) -> dict[str, int]:
    """`status` for every signed-in persona; 401 without valid credentials."""
    result = {**everyone(status), "anonymous": 401, "deactivated": 401}
    result.update(overrides)
    return result


def roles(status: int, allowed: tuple[str, ...], **overrides: int) -> dict[str, int]:
    """`status` for the allowed personas, 403 for other roles, 401 without credentials."""
    result = signed_in(403)
    result.update(dict.fromkeys(allowed, status))
    result.update(overrides)
    return result


THERAPISTS = (
    "granted_therapist",
    "shared_therapist",
    "linked_therapist",
    "expired_therapist",
    "revoked_therapist",
    "unlinked_therapist",
)
FAMILIES = ("family_granted", "family", "family_revoked")
PATIENTS = ("patient", "other_patient")
CONSENT_PARTIES = (*PATIENTS, *THERAPISTS, *FAMILIES)


CONSOLE_PEOPLE = (*THERAPISTS, *FAMILIES, "clinic_admin")
LINKED_THERAPISTS = tuple(t for t in THERAPISTS if t != "unlinked_therapist")


def pages(
    status: int, allowed: tuple[str, ...], role_members: tuple[str, ...] = (), **overrides: int
) -> dict[str, int]:
    """A console page: `status` for `allowed`, the 404 page for the rest of `role_members`,
    the 403 page for other roles; no session (or a closed account) is sent to sign in."""
    result = {**everyone(403), "anonymous": 302, "deactivated": 302}
    result.update(dict.fromkeys(role_members, 404))
    result.update(dict.fromkeys(allowed, status))
    result.update(overrides)
    return result


def only(status: int, allowed: tuple[str, ...], role_members: tuple[str, ...]) -> dict[str, int]:
    """`status` for `allowed`, 404 for the rest of the role (not theirs to see), 403 for other roles."""
    result = roles(404, role_members)
    result.update(dict.fromkeys(allowed, status))
    return result


def _days_ago(days: int) -> datetime.datetime:
    return (timezone.now() - datetime.timedelta(days=days)).replace(microsecond=0)


# Models whose API id is the id the phone chose (unique per patient), not the primary key.
PHONE_IDS = (JournalEntry, CheckIn, Attendance)


def api_id(record) -> str:
    """The id the API shows for a record."""
    return str(record.client_id if isinstance(record, PHONE_IDS) else record.pk)


@dataclass
class World:
    """The objects the matrix requests point at."""

    personas: dict
    objects: dict[str, Any] = field(default_factory=dict)

    def ids(self, *keys: str) -> set[str]:
        """API ids of the named objects; a key may name one record or a list of them."""
        result = set()
        for key in keys:
            value = self.objects[key]
            records = value if isinstance(value, list | tuple) else [value]
            result |= {api_id(record) for record in records}
        return result

    def known_ids(self) -> set[str]:
        """Every id the world made before the request: a created record must be new."""
        return self.ids(
            *(k for k, v in self.objects.items() if hasattr(v, "pk") or isinstance(v, list))
        )


@dataclass(frozen=True)
class Case:
    method: str
    route: str
    url: Callable[[World], str]
    expect: dict[str, int]
    body: Callable[[World, Any], dict | None] = lambda world, persona: None
    headers: Callable[[World], dict] = lambda world: {}
    note: str = ""  # tells apart two cases of one (route, method)
    # A console page: asked in a browser session (signed in, second factor proved), sent as a
    # form; a 2xx page names exactly the world's patients ``page_shows`` gives the persona.
    session: bool = False
    page_shows: Callable[[World, str], set[str]] | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.route}" + (f" ({self.note})" if self.note else "")


def _feed_without_url() -> MeetingFeed:
    """A feed with nothing to fetch: importing it records a failure, and nothing else."""
    feed, _ = MeetingFeed.objects.get_or_create(
        name="matrix-feed", defaults={"fellowship": "AA", "time_zone": "America/New_York"}
    )
    return feed


def _refresh_of_patient(world: World, persona) -> dict:
    return {
        "refresh": account_services.tokens_issue(user=world.personas["patient"].user)["refresh"]
    }


def _reset_confirm(world: World, persona) -> dict:
    user = world.personas["patient"].user
    return {
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
        "new_password": "a-brand-new-passphrase-7",
    }


def _family_code_for_persona(world: World, persona) -> dict:
    email = persona.user.email if persona.user else "nobody@example.test"
    _, code = family_services.invite_create(
        patient=PatientFactory(),
        email=email,
        recipient_name="A friend",
        scopes=["checkins"],
        signature_name="Alex Patient",
    )
    return {"code": code}


def _family_registration(world: World, persona) -> dict:
    email = f"new.family.{persona.name}@example.test"
    _, code = family_services.invite_create(
        patient=world.personas["patient"].user,
        email=email,
        recipient_name="A friend",
        scopes=["checkins"],
        signature_name="Sam Patient",
    )
    return {"code": code, "email": email, "password": "a-long-passphrase-42"}


CASES = [
    # The bare address points to the interactive docs, whatever the method.
    *(Case(m, "", lambda w: "/", everyone(302)) for m in ("GET", "POST", "PUT", "PATCH", "DELETE")),
    Case("GET", "healthz", lambda w: "/healthz", everyone(200)),
    Case("GET", "api/schema/", lambda w: "/api/schema/", everyone(200)),
    Case("GET", "api/docs/", lambda w: "/api/docs/", everyone(200)),
    Case("GET", "admin/", lambda w: "/admin/", everyone(302)),  # session login page, not JWT
    # --- auth: usable without credentials; a stale token is ignored there
    Case(
        "POST",
        "api/v1/auth/register/",
        lambda w: "/api/v1/auth/register/",
        everyone(202),
        lambda w, p: {"email": f"new.{p.name}@example.test", "password": "a-long-passphrase-42"},
    ),
    Case(
        "GET",
        "api/v1/auth/verify-email/",
        lambda w: _verification_link(w.personas["patient"].user).split("8000", 1)[-1],
        everyone(200),
    ),
    Case(
        "POST",
        "api/v1/auth/verify-email/",
        lambda w: "/api/v1/auth/verify-email/",
        everyone(200),
        lambda w, p: {"token": _verification_link(w.personas["patient"].user).split("token=")[1]},
    ),
    Case(
        "POST",
        "api/v1/auth/token/",
        lambda w: "/api/v1/auth/token/",
        everyone(200),
        lambda w, p: {"email": "patient@example.test", "password": w.personas["patient"].password},
    ),
    Case(
        "POST",
        "api/v1/auth/token/refresh/",
        lambda w: "/api/v1/auth/token/refresh/",
        everyone(200),
        _refresh_of_patient,
    ),
    Case(
        "POST",
        "api/v1/auth/logout/",
        lambda w: "/api/v1/auth/logout/",
        everyone(204),
        _refresh_of_patient,
    ),
    Case(
        "POST",
        "api/v1/auth/password/reset/",
        lambda w: "/api/v1/auth/password/reset/",
        everyone(202),
        lambda w, p: {"email": "patient@example.test"},
    ),
    Case(
        "POST",
        "api/v1/auth/password/reset/confirm/",
        lambda w: "/api/v1/auth/password/reset/confirm/",
        everyone(204),
        _reset_confirm,
    ),
    # --- me
    Case("GET", "api/v1/me/", lambda w: "/api/v1/me/", signed_in(200)),
    Case(
        "PATCH",
        "api/v1/me/",
        lambda w: "/api/v1/me/",
        signed_in(200),
        lambda w, p: {"display_name": "New"},
    ),
    Case(
        "POST",
        "api/v1/me/password/",
        lambda w: "/api/v1/me/password/",
        signed_in(200),
        lambda w, p: {"current_password": p.password, "new_password": "another-long-passphrase-3"},
    ),
    Case(
        "POST",
        "api/v1/me/deactivate/",
        lambda w: "/api/v1/me/deactivate/",
        signed_in(204),
        lambda w, p: {"password": p.password},
    ),
    # --- care team
    Case("GET", "api/v1/care/invites/", lambda w: "/api/v1/care/invites/", roles(200, THERAPISTS)),
    Case("POST", "api/v1/care/invites/", lambda w: "/api/v1/care/invites/", roles(201, THERAPISTS)),
    Case(
        "DELETE",
        "api/v1/care/invites/<uuid:invite_id>/",
        lambda w: f"/api/v1/care/invites/{w.objects['invite'].pk}/",
        only(204, ("linked_therapist",), THERAPISTS),
    ),
    Case(
        "POST",
        "api/v1/care/invites/redeem/",
        lambda w: "/api/v1/care/invites/redeem/",
        roles(201, PATIENTS),
        lambda w, p: {"code": w.objects["unlinked_code"]},
    ),
    Case("GET", "api/v1/care/team/", lambda w: "/api/v1/care/team/", roles(200, PATIENTS)),
    Case(
        "GET", "api/v1/care/caseload/", lambda w: "/api/v1/care/caseload/", roles(200, THERAPISTS)
    ),
    Case(
        "DELETE",
        "api/v1/care/links/<uuid:link_id>/",
        lambda w: f"/api/v1/care/links/{w.objects['link'].pk}/",
        roles(
            204,
            ("patient", "linked_therapist"),
            **dict.fromkeys(
                ("other_patient", *(t for t in THERAPISTS if t != "linked_therapist")), 404
            ),
        ),
    ),
    # --- journal: only the owner, until consent opens it (issue 4)
    Case(
        "GET", "api/v1/journal/entries/", lambda w: "/api/v1/journal/entries/", roles(200, PATIENTS)
    ),
    Case(
        "POST",
        "api/v1/journal/entries/",
        lambda w: "/api/v1/journal/entries/",
        roles(201, PATIENTS),
        lambda w, p: {**ENTRY, "id": str(uuid.uuid4())},
    ),
    Case(
        "POST",
        "api/v1/journal/entries/batch/",
        lambda w: "/api/v1/journal/entries/batch/",
        roles(200, PATIENTS),
        lambda w, p: {"items": [{"op": "upsert", "id": str(uuid.uuid4()), "data": ENTRY}]},
    ),
    Case(
        "GET",
        "api/v1/journal/entries/<uuid:entry_id>/",
        lambda w: f"/api/v1/journal/entries/{w.objects['entry'].client_id}/",
        roles(200, ("patient",), other_patient=404),
    ),
    Case(
        "PATCH",
        "api/v1/journal/entries/<uuid:entry_id>/",
        lambda w: f"/api/v1/journal/entries/{w.objects['entry'].client_id}/",
        roles(200, ("patient",), other_patient=404),
        lambda w, p: {"intensity": 3},
        lambda w: {"If-Match": '"1"'},
    ),
    Case(
        "DELETE",
        "api/v1/journal/entries/<uuid:entry_id>/",
        lambda w: f"/api/v1/journal/entries/{w.objects['entry'].client_id}/",
        roles(204, ("patient",), other_patient=404),
    ),
    Case(
        "GET",
        "api/v1/journal/triggers/",
        lambda w: "/api/v1/journal/triggers/",
        roles(200, PATIENTS),
    ),
    Case(
        "GET",
        "api/v1/journal/checkins/",
        lambda w: "/api/v1/journal/checkins/",
        roles(200, PATIENTS),
    ),
    Case(
        "POST",
        "api/v1/journal/checkins/",
        lambda w: "/api/v1/journal/checkins/",
        roles(201, PATIENTS, patient=409),  # the patient already checked in that day
        lambda w, p: {**CHECKIN, "id": str(uuid.uuid4())},
    ),
    Case(
        "GET",
        "api/v1/journal/checkins/streak/",
        lambda w: "/api/v1/journal/checkins/streak/",
        roles(200, PATIENTS),
    ),
    Case(
        "GET",
        "api/v1/journal/checkins/<uuid:checkin_id>/",
        lambda w: f"/api/v1/journal/checkins/{w.objects['checkin'].client_id}/",
        roles(200, ("patient",), other_patient=404),
    ),
    Case(
        "PATCH",
        "api/v1/journal/checkins/<uuid:checkin_id>/",
        lambda w: f"/api/v1/journal/checkins/{w.objects['checkin'].client_id}/",
        roles(200, ("patient",), other_patient=404),
        lambda w, p: {"mood": 2},
        lambda w: {"If-Match": '"1"'},
    ),
    Case(
        "DELETE",
        "api/v1/journal/checkins/<uuid:checkin_id>/",
        lambda w: f"/api/v1/journal/checkins/{w.objects['checkin'].client_id}/",
        roles(204, ("patient",), other_patient=404),
    ),
    Case(
        "GET",
        "api/v1/journal/counters/",
        lambda w: "/api/v1/journal/counters/",
        roles(200, PATIENTS),
    ),
    Case(
        "POST",
        "api/v1/journal/counters/",
        lambda w: "/api/v1/journal/counters/",
        roles(201, PATIENTS, patient=409),  # the patient already counts alcohol
        lambda w, p: {"substance": "alcohol", "start_date": "2026-01-01"},
    ),
    Case(
        "GET",
        "api/v1/journal/counters/<uuid:counter_id>/",
        lambda w: f"/api/v1/journal/counters/{w.objects['counter'].pk}/",
        roles(200, ("patient",), other_patient=404),
    ),
    Case(
        "DELETE",
        "api/v1/journal/counters/<uuid:counter_id>/",
        lambda w: f"/api/v1/journal/counters/{w.objects['counter'].pk}/",
        roles(204, ("patient",), other_patient=404),
    ),
    Case(
        "GET",
        "api/v1/journal/counters/<uuid:counter_id>/decisions/",
        lambda w: f"/api/v1/journal/counters/{w.objects['counter'].pk}/decisions/",
        roles(200, ("patient",), other_patient=404),
    ),
    Case(
        "POST",
        "api/v1/journal/counters/<uuid:counter_id>/decisions/",
        lambda w: f"/api/v1/journal/counters/{w.objects['counter'].pk}/decisions/",
        roles(201, ("patient",), other_patient=404),
        lambda w, p: {"decision": "keep"},
    ),
    Case(
        "GET", "api/v1/journal/changes/", lambda w: "/api/v1/journal/changes/", roles(200, PATIENTS)
    ),
    # --- consent: grants, the share feed, the patient's accounting of disclosures
    Case("GET", "api/v1/consents/", lambda w: "/api/v1/consents/", roles(200, CONSENT_PARTIES)),
    Case(
        "POST",
        "api/v1/consents/",
        lambda w: "/api/v1/consents/",
        roles(201, ("patient",), other_patient=400, **dict.fromkeys((*THERAPISTS, *FAMILIES), 403)),
        lambda w, p: {
            "recipient": str(w.personas["linked_therapist"].user.pk),
            "scopes": ["checkins"],
            "purpose": "treatment",
            "signature_name": "Sam Patient",
        },
    ),
    Case(
        "GET",
        "api/v1/consents/scopes/",
        lambda w: "/api/v1/consents/scopes/",
        roles(200, CONSENT_PARTIES),
    ),
    Case(
        "GET",
        "api/v1/consents/<uuid:grant_id>/",
        lambda w: f"/api/v1/consents/{w.objects['grant'].pk}/",
        only(200, ("patient", "granted_therapist"), CONSENT_PARTIES),
    ),
    Case(
        "POST",
        "api/v1/consents/<uuid:grant_id>/revoke/",
        lambda w: f"/api/v1/consents/{w.objects['grant'].pk}/revoke/",
        only(200, ("patient",), PATIENTS),
        lambda w, p: {"reason": "Changed my mind"},
    ),
    Case("GET", "api/v1/care/feed/", lambda w: "/api/v1/care/feed/", roles(200, THERAPISTS)),
    Case(
        "POST",
        "api/v1/care/feed/<uuid:item_id>/review/",
        lambda w: f"/api/v1/care/feed/{w.objects['entry_item'].pk}/review/",
        only(200, ("granted_therapist",), THERAPISTS),  # an entry not marked shared
        lambda w, p: {"comment": "Thank you for sharing this."},
    ),
    Case(
        "POST",
        "api/v1/care/feed/<uuid:item_id>/review/",
        lambda w: f"/api/v1/care/feed/{w.objects['shared_entry_item'].pk}/review/",
        only(200, ("granted_therapist", "shared_therapist"), THERAPISTS),
        lambda w, p: {"comment": "Thank you for sharing this."},
        note="a shared entry",
    ),
    Case("GET", "api/v1/family/feed/", lambda w: "/api/v1/family/feed/", roles(200, FAMILIES)),
    Case(
        "POST",
        "api/v1/family/feed/<uuid:item_id>/review/",
        lambda w: f"/api/v1/family/feed/{w.objects['checkin_item'].pk}/review/",
        only(200, ("family_granted",), FAMILIES),
        lambda w, p: {},
    ),
    Case(
        "GET", "api/v1/me/disclosures/", lambda w: "/api/v1/me/disclosures/", roles(200, PATIENTS)
    ),
    Case("GET", "api/v1/me/feedback/", lambda w: "/api/v1/me/feedback/", roles(200, PATIENTS)),
    Case(
        "GET",
        "api/v1/journal/insights/",
        lambda w: "/api/v1/journal/insights/",
        roles(200, PATIENTS),
    ),
    Case(
        "GET", "api/v1/journal/export/", lambda w: "/api/v1/journal/export/", roles(200, PATIENTS)
    ),
    # --- summaries: what the patient's grants in force allow; nothing granted -> 404
    Case(
        "GET",
        "api/v1/care/patients/<uuid:patient_id>/summary/",
        lambda w: f"/api/v1/care/patients/{w.personas['patient'].user.pk}/summary/",
        # journal.shared alone: a summary of no section but the scopes held.
        only(200, ("granted_therapist", "shared_therapist"), THERAPISTS),
    ),
    Case(
        "GET",
        "api/v1/care/caseload/summaries/",
        lambda w: "/api/v1/care/caseload/summaries/",
        roles(200, THERAPISTS),
    ),
    Case(
        "GET",
        "api/v1/family/patients/<uuid:patient_id>/summary/",
        lambda w: f"/api/v1/family/patients/{w.personas['patient'].user.pk}/summary/",
        # "family" holds meeting attendance only: a summary of just its scopes.
        only(200, ("family_granted", "family"), FAMILIES),
    ),
    # --- family: invites by patients, accepted by the invited address, links either side ends
    Case(
        "GET", "api/v1/family/invites/", lambda w: "/api/v1/family/invites/", roles(200, PATIENTS)
    ),
    Case(
        "POST",
        "api/v1/family/invites/",
        lambda w: "/api/v1/family/invites/",
        roles(201, PATIENTS),
        lambda w, p: {
            "email": "aunt.may@example.test",
            "recipient_name": "Aunt May",
            "signature_name": "Sam Patient",
        },
    ),
    Case(
        "DELETE",
        "api/v1/family/invites/<uuid:invite_id>/",
        lambda w: f"/api/v1/family/invites/{w.objects['family_invite'].pk}/",
        only(204, ("patient",), PATIENTS),
    ),
    Case(
        "POST",
        "api/v1/family/invites/accept/",
        lambda w: "/api/v1/family/invites/accept/",
        # The code was made by a new patient for this persona's own address.
        roles(201, FAMILIES),
        _family_code_for_persona,
    ),
    Case(
        "POST",
        "api/v1/family/register/",
        lambda w: "/api/v1/family/register/",
        everyone(202),
        _family_registration,
    ),
    Case(
        "GET", "api/v1/family/patients/", lambda w: "/api/v1/family/patients/", roles(200, FAMILIES)
    ),
    Case(
        "GET", "api/v1/family/members/", lambda w: "/api/v1/family/members/", roles(200, PATIENTS)
    ),
    Case(
        "DELETE",
        "api/v1/family/links/<uuid:link_id>/",
        lambda w: f"/api/v1/family/links/{w.objects['family_link'].pk}/",
        only(204, ("patient", "family"), (*PATIENTS, *FAMILIES)),
    ),
    # --- meetings: a public directory for anyone signed in; patients' own records
    Case("GET", "api/v1/meetings/", lambda w: "/api/v1/meetings/", signed_in(200)),
    Case(
        "GET",
        "api/v1/meetings/<uuid:meeting_id>/",
        lambda w: f"/api/v1/meetings/{w.objects['meeting'].pk}/",
        signed_in(200),
    ),
    Case(
        "GET", "api/v1/meetings/saved/", lambda w: "/api/v1/meetings/saved/", roles(200, PATIENTS)
    ),
    Case(
        "POST",
        "api/v1/meetings/saved/",
        lambda w: "/api/v1/meetings/saved/",
        roles(201, PATIENTS),
        lambda w, p: {"meeting": str(w.objects["other_meeting"].pk)},
    ),
    Case(
        "DELETE",
        "api/v1/meetings/saved/<uuid:meeting_id>/",
        lambda w: f"/api/v1/meetings/saved/{w.objects['meeting'].pk}/",
        only(204, ("patient",), PATIENTS),
    ),
    Case(
        "GET",
        "api/v1/meetings/attendance/",
        lambda w: "/api/v1/meetings/attendance/",
        roles(200, PATIENTS),
    ),
    Case(
        "POST",
        "api/v1/meetings/attendance/",
        lambda w: "/api/v1/meetings/attendance/",
        roles(201, PATIENTS),
        # Attendance is logged for the last two years only: a date that stays inside them.
        lambda w, p: {"name": "Tuesday group", "attended_at": _days_ago(60).isoformat()},
    ),
    Case(
        "GET",
        "api/v1/meetings/attendance/weekly/",
        lambda w: "/api/v1/meetings/attendance/weekly/",
        roles(200, PATIENTS),
    ),
    Case(
        "DELETE",
        "api/v1/meetings/attendance/<uuid:attendance_id>/",
        lambda w: f"/api/v1/meetings/attendance/{w.objects['attendance'].client_id}/",
        only(204, ("patient",), PATIENTS),
    ),
    Case(
        "GET",
        "api/v1/meetings/calendar/",
        lambda w: "/api/v1/meetings/calendar/",
        roles(200, PATIENTS),
    ),
    Case(
        "POST",
        "api/v1/meetings/calendar/",
        lambda w: "/api/v1/meetings/calendar/",
        roles(201, PATIENTS),
        lambda w, p: {},
    ),
    Case(
        "DELETE",
        "api/v1/meetings/calendar/",
        lambda w: "/api/v1/meetings/calendar/",
        roles(204, PATIENTS),
    ),
    # The secret key is the credential (calendar apps send no tokens); tokens are ignored.
    Case(
        "GET",
        "api/v1/meetings/calendar.ics",
        lambda w: f"/api/v1/meetings/calendar.ics?key={w.objects['calendar_key']}",
        everyone(200),
    ),
    # --- nudges: a patient's reminders; inboxes and push subscriptions for anyone signed in
    Case("GET", "api/v1/nudges/rules/", lambda w: "/api/v1/nudges/rules/", roles(200, PATIENTS)),
    Case(
        "POST",
        "api/v1/nudges/rules/",
        lambda w: "/api/v1/nudges/rules/",
        roles(201, PATIENTS),
        lambda w, p: {"kind": "checkin", "times": ["20:00"]},
    ),
    Case(
        "GET",
        "api/v1/nudges/rules/<uuid:rule_id>/",
        lambda w: f"/api/v1/nudges/rules/{w.objects['rule'].pk}/",
        only(200, ("patient",), PATIENTS),
    ),
    Case(
        "PATCH",
        "api/v1/nudges/rules/<uuid:rule_id>/",
        lambda w: f"/api/v1/nudges/rules/{w.objects['rule'].pk}/",
        only(200, ("patient",), PATIENTS),
        lambda w, p: {"times": ["21:15"]},
    ),
    Case(
        "DELETE",
        "api/v1/nudges/rules/<uuid:rule_id>/",
        lambda w: f"/api/v1/nudges/rules/{w.objects['rule'].pk}/",
        only(204, ("patient",), PATIENTS),
    ),
    Case(
        "POST",
        "api/v1/nudges/rules/<uuid:rule_id>/accept/",
        lambda w: f"/api/v1/nudges/rules/{w.objects['suggested_rule'].pk}/accept/",
        only(200, ("patient",), PATIENTS),
    ),
    Case(
        "POST",
        "api/v1/nudges/rules/<uuid:rule_id>/decline/",
        lambda w: f"/api/v1/nudges/rules/{w.objects['suggested_rule'].pk}/decline/",
        only(200, ("patient",), PATIENTS),
    ),
    Case(
        "GET",
        "api/v1/nudges/high-risk-windows/",
        lambda w: "/api/v1/nudges/high-risk-windows/",
        roles(200, PATIENTS),
    ),
    Case(
        "GET",
        "api/v1/nudges/preferences/",
        lambda w: "/api/v1/nudges/preferences/",
        roles(200, PATIENTS),
    ),
    Case(
        "PATCH",
        "api/v1/nudges/preferences/",
        lambda w: "/api/v1/nudges/preferences/",
        roles(200, PATIENTS),
        lambda w, p: {"daily_cap": 4},
    ),
    Case("GET", "api/v1/nudges/inbox/", lambda w: "/api/v1/nudges/inbox/", signed_in(200)),
    Case(
        "POST",
        "api/v1/nudges/inbox/<uuid:nudge_id>/opened/",
        lambda w: f"/api/v1/nudges/inbox/{w.objects['nudge'].pk}/opened/",
        signed_in(404, patient=200),
    ),
    Case(
        "POST",
        "api/v1/nudges/inbox/<uuid:nudge_id>/dismissed/",
        lambda w: f"/api/v1/nudges/inbox/{w.objects['nudge'].pk}/dismissed/",
        signed_in(404, patient=200),
    ),
    Case(
        "GET",
        "api/v1/nudges/push-subscriptions/",
        lambda w: "/api/v1/nudges/push-subscriptions/",
        signed_in(200),
    ),
    Case(
        "POST",
        "api/v1/nudges/push-subscriptions/",
        lambda w: "/api/v1/nudges/push-subscriptions/",
        signed_in(201),
        lambda w, p: push_subscription_body(f"https://push.example.test/{p.name}"),
    ),
    Case(
        "DELETE",
        "api/v1/nudges/push-subscriptions/<uuid:subscription_id>/",
        lambda w: f"/api/v1/nudges/push-subscriptions/{w.objects['push'].pk}/",
        signed_in(404, patient=204),
    ),
    Case(
        "POST",
        "api/v1/care/patients/<uuid:patient_id>/nudge-suggestions/",
        lambda w: f"/api/v1/care/patients/{w.personas['patient'].user.pk}/nudge-suggestions/",
        # A care link is enough: a suggestion discloses nothing of the patient's records.
        only(
            201,
            (
                "granted_therapist",
                "shared_therapist",
                "linked_therapist",
                "expired_therapist",
                "revoked_therapist",
            ),
            THERAPISTS,
        ),
        lambda w, p: {"kind": "custom", "times": ["08:00"], "weekdays": [0, 2, 4]},
    ),
    # --- coping: one set of URLs; the policy decides (coping scope for anyone but the patient)
    Case(
        "GET",
        "api/v1/coping/skills/",
        lambda w: "/api/v1/coping/skills/?page_size=100",  # the library and the custom skills
        roles(200, CONSENT_PARTIES),
    ),
    Case(
        "POST",
        "api/v1/coping/skills/",
        lambda w: "/api/v1/coping/skills/",
        # For another patient, or without the coping scope: as if the patient did not exist.
        only(201, ("patient", "granted_therapist"), (*PATIENTS, *THERAPISTS)),
        lambda w, p: {
            "patient": str(w.personas["patient"].user.pk),
            "name": "Call Aunt May",
            "category": "social_support",
        },
    ),
    Case(
        "GET",
        "api/v1/coping/skills/<uuid:skill_id>/",
        lambda w: f"/api/v1/coping/skills/{w.objects['skill'].pk}/",
        only(200, ("patient", "granted_therapist"), CONSENT_PARTIES),
    ),
    Case(
        "PATCH",
        "api/v1/coping/skills/<uuid:skill_id>/",
        lambda w: f"/api/v1/coping/skills/{w.objects['skill'].pk}/",
        # The patient wrote it: their therapist sees it but only its author and the patient change it.
        {
            **only(200, ("patient",), (*PATIENTS, *THERAPISTS)),
            "granted_therapist": 403,
        },
        lambda w, p: {"name": "Call my aunt"},
    ),
    Case(
        "DELETE",
        "api/v1/coping/skills/<uuid:skill_id>/",
        lambda w: f"/api/v1/coping/skills/{w.objects['skill'].pk}/",
        {**only(204, ("patient",), (*PATIENTS, *THERAPISTS)), "granted_therapist": 403},
    ),
    Case(
        "GET",
        "api/v1/coping/checklists/",
        lambda w: "/api/v1/coping/checklists/",
        roles(200, CONSENT_PARTIES),
    ),
    Case(
        "POST",
        "api/v1/coping/checklists/",
        lambda w: "/api/v1/coping/checklists/",
        only(201, ("patient", "granted_therapist"), (*PATIENTS, *THERAPISTS)),
        lambda w, p: {
            "patient": str(w.personas["patient"].user.pk),
            "title": "When a craving hits",
            "items": [{"skill": str(w.objects["library_skill"].pk)}, {"text": "Drink water"}],
        },
    ),
    Case(
        "GET",
        "api/v1/coping/checklists/<uuid:checklist_id>/",
        lambda w: f"/api/v1/coping/checklists/{w.objects['checklist'].pk}/",
        only(200, ("patient", "granted_therapist"), CONSENT_PARTIES),
    ),
    Case(
        "PATCH",
        "api/v1/coping/checklists/<uuid:checklist_id>/",
        lambda w: f"/api/v1/coping/checklists/{w.objects['checklist'].pk}/",
        only(200, ("patient", "granted_therapist"), (*PATIENTS, *THERAPISTS)),
        lambda w, p: {"title": "Evening routine"},
    ),
    Case(
        "DELETE",
        "api/v1/coping/checklists/<uuid:checklist_id>/",
        lambda w: f"/api/v1/coping/checklists/{w.objects['checklist'].pk}/",
        # The patient made it; a therapist deletes only the checklists they made.
        {**only(204, ("patient",), (*PATIENTS, *THERAPISTS)), "granted_therapist": 403},
    ),
    Case(
        "GET",
        "api/v1/coping/checklists/<uuid:checklist_id>/days/",
        lambda w: f"/api/v1/coping/checklists/{w.objects['checklist'].pk}/days/",
        only(200, ("patient", "granted_therapist"), CONSENT_PARTIES),
    ),
    Case(
        "PUT",
        "api/v1/coping/checklists/<uuid:checklist_id>/days/<localdate:date>/",
        lambda w: (
            f"/api/v1/coping/checklists/{w.objects['checklist'].pk}/days/{w.objects['today']}/"
        ),
        only(200, ("patient",), PATIENTS),  # only the patient ticks
        lambda w, p: {"done": [str(w.objects["checklist_item"].pk)]},
    ),
    Case(
        "GET",
        "api/v1/coping/effectiveness/",
        lambda w: f"/api/v1/coping/effectiveness/?patient={w.personas['patient'].user.pk}",
        # Under insights (granted_therapist holds every scope); family: never.
        only(200, ("patient", "granted_therapist"), (*PATIENTS, *THERAPISTS)),
    ),
    Case(
        "GET",
        "api/v1/coping/plans/",
        lambda w: "/api/v1/coping/plans/",
        roles(200, CONSENT_PARTIES),
    ),
    Case(
        "POST",
        "api/v1/coping/plans/",
        lambda w: "/api/v1/coping/plans/",
        roles(201, PATIENTS, patient=409),  # the patient already has one
        lambda w, p: {"reasons": ["My kids"]},
    ),
    Case(
        "GET",
        "api/v1/coping/plans/<uuid:plan_id>/",
        lambda w: f"/api/v1/coping/plans/{w.objects['plan'].pk}/",
        only(200, ("patient", "granted_therapist"), CONSENT_PARTIES),
    ),
    Case(
        "PATCH",
        "api/v1/coping/plans/<uuid:plan_id>/",
        lambda w: f"/api/v1/coping/plans/{w.objects['plan'].pk}/",
        only(200, ("patient",), PATIENTS),  # therapists suggest instead
        lambda w, p: {"triggers": ["Payday"]},
    ),
    Case(
        "GET",
        "api/v1/coping/plans/<uuid:plan_id>/versions/",
        lambda w: f"/api/v1/coping/plans/{w.objects['plan'].pk}/versions/",
        only(200, ("patient", "granted_therapist"), CONSENT_PARTIES),
    ),
    Case(
        "GET",
        "api/v1/coping/plans/<uuid:plan_id>/versions/<int:number>/",
        lambda w: f"/api/v1/coping/plans/{w.objects['plan'].pk}/versions/1/",
        only(200, ("patient", "granted_therapist"), CONSENT_PARTIES),
    ),
    Case(
        "GET",
        "api/v1/coping/plans/<uuid:plan_id>/suggestions/",
        lambda w: f"/api/v1/coping/plans/{w.objects['plan'].pk}/suggestions/",
        only(200, ("patient", "granted_therapist"), CONSENT_PARTIES),
    ),
    Case(
        "POST",
        "api/v1/coping/plans/<uuid:plan_id>/suggestions/",
        lambda w: f"/api/v1/coping/plans/{w.objects['plan'].pk}/suggestions/",
        only(201, ("granted_therapist",), THERAPISTS),
        lambda w, p: {"section": "warning_signs", "proposed": ["Skipping meals"]},
    ),
    Case(
        "POST",
        "api/v1/coping/plans/<uuid:plan_id>/suggestions/<uuid:suggestion_id>/decision/",
        lambda w: (
            f"/api/v1/coping/plans/{w.objects['plan'].pk}/suggestions/"
            f"{w.objects['suggestion'].pk}/decision/"
        ),
        only(200, ("patient",), PATIENTS),
        lambda w, p: {"decision": "accept"},
    ),
    # --- homework: the assigning therapist (linked_therapist here), else the homework scope
    Case("GET", "api/v1/homework/", lambda w: "/api/v1/homework/", roles(200, CONSENT_PARTIES)),
    Case(
        "POST",
        "api/v1/homework/",
        lambda w: "/api/v1/homework/",
        # Any therapist on the caseload assigns; consent governs reading, not assigning.
        roles(201, THERAPISTS, unlinked_therapist=404),
        lambda w, p: {
            "patient": str(w.personas["patient"].user.pk),
            "template": "halt-log",
            "due_date": str(w.objects["today"] + datetime.timedelta(days=7)),
        },
    ),
    Case(
        "GET",
        "api/v1/homework/templates/",
        lambda w: "/api/v1/homework/templates/",
        roles(200, THERAPISTS),
    ),
    Case(
        "GET",
        "api/v1/homework/review-queue/",
        lambda w: "/api/v1/homework/review-queue/",
        roles(200, THERAPISTS),
    ),
    Case(
        "GET",
        "api/v1/homework/<uuid:homework_id>/",
        lambda w: f"/api/v1/homework/{w.objects['homework'].pk}/",
        only(200, ("patient", "linked_therapist", "granted_therapist"), CONSENT_PARTIES),
    ),
    Case(
        "PATCH",
        "api/v1/homework/<uuid:homework_id>/",
        lambda w: f"/api/v1/homework/{w.objects['homework'].pk}/",
        # The granted therapist sees it (homework scope) but only its assigner changes it.
        {**only(200, ("linked_therapist",), THERAPISTS), "granted_therapist": 403},
        lambda w, p: {"title": "HALT log, week 2"},
    ),
    Case(
        "PUT",
        "api/v1/homework/<uuid:homework_id>/answers/",
        lambda w: f"/api/v1/homework/{w.objects['homework'].pk}/answers/",
        only(200, ("patient",), PATIENTS),
        lambda w, p: {"answers": {"strongest": 6}},
    ),
    Case(
        "POST",
        "api/v1/homework/<uuid:homework_id>/submit/",
        lambda w: f"/api/v1/homework/{w.objects['homework'].pk}/submit/",
        only(200, ("patient",), PATIENTS),
        lambda w, p: {"answers": HALT_ANSWERS},
    ),
    Case(
        "POST",
        "api/v1/homework/<uuid:homework_id>/review/",
        lambda w: f"/api/v1/homework/{w.objects['submitted_homework'].pk}/review/",
        {**only(200, ("linked_therapist",), THERAPISTS), "granted_therapist": 403},
        lambda w, p: {"decision": "reviewed", "feedback": "Well done."},
    ),
    # --- program: clinic staff run programs; its therapists (linked_therapist) see and mark;
    # anyone else only under the `program` scope (granted_therapist).
    Case(
        "GET",
        "api/v1/program/programs/",
        lambda w: "/api/v1/program/programs/",
        roles(200, (*PATIENTS, *THERAPISTS, "clinic_admin")),
    ),
    Case(
        "POST",
        "api/v1/program/programs/",
        lambda w: "/api/v1/program/programs/",
        roles(201, ("clinic_admin",)),
        lambda w, p: {
            "name": "Day program",
            "time_zone": "America/Denver",
            "starts_on": str(w.objects["today"]),
        },
    ),
    Case(
        "GET",
        "api/v1/program/programs/<uuid:program_id>/",
        lambda w: f"/api/v1/program/programs/{w.objects['program'].pk}/",
        {
            **only(200, ("patient", "linked_therapist"), (*PATIENTS, *THERAPISTS)),
            "clinic_admin": 200,
        },
    ),
    Case(
        "PATCH",
        "api/v1/program/programs/<uuid:program_id>/",
        lambda w: f"/api/v1/program/programs/{w.objects['program'].pk}/",
        roles(200, ("clinic_admin",)),
        lambda w, p: {"name": "Evening IOP, renamed", "planned_weeks": 10},
    ),
    Case(
        "POST",
        "api/v1/program/programs/<uuid:program_id>/staff/",
        lambda w: f"/api/v1/program/programs/{w.objects['program'].pk}/staff/",
        roles(200, ("clinic_admin",)),
        lambda w, p: {"therapists": [str(w.objects["program_newcomer"].pk)]},
    ),
    Case(
        "DELETE",
        "api/v1/program/programs/<uuid:program_id>/staff/<uuid:therapist_id>/",
        lambda w: (
            f"/api/v1/program/programs/{w.objects['program'].pk}/staff/"
            f"{w.objects['program_leaver'].pk}/"
        ),
        roles(200, ("clinic_admin",)),
    ),
    Case(
        "PATCH",
        "api/v1/program/programs/<uuid:program_id>/slots/<uuid:slot_id>/",
        lambda w: (
            f"/api/v1/program/programs/{w.objects['program'].pk}/slots/{w.objects['slot'].pk}/"
        ),
        roles(200, ("clinic_admin",)),
        lambda w, p: {"title": "Relapse prevention", "place": "Room 2"},
    ),
    Case(
        "POST",
        "api/v1/program/programs/<uuid:program_id>/slots/<uuid:slot_id>/end/",
        lambda w: (
            f"/api/v1/program/programs/{w.objects['program'].pk}/slots/{w.objects['slot'].pk}/end/"
        ),
        roles(200, ("clinic_admin",)),
        lambda w, p: {"reason": "Merged with the day group"},
    ),
    Case(
        "POST",
        "api/v1/program/programs/<uuid:program_id>/slots/",
        lambda w: f"/api/v1/program/programs/{w.objects['program'].pk}/slots/",
        roles(201, ("clinic_admin",)),
        lambda w, p: {
            "kind": "education",
            "title": "Understanding cravings",
            "weekday": (w.objects["today"].weekday() + 4) % 7,
            "start_time": "04:00",
            "duration_minutes": 60,
            "therapist": str(w.objects["program_colleague"].pk),
        },
    ),
    Case(
        "GET",
        "api/v1/program/programs/<uuid:program_id>/sessions/",
        lambda w: f"/api/v1/program/programs/{w.objects['program'].pk}/sessions/",
        {**roles(404, THERAPISTS, linked_therapist=200), "clinic_admin": 200},
    ),
    Case(
        "POST",
        "api/v1/program/programs/<uuid:program_id>/sessions/",
        lambda w: f"/api/v1/program/programs/{w.objects['program'].pk}/sessions/",
        roles(201, ("clinic_admin",)),
        lambda w, p: {
            "kind": "group",
            "title": "Extra group",
            "local_date": str(w.objects["today"] + datetime.timedelta(days=9)),
            "start_time": "05:00",
            "duration_minutes": 60,
            "therapist": str(w.objects["program_colleague"].pk),
        },
    ),
    Case(
        "GET",
        "api/v1/program/sessions/",
        lambda w: f"/api/v1/program/sessions/?patient={w.personas['patient'].user.pk}",
        only(
            200,
            ("patient", "linked_therapist", "granted_therapist"),
            (*PATIENTS, *THERAPISTS, *FAMILIES),
        ),
    ),
    Case(
        "POST",
        "api/v1/program/sessions/<uuid:session_id>/cancel/",
        lambda w: f"/api/v1/program/sessions/{w.objects['future_session'].pk}/cancel/",
        roles(200, ("clinic_admin",)),
        lambda w, p: {"reason": "Clinic holiday"},
    ),
    Case(
        "GET",
        "api/v1/program/sessions/<uuid:session_id>/attendance/",
        lambda w: f"/api/v1/program/sessions/{w.objects['past_session'].pk}/attendance/",
        only(200, ("linked_therapist",), THERAPISTS),
    ),
    Case(
        "POST",
        "api/v1/program/sessions/<uuid:session_id>/attendance/",
        lambda w: f"/api/v1/program/sessions/{w.objects['past_session'].pk}/attendance/",
        only(200, ("linked_therapist",), THERAPISTS),
        lambda w, p: {"patient": str(w.personas["patient"].user.pk), "status": "late"},
    ),
    Case(
        "POST",
        "api/v1/program/sessions/<uuid:session_id>/check-in/",
        lambda w: f"/api/v1/program/sessions/{w.objects['open_session'].pk}/check-in/",
        only(201, ("patient",), PATIENTS),
    ),
    Case(
        "GET",
        "api/v1/program/enrolments/",
        lambda w: "/api/v1/program/enrolments/",
        roles(200, (*CONSENT_PARTIES, "clinic_admin")),
    ),
    Case(
        "POST",
        "api/v1/program/enrolments/",
        lambda w: "/api/v1/program/enrolments/",
        # A therapist of the program on the enrolee's care team, or clinic staff (intake).
        roles(404, THERAPISTS, linked_therapist=201, clinic_admin=201),
        lambda w, p: {
            "patient": str(w.objects["enrolee"].pk),
            "program": str(w.objects["program"].pk),
            "primary_therapist": str(w.personas["linked_therapist"].user.pk),
            "starts_on": str(w.objects["today"]),
        },
    ),
    Case(
        "GET",
        "api/v1/program/enrolments/<uuid:enrolment_id>/",
        lambda w: f"/api/v1/program/enrolments/{w.objects['enrolment'].pk}/",
        {
            **only(200, ("patient", "linked_therapist", "granted_therapist"), CONSENT_PARTIES),
            "clinic_admin": 200,
        },
    ),
    Case(
        "POST",
        "api/v1/program/enrolments/<uuid:enrolment_id>/status/",
        lambda w: f"/api/v1/program/enrolments/{w.objects['enrolment'].pk}/status/",
        # The granted therapist sees it (program scope) but only the program's staff change it.
        {**only(200, ("linked_therapist",), THERAPISTS), "granted_therapist": 403},
        lambda w, p: {"status": "completed", "reason": "Goals met"},
    ),
    Case(
        "POST",
        "api/v1/program/enrolments/<uuid:enrolment_id>/planned-end/",
        lambda w: f"/api/v1/program/enrolments/{w.objects['enrolment'].pk}/planned-end/",
        {**only(200, ("linked_therapist",), THERAPISTS), "granted_therapist": 403},
        lambda w, p: {
            "planned_end": str(w.objects["today"] + datetime.timedelta(days=60)),
            "reason": "A setback",
        },
    ),
    Case(
        "POST",
        "api/v1/program/enrolments/<uuid:enrolment_id>/primary-therapist/",
        lambda w: f"/api/v1/program/enrolments/{w.objects['enrolment'].pk}/primary-therapist/",
        # The program's staff and clinic staff; the granted therapist sees it (program scope)
        # but is not on the staff; patients and family never do this.
        {
            **only(200, ("linked_therapist",), THERAPISTS),
            "granted_therapist": 403,
            "clinic_admin": 200,
        },
        lambda w, p: {
            "primary_therapist": str(w.objects["program_colleague"].pk),
            "reason": "A smaller caseload",
        },
    ),
    Case(
        "GET",
        "api/v1/program/attendance/",
        lambda w: "/api/v1/program/attendance/",
        roles(200, CONSENT_PARTIES),
    ),
    Case(
        "POST",
        "api/v1/program/sessions/<uuid:session_id>/invites/",
        lambda w: f"/api/v1/program/sessions/{w.objects['family_session'].pk}/invites/",
        only(201, ("linked_therapist",), THERAPISTS),
        lambda w, p: {"member": str(w.objects["program_family"].pk)},
    ),
    Case(
        "GET",
        "api/v1/program/invitations/",
        lambda w: "/api/v1/program/invitations/",
        roles(200, FAMILIES),
    ),
    Case(
        "GET",
        "api/v1/program/enrolments/<uuid:enrolment_id>/aftercare/",
        lambda w: f"/api/v1/program/enrolments/{w.objects['enrolment'].pk}/aftercare/",
        only(200, ("patient", "linked_therapist", "granted_therapist"), CONSENT_PARTIES),
    ),
    Case(
        "PUT",
        "api/v1/program/enrolments/<uuid:enrolment_id>/aftercare/",
        lambda w: f"/api/v1/program/enrolments/{w.objects['enrolment'].pk}/aftercare/",
        {**only(200, ("linked_therapist",), THERAPISTS), "granted_therapist": 403},
        lambda w, p: {
            "level_of_care": "aftercare",
            "weekly_checkin_weekday": 6,
            "weekly_checkin_time": "18:00",
        },
    ),
    Case(
        "POST",
        "api/v1/program/enrolments/<uuid:enrolment_id>/aftercare/accept/",
        lambda w: f"/api/v1/program/enrolments/{w.objects['enrolment'].pk}/aftercare/accept/",
        only(200, ("patient",), PATIENTS),
    ),
    # --- measures: the therapist who scheduled them (linked_therapist here), else the measures
    # scope; drafts and answers are the patient's own.
    Case(
        "GET",
        "api/v1/measures/instruments/",
        lambda w: "/api/v1/measures/instruments/",
        roles(200, CONSENT_PARTIES),
    ),
    Case(
        "GET",
        "api/v1/measures/instruments/<slug:slug>/",
        lambda w: "/api/v1/measures/instruments/phq-9/",
        roles(200, CONSENT_PARTIES),
    ),
    Case(
        "GET",
        "api/v1/measures/schedules/",
        lambda w: "/api/v1/measures/schedules/",
        roles(200, CONSENT_PARTIES),
    ),
    Case(
        "POST",
        "api/v1/measures/schedules/",
        lambda w: "/api/v1/measures/schedules/",
        roles(201, THERAPISTS, unlinked_therapist=404),
        lambda w, p: {"patient": str(w.personas["patient"].user.pk), "instrument": "bam"},
    ),
    Case(
        "POST",
        "api/v1/measures/schedules/standard/",
        lambda w: "/api/v1/measures/schedules/standard/",
        roles(201, THERAPISTS, unlinked_therapist=404),
        lambda w, p: {"patient": str(w.personas["patient"].user.pk), "alcohol": True},
    ),
    Case(
        "GET",
        "api/v1/measures/schedules/<uuid:schedule_id>/",
        lambda w: f"/api/v1/measures/schedules/{w.objects['schedule'].pk}/",
        only(200, ("patient", "linked_therapist", "granted_therapist"), CONSENT_PARTIES),
    ),
    Case(
        "PATCH",
        "api/v1/measures/schedules/<uuid:schedule_id>/",
        lambda w: f"/api/v1/measures/schedules/{w.objects['schedule'].pk}/",
        # The granted therapist sees it (measures scope) but only its scheduler changes it.
        {**only(200, ("linked_therapist",), THERAPISTS), "granted_therapist": 403},
        lambda w, p: {"every_days": 21},
    ),
    Case(
        "GET",
        "api/v1/measures/schedules/<uuid:schedule_id>/draft/",
        lambda w: f"/api/v1/measures/schedules/{w.objects['due_schedule'].pk}/draft/",
        only(200, ("patient",), PATIENTS),
    ),
    Case(
        "PUT",
        "api/v1/measures/schedules/<uuid:schedule_id>/draft/",
        lambda w: f"/api/v1/measures/schedules/{w.objects['due_schedule'].pk}/draft/",
        only(200, ("patient",), PATIENTS),
        lambda w, p: {"answers": {"1": 2, "2": 1}},
    ),
    Case("GET", "api/v1/measures/due/", lambda w: "/api/v1/measures/due/", roles(200, PATIENTS)),
    Case(
        "POST",
        "api/v1/measures/responses/",
        lambda w: "/api/v1/measures/responses/",
        only(201, ("patient",), PATIENTS),
        lambda w, p: {
            "id": str(uuid.uuid4()),
            "schedule": str(w.objects["due_schedule"].pk),
            "answered_at": timezone.now().isoformat(),
            "answers": {str(n): 1 for n in range(1, 8)},
        },
    ),
    Case(
        "GET",
        "api/v1/measures/responses/",
        lambda w: "/api/v1/measures/responses/",
        roles(200, CONSENT_PARTIES),
    ),
    Case(
        "GET",
        "api/v1/measures/responses/<uuid:response_id>/",
        lambda w: f"/api/v1/measures/responses/{w.objects['response'].pk}/",
        only(200, ("patient", "linked_therapist", "granted_therapist"), CONSENT_PARTIES),
    ),
    Case(
        "GET",
        "api/v1/measures/results/",
        lambda w: f"/api/v1/measures/results/?patient={w.personas['patient'].user.pk}",
        only(200, ("patient", "linked_therapist", "granted_therapist"), CONSENT_PARTIES),
    ),
    Case(
        "GET",
        "api/v1/fhir/Patient/<uuid:patient_id>/$everything",
        lambda w: f"/api/v1/fhir/Patient/{w.personas['patient'].user.pk}/$everything",
        # Family never exports (403, whoever the patient); a therapist needs the measures
        # scope or questionnaires of their own.
        only(200, ("patient", "linked_therapist", "granted_therapist"), (*PATIENTS, *THERAPISTS)),
    ),
    # --- the console (pages, session sign-in): anonymous and closed accounts are sent to
    # sign-in; roles a page is not for get the 403 page; a patient the viewer may not see is
    # the 404 page.
    Case("GET", "console/", lambda w: "/console/", everyone(302), session=True),
    Case("GET", "console/sign-in/", lambda w: "/console/sign-in/", everyone(200), session=True),
    Case(
        "POST",
        "console/sign-in/",
        lambda w: "/console/sign-in/",
        everyone(400),
        lambda w, p: {"email": "patient@example.test", "password": "not-the-password"},
        session=True,
    ),
    Case(
        "GET",
        "console/sign-in/code/",
        lambda w: "/console/sign-in/code/",
        pages(200, CONSOLE_PEOPLE, **dict.fromkeys(PATIENTS, 302)),
        session=True,
    ),
    Case(
        "POST",
        "console/sign-in/code/",
        lambda w: "/console/sign-in/code/",
        pages(400, CONSOLE_PEOPLE, **dict.fromkeys(PATIENTS, 302)),
        lambda w, p: {"code": "000000"},
        session=True,
    ),
    Case("POST", "console/sign-out/", lambda w: "/console/sign-out/", everyone(302), session=True),
    Case(
        "GET",
        "console/two-factor/",
        lambda w: "/console/two-factor/",
        pages(200, CONSOLE_PEOPLE, **dict.fromkeys(PATIENTS, 302)),
        session=True,
    ),
    Case(
        "POST",
        "console/two-factor/",
        lambda w: "/console/two-factor/",
        pages(400, CONSOLE_PEOPLE, **dict.fromkeys(PATIENTS, 302)),
        lambda w, p: {"code": "12345"},
        session=True,
    ),
    Case(
        "GET",
        "console/account/",
        lambda w: "/console/account/",
        pages(200, CONSOLE_PEOPLE),
        session=True,
    ),
    Case(
        "GET",
        "console/caseload/",
        lambda w: "/console/caseload/",
        pages(200, THERAPISTS),
        session=True,
        page_shows=lambda w, name: (
            set() if name == "unlinked_therapist" else {str(w.personas["patient"].user.pk)}
        ),
    ),
    Case(
        "GET",
        "console/patients/<uuid:patient_id>/",
        lambda w: f"/console/patients/{w.personas['patient'].user.pk}/",
        pages(200, ("granted_therapist", "shared_therapist"), THERAPISTS),
        session=True,
        page_shows=lambda w, name: {str(w.personas["patient"].user.pk)},
    ),
    Case(
        "GET",
        "console/patients/<uuid:patient_id>/print/",
        lambda w: f"/console/patients/{w.personas['patient'].user.pk}/print/",
        pages(200, ("granted_therapist", "shared_therapist"), THERAPISTS),
        session=True,
        page_shows=lambda w, name: {str(w.personas["patient"].user.pk)},
    ),
    Case(
        "POST",
        "console/patients/<uuid:patient_id>/plan/suggest/",
        lambda w: f"/console/patients/{w.personas['patient'].user.pk}/plan/suggest/",
        pages(302, ("granted_therapist",), THERAPISTS),
        lambda w, p: {"section": "reasons", "lines": "Being there for my kids", "note": ""},
        session=True,
    ),
    Case(
        "GET",
        "console/patients/<uuid:patient_id>/nudges/",
        lambda w: f"/console/patients/{w.personas['patient'].user.pk}/nudges/",
        pages(200, LINKED_THERAPISTS, THERAPISTS),
        session=True,
        page_shows=lambda w, name: {str(w.personas["patient"].user.pk)},
    ),
    Case(
        "POST",
        "console/patients/<uuid:patient_id>/nudges/",
        lambda w: f"/console/patients/{w.personas['patient'].user.pk}/nudges/",
        pages(302, LINKED_THERAPISTS, THERAPISTS),
        lambda w, p: {"kind": "checkin", "time": "08:30", "message": "", "suggestion_reason": ""},
        session=True,
    ),
    Case(
        "GET",
        "console/feed/",
        lambda w: "/console/feed/?state=all",
        pages(200, THERAPISTS),
        session=True,
        page_shows=lambda w, name: (
            {str(w.personas["patient"].user.pk)}
            if name in ("granted_therapist", "shared_therapist")
            else set()
        ),
    ),
    Case(
        "POST",
        "console/feed/<uuid:item_id>/review/",
        lambda w: f"/console/feed/{w.objects['entry_item'].pk}/review/",
        pages(302, ("granted_therapist",), THERAPISTS),
        lambda w, p: {"comment": "Thank you for sharing this."},
        session=True,
    ),
    Case(
        "GET",
        "console/homework/",
        lambda w: "/console/homework/",
        pages(200, THERAPISTS),
        session=True,
    ),
    Case(
        "POST",
        "console/homework/",
        lambda w: "/console/homework/",
        # The form offers the therapist's own caseload only: anyone else's patient is refused.
        pages(302, LINKED_THERAPISTS, unlinked_therapist=400),
        lambda w, p: {
            "patient": str(w.personas["patient"].user.pk),
            "template": "halt-log",
            "due_date": str(w.objects["today"] + datetime.timedelta(days=7)),
        },
        session=True,
    ),
    Case(
        "POST",
        "console/homework/<uuid:homework_id>/review/",
        lambda w: f"/console/homework/{w.objects['submitted_homework'].pk}/review/",
        pages(302, ("linked_therapist",), THERAPISTS),
        lambda w, p: {"decision": "reviewed", "feedback": "Well done."},
        session=True,
    ),
    # Clinic staff: therapists, care links, meeting feeds (no patient record on them).
    Case(
        "GET",
        "console/staff/therapists/",
        lambda w: "/console/staff/therapists/",
        pages(200, ("clinic_admin",)),
        session=True,
    ),
    Case(
        "POST",
        "console/staff/therapists/",
        lambda w: "/console/staff/therapists/",
        pages(400, ("clinic_admin",)),  # an empty form: field errors, nothing created
        session=True,
    ),
    Case(
        "POST",
        "console/staff/therapists/<uuid:therapist_id>/deactivate/",
        lambda w: f"/console/staff/therapists/{TherapistFactory().pk}/deactivate/",
        pages(302, ("clinic_admin",)),
        session=True,
    ),
    Case(
        "GET",
        "console/staff/links/",
        lambda w: "/console/staff/links/",
        pages(200, ("clinic_admin",)),
        session=True,
    ),
    Case(
        "POST",
        "console/staff/links/",
        lambda w: "/console/staff/links/",
        pages(400, ("clinic_admin",)),
        session=True,
    ),
    Case(
        "GET",
        "console/staff/feeds/",
        lambda w: "/console/staff/feeds/",
        pages(200, ("clinic_admin",)),
        session=True,
    ),
    Case(
        "POST",
        "console/staff/feeds/<int:feed_id>/import/",
        lambda w: f"/console/staff/feeds/{_feed_without_url().pk}/import/",
        pages(302, ("clinic_admin",)),
        session=True,
    ),
    # Family: the people who granted them something, and exactly the granted sections.
    Case(
        "GET",
        "console/family/",
        lambda w: "/console/family/",
        pages(200, FAMILIES),
        session=True,
        page_shows=lambda w, name: (
            set() if name == "family_revoked" else {str(w.personas["patient"].user.pk)}
        ),
    ),
    Case(
        "GET",
        "console/family/patients/<uuid:patient_id>/",
        lambda w: f"/console/family/patients/{w.personas['patient'].user.pk}/",
        pages(200, ("family_granted", "family"), FAMILIES),
        session=True,
        page_shows=lambda w, name: {str(w.personas["patient"].user.pk)},
    ),
]

# --- which records each 2xx answer holds ---------------------------------------------------

NEW = object()  # a record the request made: its id is none the world had before


@dataclass(frozen=True)
class Shows:
    """Which records a 2xx answer holds: ``got`` reads them from the body, ``want`` names
    them for a persona let through (``want(world, persona name, request body)``)."""

    want: Callable[[World, str, Any], Any]
    got: Callable[[Any], Any]


def _page_ids(body) -> set[str]:
    assert body["next"] is None, "the page must hold the whole list"
    return {str(row["id"]) for row in body["results"]}


def _page_of(read: Callable[[dict], Any]) -> Callable[[Any], set]:
    def got(body) -> set:
        assert body["next"] is None, "the page must hold the whole list"
        return {str(read(row)) for row in body["results"]}

    return got


def page(*everyone_sees: str, got=_page_ids, **seen: tuple[str, ...]) -> Shows:
    """A list: exactly these objects' ids on the page, by persona (unnamed: ``everyone_sees``)."""
    return Shows(lambda w, name, sent: w.ids(*everyone_sees, *seen.get(name, ())), got)


def the(key: str, got=lambda body: str(body["id"])) -> Shows:
    """One record, the same for every persona let through."""
    return Shows(lambda w, name, sent: api_id(w.objects[key]), got)


def created(got=lambda body: str(body["id"])) -> Shows:
    return Shows(lambda w, name, sent: NEW, got)


def sent_id() -> Shows:
    """A record made with the id the phone chose and sent."""
    return Shows(lambda w, name, sent: sent["id"], lambda body: str(body["id"]))


def yourself() -> Shows:
    return Shows(lambda w, name, sent: str(w.personas[name].user.pk), lambda b: str(b["id"]))


def patient_summary() -> Shows:
    """A summary of the matrix's patient and the scopes the persona holds for them."""
    return Shows(
        lambda w, name, sent: (str(w.personas["patient"].user.pk), w.objects["scopes"][name]),
        lambda body: (body["patient"]["id"], sorted(body["scopes"])),
    )


def _export_ids(body) -> dict:
    return {
        kind: {str(row["id"]) for row in body[kind]} for kind in ("entries", "checkins", "counters")
    }


def _changes_ids(body) -> set[str]:
    assert body["has_more"] is False
    return {str(change["id"]) for change in body["changes"]}


OWN_ENTRIES = ("entry", "shared_entry")
SHOWS: dict[str, Shows] = {
    "GET api/v1/me/": yourself(),
    "PATCH api/v1/me/": yourself(),
    "GET api/v1/care/invites/": page(
        linked_therapist=("invite",), unlinked_therapist=("unlinked_invite",)
    ),
    "POST api/v1/care/invites/": created(),
    "POST api/v1/care/invites/redeem/": created(),
    "GET api/v1/care/team/": page(patient=("care_links",)),
    "GET api/v1/care/caseload/": page(
        **{
            t: (f"link:{t}",)
            for t in THERAPISTS
            if t not in ("unlinked_therapist", "linked_therapist")
        },
        # ...and the patient the linked therapist is about to enrol in their program.
        linked_therapist=("link:linked_therapist", "enrolee_link"),
    ),
    "GET api/v1/journal/entries/": page(patient=OWN_ENTRIES),
    "POST api/v1/journal/entries/": sent_id(),
    "POST api/v1/journal/entries/batch/": Shows(
        lambda w, name, sent: {item["id"] for item in sent["items"]},
        lambda body: {str(item["id"]) for item in body["results"]},
    ),
    "GET api/v1/journal/entries/<uuid:entry_id>/": the("entry"),
    "PATCH api/v1/journal/entries/<uuid:entry_id>/": the("entry"),
    "GET api/v1/journal/triggers/": Shows(
        lambda w, name, sent: {"Bar on 5th"} if name == "patient" else set(),
        _page_of(lambda row: row["label"]),
    ),
    "GET api/v1/journal/checkins/": page(patient=("checkin",)),
    "POST api/v1/journal/checkins/": sent_id(),
    "GET api/v1/journal/checkins/<uuid:checkin_id>/": the("checkin"),
    "PATCH api/v1/journal/checkins/<uuid:checkin_id>/": the("checkin"),
    "GET api/v1/journal/counters/": page(patient=("counter",)),
    "POST api/v1/journal/counters/": created(),
    "GET api/v1/journal/counters/<uuid:counter_id>/": the("counter"),
    "GET api/v1/journal/counters/<uuid:counter_id>/decisions/": page(),
    "POST api/v1/journal/counters/<uuid:counter_id>/decisions/": created(),
    "GET api/v1/journal/changes/": Shows(
        lambda w, name, sent: w.ids(*OWN_ENTRIES, "checkin") if name == "patient" else set(),
        _changes_ids,
    ),
    "GET api/v1/journal/export/": Shows(
        lambda w, name, sent: {
            "entries": w.ids(*OWN_ENTRIES) if name == "patient" else set(),
            "checkins": w.ids("checkin") if name == "patient" else set(),
            "counters": w.ids("counter") if name == "patient" else set(),
        },
        _export_ids,
    ),
    "GET api/v1/consents/": page(
        patient=("grants",), **{name: (f"grant:{name}",) for name in (*THERAPISTS, *FAMILIES)}
    ),
    "POST api/v1/consents/": created(),
    "GET api/v1/consents/<uuid:grant_id>/": the("grant"),
    "POST api/v1/consents/<uuid:grant_id>/revoke/": the("grant"),
    "GET api/v1/care/feed/": page(
        granted_therapist=("entry_item", "shared_entry_item", "checkin_item"),
        shared_therapist=("shared_entry_item",),
    ),
    "POST api/v1/care/feed/<uuid:item_id>/review/": the("entry_item"),
    "POST api/v1/care/feed/<uuid:item_id>/review/ (a shared entry)": the("shared_entry_item"),
    "GET api/v1/family/feed/": page(family_granted=("checkin_item",)),
    "POST api/v1/family/feed/<uuid:item_id>/review/": the("checkin_item"),
    "GET api/v1/me/disclosures/": page(),
    "GET api/v1/me/feedback/": page(),
    "GET api/v1/care/patients/<uuid:patient_id>/summary/": patient_summary(),
    "GET api/v1/care/caseload/summaries/": Shows(
        lambda w, name, sent: (
            {str(w.personas["patient"].user.pk)} if w.objects["scopes"].get(name) else set()
        ),
        _page_of(lambda row: row["patient"]["id"]),
    ),
    "GET api/v1/family/patients/<uuid:patient_id>/summary/": patient_summary(),
    "GET api/v1/family/invites/": page(patient=("family_invite",)),
    "POST api/v1/family/invites/": created(),
    "POST api/v1/family/invites/accept/": created(),
    "GET api/v1/family/patients/": page(**{f: (f"family_link:{f}",) for f in FAMILIES}),
    "GET api/v1/family/members/": page(
        patient=(*(f"family_link:{f}" for f in FAMILIES), "program_family_link")
    ),
    "GET api/v1/meetings/": page("meeting", "other_meeting"),
    "GET api/v1/meetings/<uuid:meeting_id>/": the("meeting"),
    "GET api/v1/meetings/saved/": page(
        patient=("meeting",), got=_page_of(lambda row: row["meeting"]["id"])
    ),
    "POST api/v1/meetings/saved/": the("other_meeting", got=lambda body: body["meeting"]["id"]),
    "GET api/v1/meetings/attendance/": page(patient=("attendance",)),
    "POST api/v1/meetings/attendance/": created(),
    "GET api/v1/nudges/rules/": page(patient=("rule", "suggested_rule", "measure_rule")),
    "POST api/v1/nudges/rules/": created(),
    "GET api/v1/nudges/rules/<uuid:rule_id>/": the("rule"),
    "PATCH api/v1/nudges/rules/<uuid:rule_id>/": the("rule"),
    "POST api/v1/nudges/rules/<uuid:rule_id>/accept/": the("suggested_rule"),
    "POST api/v1/nudges/rules/<uuid:rule_id>/decline/": the("suggested_rule"),
    "GET api/v1/nudges/inbox/": page(patient=("nudge",)),
    "POST api/v1/nudges/inbox/<uuid:nudge_id>/opened/": the("nudge"),
    "POST api/v1/nudges/inbox/<uuid:nudge_id>/dismissed/": the("nudge"),
    "GET api/v1/nudges/push-subscriptions/": page(patient=("push",)),
    "POST api/v1/nudges/push-subscriptions/": created(),
    "POST api/v1/care/patients/<uuid:patient_id>/nudge-suggestions/": created(),
    "GET api/v1/coping/skills/": page(
        "library_skills", patient=("skill",), granted_therapist=("skill",)
    ),
    "POST api/v1/coping/skills/": created(),
    "GET api/v1/coping/skills/<uuid:skill_id>/": the("skill"),
    "PATCH api/v1/coping/skills/<uuid:skill_id>/": the("skill"),
    "GET api/v1/coping/checklists/": page(patient=("checklist",), granted_therapist=("checklist",)),
    "POST api/v1/coping/checklists/": created(),
    "GET api/v1/coping/checklists/<uuid:checklist_id>/": the("checklist"),
    "PATCH api/v1/coping/checklists/<uuid:checklist_id>/": the("checklist"),
    "GET api/v1/coping/checklists/<uuid:checklist_id>/days/": Shows(
        lambda w, name, sent: {str(w.objects["yesterday"])},
        _page_of(lambda row: row["date"]),
    ),
    "GET api/v1/coping/effectiveness/": Shows(
        lambda w, name, sent: str(w.personas["patient"].user.pk),
        lambda body: body["patient"]["id"],
    ),
    "GET api/v1/coping/plans/": page(patient=("plan",), granted_therapist=("plan",)),
    "POST api/v1/coping/plans/": created(),
    "GET api/v1/coping/plans/<uuid:plan_id>/": the("plan"),
    "PATCH api/v1/coping/plans/<uuid:plan_id>/": the("plan"),
    "GET api/v1/coping/plans/<uuid:plan_id>/versions/": Shows(
        lambda w, name, sent: {"1"}, _page_of(lambda row: row["number"])
    ),
    "GET api/v1/coping/plans/<uuid:plan_id>/versions/<int:number>/": Shows(
        lambda w, name, sent: 1, lambda body: body["number"]
    ),
    "GET api/v1/coping/plans/<uuid:plan_id>/suggestions/": page("suggestion"),
    "POST api/v1/coping/plans/<uuid:plan_id>/suggestions/": created(),
    "POST api/v1/coping/plans/<uuid:plan_id>/suggestions/<uuid:suggestion_id>/decision/": the(
        "suggestion"
    ),
    "GET api/v1/measures/instruments/": Shows(
        lambda w, name, sent: {"phq-9", "gad-7", "bam", "pacs"}, _page_of(lambda r: r["slug"])
    ),
    "GET api/v1/measures/instruments/<slug:slug>/": Shows(
        lambda w, name, sent: "phq-9", lambda body: body["slug"]
    ),
    "GET api/v1/measures/schedules/": page(
        patient=("schedule", "due_schedule"),
        linked_therapist=("schedule", "due_schedule"),
        granted_therapist=("schedule", "due_schedule"),
    ),
    "POST api/v1/measures/schedules/": created(),
    "POST api/v1/measures/schedules/standard/": Shows(
        lambda w, name, sent: {"bam", "pacs"},
        lambda body: {row["instrument"]["slug"] for row in body},
    ),
    "GET api/v1/measures/schedules/<uuid:schedule_id>/": the("schedule"),
    "PATCH api/v1/measures/schedules/<uuid:schedule_id>/": the("schedule"),
    "GET api/v1/measures/schedules/<uuid:schedule_id>/draft/": Shows(
        lambda w, name, sent: str(w.objects["due_schedule"].pk), lambda body: body["schedule"]
    ),
    "PUT api/v1/measures/schedules/<uuid:schedule_id>/draft/": Shows(
        lambda w, name, sent: str(w.objects["due_schedule"].pk), lambda body: body["schedule"]
    ),
    "GET api/v1/measures/due/": Shows(
        lambda w, name, sent: {str(w.objects["due_schedule"].pk)} if name == "patient" else set(),
        lambda body: {row["schedule"] for row in body},
    ),
    "POST api/v1/measures/responses/": sent_id(),
    "GET api/v1/measures/responses/": page(
        patient=("response",), linked_therapist=("response",), granted_therapist=("response",)
    ),
    "GET api/v1/measures/responses/<uuid:response_id>/": the("response"),
    "GET api/v1/measures/results/": Shows(
        lambda w, name, sent: (str(w.personas["patient"].user.pk), {"PHQ-9"}),
        lambda body: (body["patient"], {r["instrument"]["name"] for r in body["results"]}),
    ),
    "GET api/v1/homework/": page(
        patient=("homework", "submitted_homework", "former_homework"),
        granted_therapist=("homework", "submitted_homework", "former_homework"),
        linked_therapist=("homework", "submitted_homework"),
    ),
    "POST api/v1/homework/": created(),
    "GET api/v1/homework/templates/": page("templates"),
    "GET api/v1/homework/review-queue/": page(linked_therapist=("submitted_homework",)),
    "GET api/v1/homework/<uuid:homework_id>/": the("homework"),
    "PATCH api/v1/homework/<uuid:homework_id>/": the("homework"),
    "PUT api/v1/homework/<uuid:homework_id>/answers/": the("homework"),
    "POST api/v1/homework/<uuid:homework_id>/submit/": the("homework"),
    "POST api/v1/homework/<uuid:homework_id>/review/": the("submitted_homework"),
    "GET api/v1/program/programs/": page(
        patient=("program",), linked_therapist=("program",), clinic_admin=("program",)
    ),
    "POST api/v1/program/programs/": created(),
    "GET api/v1/program/programs/<uuid:program_id>/": the("program"),
    "PATCH api/v1/program/programs/<uuid:program_id>/": the("program"),
    "POST api/v1/program/programs/<uuid:program_id>/staff/": the("program"),
    "DELETE api/v1/program/programs/<uuid:program_id>/staff/<uuid:therapist_id>/": the("program"),
    "PATCH api/v1/program/programs/<uuid:program_id>/slots/<uuid:slot_id>/": the("slot"),
    "POST api/v1/program/programs/<uuid:program_id>/slots/<uuid:slot_id>/end/": the("slot"),
    "POST api/v1/program/programs/<uuid:program_id>/slots/": created(),
    "GET api/v1/program/programs/<uuid:program_id>/sessions/": page("sessions"),
    "POST api/v1/program/programs/<uuid:program_id>/sessions/": created(),
    "GET api/v1/program/sessions/": page(
        patient=("patient_sessions",),
        linked_therapist=("patient_sessions",),
        # Under the program scope: never another therapist's one-patient session.
        granted_therapist=("group_sessions",),
    ),
    "POST api/v1/program/sessions/<uuid:session_id>/cancel/": the("future_session"),
    "GET api/v1/program/sessions/<uuid:session_id>/attendance/": page(
        "enrolment", got=_page_of(lambda row: row["enrolment"])
    ),
    "POST api/v1/program/sessions/<uuid:session_id>/attendance/": the("program_attendance"),
    "POST api/v1/program/sessions/<uuid:session_id>/check-in/": created(),
    "GET api/v1/program/enrolments/": page(
        patient=("enrolment",),
        linked_therapist=("enrolment",),
        granted_therapist=("enrolment",),
        clinic_admin=("enrolment",),
    ),
    "POST api/v1/program/enrolments/": created(),
    "GET api/v1/program/enrolments/<uuid:enrolment_id>/": the("enrolment"),
    "POST api/v1/program/enrolments/<uuid:enrolment_id>/status/": the("enrolment"),
    "POST api/v1/program/enrolments/<uuid:enrolment_id>/planned-end/": the("enrolment"),
    "POST api/v1/program/enrolments/<uuid:enrolment_id>/primary-therapist/": the("enrolment"),
    "POST api/v1/program/sessions/<uuid:session_id>/invites/": created(),
    "GET api/v1/program/invitations/": page(),
    "GET api/v1/program/enrolments/<uuid:enrolment_id>/aftercare/": the("aftercare"),
    "PUT api/v1/program/enrolments/<uuid:enrolment_id>/aftercare/": the("aftercare"),
    "POST api/v1/program/enrolments/<uuid:enrolment_id>/aftercare/accept/": the("aftercare"),
    "GET api/v1/program/attendance/": page(
        patient=("program_attendance",),
        linked_therapist=("program_attendance",),
        granted_therapist=("program_attendance",),
    ),
}


HALT_ANSWERS = {"halt": ["Tired"], "strongest": 6, "what_i_did": "Slept early", "craving": False}


ENTRY = {
    "occurred_at": "2026-11-20T21:30:00-05:00",
    "intensity": 6,
    "substance": "alcohol",
    "outcome": "resisted",
    "triggers": [{"category": "places", "label": "Bar on 5th"}],
}


CHECKIN = {
    "local_date": "2026-11-01",
    "mood": 1,
    "peak_craving": 4,
    "used_today": False,
    "medication": "yes",
}


@pytest.fixture
def world(personas) -> World:
    world = World(personas=personas)
    world.objects["invite"], _ = care_services.invite_create(
        therapist=personas["linked_therapist"].user
    )
    world.objects["unlinked_invite"], world.objects["unlinked_code"] = care_services.invite_create(
        therapist=personas["unlinked_therapist"].user
    )
    patient = personas["patient"].user
    world.objects["entry"] = EntryFactory(patient=patient, **ENTRY)
    world.objects["shared_entry"] = EntryFactory(patient=patient, **ENTRY, shared=True)
    world.objects["checkin"] = CheckInFactory(patient=patient, **CHECKIN)
    world.objects["counter"] = CounterFactory(
        patient=patient, start_date=datetime.date(2026, 10, 1)
    )
    world.objects["grant"] = ConsentGrant.objects.get(recipient=personas["granted_therapist"].user)
    world.objects["entry_item"] = FeedItem.objects.get(entry=world.objects["entry"])
    world.objects["shared_entry_item"] = FeedItem.objects.get(entry=world.objects["shared_entry"])
    world.objects["checkin_item"] = FeedItem.objects.get(checkin=world.objects["checkin"])
    world.objects["link"] = CareLink.objects.get(
        patient=personas["patient"].user, therapist=personas["linked_therapist"].user
    )
    world.objects["family_invite"], _ = family_services.invite_create(
        patient=personas["patient"].user,
        email="cousin@example.test",
        recipient_name="Cousin Lee",
        scopes=["counters"],
        signature_name="Sam Patient",
    )
    world.objects["family_link"] = FamilyLink.objects.get(
        patient=personas["patient"].user, member=personas["family"].user
    )
    world.objects["meeting"], world.objects["other_meeting"] = make_meetings(record(), record())
    meeting_services.meeting_save(patient=patient, meeting=world.objects["meeting"])
    world.objects["attendance"] = AttendanceFactory(
        patient=patient,
        meeting=world.objects["meeting"],
        name="",
        attended_at=_days_ago(64),
        duration_minutes=None,
    )
    _, world.objects["calendar_key"] = meeting_services.calendar_issue(
        patient=patient, neutral_titles=True
    )
    world.objects["rule"] = NudgeRuleFactory(patient=patient)
    world.objects["suggested_rule"] = NudgeRuleFactory(
        patient=patient,
        data={"kind": "custom", "times": ["07:30"]},
        suggested_by=personas["linked_therapist"].user,
    )
    world.objects["nudge"] = NudgeFactory(rule=world.objects["rule"])
    world.objects["push"] = PushSubscriptionFactory(
        user=patient, endpoint="https://push.example.test/patient-old"
    )
    _coping_world(world)
    _homework_world(world)
    _measures_world(world)
    _program_world(world)
    _people_world(world)
    return world


def _people_world(world: World) -> None:
    """Each persona's links and grants, and the scopes each holds for the patient."""
    patient = world.personas["patient"].user
    links = CareLink.objects.filter(patient=patient, ended_at__isnull=True)
    for link in links:
        name = next(n for n, p in world.personas.items() if p.user == link.therapist)
        world.objects[f"link:{name}"] = link
    world.objects["care_links"] = list(links)
    grants = list(ConsentGrant.objects.filter(patient=patient))
    world.objects["grants"] = grants
    for name in (*THERAPISTS, *FAMILIES):
        user = world.personas[name].user
        world.objects[f"grant:{name}"] = [g for g in grants if g.recipient_id == user.pk]
    for name in FAMILIES:
        world.objects[f"family_link:{name}"] = FamilyLink.objects.get(
            patient=patient, member=world.personas[name].user
        )
    world.objects["scopes"] = {
        "granted_therapist": sorted(Scope.values),
        "shared_therapist": [Scope.JOURNAL_SHARED],
        "family_granted": sorted(FAMILY_SCOPES),
        "family": [Scope.MEETINGS],
    }
    world.objects["library_skills"] = list(
        Skill.objects.filter(patient__isnull=True, archived_at__isnull=True)
    )
    world.objects["templates"] = list(HomeworkTemplate.objects.all())


def _coping_world(world: World) -> None:
    patient = world.personas["patient"].user
    world.objects["today"] = local_today(patient)
    world.objects["library_skill"] = Skill.objects.get(slug="urge-surfing")
    world.objects["skill"] = coping_services.skill_create(
        author=patient,
        patient=patient,
        data={"name": "Call Aunt May", "category": "social_support", "duration_minutes": 10},
    )
    checklist = coping_services.checklist_create(
        author=patient,
        patient=patient,
        title="Morning routine",
        items=[{"skill": world.objects["library_skill"].pk}, {"text": "Make the bed"}],
    )
    world.objects["checklist"] = checklist
    world.objects["checklist_item"] = checklist.items.order_by("position").first()
    world.objects["yesterday"] = world.objects["today"] - datetime.timedelta(days=1)
    coping_services.checklist_day_set(
        checklist=checklist,
        local_date=world.objects["yesterday"],
        item_ids=[world.objects["checklist_item"].pk],
    )
    plan = coping_services.plan_create(
        patient=patient,
        content={"support_contacts": [{"name": "May", "relation": "aunt", "phone": "555 0101"}]},
    )
    world.objects["plan"] = plan
    world.objects["suggestion"] = coping_services.suggestion_create(
        plan=plan,
        author=world.personas["granted_therapist"].user,
        section="reasons",
        proposed=["My health"],
    )


def _program_world(world: World) -> None:
    """A program run by the linked therapist (and a colleague), the patient enrolled two
    weeks ago, present at the first session; a session open for check-in now."""
    patient = world.personas["patient"].user
    therapist = world.personas["linked_therapist"].user
    today = world.objects["today"]
    colleague = TherapistFactory()
    world.objects["program_colleague"] = colleague
    # On the staff and running nothing (clinic staff take them off), and not yet on it.
    world.objects["program_leaver"] = TherapistFactory()
    world.objects["program_newcomer"] = TherapistFactory()
    program = program_make(
        therapists=[therapist, colleague, world.objects["program_leaver"]],
        starts_on=today - datetime.timedelta(days=14),
    )
    world.objects["program"] = program
    slot = program_services.slot_add(
        program=program,
        data={
            "kind": "group",
            "title": "Relapse prevention group",
            "weekday": (today.weekday() + 3) % 7,
            "start_time": datetime.time(3, 0),
            "duration_minutes": 90,
            "therapist": therapist,
        },
    )
    world.objects["slot"] = slot
    sessions = list(Session.objects.filter(slot=slot).order_by("starts_at"))
    world.objects["past_session"], world.objects["future_session"] = sessions[0], sessions[-1]
    # Open for check-in now: started a minute ago (earlier late at night, to end that day).
    local = timezone.now().astimezone(ZoneInfo(program.time_zone)).replace(second=0, microsecond=0)
    start = min(local - datetime.timedelta(minutes=1), local.replace(hour=23, minute=54))
    world.objects["open_session"] = program_services.session_add(
        program=program,
        data={
            "kind": "education",
            "title": "Understanding cravings",
            "local_date": start.date(),
            "start_time": start.time(),
            "duration_minutes": 5,
            "therapist": colleague,
        },
    )
    world.objects["enrolment"] = program_services.enrol(
        by=therapist,
        patient=patient,
        program=program,
        primary_therapist=therapist,
        starts_on=program.starts_on,
    )
    world.objects["aftercare"] = program_services.aftercare_save(
        enrolment=world.objects["enrolment"], by=therapist, data={"level_of_care": "outpatient"}
    )
    # A family session, and a family member the patient shares their program with.
    world.objects["family_session"] = program_services.session_add(
        program=program,
        data={
            "kind": "family",
            "title": "Family session",
            "local_date": today + datetime.timedelta(days=10),
            "start_time": datetime.time(5, 0),
            "duration_minutes": 60,
            "therapist": therapist,
            "patient": patient,
        },
    )
    member = FamilyFactory()
    world.objects["program_family_link"] = FamilyLinkFactory(patient=patient, member=member)
    grant_for(patient, member, ["program"])
    world.objects["program_family"] = member
    world.objects["sessions"] = list(Session.objects.filter(program=program))
    planned = [
        s
        for s in world.objects["sessions"]
        if s.local_date <= world.objects["enrolment"].planned_end
    ]
    world.objects["patient_sessions"] = planned
    world.objects["group_sessions"] = [s for s in planned if s.patient_id is None]
    enrolee = PatientFactory()
    world.objects["enrolee_link"] = CareLinkFactory(patient=enrolee, therapist=therapist)
    world.objects["enrolee"] = enrolee
    with time_machine.travel(sessions[0].starts_at, tick=False):
        world.objects["program_attendance"], _ = program_services.attendance_mark(
            session=sessions[0], patient_id=patient.pk, by=therapist, status="present"
        )


def _homework_world(world: World) -> None:
    patient = world.personas["patient"].user
    therapist = world.personas["linked_therapist"].user
    template = HomeworkTemplate.objects.get(slug="halt-log")
    due = {"due_date": world.objects["today"] + datetime.timedelta(days=3)}
    [world.objects["homework"]] = homework_services.homework_assign(
        therapist=therapist, patient=patient, data=due, template=template
    )
    [submitted] = homework_services.homework_assign(
        therapist=therapist, patient=patient, data=due, template=template
    )
    world.objects["submitted_homework"] = homework_services.homework_submit(
        homework=submitted, answers=HALT_ANSWERS
    )
    # Assigned by a therapist who has since left the care team ("unlinked" now): the
    # assignment no longer opens it to them.
    former = world.personas["unlinked_therapist"].user
    link = CareLinkFactory(patient=patient, therapist=former)
    world.objects["former_homework"] = HomeworkFactory(patient=patient, therapist=former)
    care_services.link_end(link=link, by=patient)


def _measures_world(world: World) -> None:
    patient = world.personas["patient"].user
    therapist = world.personas["linked_therapist"].user
    world.objects["schedule"] = ScheduleFactory(
        patient=patient, therapist=therapist, instrument="phq-9"
    )
    # Item 9 at 0: no crisis alert joins the feeds of the other cases.
    world.objects["response"] = ResponseFactory(
        schedule=world.objects["schedule"], value=1, answers={"9": 0}
    )
    due = ScheduleFactory(patient=patient, therapist=therapist, instrument="gad-7")
    world.objects["due_schedule"] = due
    measure_services.draft_save(schedule=due, answers={"1": 1})
    # Scheduling a questionnaire gave the patient a reminder for when one is due.
    world.objects["measure_rule"] = NudgeRule.objects.get(patient=patient, kind="measure")


@pytest.mark.parametrize("persona_name", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_endpoint_answers_each_persona_as_the_matrix_says(
    case: Case, persona_name: str, world: World
):
    persona = world.personas[persona_name]
    body = case.body(world, persona)
    known = world.known_ids()
    if case.session:
        _assert_page(case, world, persona, body)
        return
    response = persona.client.generic(
        case.method,
        case.url(world),
        data=None if body is None else json.dumps(body),
        content_type="application/json",
        headers=case.headers(world),
    )
    expected = case.expect[persona_name]
    assert response.status_code == expected, (persona_name, response.content[:500])
    if expected >= 400:
        assert_problem(response, expected)
    elif expected < 300:
        _assert_records(case, world, persona_name, body, known, response)


def _assert_page(case: Case, world: World, persona, body) -> None:
    """A console page asked in a browser session: its status, and the patients it names."""
    client = Client()
    if persona.user is not None:
        client = console_session(persona.user)
    response = client.generic(
        case.method,
        case.url(world),
        data=urlencode(body or {}),
        content_type="application/x-www-form-urlencoded",
    )
    expected = case.expect[persona.name]
    assert response.status_code == expected, (persona.name, response.content[:800])
    assert "no-store" in response.get("Cache-Control", ""), persona.name
    if expected < 300 and case.page_shows is not None:
        html = response.content.decode()
        patients = {
            str(p.user.pk) for p in world.personas.values() if p.user and p.user.role == "patient"
        }
        named = {pk for pk in patients if pk in html}
        assert named == case.page_shows(world, persona.name), persona.name


def _assert_records(case: Case, world: World, name: str, sent, known: set, response) -> None:
    """A 2xx answer holds exactly the records the persona may see (SHOWS)."""
    json_body = response.get("Content-Type", "").startswith("application/json")
    content = response.json() if json_body and response.content else None
    shows = SHOWS.get(str(case))
    if shows is None:
        assert not (isinstance(content, dict) and content.keys() & {"results", "id"}), (
            f"{case} answers records: say in SHOWS which ones each persona gets"
        )
        return
    got, want = shows.got(content), shows.want(world, name, sent)
    if want is NEW:
        assert got not in known, (name, "a created record has a new id")
    else:
        assert got == want, name


PROBED = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _methods(callback) -> set[str]:
    """The HTTP methods a resolved view answers, OPTIONS and HEAD aside."""
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is not None:  # DRF and Django class-based views
        return {
            name.upper()
            for name in view_class.http_method_names
            if name not in ("options", "head") and hasattr(view_class, name)
        }
    # A plain function (e.g. behind @require_GET): ask it, as an anonymous visitor with an
    # empty session (the console's pages); a refused method answers 405.
    factory = RequestFactory()
    answered = set()
    for method in PROBED:
        request = factory.generic(method, "/")
        request.user = AnonymousUser()
        request.session = SessionStore()
        if callback(request).status_code != 405:
            answered.add(method)
    return answered


def _endpoints(patterns, prefix: str = "") -> set[tuple[str, str]]:
    """Every (URL pattern, method) pair the URLconf serves."""
    endpoints = set()
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if route.startswith("admin/"):
                # The Django admin: session-based, staff only, one row for all of it.
                endpoints.add(("admin/", "GET"))
                continue
            endpoints |= _endpoints(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            endpoints |= {(route, method) for method in _methods(pattern.callback)}
    return endpoints


def test_every_route_and_method_is_in_the_matrix():
    listed = {(case.route, case.method) for case in CASES}
    served = _endpoints(get_resolver().url_patterns)
    missing = sorted(served - listed)
    assert not missing, f"(URL pattern, method) pairs missing from the access matrix: {missing}"
    stale = sorted(listed - served)
    assert not stale, f"cases for pairs no view answers: {stale}"


def test_every_records_expectation_names_a_case():
    labels = {str(case) for case in CASES}
    assert not set(SHOWS) - labels, sorted(set(SHOWS) - labels)
    assert len(labels) == len(CASES), "two cases of one pair need notes that tell them apart"


def test_the_matrix_lists_every_persona_for_every_case():
    for case in CASES:
        assert set(case.expect) == set(PERSONAS), case
