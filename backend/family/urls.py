from django.urls import path

from backend.family import views

urlpatterns = [
    path("invites/", views.InviteListCreateView.as_view(), name="family-invites"),
    path("invites/accept/", views.InviteAcceptView.as_view(), name="family-invite-accept"),
    path(
        "invites/<uuid:invite_id>/", views.InviteDetailView.as_view(), name="family-invite-detail"
    ),
    path("register/", views.RegisterView.as_view(), name="family-register"),
    path("patients/", views.PatientsView.as_view(), name="family-patients"),
    path("members/", views.MembersView.as_view(), name="family-members"),
    path("links/<uuid:link_id>/", views.LinkDetailView.as_view(), name="family-link-detail"),
]
