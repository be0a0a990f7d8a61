from django.urls import path

from backend.consent import views

urlpatterns = [
    path("", views.GrantListCreateView.as_view(), name="consents"),
    path("scopes/", views.ScopeListView.as_view(), name="consent-scopes"),
    path("<uuid:grant_id>/", views.GrantDetailView.as_view(), name="consent-detail"),
    path("<uuid:grant_id>/revoke/", views.GrantRevokeView.as_view(), name="consent-revoke"),
]
