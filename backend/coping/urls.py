from datetime import date

from django.urls import path, register_converter

from backend.coping import views


class LocalDateConverter:
    """A calendar date, YYYY-MM-DD; an impossible date (2026-02-30) matches nothing (404)."""

    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> date:
        return date.fromisoformat(value)

    def to_url(self, value: date) -> str:
        return value.isoformat()


register_converter(LocalDateConverter, "localdate")

urlpatterns = [
    path("skills/", views.SkillListCreateView.as_view(), name="coping-skills"),
    path("skills/<uuid:skill_id>/", views.SkillDetailView.as_view(), name="coping-skill-detail"),
    path("checklists/", views.ChecklistListCreateView.as_view(), name="coping-checklists"),
    path(
        "checklists/<uuid:checklist_id>/",
        views.ChecklistDetailView.as_view(),
        name="coping-checklist-detail",
    ),
    path(
        "checklists/<uuid:checklist_id>/days/",
        views.ChecklistDayListView.as_view(),
        name="coping-checklist-days",
    ),
    path(
        "checklists/<uuid:checklist_id>/days/<localdate:date>/",
        views.ChecklistDayView.as_view(),
        name="coping-checklist-day",
    ),
    path("plans/", views.PlanListCreateView.as_view(), name="coping-plans"),
    path("plans/<uuid:plan_id>/", views.PlanDetailView.as_view(), name="coping-plan-detail"),
    path(
        "plans/<uuid:plan_id>/versions/",
        views.PlanVersionListView.as_view(),
        name="coping-plan-versions",
    ),
    path(
        "plans/<uuid:plan_id>/versions/<int:number>/",
        views.PlanVersionDetailView.as_view(),
        name="coping-plan-version-detail",
    ),
    path(
        "plans/<uuid:plan_id>/suggestions/",
        views.SuggestionListCreateView.as_view(),
        name="coping-plan-suggestions",
    ),
    path(
        "plans/<uuid:plan_id>/suggestions/<uuid:suggestion_id>/decision/",
        views.SuggestionDecisionView.as_view(),
        name="coping-plan-suggestion-decision",
    ),
]
