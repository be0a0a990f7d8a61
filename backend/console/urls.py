"""The console's pages, under /console/."""

from django.urls import path

from backend.console import auth_views, family_views, staff_views, views

app_name = "console"

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", auth_views.sign_in, name="sign-in"),
    path("sign-in/code/", auth_views.verify, name="verify"),
    path("sign-out/", auth_views.sign_out, name="sign-out"),
    path("two-factor/", auth_views.two_factor_setup, name="two-factor-setup"),
    path("account/", auth_views.account, name="account"),
    # Therapists
    path("caseload/", views.caseload, name="caseload"),
    path("patients/<uuid:patient_id>/", views.patient, name="patient"),
    path("patients/<uuid:patient_id>/print/", views.patient_print, name="patient-print"),
    path("patients/<uuid:patient_id>/plan/suggest/", views.plan_suggest, name="plan-suggest"),
    path("patients/<uuid:patient_id>/nudges/", views.nudge_suggestions, name="nudge-suggestions"),
    path("feed/", views.feed, name="feed"),
    path("feed/<uuid:item_id>/review/", views.feed_review, name="feed-review"),
    path("homework/", views.homework, name="homework"),
    path("homework/<uuid:homework_id>/review/", views.homework_review, name="homework-review"),
    # Clinic staff
    path("staff/therapists/", staff_views.therapists, name="staff-therapists"),
    path(
        "staff/therapists/<uuid:therapist_id>/deactivate/",
        staff_views.therapist_deactivate,
        name="staff-therapist-deactivate",
    ),
    path("staff/links/", staff_views.links, name="staff-links"),
    path("staff/feeds/", staff_views.feeds, name="staff-feeds"),
    path("staff/feeds/<int:feed_id>/import/", staff_views.feed_import, name="staff-feed-import"),
    # Family
    path("family/", family_views.home, name="family-home"),
    path("family/patients/<uuid:patient_id>/", family_views.patient, name="family-patient"),
]
