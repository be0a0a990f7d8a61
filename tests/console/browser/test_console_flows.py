"""A therapist's, a family member's and a clinic admin's mornings in the console, in Chromium.

The demo data (as `scripts/run.sh` loads it) is the world: Dr. Rivera's patient Sam shares
check-ins, insights, entries, crisis alerts, coping and homework in one consent, and
questionnaires, program attendance and meetings in a second; Jordan (family) sees
check-ins, counters and meetings.
"""

import base64
from datetime import timedelta

import pytest
from django.utils import timezone
from django_otp.oath import totp

from backend.accounts.models import User
from backend.homework.models import Homework
from tests.console.browser.conftest import axe_violations, screenshot
from tests.helpers import client_for

# Serialized rollback: the flush after each test takes the data migrations' rows (skills,
# instruments, templates) too; they come back for the next one.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "demo-recovery-2026"


def code_for(secret_text: str, *, ahead: int = 0) -> str:
    """The authenticator app's code for a key as the setup page shows it (base32, grouped)."""
    key = base64.b32decode(secret_text.replace(" ", ""))
    return f"{totp(key, drift=ahead):06d}"


def sign_in(page, email: str) -> None:
    page.goto("/console/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def enrol_totp(page) -> str:
    """From the set-up page: type the key's current code; returns the key."""
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code from your authenticator app").fill(code_for(secret))
    page.get_by_role("button", name="Turn on").click()
    assert page.locator("#recovery-codes li").count() == 10
    return secret


def look(page, name: str) -> None:
    """Every page: no CSP refusal, no serious or critical axe violation, screenshots."""
    assert page.csp_errors == [], page.csp_errors
    screenshot(page, name)


def audit_both_widths(new_page, path: str, name: str, cookies) -> None:
    """axe-core at both widths (a context that lets the test inject axe), and screenshots."""
    for width in ("desktop", "tablet"):
        page = new_page(width, bypass_csp=True)
        page.context.add_cookies(cookies)
        page.goto(path)
        assert axe_violations(page) == [], (path, width)
        screenshot(page, name)


def test_therapist_enrols_totp_signs_in_and_works_through_the_morning(new_page, demo):
    sam = User.objects.get(email="patient@demo.recovery.test")
    page = new_page()
    sign_in(page, "therapist@demo.recovery.test")
    # No page opens before a second factor is set up.
    assert "/console/two-factor/" in page.url
    look(page, "two-factor-setup")
    secret = enrol_totp(page)
    look(page, "recovery-codes")
    page.get_by_role("link", name="I saved them, go on").click()

    # Sign out and in again: the second factor is asked for, and a wrong code refused.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "therapist@demo.recovery.test")
    assert "/console/sign-in/code/" in page.url
    page.get_by_label("Code").fill("000000" if code_for(secret, ahead=1) != "000000" else "111111")
    page.get_by_role("button", name="Confirm").click()
    assert page.get_by_text("That code is not right").is_visible()
    look(page, "second-factor")
    page.wait_for_timeout(1500)  # django-otp makes a second try wait a second after a failure
    page.get_by_label("Code").fill(code_for(secret, ahead=1))  # the next step: not a replay
    page.get_by_role("button", name="Confirm").click()

    # The caseload: Sam, flagged, first.
    assert page.url.endswith("/console/caseload/")
    first = page.locator("table.caseload tbody tr").first
    assert first.get_attribute("data-patient") == str(sam.pk)
    assert first.locator(".badge").count() >= 1
    look(page, "caseload")

    # Sam's page: the chart's points are the API's insights for the same 30 days.
    first.get_by_role("link", name="Sam").click()
    page.wait_for_selector("#craving-chart[data-drawn='1']")
    drawn = page.evaluate(
        "() => { const c = document.getElementById('craving-chart').chart;"
        " return {labels: c.data.labels, means: c.data.datasets[0].data,"
        " lapses: c.data.datasets[1].data}; }"
    )
    insights = (
        client_for(sam)
        .get(
            "/api/v1/journal/insights/",
            {"from": drawn["labels"][0], "to": drawn["labels"][-1]},
        )
        .json()
    )
    assert drawn["labels"] == [day["date"] for day in insights["days"]]
    assert drawn["means"] == [day["mean_intensity"] for day in insights["days"]]
    assert drawn["lapses"] == [
        day["peak_intensity"] if day["lapses"] else None for day in insights["days"]
    ]
    assert len(drawn["labels"]) == 30
    for heading in ("Cravings, last 30 days", "Questionnaires", "IOP program", "Homework"):
        assert page.get_by_role("heading", name=heading).is_visible()
    look(page, "patient")
    page.get_by_role("link", name="90 days").click()
    page.wait_for_selector("#craving-chart[data-drawn='1']")
    assert (
        page.evaluate("() => document.getElementById('craving-chart').chart.data.labels.length")
        == 90
    )
    look(page, "patient-90-days")

    # The share feed: review an entry with a comment the patient then reads in the app.
    page.get_by_role("link", name="Shared with me").click()
    look(page, "feed")
    item = page.locator("article.feed-item:not(.urgent)").first
    item.get_by_label("Comment for Sam (optional)").fill("Proud of you for logging this.")
    item.get_by_role("button", name="Mark reviewed").click()
    assert page.get_by_text("Your comment was sent").is_visible()
    feedback = client_for(sam).get("/api/v1/me/feedback/").json()["results"]
    assert [f["comment"] for f in feedback] == ["Proud of you for logging this."]

    # Homework: assign from a template.
    page.get_by_role("link", name="Homework").click()
    look(page, "homework")
    before = Homework.objects.filter(patient=sam).count()
    page.get_by_label("Patient", exact=True).select_option(label="Sam")
    page.get_by_label("Template", exact=True).select_option(index=1)
    due = (timezone.now() + timedelta(days=7)).date().isoformat()
    page.get_by_label("Due on (the patient's date)").fill(due)
    page.get_by_role("button", name="Assign").click()
    assert page.get_by_text("Assigned to Sam").is_visible()
    assert Homework.objects.filter(patient=sam).count() == before + 1

    # Sam revokes the consent that shares questionnaires, program and meetings: gone on reload.
    patient_api = client_for(sam)
    grant = next(
        g
        for g in patient_api.get("/api/v1/consents/").json()["results"]
        if "measures" in g["scopes"] and g["state"] == "active"
    )
    assert patient_api.post(f"/api/v1/consents/{grant['id']}/revoke/", {}).status_code == 200
    page.goto(f"/console/patients/{sam.pk}/")
    assert page.get_by_role("heading", name="Questionnaires").count() == 0
    assert page.get_by_role("heading", name="IOP program").count() == 0
    assert page.get_by_role("heading", name="Cravings, last 30 days").is_visible()

    # axe and screenshots at both widths of every therapist page, in this signed-in session.
    cookies = page.context.cookies()
    for path, name in (
        ("/console/caseload/", "caseload"),
        (f"/console/patients/{sam.pk}/", "patient"),
        (f"/console/patients/{sam.pk}/print/", "patient-print"),
        (f"/console/patients/{sam.pk}/nudges/", "nudge-suggestions"),
        ("/console/feed/?state=all", "feed"),
        ("/console/homework/", "homework"),
        ("/console/account/", "account"),
    ):
        audit_both_widths(new_page, path, name, cookies)


def test_a_therapist_without_consent_gets_the_not_found_page(new_page, demo):
    sam = User.objects.get(email="patient@demo.recovery.test")
    stranger = User.objects.create_user(
        "stranger@demo.recovery.test",
        PASSWORD,
        role=User.Role.THERAPIST,
        display_name="Dr. Stranger",
        email_verified_at=timezone.now(),
    )
    page = new_page()
    sign_in(page, stranger.email)
    enrol_totp(page)
    response = page.goto(f"/console/patients/{sam.pk}/")
    assert response.status == 404
    assert page.get_by_role("heading", name="Not found").is_visible()
    assert "Sam" not in page.content()
    look(page, "not-found")


def test_an_idle_session_is_signed_out(new_page, demo, settings):
    settings.CONSOLE_IDLE_SECONDS = 2
    page = new_page()
    sign_in(page, "family@demo.recovery.test")  # no second factor: family may opt in
    assert "/console/family/" in page.url
    # The page's own timer reloads it after the idle limit; the server has signed it out.
    page.wait_for_url("**/console/sign-in/**", timeout=15000)
    assert page.get_by_text("You were signed out").is_visible()
    look(page, "signed-out-idle")


def test_a_patient_cannot_use_the_console(new_page, demo):
    page = new_page()
    sign_in(page, "patient@demo.recovery.test")
    assert page.get_by_text("patients use the app").is_visible()
    look(page, "sign-in-refused")


def test_sign_in_pages_pass_axe(new_page, demo):
    for width in ("desktop", "tablet"):
        page = new_page(width, bypass_csp=True)
        page.goto("/console/sign-in/")
        assert axe_violations(page) == []
        screenshot(page, "sign-in")


def test_a_family_member_sees_only_the_sections_granted(new_page, demo):
    sam = User.objects.get(email="patient@demo.recovery.test")
    page = new_page()
    sign_in(page, "family@demo.recovery.test")
    look(page, "family-home")
    page.get_by_role("link", name="Sam").click()
    # Jordan holds check-ins, counters, meetings and (invited to a family session) the
    # program: those sections, and nothing of the journal or the questionnaires.
    for heading in ("Daily check-ins", "Days sober", "Support-group meetings", "Treatment program"):
        assert page.get_by_role("heading", name=heading).is_visible()
    for absent in ("Questionnaires", "Cravings, last two weeks", "Craving patterns"):
        assert page.get_by_role("heading", name=absent).count() == 0
    assert page.get_by_text("42 CFR part 2 prohibits").is_visible()
    look(page, "family-patient")
    cookies = page.context.cookies()
    audit_both_widths(new_page, "/console/family/", "family-home", cookies)
    audit_both_widths(new_page, f"/console/family/patients/{sam.pk}/", "family-patient", cookies)


def test_clinic_staff_run_therapists_links_and_feeds(new_page, demo):
    page = new_page()
    sign_in(page, "admin@demo.recovery.test")
    assert "/console/two-factor/" in page.url
    enrol_totp(page)
    page.get_by_role("link", name="I saved them, go on").click()
    assert page.url.endswith("/console/staff/therapists/")
    assert page.get_by_text("Dr. Rivera").first.is_visible()
    look(page, "staff-therapists")
    page.get_by_role("link", name="Meeting feeds").click()
    look(page, "staff-feeds")
    page.get_by_role("link", name="Care links").click()
    look(page, "staff-links")
    cookies = page.context.cookies()
    for path, name in (
        ("/console/staff/therapists/", "staff-therapists"),
        ("/console/staff/links/", "staff-links"),
        ("/console/staff/feeds/", "staff-feeds"),
    ):
        audit_both_widths(new_page, path, name, cookies)
