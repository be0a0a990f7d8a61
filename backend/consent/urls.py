from django.urls import path

from backend.consent import views

urlpatterns = [
    path("", views.GrantListCreateView.as_view(), name="consents"),
    path("scopes/", views.ScopeListView.as_view(), name="consent-scopes"),
    path("<uuid:grant_id>/", views.GrantDetailView.as_view(), name="consent-detail"),
    path("<uuid:grant_id>/revoke/", views.GrantRevokeView.as_view(), name="consent-revoke"),
]

# Mounted at /api/v1/family/feed/ (the family app owns the rest of /family/).
family_feed_urlpatterns = [
    path("", views.FamilyFeedView.as_view(), name="family-feed"),
    path("<uuid:item_id>/review/", views.FamilyFeedReviewView.as_view(), name="family-feed-review"),
]
