from django.urls import path

from backend.measures import views

urlpatterns = [
    path("instruments/", views.InstrumentListView.as_view(), name="measure-instruments"),
    path(
        "instruments/<slug:slug>/",
        views.InstrumentDetailView.as_view(),
        name="measure-instrument-detail",
    ),
    path("schedules/", views.ScheduleListCreateView.as_view(), name="measure-schedules"),
    path("schedules/standard/", views.StandardSetView.as_view(), name="measure-schedules-standard"),
    path(
        "schedules/<uuid:schedule_id>/",
        views.ScheduleDetailView.as_view(),
        name="measure-schedule-detail",
    ),
    path("schedules/<uuid:schedule_id>/draft/", views.DraftView.as_view(), name="measure-draft"),
    path("due/", views.DueListView.as_view(), name="measure-due"),
    path("responses/", views.ResponseListCreateView.as_view(), name="measure-responses"),
    path(
        "responses/<uuid:response_id>/",
        views.ResponseDetailView.as_view(),
        name="measure-response-detail",
    ),
    path("results/", views.ResultsView.as_view(), name="measure-results"),
]
