from django.urls import path

from backend.program import views

urlpatterns = [
    path("programs/", views.ProgramListView.as_view(), name="program-list"),
    path("programs/<uuid:program_id>/", views.ProgramDetailView.as_view(), name="program-detail"),
    path("programs/<uuid:program_id>/slots/", views.SlotCreateView.as_view(), name="program-slots"),
    path(
        "programs/<uuid:program_id>/slots/<uuid:slot_id>/",
        views.SlotDetailView.as_view(),
        name="program-slot",
    ),
    path(
        "programs/<uuid:program_id>/slots/<uuid:slot_id>/end/",
        views.SlotEndView.as_view(),
        name="program-slot-end",
    ),
    path("programs/<uuid:program_id>/staff/", views.StaffView.as_view(), name="program-staff"),
    path(
        "programs/<uuid:program_id>/staff/<uuid:therapist_id>/",
        views.StaffMemberView.as_view(),
        name="program-staff-member",
    ),
    path(
        "programs/<uuid:program_id>/sessions/",
        views.ProgramSessionsView.as_view(),
        name="program-sessions",
    ),
    path("sessions/", views.PatientSessionsView.as_view(), name="program-patient-sessions"),
    path(
        "sessions/<uuid:session_id>/cancel/",
        views.SessionCancelView.as_view(),
        name="program-session-cancel",
    ),
    path(
        "sessions/<uuid:session_id>/attendance/",
        views.AttendanceSheetView.as_view(),
        name="program-attendance-sheet",
    ),
    path(
        "sessions/<uuid:session_id>/check-in/",
        views.CheckInView.as_view(),
        name="program-check-in",
    ),
    path("enrolments/", views.EnrolmentListView.as_view(), name="program-enrolments"),
    path(
        "enrolments/<uuid:enrolment_id>/",
        views.EnrolmentDetailView.as_view(),
        name="program-enrolment",
    ),
    path(
        "enrolments/<uuid:enrolment_id>/status/",
        views.EnrolmentStatusView.as_view(),
        name="program-enrolment-status",
    ),
    path(
        "enrolments/<uuid:enrolment_id>/planned-end/",
        views.EnrolmentPlannedEndView.as_view(),
        name="program-enrolment-planned-end",
    ),
    path(
        "enrolments/<uuid:enrolment_id>/primary-therapist/",
        views.EnrolmentPrimaryTherapistView.as_view(),
        name="program-enrolment-primary-therapist",
    ),
    path("attendance/", views.AttendanceListView.as_view(), name="program-attendance"),
    path(
        "sessions/<uuid:session_id>/invites/",
        views.SessionInviteView.as_view(),
        name="program-session-invites",
    ),
    path("invitations/", views.InvitationListView.as_view(), name="program-invitations"),
    path(
        "enrolments/<uuid:enrolment_id>/aftercare/",
        views.AftercareView.as_view(),
        name="program-aftercare",
    ),
    path(
        "enrolments/<uuid:enrolment_id>/aftercare/accept/",
        views.AftercareAcceptView.as_view(),
        name="program-aftercare-accept",
    ),
]
