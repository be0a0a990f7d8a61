from django.urls import path

from backend.journal import report_views, views

urlpatterns = [
    path("entries/", views.EntryListCreateView.as_view(), name="journal-entries"),
    path("entries/batch/", views.EntryBatchView.as_view(), name="journal-entries-batch"),
    path("entries/<uuid:entry_id>/", views.EntryDetailView.as_view(), name="journal-entry-detail"),
    path("triggers/", views.TriggerVocabularyView.as_view(), name="journal-triggers"),
    path("checkins/", views.CheckInListCreateView.as_view(), name="journal-checkins"),
    path("checkins/streak/", views.CheckInStreakView.as_view(), name="journal-checkin-streak"),
    path(
        "checkins/<uuid:checkin_id>/",
        views.CheckInDetailView.as_view(),
        name="journal-checkin-detail",
    ),
    path("counters/", views.CounterListCreateView.as_view(), name="journal-counters"),
    path(
        "counters/<uuid:counter_id>/",
        views.CounterDetailView.as_view(),
        name="journal-counter-detail",
    ),
    path(
        "counters/<uuid:counter_id>/decisions/",
        views.CounterDecisionListCreateView.as_view(),
        name="journal-counter-decisions",
    ),
    path("changes/", views.ChangesView.as_view(), name="journal-changes"),
    path("insights/", report_views.InsightsView.as_view(), name="journal-insights"),
    path("export/", report_views.ExportView.as_view(), name="journal-export"),
]
