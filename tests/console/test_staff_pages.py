"""Clinic staff's console pages: therapists, care links and invites, meeting feeds."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY

from backend.accounts.models import User
from backend.care import services as care_services
from backend.care.models import CareInvite, CareLink
from backend.consent.models import ConsentGrant
from backend.consent.scopes import Scope
from backend.meetings import importer
from backend.meetings.models import Meeting, MeetingFeed
from tests.console.helpers import console_client, verified_device
from tests.factories import (
    CareLinkFactory,
    FamilyFactory,
    PatientFactory,
    TherapistFactory,
    grant_for,
)
from tests.helpers import assert_flat_queries

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
DEMO_FEED = Path(importer.__file__).parent / "fixtures" / "demo_feed.json"
FEED_URL = "https://feeds.example.test/meetings.json"
STAFF_PAGES = ("console:staff-therapists", "console:staff-links", "console:staff-feeds")
GOOD_THERAPIST = {
    "display_name": "Dr. Rivera",
    "email": "Rivera@Clinic.example.test",
    "password": "a-long-unusual-passphrase-42",
    "time_zone": "America/Chicago",
}


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def staff(clinic_admin) -> Client:
    return console_client(clinic_admin)


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _field_errors(response, field: str) -> list[str]:
    form = response.context["form"]
    return form.errors.get(field, [])


# --- who may open the staff pages -------------------------------------------------------------


@pytest.mark.parametrize("name", STAFF_PAGES)
def test_a_clinic_admin_opens_each_staff_page_privately(staff, name):
    response = staff.get(reverse(name))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    # Staff pages show no patient's records, so no redisclosure notice.
    assert b"42 CFR part 2" not in response.content


@pytest.mark.parametrize("name", STAFF_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(name):
    response = Client().get(reverse(name))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:sign-in"))
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("name", STAFF_PAGES)
@pytest.mark.parametrize("persona", ["granted_therapist", "family_granted", "patient"])
def test_other_roles_get_the_403_page(request, name, persona):
    user = request.getfixturevalue(persona)
    client = console_client(user, verified=user.role == User.Role.THERAPIST)

    response = client.get(reverse(name))

    assert response.status_code == 403
    assert b"Not allowed" in response.content
    assert "no-store" in response["Cache-Control"]


def test_a_clinic_admin_without_a_second_factor_is_sent_to_set_one_up(clinic_admin):
    response = console_client(clinic_admin, verified=False).get(reverse("console:staff-links"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:two-factor-setup"))


def test_a_post_without_the_csrf_token_is_refused(clinic_admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(clinic_admin)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = verified_device(clinic_admin).persistent_id
    session.save()

    response = client.post(reverse("console:staff-therapists"), GOOD_THERAPIST)

    assert response.status_code == 403
    assert not User.objects.filter(email="rivera@clinic.example.test").exists()


# --- therapists ---------------------------------------------------------------------------


def test_the_therapists_page_lists_each_therapist_with_state_and_caseload(staff, clinic_admin):
    busy = TherapistFactory(display_name="Dr. Busy")
    CareLinkFactory(therapist=busy)
    CareLinkFactory(therapist=busy)
    ended = CareLinkFactory(therapist=busy)
    care_services.link_end(link=ended, by=clinic_admin)
    TherapistFactory(display_name="Dr. Gone", is_active=False)

    response = staff.get(reverse("console:staff-therapists"))

    rows = {row.display_name: row for row in response.context["page"].object_list}
    assert set(rows) == {"Dr. Busy", "Dr. Gone"}
    assert rows["Dr. Busy"].caseload == 2  # the ended link does not count
    assert rows["Dr. Gone"].caseload == 0
    text = response.content.decode()
    assert "Active" in text
    assert "Inactive" in text
    assert "2 patients" in text


def test_the_therapists_page_costs_the_same_queries_for_1_and_10_therapists(staff):
    def prepare(size):
        while User.objects.filter(role=User.Role.THERAPIST).count() < size:
            CareLinkFactory(therapist=TherapistFactory())

    count = assert_flat_queries(
        lambda size: staff.get(reverse("console:staff-therapists")),
        prepare=prepare,
        at_most=10,
    )
    assert count > 0


def test_a_clinic_admin_adds_a_therapist_who_can_then_sign_in(staff):
    response = staff.post(reverse("console:staff-therapists"), GOOD_THERAPIST)

    assert response.status_code == 302
    assert response["Location"] == reverse("console:staff-therapists")
    therapist = User.objects.get(email="rivera@clinic.example.test")
    assert therapist.role == User.Role.THERAPIST
    assert therapist.email_verified
    assert therapist.time_zone == "America/Chicago"
    assert therapist.check_password(GOOD_THERAPIST["password"])
    assert any("can sign in now" in message for message in _messages(response))


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"password": "password"}, "password", "too common"),
        ({"password": "short"}, "password", "too short"),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"email": "admin@example.test"}, "email", "exists already"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "not a known IANA time zone"),
        ({"display_name": ""}, "display_name", "required"),
    ],
)
def test_a_bad_therapist_form_is_shown_again_with_its_field_error_and_creates_nothing(
    staff, change, field, message
):
    before = User.objects.count()

    response = staff.post(reverse("console:staff-therapists"), {**GOOD_THERAPIST, **change})

    assert response.status_code == 400
    errors = _field_errors(response, field)
    assert any(message in error for error in errors), errors
    assert f'id="id_{field}_error"' in response.content.decode()
    assert User.objects.count() == before
    # The password is never echoed back into the page.
    assert GOOD_THERAPIST["password"] not in response.content.decode()


def test_deactivating_a_therapist_closes_the_account_ends_links_and_revokes_consents(
    staff, clinic_admin, patient, granted_therapist
):
    their_session = console_client(granted_therapist)
    assert their_session.get(reverse("console:account")).status_code == 200
    invite, _ = care_services.invite_create(therapist=granted_therapist)

    response = staff.post(
        reverse("console:staff-therapist-deactivate", args=[granted_therapist.pk])
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("console:staff-therapists")
    granted_therapist.refresh_from_db()
    assert not granted_therapist.is_active
    assert granted_therapist.deactivated_at == NOW
    link = CareLink.objects.get(therapist=granted_therapist, patient=patient)
    assert link.ended_at == NOW
    assert link.ended_by == clinic_admin
    assert not ConsentGrant.objects.filter(
        recipient=granted_therapist, revoked_at__isnull=True
    ).exists()
    assert any("1 care link ended" in message for message in _messages(response))
    invite.refresh_from_db()
    assert invite.revoked_at == NOW  # their unused code leaves the open invites
    # Their open console session is signed out on its next page.
    after = their_session.get(reverse("console:account"))
    assert after.status_code == 302
    assert after["Location"].startswith(reverse("console:sign-in"))


def test_deactivating_a_closed_therapist_again_changes_nothing(staff, clinic_admin):
    therapist = TherapistFactory(is_active=False)

    response = staff.post(reverse("console:staff-therapist-deactivate", args=[therapist.pk]))

    assert response.status_code == 302
    assert any("closed already" in message for message in _messages(response))


@pytest.mark.parametrize("who", ["patient", "clinic_admin", "nobody"])
def test_only_a_therapist_can_be_deactivated_here_anyone_else_is_the_404_page(
    staff, patient, clinic_admin, who
):
    target = {"patient": patient, "clinic_admin": clinic_admin}.get(who)
    target_id = target.pk if target else "00000000-0000-0000-0000-000000000000"

    response = staff.post(reverse("console:staff-therapist-deactivate", args=[target_id]))

    assert response.status_code == 404
    assert b"Not found" in response.content
    if target is not None:
        target.refresh_from_db()
        assert target.is_active


def test_deactivation_answers_only_a_post(staff):
    therapist = TherapistFactory()

    response = staff.get(reverse("console:staff-therapist-deactivate", args=[therapist.pk]))

    assert response.status_code == 405
    therapist.refresh_from_db()
    assert therapist.is_active


# --- care links and invites -------------------------------------------------------------------


def test_the_links_page_shows_who_is_linked_since_when_and_what_ended(staff, clinic_admin):
    therapist = TherapistFactory(display_name="Dr. Lane")
    active = CareLinkFactory(therapist=therapist, patient=PatientFactory(display_name="Robin"))
    ended = CareLinkFactory(therapist=therapist, patient=PatientFactory(display_name="Casey"))
    care_services.link_end(link=ended, by=clinic_admin)
    care_services.invite_create(therapist=therapist)

    response = staff.get(reverse("console:staff-links"))

    links = {link.pk: link for link in response.context["page"].object_list}
    assert set(links) == {active.pk, ended.pk}
    text = response.content.decode()
    assert "Robin" in text
    assert "Casey" in text
    assert "Ended" in text
    assert "2026-11-18" in text
    assert response.context["invites_total"] == 1
    # One "End link" button: only the active link can be ended.
    assert text.count('name="action" value="end"') == 1


def test_the_links_page_costs_the_same_queries_for_1_and_10_links(staff):
    def prepare(size):
        while CareLink.objects.count() < size:
            link = CareLinkFactory()
            care_services.invite_create(therapist=link.therapist)

    assert_flat_queries(
        lambda size: staff.get(reverse("console:staff-links")), prepare=prepare, at_most=12
    )


def test_staff_create_an_invite_for_a_therapist_and_see_its_code_once(staff, patient):
    therapist = TherapistFactory(display_name="Dr. Invite")

    response = staff.post(reverse("console:staff-links"), {"therapist": therapist.pk})

    assert response.status_code == 200
    code = response.context["code"]
    assert code
    assert code in response.content.decode()
    invite = CareInvite.objects.get(therapist=therapist)
    assert invite.code_hash != code  # only its hash is stored
    # The code works: the patient who enters it joins the therapist's care team.
    link = care_services.invite_redeem(patient=patient, code=code)
    assert link.therapist == therapist
    # Shown once: the page does not show it again.
    assert code not in staff.get(reverse("console:staff-links")).content.decode()


@pytest.mark.parametrize("choice", ["", "inactive", "patient", "not-a-uuid"])
def test_an_invite_needs_an_open_therapist_account_and_creates_nothing_otherwise(
    staff, patient, choice
):
    value = {
        "": "",
        "inactive": lambda: TherapistFactory(is_active=False).pk,
        "patient": lambda: patient.pk,
        "not-a-uuid": "123",
    }[choice]
    value = value() if callable(value) else value

    response = staff.post(reverse("console:staff-links"), {"therapist": value})

    assert response.status_code == 400
    assert _field_errors(response, "therapist")
    assert 'id="id_therapist_error"' in response.content.decode()
    assert not CareInvite.objects.exists()


def test_staff_end_a_link_and_the_consents_given_through_it_are_revoked(
    staff, clinic_admin, patient
):
    therapist = TherapistFactory()
    link = CareLinkFactory(patient=patient, therapist=therapist)
    grant_for(patient, therapist, [Scope.CHECKINS])

    response = staff.post(reverse("console:staff-links"), {"action": "end", "link": link.pk})

    assert response.status_code == 302
    link.refresh_from_db()
    assert link.ended_at == NOW
    assert link.ended_by == clinic_admin
    assert not ConsentGrant.objects.filter(recipient=therapist, revoked_at__isnull=True).exists()
    assert any("no longer on" in message for message in _messages(response))


def test_ending_a_link_that_ended_already_is_the_404_page(staff, clinic_admin):
    link = CareLinkFactory()
    care_services.link_end(link=link, by=clinic_admin)

    response = staff.post(reverse("console:staff-links"), {"action": "end", "link": link.pk})

    assert response.status_code == 404


def test_ending_a_link_without_a_valid_id_is_a_400_page(staff):
    response = staff.post(reverse("console:staff-links"), {"action": "end", "link": "nope"})

    assert response.status_code == 400
    assert b"could not be found" in response.content


# --- meeting feeds ------------------------------------------------------------------------------


class _FakeResponse:
    """What requests.get answers, for the importer: a status, headers and the body in chunks."""

    def __init__(self, body: bytes, status: int = 200):
        self.status_code = status
        self.url = FEED_URL
        self.headers = {"Content-Type": "application/json"}
        self._body = body

    def iter_content(self, chunk_size):
        for start in range(0, len(self._body), chunk_size):
            yield self._body[start : start + chunk_size]

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture
def feed(db) -> MeetingFeed:
    return MeetingFeed.objects.create(
        name="demo-intergroup", fellowship="AA", url=FEED_URL, time_zone="America/New_York"
    )


@pytest.fixture
def serve_feed(monkeypatch):
    """Answer the feed's URL with the demo feed (or ``status``), counting the fetches."""
    calls = []

    def serve(status=200):
        def get(url, **kwargs):
            calls.append(url)
            return _FakeResponse(DEMO_FEED.read_bytes(), status)

        monkeypatch.setattr(importer.requests, "get", get)
        return calls

    return serve


def test_import_now_imports_the_feed_and_reports_what_changed(staff, feed, serve_feed):
    calls = serve_feed()

    response = staff.post(reverse("console:staff-feed-import", args=[feed.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("console:staff-feeds")
    assert calls == [FEED_URL]
    feed.refresh_from_db()
    assert feed.last_status == "ok"
    assert feed.last_imported_at == NOW
    created = feed.last_report["created"]
    assert created == Meeting.objects.filter(feed=feed).count() > 0
    [message] = _messages(response)
    assert f"demo-intergroup: {created} created" in message

    page = staff.get(reverse("console:staff-feeds"))
    [row] = page.context["rows"]
    assert row["summary"].startswith(f"{created} created, 0 updated")
    assert row["feed"].listed == created
    assert "2026-11-18 10:00 EST" in page.content.decode()  # on the admin's clock


def test_a_failed_import_is_reported_and_changes_no_meeting(staff, feed, serve_feed):
    serve_feed(status=503)

    response = staff.post(reverse("console:staff-feed-import", args=[feed.pk]), follow=True)

    assert response.status_code == 200
    text = response.content.decode()
    assert "the import failed" in text
    assert "HTTP 503" in text
    feed.refresh_from_db()
    assert feed.last_status == "failed"
    assert not Meeting.objects.exists()
    [row] = response.context["rows"]
    assert row["summary"] == "Failed: The feed answered HTTP 503."


def test_a_feed_without_a_url_is_not_fetched(staff, feed, serve_feed):
    calls = serve_feed()
    MeetingFeed.objects.filter(pk=feed.pk).update(url="")

    response = staff.post(reverse("console:staff-feed-import", args=[feed.pk]))

    assert response.status_code == 302
    assert calls == []
    assert any("no URL" in message for message in _messages(response))


def test_importing_an_unknown_feed_is_the_404_page_and_a_get_is_refused(staff, feed):
    assert staff.post(reverse("console:staff-feed-import", args=[feed.pk + 99])).status_code == 404
    assert staff.get(reverse("console:staff-feed-import", args=[feed.pk])).status_code == 405


def test_the_feeds_page_costs_the_same_queries_for_1_and_10_feeds(staff):
    def prepare(size):
        for number in range(MeetingFeed.objects.count(), size):
            MeetingFeed.objects.create(
                name=f"feed-{number}",
                fellowship="NA",
                url=FEED_URL,
                time_zone="America/New_York",
                last_status="ok",
                last_report={"created": 3, "rejected": [{"record": "x", "reason": "no day"}]},
            )

    assert_flat_queries(
        lambda size: staff.get(reverse("console:staff-feeds")), prepare=prepare, at_most=8
    )


def test_family_and_therapists_cannot_import_a_feed(feed, serve_feed, family_granted):
    calls = serve_feed()
    therapist = TherapistFactory()
    for user in (therapist, family_granted, FamilyFactory()):
        client = console_client(user, verified=user.role == User.Role.THERAPIST)
        assert client.post(reverse("console:staff-feed-import", args=[feed.pk])).status_code == 403
    assert calls == []
    assert MeetingFeed.objects.get(pk=feed.pk).last_status == ""


# --- the access matrix of the staff and family pages ---------------------------------------------
