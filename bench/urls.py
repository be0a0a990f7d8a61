"""The project's URLs plus the baselines the benchmarks compare against.

Used only through bench.settings; never part of the production URLconf.
"""

from django.urls import path

from backend.config.urls import (  # noqa: F401 (the same error handlers as the project)
    handler400,
    handler403,
    handler404,
    handler500,
)
from backend.config.urls import urlpatterns as project_urlpatterns
from bench.views import (
    bare_entry_create,
    bare_me,
    bare_measure_response_create,
    full_scan_meeting_search,
)

urlpatterns = [
    *project_urlpatterns,
    path("bench/bare-me/", bare_me, name="bench-bare-me"),
    path("bench/bare-entry/", bare_entry_create, name="bench-bare-entry"),
    path(
        "bench/bare-measure-response/",
        bare_measure_response_create,
        name="bench-bare-measure-response",
    ),
    path("bench/meetings-full-scan/", full_scan_meeting_search, name="bench-meetings-full-scan"),
]
