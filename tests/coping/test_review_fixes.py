"""Found in review: odd dates and ETags never answer 500; archived skills stay linkable."""

import pytest

from backend.coping import services as coping
from backend.homework.admin import HomeworkTemplateForm
from backend.homework.models import HomeworkTemplate
from tests.factories import CareLinkFactory, grant_for
from tests.helpers import assert_problem, client_for, problem_fields

pytestmark = pytest.mark.django_db

EFFECTIVENESS = "/api/v1/coping/effectiveness/"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-01-01", "to": "9999-12-31"}, "to"),
        ({"from": "0001-01-01", "to": "0001-01-02"}, "from"),
    ],
)
def test_extreme_effectiveness_ranges_are_refused(patient, params, field):
    patient.time_zone = "Pacific/Auckland"
    patient.save(update_fields=["time_zone"])
    response = client_for(patient).get(EFFECTIVENESS, params)
    assert_problem(response, 400)
    assert field in problem_fields(response)


def test_a_therapist_must_name_the_patient(patient):
    therapist = CareLinkFactory(patient=patient).therapist
    grant_for(patient, therapist, ["insights"])
    response = client_for(therapist).get(EFFECTIVENESS)
    assert_problem(response, 400)
    assert "patient" in problem_fields(response)


def test_an_etag_with_unicode_digits_is_just_stale(patient):
    plan = coping.plan_create(patient=patient, content={"reasons": ["Synthetic reason"]})
    response = client_for(patient).patch(
        f"/api/v1/coping/plans/{plan.pk}/",
        {"reasons": ["Another"]},
        format="json",
        HTTP_IF_MATCH='"²"',
    )
    assert response.status_code in (412, 428), response.content


def _as_written(link: dict) -> dict:
    """A read skill link (an object) as the API takes it back (an id)."""
    skill = link.get("skill")
    written = {"skill": skill["id"] if isinstance(skill, dict) else skill}
    if "text" in link:
        written["text"] = link["text"]
    return written


def test_a_plan_and_a_checklist_save_back_as_read_after_a_skill_is_archived(patient):
    skill = coping.skill_create(
        author=patient,
        patient=patient,
        data={"name": "My walk", "category": "cbt", "duration_minutes": 10},
    )
    plan = coping.plan_create(
        patient=patient, content={"coping_strategies": [{"skill": skill.pk, "text": ""}]}
    )
    checklist = coping.checklist_create(
        author=patient, patient=patient, title="Evening", items=[{"skill": skill.pk}]
    )
    client = client_for(patient)
    read_plan = client.get(f"/api/v1/coping/plans/{plan.pk}/")
    read_list = client.get(f"/api/v1/coping/checklists/{checklist.pk}/").json()
    coping.skill_archive(skill=skill)
    saved = client.patch(
        f"/api/v1/coping/plans/{plan.pk}/",
        {
            "coping_strategies": [
                _as_written(s) for s in read_plan.json()["sections"]["coping_strategies"]
            ]
        },
        format="json",
        HTTP_IF_MATCH=read_plan["ETag"],
    )
    assert saved.status_code == 200, saved.content
    items = [{"id": i["id"], **_as_written({"skill": i["skill"]})} for i in read_list["items"]]
    kept = client.patch(
        f"/api/v1/coping/checklists/{checklist.pk}/", {"items": items}, format="json"
    )
    assert kept.status_code == 200, kept.content


def test_the_admin_refuses_template_questions_that_cannot_be_asked():
    template = HomeworkTemplate.objects.first()
    form = HomeworkTemplateForm(
        instance=template,
        data={
            "slug": template.slug,
            "title": template.title,
            "kind": template.kind,
            "instructions": "x",
            "questions": '[{"prompt": "No type"}]',
        },
    )
    assert not form.is_valid()
    assert "questions" in form.errors
