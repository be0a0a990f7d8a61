"""The relapse-prevention plan: versions, suggestions, access, and crisis support's contacts."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.consent import services as consent_services
from backend.coping import services
from backend.coping.models import PlanVersion, Skill
from backend.disclosure.models import DisclosureLog
from backend.disclosure.notice import REDISCLOSURE_HEADER, REDISCLOSURE_NOTICE
from tests.factories import (
    CareLinkFactory,
    FamilyFactory,
    FamilyLinkFactory,
    PatientFactory,
    entry_payload,
    grant_for,
)
from tests.helpers import assert_flat_queries, assert_problem, client_for, full_page, problem_fields
from tests.journal.helpers import BATCH, ENTRIES

pytestmark = pytest.mark.django_db

PLANS = "/api/v1/coping/plans/"
CONTACT = {"name": "Dana", "relation": "sponsor", "phone": "+1 (555) 010-2030"}


def invalid(response) -> dict[str, list[str]]:
    assert_problem(response, 400)
    return problem_fields(response)


def url(plan) -> str:
    return f"{PLANS}{plan.pk}/"


def start(patient, **content):
    return services.plan_create(patient=patient, content=content)


def test_a_patient_starts_a_plan_with_crisis_lines_by_default(patient):
    surfing = Skill.objects.get(slug="urge-surfing")
    response = client_for(patient).post(
        PLANS,
        {
            "reasons": ["My daughter", "My health"],
            "coping_strategies": [{"skill": str(surfing.pk)}, {"text": "Leave the party early"}],
            "support_contacts": [CONTACT],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response["ETag"] == '"1"'
    sections = response.json()["sections"]
    assert sections["reasons"] == ["My daughter", "My health"]
    assert sections["coping_strategies"][0]["skill"]["name"] == "Urge surfing"
    assert sections["coping_strategies"][1] == {"skill": None, "text": "Leave the party early"}
    assert {line["phone"] for line in sections["crisis_lines"]} == {"988", "1-800-662-4357"}
    assert sections["triggers"] == []
    again = client_for(patient).post(PLANS, {}, format="json")
    assert "already" in assert_problem(again, 409)["detail"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"support_contacts": [{"name": "Dana", "phone": "call me"}]}, "support_contacts.0.phone"),
        ({"support_contacts": [{"phone": "555 0100"}]}, "support_contacts.0.name"),
        ({"coping_strategies": [{}]}, "coping_strategies.0.text"),
        ({"coping_strategies": [{"skill": str(uuid.uuid4())}]}, "coping_strategies.0.skill"),
        ({"reasons": "my kids"}, "reasons"),
        ({"reasons": ["x" * 301]}, "reasons.0"),
        (
            {"crisis_lines": [{"name": "Line", "phone": "1", "hours": "24/7"}]},
            "crisis_lines.0.hours",
        ),
        ({"mood": "good"}, "mood"),
    ],
)
def test_bad_sections_are_400_with_their_path(patient, payload, field):
    response = client_for(patient).post(PLANS, payload, format="json")
    assert field in invalid(response), problem_fields(response)


def test_each_change_is_a_new_version_and_every_version_is_kept(patient):
    plan = start(patient, reasons=["My health"])
    client = client_for(patient)
    response = client.patch(url(plan), {"triggers": ["Payday"]}, format="json")
    assert response["ETag"] == '"2"'
    assert response.json()["sections"]["reasons"] == ["My health"]  # untouched sections stay
    unchanged = client.patch(url(plan), {"triggers": ["Payday"]}, format="json")
    assert unchanged["ETag"] == '"2"'  # nothing changed, no new version
    client.patch(url(plan), {"reasons": []}, format="json")
    versions = client.get(f"{url(plan)}versions/").json()["results"]
    assert [v["number"] for v in versions] == [3, 2, 1]
    assert versions[2]["sections"]["reasons"] == ["My health"]
    assert versions[2]["sections"]["triggers"] == []
    one = client.get(f"{url(plan)}versions/1/").json()
    assert one["author"]["id"] == str(patient.pk)
    assert_problem(client.get(f"{url(plan)}versions/9/"), 404)
    assert_problem(client.get(f"{url(plan)}versions/99999999999999999999/"), 404)


def test_a_stale_if_match_is_412_with_the_current_plan(patient):
    plan = start(patient)
    client = client_for(patient)
    client.patch(url(plan), {"triggers": ["Payday"]}, format="json", headers={"If-Match": '"1"'})
    stale = client.patch(
        url(plan), {"triggers": ["Fridays"]}, format="json", headers={"If-Match": '"1"'}
    )
    body = assert_problem(stale, 412)
    assert body["current"]["version"] == 2
    assert body["current"]["sections"]["triggers"] == ["Payday"]


def test_a_therapist_with_coping_suggests_and_the_patient_accepts(patient, linked_therapist):
    plan = start(patient, reasons=["My health"], warning_signs=["Skipping meetings"])
    therapist = client_for(linked_therapist)
    suggestion = {"section": "warning_signs", "proposed": ["Skipping meetings", "Not sleeping"]}
    assert_problem(therapist.post(f"{url(plan)}suggestions/", suggestion, format="json"), 404)
    grant_for(patient, linked_therapist, ["coping"])
    created = therapist.post(
        f"{url(plan)}suggestions/", {**suggestion, "note": "As we discussed."}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["state"] == "pending"
    assert created.json()["redisclosure_notice"] == REDISCLOSURE_NOTICE
    patient_client = client_for(patient)
    assert patient_client.get(url(plan)).json()["pending_suggestions"] == 1
    listed = patient_client.get(f"{url(plan)}suggestions/", {"state": "pending"}).json()["results"]
    assert [s["note"] for s in listed] == ["As we discussed."]
    decided = patient_client.post(
        f"{url(plan)}suggestions/{listed[0]['id']}/decision/", {"decision": "accept"}, format="json"
    )
    assert decided.json()["state"] == "accepted"
    assert decided.json()["resulting_version"] == 2
    sections = patient_client.get(url(plan)).json()["sections"]
    assert sections["warning_signs"] == ["Skipping meetings", "Not sleeping"]
    assert sections["reasons"] == ["My health"]
    assert PlanVersion.objects.get(plan=plan, number=2).suggestion_id == uuid.UUID(listed[0]["id"])
    twice = patient_client.post(
        f"{url(plan)}suggestions/{listed[0]['id']}/decision/", {"decision": "reject"}, format="json"
    )
    assert "already accepted" in assert_problem(twice, 409)["detail"]


def test_rejecting_a_suggestion_leaves_the_plan_as_it_is(patient, linked_therapist):
    plan = start(patient, reasons=["My health"])
    grant_for(patient, linked_therapist, ["coping"])
    suggestion = services.suggestion_create(
        plan=plan, author=linked_therapist, section="reasons", proposed=["Something else"]
    )
    client = client_for(patient)
    response = client.post(
        f"{url(plan)}suggestions/{suggestion.pk}/decision/", {"decision": "reject"}, format="json"
    )
    assert response.json()["state"] == "rejected"
    body = client.get(url(plan)).json()
    assert (body["version"], body["sections"]["reasons"]) == (1, ["My health"])


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"section": "support_contacts", "proposed": [{"name": "Dana"}]}, "proposed.0.phone"),
        ({"section": "reasons", "proposed": "more"}, "proposed"),
        ({"section": "diet", "proposed": []}, "section"),
        ({"section": "reasons"}, "proposed"),
        (
            {"section": "coping_strategies", "proposed": [{"skill": str(uuid.uuid4())}]},
            "proposed.0.skill",
        ),
    ],
)
def test_bad_suggestions_are_400(patient, linked_therapist, payload, field):
    plan = start(patient)
    grant_for(patient, linked_therapist, ["coping"])
    response = client_for(linked_therapist).post(f"{url(plan)}suggestions/", payload, format="json")
    assert field in invalid(response)


def test_others_read_the_plan_only_under_coping_with_the_notice_and_the_log(patient):
    plan = start(patient, support_contacts=[CONTACT])
    family = FamilyFactory()
    FamilyLinkFactory(patient=patient, member=family)
    client = client_for(family)
    assert client.get(PLANS).json()["results"] == []
    assert_problem(client.get(url(plan)), 404)
    grant = grant_for(patient, family, ["coping"])
    response = client.get(url(plan))
    assert response[REDISCLOSURE_HEADER] == REDISCLOSURE_NOTICE
    assert response.json()["sections"]["support_contacts"][0]["name"] == "Dana"
    client.get(f"{url(plan)}versions/")
    kinds = sorted(DisclosureLog.objects.filter(viewer=family).values_list("kind", flat=True))
    assert kinds == ["relapse_plan", "relapse_plan_version"]
    # Family reads but neither edits nor suggests.
    assert_problem(client.patch(url(plan), {"reasons": []}, format="json"), 403)
    assert_problem(
        client.post(
            f"{url(plan)}suggestions/", {"section": "reasons", "proposed": []}, format="json"
        ),
        403,
    )
    consent_services.grant_revoke(grant=grant, by=patient)
    assert_problem(client.get(url(plan)), 404)


def test_the_plan_list_runs_the_same_queries_for_one_plan_as_for_many(linked_therapist):

    for number in range(4):
        patient = PatientFactory()
        CareLinkFactory(patient=patient, therapist=linked_therapist)
        grant_for(patient, linked_therapist, ["coping"])
        plan = start(patient, coping_strategies=[{"skill": Skill.objects.first().pk}])
        services.suggestion_create(
            plan=plan, author=linked_therapist, section="reasons", proposed=[f"R{number}"]
        )
    client = client_for(linked_therapist)
    assert_flat_queries(lambda size: full_page(client, PLANS, size), (1, 4), at_most=8)


def test_crisis_support_offers_the_plans_support_contacts(patient):
    start(patient, support_contacts=[CONTACT])
    client = client_for(patient)
    support = client.post(ENTRIES, entry_payload(intensity=9), format="json").json()["support"]
    assert support["contacts"] == [CONTACT]
    # Updated plans are used at once.
    plan = client.get(PLANS).json()["results"][0]
    client.patch(f"{PLANS}{plan['id']}/", {"support_contacts": []}, format="json")
    support = client.post(ENTRIES, entry_payload(intensity=9), format="json").json()["support"]
    assert support["contacts"] == []


def test_a_batch_reads_the_contacts_once_and_only_when_support_is_shown(patient):
    start(patient, support_contacts=[CONTACT])
    client = client_for(patient)

    def batch(intensities):
        items = [
            {"op": "upsert", "id": str(uuid.uuid4()), "data": _data(intensity=i)}
            for i in intensities
        ]
        with CaptureQueriesContext(connection) as captured:
            response = client.post(BATCH, {"items": items}, format="json")
        reads = [q for q in captured if "coping_planversion" in q["sql"]]
        return response.json()["results"], len(reads)

    results, reads = batch([3, 4])
    assert reads == 0
    assert all("support" not in r for r in results)
    results, reads = batch([9, 10, 3])
    assert reads == 1
    assert [r.get("support", {}).get("contacts") for r in results] == [[CONTACT], [CONTACT], None]


def test_a_patient_without_a_plan_gets_no_contacts(db):
    patient = PatientFactory()
    body = client_for(patient).post(ENTRIES, entry_payload(outcome="lapsed"), format="json").json()
    assert body["support"]["contacts"] == []


def _data(**overrides) -> dict:
    payload = entry_payload(**overrides)
    payload.pop("id")
    return payload
