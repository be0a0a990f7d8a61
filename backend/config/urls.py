from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from backend.accounts.urls import auth_urlpatterns, me_urlpatterns
from backend.consent import urls as consent_urls
from backend.core.views import healthz

api_v1 = [
    path("auth/", include(auth_urlpatterns)),
    path("me/", include(me_urlpatterns)),
    path("care/", include("backend.care.urls")),
    path("journal/", include("backend.journal.urls")),
    path("consents/", include("backend.consent.urls")),
    path("family/", include("backend.family.urls")),
    path("family/feed/", include(consent_urls.family_feed_urlpatterns)),
    path("meetings/", include("backend.meetings.urls")),
    path("nudges/", include("backend.nudges.urls")),
    path("coping/", include("backend.coping.urls")),
    path("homework/", include("backend.homework.urls")),
]

urlpatterns = [
    # The bare address points a visitor to the interactive docs.
    path("", RedirectView.as_view(pattern_name="docs"), name="root"),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
]

handler400 = "backend.core.errors.bad_request"
handler403 = "backend.core.errors.permission_denied"
handler404 = "backend.core.errors.not_found"
handler500 = "backend.core.errors.server_error"
