from django.urls import path

from backend.care import views
from backend.consent import summary_views
from backend.consent import views as consent_views
from backend.nudges import views as nudge_views

urlpatterns = [
    path("invites/", views.InviteListCreateView.as_view(), name="care-invites"),
    path("invites/redeem/", views.InviteRedeemView.as_view(), name="care-invite-redeem"),
    path("invites/<uuid:invite_id>/", views.InviteDetailView.as_view(), name="care-invite-detail"),
    path("team/", views.CareTeamView.as_view(), name="care-team"),
    path("caseload/", views.CaseloadView.as_view(), name="care-caseload"),
    path("links/<uuid:link_id>/", views.CareLinkDetailView.as_view(), name="care-link-detail"),
    path("feed/", consent_views.CareFeedView.as_view(), name="care-feed"),
    path(
        "feed/<uuid:item_id>/review/",
        consent_views.CareFeedReviewView.as_view(),
        name="care-feed-review",
    ),
    path(
        "caseload/summaries/",
        summary_views.CaseloadSummariesView.as_view(),
        name="care-caseload-summaries",
    ),
    path(
        "patients/<uuid:patient_id>/summary/",
        summary_views.CarePatientSummaryView.as_view(),
        name="care-patient-summary",
    ),
    path(
        "patients/<uuid:patient_id>/nudge-suggestions/",
        nudge_views.SuggestionView.as_view(),
        name="care-nudge-suggestions",
    ),
]
