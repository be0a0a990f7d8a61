"""The admin curates the library and the templates, never a patient's records."""

import pytest
from django.contrib import admin

from backend.coping import services
from backend.coping.models import Checklist, PlanVersion, RelapsePlan, Skill
from backend.homework.models import Homework, HomeworkTemplate

pytestmark = pytest.mark.django_db


def test_only_library_skills_and_templates_are_in_the_admin():
    for model in (Checklist, RelapsePlan, PlanVersion, Homework):
        assert model not in admin.site._registry
    assert Skill in admin.site._registry
    assert HomeworkTemplate in admin.site._registry


def test_the_skill_admin_lists_library_skills_only(client, clinic_admin, patient):
    services.skill_create(
        author=patient,
        patient=patient,
        data={"name": "Private", "category": "cbt", "duration_minutes": 5},
    )
    client.force_login(clinic_admin)
    response = client.get("/admin/coping/skill/?q=Private")
    assert response.status_code == 200
    assert response.context["cl"].result_count == 0
    assert client.get("/admin/coping/skill/?q=Urge").context["cl"].result_count >= 1
    assert client.get("/admin/homework/homeworktemplate/").status_code == 200
