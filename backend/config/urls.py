"""The whole URL map: each app's own patterns, composed here (apps never mount each other's).

Some paths sit under another app's prefix because that is where a client looks for
them (a therapist's feed under /care/); the views stay in the app that owns them.
"""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from backend.accounts.urls import auth_urlpatterns, me_urlpatterns
from backend.core.views import healthz
from backend.disclosure.views import DisclosureListView
from backend.journal import report_views as journal_reports
from backend.nudges import views as nudge_views
from backend.sharing import summary_views
from backend.sharing import views as sharing_views

care_elsewhere = [
    path("feed/", sharing_views.CareFeedView.as_view(), name="care-feed"),
    path(
        "feed/<uuid:item_id>/review/",
        sharing_views.CareFeedReviewView.as_view(),
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

family_elsewhere = [
    path("feed/", sharing_views.FamilyFeedView.as_view(), name="family-feed"),
    path(
        "feed/<uuid:item_id>/review/",
        sharing_views.FamilyFeedReviewView.as_view(),
        name="family-feed-review",
    ),
    path(
        "patients/<uuid:patient_id>/summary/",
        summary_views.FamilyPatientSummaryView.as_view(),
        name="family-patient-summary",
    ),
]

me_elsewhere = [
    path("disclosures/", DisclosureListView.as_view(), name="me-disclosures"),
    path("feedback/", sharing_views.FeedbackView.as_view(), name="me-feedback"),
]

coping_elsewhere = [
    path(
        "effectiveness/",
        journal_reports.SkillEffectivenessView.as_view(),
        name="coping-effectiveness",
    ),
]

api_v1 = [
    path("auth/", include(auth_urlpatterns)),
    path("me/", include(me_urlpatterns + me_elsewhere)),
    path("care/", include("backend.care.urls")),
    path("care/", include(care_elsewhere)),
    path("journal/", include("backend.journal.urls")),
    path("consents/", include("backend.consent.urls")),
    path("family/", include("backend.family.urls")),
    path("family/", include(family_elsewhere)),
    path("meetings/", include("backend.meetings.urls")),
    path("nudges/", include("backend.nudges.urls")),
    path("coping/", include("backend.coping.urls")),
    path("coping/", include(coping_elsewhere)),
    path("homework/", include("backend.homework.urls")),
    path("measures/", include("backend.measures.urls")),
    path("fhir/", include("backend.exchange.urls")),
    path("program/", include("backend.program.urls")),
]

urlpatterns = [
    # The bare address points a visitor to the interactive docs.
    path("", RedirectView.as_view(pattern_name="docs"), name="root"),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
    path("console/", include("backend.console.urls")),
]

# Errors answer in the project's one problem shape (JSON), except under /console/, where a
# person reads them: there they are the console's pages.
handler400 = "backend.core.errors.bad_request"
handler403 = "backend.console.errors.permission_denied"
handler404 = "backend.console.errors.not_found"
handler500 = "backend.console.errors.server_error"
