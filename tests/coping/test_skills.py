"""The coping-skill library: seeded skills, search, custom skills and who may write them."""

import pytest

from backend.care import services as care_services
from backend.care.models import CareLink
from backend.consent import services as consent_services
from backend.coping import services
from backend.coping.models import Skill, SkillCategory
from backend.disclosure.models import DisclosureLog
from backend.disclosure.notice import REDISCLOSURE_HEADER, REDISCLOSURE_NOTICE
from backend.journal.effectiveness import normalize_label
from tests.factories import CareLinkFactory, FamilyFactory, FamilyLinkFactory, grant_for
from tests.helpers import assert_flat_queries, assert_problem, client_for, full_page, problem_fields

pytestmark = pytest.mark.django_db


def invalid(response) -> dict[str, list[str]]:
    """The field errors of a 400 problem document."""
    assert_problem(response, 400)
    return problem_fields(response)


SKILLS = "/api/v1/coping/skills/"
NAMED_IN_THE_ISSUE = [
    "urge-surfing", "halt-check", "box-breathing", "grounding-5-4-3-2-1", "play-the-tape-forward",
    "tipp", "opposite-action", "stop", "delay-and-distract", "call-support-person",
    "go-to-a-meeting", "thought-record", "decisional-balance",
]  # fmt: skip


def custom(patient, author=None, **fields):
    data = {"name": "Call Aunt May", "category": "social_support", "duration_minutes": 5, **fields}
    return services.skill_create(author=author or patient, patient=patient, data=data)


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [s["name"] for s in response.json()["results"]]


def test_the_library_holds_at_least_30_skills_across_every_category_each_fully_described():
    library = Skill.objects.filter(patient__isnull=True)
    assert library.count() >= 30
    assert set(library.values_list("category", flat=True)) == set(SkillCategory.values)
    for skill in library:
        assert skill.steps, skill.slug
        assert all(step.strip() for step in skill.steps), skill.slug
        assert 1 <= skill.duration_minutes <= 240
        assert skill.approach
        assert skill.summary
    assert set(NAMED_IN_THE_ISSUE) <= set(library.values_list("slug", flat=True))


def test_no_two_library_skills_answer_to_the_same_name_or_alias():
    seen: dict[str, str] = {}
    for skill in Skill.objects.filter(patient__isnull=True):
        for label in (skill.name, *skill.aliases):
            key = normalize_label(label)
            assert seen.setdefault(key, skill.slug) == skill.slug, (key, skill.slug, seen[key])


def test_search_by_words_and_filter_by_category(patient):
    client = client_for(patient)
    assert "Urge surfing" in names(client.get(SKILLS, {"q": "URGE surf"}))
    dbt = client.get(SKILLS, {"category": "dbt", "page_size": 100}).json()["results"]
    assert dbt
    assert {s["category"] for s in dbt} == {"dbt"}
    assert {"TIPP", "STOP", "Opposite action"} <= {s["name"] for s in dbt}
    ordered = names(client.get(SKILLS, {"page_size": 100}))
    assert ordered == sorted(ordered, key=str)


@pytest.mark.parametrize(
    "query",
    ["category=juggling", "kind=mine", "patient=not-a-uuid", "page_size=0", "q=" + "x" * 81],
)
def test_bad_filters_are_400(patient, query):
    assert_problem(client_for(patient).get(f"{SKILLS}?{query}"), 400)


def test_a_patient_writes_their_own_skill_and_sees_it_beside_the_library(patient, other_patient):
    client = client_for(patient)
    response = client.post(
        SKILLS,
        {"name": "Call Aunt May", "category": "social_support", "steps": ["Call her"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "custom"
    assert body["patient"]["id"] == str(patient.pk)
    assert body["duration_minutes"] == 10  # the default
    assert "redisclosure_notice" not in body
    assert REDISCLOSURE_HEADER not in response
    assert names(client.get(SKILLS, {"kind": "custom"})) == ["Call Aunt May"]
    assert names(client_for(other_patient).get(SKILLS, {"kind": "custom"})) == []
    assert_problem(client_for(other_patient).get(f"{SKILLS}{body['id']}/"), 404)


def test_a_patient_cannot_write_a_skill_for_someone_else(patient, other_patient):
    response = client_for(patient).post(
        SKILLS,
        {"patient": str(other_patient.pk), "name": "X", "category": "cbt"},
        format="json",
    )
    assert_problem(response, 404)


def test_a_therapist_writes_for_a_linked_patient_who_granted_coping(patient, linked_therapist):
    client = client_for(linked_therapist)
    payload = {"patient": str(patient.pk), "name": "Ring the bell", "category": "distraction"}
    assert_problem(client.post(SKILLS, payload, format="json"), 404)  # linked, no grant
    grant_for(patient, linked_therapist, ["coping"])
    response = client.post(SKILLS, payload, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["redisclosure_notice"] == REDISCLOSURE_NOTICE
    assert names(client_for(patient).get(SKILLS, {"kind": "custom"})) == ["Ring the bell"]


def test_a_therapist_must_name_the_patient(linked_therapist, patient):
    grant_for(patient, linked_therapist, ["coping"])
    response = client_for(linked_therapist).post(
        SKILLS, {"name": "X", "category": "cbt"}, format="json"
    )
    assert "patient" in invalid(response)


def test_a_therapist_with_coping_but_off_the_care_team_cannot_write(patient, linked_therapist):

    grant_for(patient, linked_therapist, ["coping"])
    link = CareLink.objects.get(patient=patient, therapist=linked_therapist)
    care_services.link_end(link=link, by=patient)
    response = client_for(linked_therapist).post(
        SKILLS, {"patient": str(patient.pk), "name": "X", "category": "cbt"}, format="json"
    )
    assert_problem(response, 404)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"category": "cbt"}, "name"),
        ({"name": "X", "category": "magic"}, "category"),
        ({"name": "X", "category": "cbt", "duration_minutes": 0}, "duration_minutes"),
        ({"name": "X", "category": "cbt", "duration_minutes": "5"}, "duration_minutes"),
        ({"name": "X", "category": "cbt", "steps": ["a"] * 13}, "steps"),
        ({"name": "X" * 81, "category": "cbt"}, "name"),
        ({"name": "X", "category": "cbt", "author": "me"}, "author"),
    ],
)
def test_bad_skills_are_400_with_the_field_named(patient, payload, field):
    response = client_for(patient).post(SKILLS, payload, format="json")
    assert_problem(response, 400)
    assert field in problem_fields(response)


def test_library_skills_cannot_be_changed(patient):
    skill = Skill.objects.get(slug="urge-surfing")
    response = client_for(patient).patch(f"{SKILLS}{skill.pk}/", {"name": "Mine"}, format="json")
    assert_problem(response, 403)
    assert_problem(client_for(patient).delete(f"{SKILLS}{skill.pk}/"), 403)


def test_a_therapist_changes_only_what_they_wrote_and_the_patient_changes_all(
    patient, linked_therapist
):
    grant_for(patient, linked_therapist, ["coping"])
    theirs = custom(patient, author=linked_therapist, name="Therapist's")
    mine = custom(patient, name="Mine")
    therapist = client_for(linked_therapist)
    assert (
        therapist.patch(f"{SKILLS}{theirs.pk}/", {"name": "Edited"}, format="json").status_code
        == 200
    )
    assert_problem(therapist.patch(f"{SKILLS}{mine.pk}/", {"name": "No"}, format="json"), 403)
    response = client_for(patient).patch(f"{SKILLS}{theirs.pk}/", {"steps": ["One"]}, format="json")
    assert response.status_code == 200
    assert response.json()["steps"] == ["One"]
    assert response.json()["name"] == "Edited"


def test_removing_a_custom_skill_hides_it_but_a_checklist_keeps_naming_it(patient):
    skill = custom(patient)
    checklist = services.checklist_create(
        author=patient, patient=patient, title="List", items=[{"skill": skill.pk}]
    )
    client = client_for(patient)
    assert client.delete(f"{SKILLS}{skill.pk}/").status_code == 204
    assert names(client.get(SKILLS, {"kind": "custom"})) == []
    assert_problem(client.get(f"{SKILLS}{skill.pk}/"), 404)
    item = client.get(f"/api/v1/coping/checklists/{checklist.pk}/").json()["items"][0]
    assert item["label"] == "Call Aunt May"


def test_others_see_custom_skills_only_under_coping_and_each_read_is_logged(
    patient, linked_therapist
):
    skill = custom(patient)
    family = FamilyFactory()
    FamilyLinkFactory(patient=patient, member=family)
    for viewer in (linked_therapist, family):
        assert names(client_for(viewer).get(SKILLS, {"kind": "custom"})) == []
        assert_problem(client_for(viewer).get(f"{SKILLS}{skill.pk}/"), 404)
    grant = grant_for(patient, family, ["coping"])
    response = client_for(family).get(SKILLS, {"kind": "custom"})
    assert names(response) == ["Call Aunt May"]
    assert response[REDISCLOSURE_HEADER] == REDISCLOSURE_NOTICE
    assert response.json()["redisclosure_notice"] == REDISCLOSURE_NOTICE
    row = DisclosureLog.objects.get(viewer=family)
    assert (row.kind, row.record_ids, row.grant_id) == ("custom_skill", [str(skill.pk)], grant.pk)
    # Family reads but never writes.
    assert_problem(client_for(family).patch(f"{SKILLS}{skill.pk}/", {}, format="json"), 403)
    consent_services.grant_revoke(grant=grant, by=patient)
    assert_problem(client_for(family).get(f"{SKILLS}{skill.pk}/"), 404)


def test_the_library_alone_is_not_logged_as_a_disclosure(patient, linked_therapist):
    grant_for(patient, linked_therapist, ["coping"])
    client_for(linked_therapist).get(SKILLS, {"kind": "library"})
    assert not DisclosureLog.objects.exists()


def test_the_skill_list_runs_the_same_queries_for_one_as_for_a_page(patient, linked_therapist):
    grant_for(patient, linked_therapist, ["coping"])
    for number in range(6):
        custom(patient, name=f"Skill {number}")
    client = client_for(linked_therapist)
    # Authentication, the page, the grants in force, the disclosure-log insert.
    assert_flat_queries(
        lambda size: full_page(client, SKILLS, size, kind="custom"), (1, 6), at_most=4
    )
    assert_flat_queries(lambda size: full_page(client, SKILLS, size), (1, 30), at_most=4)


def test_a_linked_family_member_cannot_write_skills(patient):
    family = FamilyFactory()
    FamilyLinkFactory(patient=patient, member=family)
    grant_for(patient, family, ["coping"])
    response = client_for(family).post(
        SKILLS, {"patient": str(patient.pk), "name": "X", "category": "cbt"}, format="json"
    )
    assert_problem(response, 403)


def test_care_link_factory_is_usable_for_other_patients(other_patient):
    # A therapist linked to another patient never sees this one's skills.
    link = CareLinkFactory(patient=other_patient)
    grant_for(other_patient, link.therapist, ["coping"])
    custom(other_patient, name="Theirs")
    assert names(client_for(link.therapist).get(SKILLS, {"kind": "custom"})) == ["Theirs"]


def test_a_patient_may_name_themselves_as_the_schema_asks_or_leave_it_out(patient):
    # The schema requires `patient` (a therapist must send it); a patient's own id is right.
    client = client_for(patient)
    named = client.post(
        SKILLS,
        {"patient": str(patient.pk), "name": "Walk", "category": "distraction"},
        format="json",
    )
    assert named.status_code == 201, named.content
    left_out = client.post(
        SKILLS, {"name": "Call Dana", "category": "social_support"}, format="json"
    )
    assert left_out.status_code == 201, left_out.content
    assert names(client.get(SKILLS, {"kind": "custom"})) == ["Call Dana", "Walk"]
