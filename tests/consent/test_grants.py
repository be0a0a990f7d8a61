"""Consent grants: what 42 CFR 2.31 asks of them, who may receive them, revocation."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from backend.accounts import services as account_services
from backend.care import services as care_services
from backend.care.models import CareLink
from backend.consent.models import ConsentGrant, GrantScope
from backend.disclosure.notice import REDISCLOSURE_HEADER
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
from tests.helpers import assert_flat_queries, assert_problem, client_for, full_page, problem_fields

pytestmark = pytest.mark.django_db

CONSENTS = "/api/v1/consents/"
FEED = "/api/v1/care/feed/"


def _body(who, **overrides) -> dict:
    body = {
        "recipient": str(who.pk),
        "scopes": ["journal.shared", "checkins"],
        "purpose": "treatment",
        "signature_name": "Sam Example",
    }
    body.update(overrides)
    return body


def test_a_patient_signs_a_consent_for_their_therapist(patient, linked_therapist):
    before = timezone.now()
    response = client_for(patient).post(CONSENTS, _body(linked_therapist), format="json")
    assert response.status_code == 201, response.content
    grant = response.json()
    assert grant["recipient"]["id"] == str(linked_therapist.pk)
    assert grant["patient"]["id"] == str(patient.pk)
    assert grant["scopes"] == ["checkins", "journal.shared"]
    assert grant["purpose"] == "treatment"
    assert grant["state"] == "active"
    assert grant["signature_name"] == "Sam Example"
    assert "Journal entries you mark as shared" in grant["description"]
    assert f"/api/v1/consents/{grant['id']}/revoke/" in grant["how_to_revoke"]
    expires = ConsentGrant.objects.get(pk=grant["id"]).expires_at
    assert timedelta(days=364) < expires - before < timedelta(days=366)  # one year by default


def test_the_recipient_sees_the_grant_and_nobody_else_does(
    patient, linked_therapist, unlinked_therapist
):
    grant = grant_for(patient, linked_therapist, ["checkins"])
    mine = client_for(linked_therapist).get(CONSENTS).json()["results"]
    assert [g["id"] for g in mine] == [str(grant.pk)]
    assert client_for(unlinked_therapist).get(CONSENTS).json()["results"] == []
    assert client_for(unlinked_therapist).get(f"{CONSENTS}{grant.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("who", "field"),
    [
        ("unlinked_therapist", "recipient"),
        ("other_patient", "recipient"),
        ("clinic_admin", "recipient"),
        ("unlinked_family", "recipient"),
        ("nobody", "recipient"),
    ],
)
def test_only_a_linked_therapist_or_accepted_family_member_can_receive(
    patient, other_patient, unlinked_therapist, clinic_admin, who, field
):
    recipients = {
        "unlinked_therapist": unlinked_therapist,
        "other_patient": other_patient,
        "clinic_admin": clinic_admin,
        "unlinked_family": FamilyFactory(),
    }
    recipient = recipients.get(who) or PatientFactory.build()  # "nobody": an unknown id
    response = client_for(patient).post(CONSENTS, _body(recipient), format="json")
    assert_problem(response, 400)
    assert field in problem_fields(response)
    assert not ConsentGrant.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"scopes": ["checkins", "everything"]}, "scopes.1"),
        ({"scopes": []}, "scopes"),
        ({"scopes": ["checkins", "checkins"]}, "scopes"),
        ({"purpose": "family_support"}, "purpose"),
        ({"purpose": "marketing"}, "purpose"),
        ({"expires_at": "2020-01-01T00:00:00+00:00"}, "expires_at"),
        # Beyond five years from whenever the suite runs.
        ({"expires_at": (timezone.now() + timedelta(days=6 * 365)).isoformat()}, "expires_at"),
        ({"expires_at": "2027-01-01T00:00:00"}, "expires_at"),
        ({"signature_name": "   "}, "signature_name"),
        ({"signature_name": None}, "signature_name"),
        ({"recipient": "not-a-uuid"}, "recipient"),
        ({"patient": "00000000-0000-0000-0000-000000000000"}, "patient"),
    ],
)
def test_bad_consents_are_refused_field_by_field(patient, linked_therapist, overrides, field):
    response = client_for(patient).post(
        CONSENTS, _body(linked_therapist, **overrides), format="json"
    )
    assert_problem(response, 400)
    assert field in problem_fields(response), response.json()
    assert not ConsentGrant.objects.exists()


def test_journal_text_is_off_for_family_unless_the_patient_says_so(patient):
    member = FamilyFactory()
    FamilyLinkFactory(patient=patient, member=member)
    client = client_for(patient)
    body = _body(member, purpose="family_support", scopes=["journal.shared", "checkins"])
    refused = client.post(CONSENTS, body, format="json")
    assert_problem(refused, 400)
    assert "allow_journal_text" in problem_fields(refused)["scopes"][0]
    assert not ConsentGrant.objects.exists()
    allowed = client.post(CONSENTS, {**body, "allow_journal_text": True}, format="json")
    assert allowed.status_code == 201


def test_the_scope_catalogue_says_which_scopes_show_journal_text(patient):
    scopes = {s["scope"]: s for s in client_for(patient).get(f"{CONSENTS}scopes/").json()}
    assert scopes["journal.shared"]["reveals_journal_text"] is True
    assert scopes["journal.all"]["family_default"] is False
    assert scopes["checkins"]["reveals_journal_text"] is False


def test_one_open_grant_per_recipient_and_scope(patient, linked_therapist):
    client = client_for(patient)
    assert client.post(CONSENTS, _body(linked_therapist), format="json").status_code == 201
    again = client.post(CONSENTS, _body(linked_therapist, scopes=["checkins"]), format="json")
    body = assert_problem(again, 409)
    assert "checkins" in body["detail"]
    assert ConsentGrant.objects.count() == 1


def test_revocation_takes_effect_on_the_next_request(patient, linked_therapist):
    grant = grant_for(patient, linked_therapist, ["journal.all"])
    entry = EntryFactory(patient=patient)
    therapist = client_for(linked_therapist)
    assert [i["entry"]["id"] for i in therapist.get(FEED).json()["results"]] == [
        str(entry.client_id)
    ]

    revoked = client_for(patient).post(
        f"{CONSENTS}{grant.pk}/revoke/", {"reason": "Private"}, format="json"
    )
    assert revoked.status_code == 200
    assert revoked.json()["state"] == "revoked"
    assert therapist.get(FEED).json()["results"] == []
    # Kept, never deleted: the recipient can still see that it was revoked.
    assert therapist.get(f"{CONSENTS}{grant.pk}/").json()["state"] == "revoked"


def test_revoking_twice_changes_nothing(patient, linked_therapist):
    grant = grant_for(patient, linked_therapist, ["checkins"])
    client = client_for(patient)
    first = client.post(f"{CONSENTS}{grant.pk}/revoke/", {}, format="json").json()
    second = client.post(f"{CONSENTS}{grant.pk}/revoke/", {}, format="json").json()
    assert first["revoked_at"] == second["revoked_at"]


def test_nobody_revokes_someone_elses_grant(patient, other_patient, linked_therapist):
    grant = grant_for(patient, linked_therapist, ["checkins"])
    assert client_for(other_patient).post(f"{CONSENTS}{grant.pk}/revoke/").status_code == 404
    assert client_for(linked_therapist).post(f"{CONSENTS}{grant.pk}/revoke/").status_code == 403
    grant.refresh_from_db()
    assert grant.revoked_at is None


def test_grants_cannot_be_deleted_through_the_api(patient, linked_therapist):
    grant = grant_for(patient, linked_therapist, ["checkins"])
    assert client_for(patient).delete(f"{CONSENTS}{grant.pk}/").status_code == 405
    assert ConsentGrant.objects.filter(pk=grant.pk).exists()


def test_an_expired_grant_stops_working_by_itself_and_can_be_renewed(patient, linked_therapist):
    grant = grant_for(
        patient, linked_therapist, ["journal.all"], expires_at=timezone.now() + timedelta(days=2)
    )
    EntryFactory(patient=patient)
    therapist = client_for(linked_therapist)
    assert len(therapist.get(FEED).json()["results"]) == 1
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        therapist = client_for(linked_therapist)  # access tokens live 15 minutes
        assert therapist.get(FEED).json()["results"] == []
        assert client_for(patient).get(f"{CONSENTS}{grant.pk}/").json()["state"] == "expired"
        renewed = client_for(patient).post(
            CONSENTS, _body(linked_therapist, scopes=["journal.all"]), format="json"
        )
        assert renewed.status_code == 201
        assert len(therapist.get(FEED).json()["results"]) == 1
    assert GrantScope.objects.filter(grant=grant).get().ended_at == grant.expires_at


def test_a_grant_that_starts_later_opens_nothing_yet(patient, linked_therapist):
    start = timezone.now() + timedelta(days=1)
    grant_for(patient, linked_therapist, ["journal.all"], starts_at=start)
    EntryFactory(patient=patient)
    therapist = client_for(linked_therapist)
    assert therapist.get(FEED).json()["results"] == []
    with time_machine.travel(start + timedelta(minutes=1)):
        therapist = client_for(linked_therapist)  # access tokens live 15 minutes
        assert len(therapist.get(FEED).json()["results"]) == 1


def test_ending_the_care_link_revokes_the_therapists_grants(patient, linked_therapist):
    grant = grant_for(patient, linked_therapist, ["journal.all", "checkins"])
    link = CareLink.objects.get(patient=patient, therapist=linked_therapist)
    care_services.link_end(link=link, by=patient)
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert grant.revoked_reason == "Care link ended."
    assert not GrantScope.objects.filter(grant=grant, ended_at__isnull=True).exists()


def test_the_state_filter(patient, linked_therapist):
    other = TherapistFactory()
    CareLinkFactory(patient=patient, therapist=other)
    kept = grant_for(patient, linked_therapist, ["checkins"])
    gone = grant_for(patient, other, ["checkins"])
    client_for(patient).post(f"{CONSENTS}{gone.pk}/revoke/")
    client = client_for(patient)
    assert [g["id"] for g in client.get(CONSENTS, {"state": "active"}).json()["results"]] == [
        str(kept.pk)
    ]
    assert [g["id"] for g in client.get(CONSENTS, {"state": "revoked"}).json()["results"]] == [
        str(gone.pk)
    ]
    assert_problem(client.get(CONSENTS, {"state": "sideways"}), 400)


def test_consent_lists_do_not_carry_the_redisclosure_notice(patient, linked_therapist):
    grant_for(patient, linked_therapist, ["checkins"])
    assert REDISCLOSURE_HEADER not in client_for(patient).get(CONSENTS)


def test_the_consent_list_runs_a_fixed_number_of_queries(patient):
    client = client_for(patient)
    for _ in range(12):
        therapist = TherapistFactory()
        CareLinkFactory(patient=patient, therapist=therapist)
        grant_for(patient, therapist, ["checkins", "counters"])
    assert_flat_queries(lambda size: full_page(client, CONSENTS, size), (1, 12), at_most=6)


def test_closing_an_account_revokes_what_it_shared_and_received(patient, linked_therapist):

    given = grant_for(patient, linked_therapist, ["checkins"])
    account_services.user_deactivate(user=linked_therapist, password=PASSWORD)
    given.refresh_from_db()
    assert given.revoked_at is not None
    assert given.revoked_reason == "Account deactivated."
