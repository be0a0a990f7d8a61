from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from backend.care import services
from backend.care.models import CareInvite, CareLink
from tests.factories import CareLinkFactory, PatientFactory, TherapistFactory
from tests.helpers import assert_flat_queries, assert_problem, client_for, full_page, problem_fields

pytestmark = pytest.mark.django_db

REDEEM = "/api/v1/care/invites/redeem/"


def test_a_patient_joins_a_caseload_with_a_therapists_invite_code(
    other_patient, unlinked_therapist
):
    created = client_for(unlinked_therapist).post("/api/v1/care/invites/")
    assert created.status_code == 201
    code = created.json()["code"]
    assert CareInvite.objects.get().code_hash != code, "only a hash of the code is stored"

    redeemed = client_for(other_patient).post(
        REDEEM, {"code": code.lower().replace("-", " ")}, format="json"
    )
    assert redeemed.status_code == 201
    assert redeemed.json()["therapist"]["id"] == str(unlinked_therapist.pk)

    caseload = client_for(unlinked_therapist).get("/api/v1/care/caseload/").json()["results"]
    assert [row["patient"]["id"] for row in caseload] == [str(other_patient.pk)]
    assert set(caseload[0]["patient"]) == {"id", "display_name", "time_zone"}, (
        "a link shows no records"
    )
    team = client_for(other_patient).get("/api/v1/care/team/").json()["results"]
    assert [row["therapist"]["id"] for row in team] == [str(unlinked_therapist.pk)]
    invites = client_for(unlinked_therapist).get("/api/v1/care/invites/").json()["results"]
    assert invites[0]["status"] == "used"
    assert "code" not in invites[0]


def _assert_code_refused(patient, code):
    response = client_for(patient).post(REDEEM, {"code": code}, format="json")
    assert_problem(response, 400)
    assert "code" in problem_fields(response)
    return response


def test_a_code_works_only_once(other_patient, unlinked_therapist):
    _, code = services.invite_create(therapist=unlinked_therapist)
    assert client_for(other_patient).post(REDEEM, {"code": code}, format="json").status_code == 201
    third = PatientFactory()
    _assert_code_refused(third, code)


def test_unknown_expired_and_withdrawn_codes_get_the_same_answer(other_patient, unlinked_therapist):
    _, expired = services.invite_create(therapist=unlinked_therapist)
    withdrawn_invite, withdrawn = services.invite_create(therapist=unlinked_therapist)
    services.invite_revoke(invite=withdrawn_invite)
    with time_machine.travel(timezone.now() + timedelta(days=4)):
        answers = {
            _assert_code_refused(other_patient, code).content
            for code in (expired, withdrawn, "ABCDE-FGHJK")
        }
    assert len(answers) == 1
    assert not CareLink.objects.filter(patient=other_patient).exists()


def test_a_code_from_a_deactivated_therapist_is_refused(other_patient, unlinked_therapist):
    _, code = services.invite_create(therapist=unlinked_therapist)
    unlinked_therapist.is_active = False
    unlinked_therapist.save()
    _assert_code_refused(other_patient, code)


def test_redeeming_when_already_linked_is_a_conflict_and_keeps_the_code(patient, linked_therapist):
    invite, code = services.invite_create(therapist=linked_therapist)
    assert_problem(client_for(patient).post(REDEEM, {"code": code}, format="json"), 409)
    invite.refresh_from_db()
    assert invite.used_at is None


@pytest.mark.parametrize(
    "body", [{}, {"code": ""}, {"code": 12}, {"code": "x" * 33}, {"code": None}]
)
def test_malformed_redeem_input_is_a_400(patient, body):
    assert_problem(client_for(patient).post(REDEEM, body, format="json"), 400)


@pytest.mark.parametrize("side", ["patient", "linked_therapist"])
def test_either_side_can_end_a_link_and_it_disappears(request, patient, linked_therapist, side):
    link = CareLink.objects.get(patient=patient, therapist=linked_therapist)
    actor = request.getfixturevalue(side)
    assert client_for(actor).delete(f"/api/v1/care/links/{link.pk}/").status_code == 204
    assert client_for(patient).get("/api/v1/care/team/").json()["results"] == []
    assert client_for(linked_therapist).get("/api/v1/care/caseload/").json()["results"] == []
    link.refresh_from_db()
    assert link.ended_at is not None
    assert link.ended_by == actor
    # Ending again: the link is no longer there to end.
    assert_problem(client_for(actor).delete(f"/api/v1/care/links/{link.pk}/"), 404)
    # And the pair can link again later.
    _, code = services.invite_create(therapist=linked_therapist)
    assert client_for(patient).post(REDEEM, {"code": code}, format="json").status_code == 201


def test_withdrawing_someone_elses_invite_is_404(linked_therapist, unlinked_therapist):
    invite, _ = services.invite_create(therapist=linked_therapist)
    assert_problem(client_for(unlinked_therapist).delete(f"/api/v1/care/invites/{invite.pk}/"), 404)
    invite.refresh_from_db()
    assert invite.revoked_at is None


def test_a_clinic_admin_links_a_patient_and_therapist_in_the_admin(
    client, clinic_admin, other_patient, unlinked_therapist
):
    client.force_login(clinic_admin)
    response = client.post(
        "/admin/care/carelink/add/",
        {"patient": other_patient.pk, "therapist": unlinked_therapist.pk},
    )
    assert response.status_code == 302, response.content[:2000]
    link = CareLink.objects.get(patient=other_patient, therapist=unlinked_therapist)
    assert link.source == CareLink.Source.ADMIN


def test_the_caseload_runs_a_fixed_number_of_queries_whatever_the_page_size(linked_therapist):
    for _ in range(60):
        CareLinkFactory(therapist=linked_therapist)
    client = client_for(linked_therapist)
    assert_flat_queries(
        lambda size: full_page(client, "/api/v1/care/caseload/", size), (5, 50), at_most=4
    )


def test_the_care_team_runs_a_fixed_number_of_queries(patient):
    for _ in range(30):
        CareLinkFactory(patient=patient, therapist=TherapistFactory())
    client = client_for(patient)
    assert_flat_queries(
        lambda size: full_page(client, "/api/v1/care/team/", size), (1, 30), at_most=4
    )


def test_the_invite_list_runs_a_fixed_number_of_queries(linked_therapist):
    for _ in range(30):
        services.invite_create(therapist=linked_therapist)
    client = client_for(linked_therapist)
    assert_flat_queries(
        lambda size: full_page(client, "/api/v1/care/invites/", size), (1, 30), at_most=4
    )
