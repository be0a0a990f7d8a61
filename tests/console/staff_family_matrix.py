"""The clinic staff's and family member's console pages x personas -> expected status.

Data for the access matrix (tests/test_access_matrix.py merges it); checked as it stands by
``test_the_staff_and_family_access_matrix_holds`` in tests/console/test_staff_pages.py.

Format of ``CASES``: one tuple per (page, method, persona):

    (persona, method, url_name, kwargs_builder, expected_status)

- ``persona``: a fixture name of tests/conftest.py, or "anonymous" (no session). Signed in
  with tests.console.helpers.console_client(user, verified=...): therapists and clinic
  staff with a verified second factor, patients and family without one (they need none).
- ``method``: "GET" or "POST". POSTs send an empty form (a valid CSRF token is not
  enforced by the test client): a page whose form it fails answers 400.
- ``url_name``: the console URL name, without the "console:" namespace.
- ``kwargs_builder``: a key of ``BUILDERS``: a function of the ``patient`` fixture that
  returns the URL's kwargs (creating what they name: a throwaway therapist, a feed without
  a URL so that "import now" fetches nothing).
- ``expected_status``: 302 for anonymous (to the sign-in page), 403 for a role that can
  never use the page, 404 for a patient the viewer may not see, 405 for a GET on a POST-only
  action, else what the page answers its role (200, 302 after a successful POST, 400 for
  an empty form).
"""

from collections.abc import Callable
from typing import Any

from backend.meetings.models import MeetingFeed
from tests.factories import TherapistFactory

PERSONAS = (
    "anonymous",
    "patient",
    "granted_therapist",
    "clinic_admin",
    "family_granted",
    "family_revoked",
)


def _no_kwargs(patient: Any) -> dict[str, Any]:
    return {}


def _patient(patient: Any) -> dict[str, Any]:
    return {"patient_id": patient.pk}


def _fresh_therapist(patient: Any) -> dict[str, Any]:
    return {"therapist_id": TherapistFactory().pk}


def _feed_without_url(patient: Any) -> dict[str, Any]:
    feed, _ = MeetingFeed.objects.get_or_create(
        name="matrix-feed", defaults={"fellowship": "AA", "time_zone": "America/New_York"}
    )
    return {"feed_id": feed.pk}


BUILDERS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "none": _no_kwargs,
    "patient": _patient,
    "therapist": _fresh_therapist,
    "feed": _feed_without_url,
}


def _rows(
    method: str, url_name: str, builder: str, statuses: dict[str, int]
) -> list[tuple[str, str, str, str, int]]:
    assert set(statuses) == set(PERSONAS), url_name
    return [(persona, method, url_name, builder, statuses[persona]) for persona in PERSONAS]


def _staff(own: int, *, others: int = 403) -> dict[str, int]:
    """A clinic staff page: ``own`` for clinic staff, ``others`` for every other role."""
    return {
        "anonymous": 302,
        "patient": others,
        "granted_therapist": others,
        "clinic_admin": own,
        "family_granted": others,
        "family_revoked": others,
    }


def _family(granted: int, revoked: int) -> dict[str, int]:
    return {
        "anonymous": 302,
        "patient": 403,
        "granted_therapist": 403,
        "clinic_admin": 403,
        "family_granted": granted,
        "family_revoked": revoked,
    }


CASES: list[tuple[str, str, str, str, int]] = [
    *_rows("GET", "staff-therapists", "none", _staff(200)),
    *_rows("POST", "staff-therapists", "none", _staff(400)),
    *_rows("GET", "staff-therapist-deactivate", "therapist", _staff(405)),
    *_rows("POST", "staff-therapist-deactivate", "therapist", _staff(302)),
    *_rows("GET", "staff-links", "none", _staff(200)),
    *_rows("POST", "staff-links", "none", _staff(400)),
    *_rows("GET", "staff-feeds", "none", _staff(200)),
    *_rows("GET", "staff-feed-import", "feed", _staff(405)),
    *_rows("POST", "staff-feed-import", "feed", _staff(302)),
    *_rows("GET", "family-home", "none", _family(200, 200)),
    *_rows("GET", "family-patient", "patient", _family(200, 404)),
]
