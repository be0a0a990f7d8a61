from django.urls import path

from backend.care import views

urlpatterns = [
    path("invites/", views.InviteListCreateView.as_view(), name="care-invites"),
    path("invites/redeem/", views.InviteRedeemView.as_view(), name="care-invite-redeem"),
    path("invites/<uuid:invite_id>/", views.InviteDetailView.as_view(), name="care-invite-detail"),
    path("team/", views.CareTeamView.as_view(), name="care-team"),
    path("caseload/", views.CaseloadView.as_view(), name="care-caseload"),
    path("links/<uuid:link_id>/", views.CareLinkDetailView.as_view(), name="care-link-detail"),
]
