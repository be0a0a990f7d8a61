"""A patient invites a family member, who registers or signs in and accepts; either ends it."""

import re
import threading
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.utils import timezone

from backend.accounts.models import User
from backend.consent.models import ConsentGrant, GrantScope
from backend.disclosure.notice import REDISCLOSURE_HEADER, REDISCLOSURE_NOTICE
from backend.family import services as family_services
from backend.family.models import FamilyInvite, FamilyLink
from tests.factories import (
    PASSWORD,
    CareLinkFactory,
    EntryFactory,
    FamilyFactory,
    FamilyLinkFactory,
    PatientFactory,
    TherapistFactory,
    grant_for,
)
from tests.helpers import (
    assert_flat_queries,
    assert_problem,
    client_for,
    full_page,
    problem_fields,
    requires_postgres,
)

pytestmark = pytest.mark.django_db

INVITES = "/api/v1/family/invites/"
ACCEPT = "/api/v1/family/invites/accept/"
REGISTER = "/api/v1/family/register/"
PATIENTS = "/api/v1/family/patients/"
MEMBERS = "/api/v1/family/members/"
FAMILY_FEED = "/api/v1/family/feed/"
INVITE = {
    "email": "Aunt.May@Example.test",
    "recipient_name": "Aunt May",
    "signature_name": "Sam Rivers",
}
NEW_PASSWORD = "a-long-passphrase-42"


def _summary(patient) -> str:
    return f"/api/v1/family/patients/{patient.pk}/summary/"


def _invite(patient, **body) -> dict:
    response = client_for(patient).post(INVITES, {**INVITE, **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _accept(member, code: str):
    return client_for(member).post(ACCEPT, {"code": code}, format="json")


def _verify_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/api/v1/auth/verify-email/\?token=\S+)", message.body)[1]


# --- inviting ---------------------------------------------------------------------------


def test_an_invite_carries_the_signed_consent_and_shows_its_code_once(patient):
    body = _invite(patient)
    assert body["email"] == "aunt.may@example.test"
    assert body["scopes"] == ["checkins", "counters", "meetings"], "the family default"
    assert body["grant_days"] == 365
    assert body["status"] == "active"
    assert re.fullmatch(r"[A-Z2-9]{5}-[A-Z2-9]{5}", body["code"])

    invite = FamilyInvite.objects.get(pk=body["id"])
    assert body["code"] not in invite.code_hash, "only a keyed hash of the code is stored"
    listed = client_for(patient).get(INVITES).json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]
    assert "code" not in listed[0]


def test_an_invite_is_not_emailed(patient, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _invite(patient)
    assert mail.outbox == [], "a mistyped address must never learn that this person is a patient"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scopes": ["journal.shared"]}, "scopes"),
        ({"scopes": ["checkins", "journal.all"]}, "scopes"),
        ({"scopes": ["everything"]}, "scopes.0"),
        ({"scopes": ["checkins", "checkins"]}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({"grant_days": 0}, "grant_days"),
        ({"grant_days": 5 * 365 + 1}, "grant_days"),
        ({"signature_name": "   "}, "signature_name"),
        ({"recipient_name": ""}, "recipient_name"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "SAM@example.test"}, "email"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_bad_invites_are_refused_field_by_field_and_create_nothing(body, field):
    patient = PatientFactory(email="sam@example.test")
    response = client_for(patient).post(INVITES, {**INVITE, **body}, format="json")
    assert_problem(response, 400)
    assert field in problem_fields(response), problem_fields(response)
    assert not FamilyInvite.objects.exists()


def test_journal_text_is_offered_to_family_only_when_the_patient_says_so(patient):
    body = _invite(patient, scopes=["journal.shared", "checkins"], allow_journal_text=True)
    assert body["scopes"] == ["journal.shared", "checkins"]


def test_a_patient_withdraws_an_unused_invite_and_its_code_stops_working(patient):
    body = _invite(patient)
    client = client_for(patient)
    assert client.delete(f"{INVITES}{body['id']}/").status_code == 204
    assert client.get(INVITES).json()["results"][0]["status"] == "revoked"
    member = FamilyFactory(email="aunt.may@example.test")
    assert_problem(_accept(member, body["code"]), 400)


def test_someone_elses_invite_is_not_found(patient, other_patient):
    body = _invite(patient)
    assert_problem(client_for(other_patient).delete(f"{INVITES}{body['id']}/"), 404)
    assert FamilyInvite.objects.get(pk=body["id"]).revoked_at is None


# --- registering and accepting ------------------------------------------------------------


def test_the_invited_person_registers_verifies_signs_in_and_accepts(
    api, patient, django_capture_on_commit_callbacks
):
    EntryFactory(patient=patient, shared=True)
    body = _invite(patient, scopes=["checkins", "counters"], grant_days=90)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            REGISTER,
            {"code": body["code"], "email": "aunt.may@example.test", "password": NEW_PASSWORD},
            format="json",
        )
    assert response.status_code == 202, response.content
    member = User.objects.get(email="aunt.may@example.test")
    assert member.role == User.Role.FAMILY
    assert not member.email_verified
    assert not FamilyLink.objects.exists(), "registering alone links nobody"

    login = {"email": member.email, "password": NEW_PASSWORD}
    assert_problem(api.post("/api/v1/auth/token/", login, format="json"), 403)
    [message] = mail.outbox
    assert api.get(_verify_link(message)).status_code == 200
    tokens = api.post("/api/v1/auth/token/", login, format="json").json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    accepted = api.post(ACCEPT, {"code": body["code"].lower().replace("-", " ")}, format="json")
    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["patient"] == {
        "id": str(patient.pk),
        "display_name": patient.display_name,
    }
    assert accepted.json()["scopes"] == ["checkins", "counters"]

    grant = ConsentGrant.objects.get(patient=patient, recipient=member)
    invite = FamilyInvite.objects.get(pk=body["id"])
    assert (grant.purpose, grant.signature_name) == ("family_support", "Sam Rivers")
    assert grant.signed_at == invite.signed_at, "the patient signed when inviting"
    assert grant.expires_at - grant.starts_at == timedelta(days=90)
    assert invite.used_by == member
    assert invite.used_at is not None

    listed = api.get(PATIENTS)
    assert listed.status_code == 200
    assert listed[REDISCLOSURE_HEADER] == REDISCLOSURE_NOTICE
    assert listed.json()["redisclosure_notice"] == REDISCLOSURE_NOTICE
    [row] = listed.json()["results"]
    assert (row["patient"]["id"], row["scopes"]) == (str(patient.pk), ["checkins", "counters"])

    summary = api.get(_summary(patient)).json()
    assert summary["scopes"] == ["checkins", "counters"]
    assert "checkins" in summary
    assert "counters" in summary
    assert "insights" not in summary, "not granted"
    assert "craving_trend" not in summary, "not granted"
    assert api.get(FAMILY_FEED).json()["results"] == [], "entries were not granted"

    [mine] = client_for(patient).get(MEMBERS).json()["results"]
    assert mine["member"] == {
        "id": str(member.pk),
        "display_name": member.display_name,
        "email": member.email,
    }
    assert mine["scopes"] == ["checkins", "counters"]


def test_an_existing_account_signs_in_and_accepts(patient):
    member = FamilyFactory(email="aunt.may@example.test")
    body = _invite(patient)
    response = _accept(member, body["code"])
    assert response.status_code == 201, response.content
    assert FamilyLink.objects.filter(patient=patient, member=member, ended_at=None).exists()


def test_registering_with_a_known_address_answers_as_for_a_new_one(
    api, patient, django_capture_on_commit_callbacks
):
    existing = FamilyFactory(email="aunt.may@example.test")
    body = _invite(patient)
    other = _invite(patient, email="uncle.bo@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        known = api.post(
            REGISTER,
            {"code": body["code"], "email": existing.email, "password": NEW_PASSWORD},
            format="json",
        )
        new = api.post(
            REGISTER,
            {"code": other["code"], "email": "uncle.bo@example.test", "password": NEW_PASSWORD},
            format="json",
        )
    assert (known.status_code, known.json()) == (new.status_code, new.json())
    existing.refresh_from_db()
    assert existing.check_password(PASSWORD), "registration never changes an existing account"
    assert [m.subject for m in mail.outbox if m.to == [existing.email]] == [
        "Sign-up attempt with your email address"
    ]


def test_a_code_only_opens_an_account_for_the_invited_address(api, patient):
    body = _invite(patient)
    wrong_address = api.post(
        REGISTER,
        {"code": body["code"], "email": "stranger@example.test", "password": NEW_PASSWORD},
        format="json",
    )
    unknown_code = api.post(
        REGISTER,
        {"code": "ABCDE-FGHJK", "email": "aunt.may@example.test", "password": NEW_PASSWORD},
        format="json",
    )
    assert_problem(wrong_address, 400)
    assert wrong_address.json() == unknown_code.json(), "a guess learns nothing"
    assert "code" in problem_fields(wrong_address)
    assert not User.objects.filter(role=User.Role.FAMILY).exists()


def test_registration_checks_the_password_like_any_other(api, patient):
    body = _invite(patient)
    response = api.post(
        REGISTER,
        {"code": body["code"], "email": "aunt.may@example.test", "password": "password"},
        format="json",
    )
    assert_problem(response, 400)
    assert "password" in problem_fields(response)
    assert not User.objects.filter(email="aunt.may@example.test").exists()


def test_a_code_is_single_use(patient):
    body = _invite(patient)
    member = FamilyFactory(email="aunt.may@example.test")
    assert _accept(member, body["code"]).status_code == 201
    client_for(patient).delete(f"/api/v1/family/links/{FamilyLink.objects.get().pk}/")
    replay = _accept(member, body["code"])
    assert_problem(replay, 400)
    assert not FamilyLink.objects.filter(ended_at=None).exists(), "a replayed code links nobody"
    assert ConsentGrant.objects.filter(revoked_at=None).count() == 0


def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer(patient):
    body = _invite(patient)
    member = FamilyFactory(email="aunt.may@example.test")
    client = client_for(member)
    first = client.post(ACCEPT, {"code": body["code"]}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(ACCEPT, {"code": body["code"]}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert ConsentGrant.objects.filter(recipient=member).count() == 1


def test_an_account_with_another_address_cannot_accept(patient):
    body = _invite(patient)
    response = _accept(FamilyFactory(email="cousin@example.test"), body["code"])
    assert_problem(response, 400)
    assert FamilyInvite.objects.get(pk=body["id"]).used_at is None


def test_an_expired_code_is_refused(patient):
    body = _invite(patient)
    member = FamilyFactory(email="aunt.may@example.test")
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert_problem(_accept(member, body["code"]), 400)
    assert not FamilyLink.objects.exists()


def test_a_code_from_a_closed_account_is_refused(patient):
    body = _invite(patient)
    User.objects.filter(pk=patient.pk).update(is_active=False)
    assert_problem(_accept(FamilyFactory(email="aunt.may@example.test"), body["code"]), 400)


def test_accepting_again_while_connected_is_a_conflict_and_keeps_the_code(patient):
    member = FamilyFactory(email="aunt.may@example.test")
    FamilyLinkFactory(patient=patient, member=member)
    body = _invite(patient)
    assert_problem(_accept(member, body["code"]), 409)
    assert FamilyInvite.objects.get(pk=body["id"]).used_at is None
    assert not ConsentGrant.objects.filter(recipient=member).exists()


@pytest.mark.parametrize("role", ["patient", "therapist"])
def test_only_family_accounts_accept(patient, role):
    body = _invite(patient)
    user = (PatientFactory if role == "patient" else TherapistFactory)(
        email="aunt.may@example.test"
    )
    assert_problem(_accept(user, body["code"]), 403)


def test_journal_text_reaches_family_when_the_patient_allowed_it(patient):
    shared = EntryFactory(patient=patient, shared=True)
    EntryFactory(patient=patient, shared=False)
    body = _invite(patient, scopes=["journal.shared"], allow_journal_text=True)
    member = FamilyFactory(email="aunt.may@example.test")
    assert _accept(member, body["code"]).status_code == 201
    feed = client_for(member).get(FAMILY_FEED).json()["results"]
    assert [item["entry"]["id"] for item in feed] == [str(shared.client_id)]


# --- ending it ---------------------------------------------------------------------------


def _connected(patient, scopes=("checkins", "counters")) -> tuple[User, dict]:
    body = _invite(patient, scopes=list(scopes))
    member = FamilyFactory(email="aunt.may@example.test")
    assert _accept(member, body["code"]).status_code == 201
    return member, body


@pytest.mark.parametrize("side", ["patient", "member"])
def test_either_side_ends_the_link_and_access_stops_on_the_next_request(patient, side):
    member, _ = _connected(patient)
    family = client_for(member)
    assert family.get(_summary(patient)).status_code == 200
    link = FamilyLink.objects.get()
    ender = patient if side == "patient" else member
    assert client_for(ender).delete(f"/api/v1/family/links/{link.pk}/").status_code == 204

    assert_problem(family.get(_summary(patient)), 404)
    assert family.get(PATIENTS).json()["results"] == []
    assert client_for(patient).get(MEMBERS).json()["results"] == []
    grant = ConsentGrant.objects.get(recipient=member)
    assert grant.revoked_at is not None
    assert grant.revoked_by == ender
    assert not GrantScope.objects.filter(grant=grant, ended_at=None).exists()
    link.refresh_from_db()
    assert link.ended_at is not None, "history is kept"


def test_a_stranger_cannot_end_a_link(patient, other_patient):
    _connected(patient)
    link = FamilyLink.objects.get()
    assert_problem(client_for(other_patient).delete(f"/api/v1/family/links/{link.pk}/"), 404)
    assert_problem(client_for(FamilyFactory()).delete(f"/api/v1/family/links/{link.pk}/"), 404)
    link.refresh_from_db()
    assert link.ended_at is None


def test_revoking_the_consent_keeps_the_link_and_shows_no_scope(patient):
    member, _ = _connected(patient)
    grant = ConsentGrant.objects.get(recipient=member)
    client = client_for(patient)
    assert client.post(f"/api/v1/consents/{grant.pk}/revoke/", {}, format="json").status_code == 200
    family = client_for(member)
    [row] = family.get(PATIENTS).json()["results"]
    assert row["scopes"] == []
    assert_problem(family.get(_summary(patient)), 404)
    [mine] = client.get(MEMBERS).json()["results"]
    assert mine["scopes"] == []


def test_the_lists_run_the_same_queries_for_one_row_as_for_many():
    member = FamilyFactory()
    patients = [PatientFactory() for _ in range(4)]
    for patient in patients:
        FamilyLinkFactory(patient=patient, member=member)
    for patient in patients:
        grant_for(patient, member, ["checkins", "counters"])
    client = client_for(member)
    assert_flat_queries(lambda size: full_page(client, PATIENTS, size), (1, 4))

    patient = patients[0]
    for _ in range(3):
        other = FamilyFactory()
        FamilyLinkFactory(patient=patient, member=other)
        grant_for(patient, other, ["meetings"])
    client = client_for(patient)
    assert_flat_queries(lambda size: full_page(client, MEMBERS, size), (1, 4))


def test_a_therapist_on_the_care_team_is_not_a_family_member(patient):
    therapist = CareLinkFactory(patient=patient).therapist
    assert_problem(client_for(therapist).get(PATIENTS), 403)


def test_an_accepted_invite_cannot_be_withdrawn(patient):
    body = _invite(patient)
    assert _accept(FamilyFactory(email="aunt.may@example.test"), body["code"]).status_code == 201
    response = client_for(patient).delete(f"{INVITES}{body['id']}/")
    assert_problem(response, 409)
    invite = FamilyInvite.objects.get(pk=body["id"])
    assert invite.revoked_at is None, "the list must not say revoked while the consent holds"


def test_the_patient_sees_whom_they_invited_under_the_name_they_gave(patient):
    _connected(patient)
    [row] = client_for(patient).get(MEMBERS).json()["results"]
    assert row["invited_as"] == "Aunt May"


def test_a_sign_up_started_by_someone_else_for_the_invited_address_is_replaced(
    api, patient, django_capture_on_commit_callbacks
):
    body = _invite(patient)
    with django_capture_on_commit_callbacks(execute=True):
        api.post(
            "/api/v1/auth/register/",
            {"email": "aunt.may@example.test", "password": "strangers-passphrase-77"},
            format="json",
        )
        api.post(
            REGISTER,
            {"code": body["code"], "email": "aunt.may@example.test", "password": NEW_PASSWORD},
            format="json",
        )
    strangers, owners = mail.outbox
    assert_problem(api.get(_verify_link(strangers)), 400)
    assert api.get(_verify_link(owners)).status_code == 200
    member = User.objects.get(email="aunt.may@example.test")
    assert member.role == User.Role.FAMILY
    assert member.check_password(NEW_PASSWORD)
    assert _accept(member, body["code"]).status_code == 201


@requires_postgres("concurrent connections")
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_acceptances_of_one_code_link_once():
    patient = PatientFactory()
    member = FamilyFactory(email="aunt.may@example.test")
    _, code = family_services.invite_create(
        patient=patient,
        email=member.email,
        recipient_name="Aunt May",
        scopes=["checkins"],
        signature_name="Sam Rivers",
    )
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def accept():
        try:
            barrier.wait()
            family_services.invite_accept(member=member, code=code)
            outcomes.append("linked")
        except Exception as exc:
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ValidationError", "linked"]
    assert FamilyLink.objects.count() == 1
    assert ConsentGrant.objects.filter(recipient=member).count() == 1
