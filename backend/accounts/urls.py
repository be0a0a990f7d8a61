from django.urls import path

from backend.accounts import views

auth_urlpatterns = [
    path("register/", views.RegisterView.as_view(), name="register"),
    path("verify-email/", views.VerifyEmailView.as_view(), name="verify-email"),
    path("token/", views.TokenObtainView.as_view(), name="token"),
    path("token/refresh/", views.TokenRefreshView.as_view(), name="token-refresh"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/reset/", views.PasswordResetRequestView.as_view(), name="password-reset"),
    path(
        "password/reset/confirm/",
        views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
]

me_urlpatterns = [
    path("", views.MeView.as_view(), name="me"),
    path("password/", views.PasswordChangeView.as_view(), name="me-password"),
    path("deactivate/", views.DeactivateView.as_view(), name="me-deactivate"),
]
