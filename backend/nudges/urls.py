from django.urls import path

from backend.nudges import views

urlpatterns = [
    path("rules/", views.RuleListCreateView.as_view(), name="nudge-rules"),
    path("rules/<uuid:rule_id>/", views.RuleDetailView.as_view(), name="nudge-rule-detail"),
    path("rules/<uuid:rule_id>/accept/", views.RuleAcceptView.as_view(), name="nudge-rule-accept"),
    path(
        "rules/<uuid:rule_id>/decline/", views.RuleDeclineView.as_view(), name="nudge-rule-decline"
    ),
    path("high-risk-windows/", views.HighRiskWindowsView.as_view(), name="nudge-high-risk"),
    path("preferences/", views.PreferencesView.as_view(), name="nudge-preferences"),
    path("inbox/", views.InboxView.as_view(), name="nudge-inbox"),
    path("inbox/<uuid:nudge_id>/opened/", views.InboxOpenedView.as_view(), name="nudge-opened"),
    path(
        "inbox/<uuid:nudge_id>/dismissed/",
        views.InboxDismissedView.as_view(),
        name="nudge-dismissed",
    ),
    path(
        "push-subscriptions/",
        views.PushSubscriptionListCreateView.as_view(),
        name="push-subscriptions",
    ),
    path(
        "push-subscriptions/<uuid:subscription_id>/",
        views.PushSubscriptionDetailView.as_view(),
        name="push-subscription-detail",
    ),
]
