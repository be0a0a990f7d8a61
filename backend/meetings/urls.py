from django.urls import path

from backend.meetings import views

urlpatterns = [
    path("", views.MeetingSearchView.as_view(), name="meetings"),
    path("saved/", views.SavedListCreateView.as_view(), name="meetings-saved"),
    path("saved/<uuid:meeting_id>/", views.SavedDetailView.as_view(), name="meetings-saved-detail"),
    path("attendance/", views.AttendanceListCreateView.as_view(), name="meetings-attendance"),
    path(
        "attendance/weekly/", views.AttendanceWeeksView.as_view(), name="meetings-attendance-weekly"
    ),
    path(
        "attendance/<uuid:attendance_id>/",
        views.AttendanceDetailView.as_view(),
        name="meetings-attendance-detail",
    ),
    path("calendar/", views.CalendarView.as_view(), name="meetings-calendar"),
    path("calendar.ics", views.CalendarFileView.as_view(), name="meetings-calendar-file"),
    path("<uuid:meeting_id>/", views.MeetingDetailView.as_view(), name="meeting-detail"),
]
