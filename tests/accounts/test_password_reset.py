import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.accounts import services
from backend.accounts.models import AccountEmail
from backend.accounts.outbox import account_emails_send
from tests.accounts import mail_backends
from tests.factories import PASSWORD
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

RESET = "/api/v1/auth/password/reset/"


def _code(message) -> dict:
    return {
        "uid": re.search(r"uid: (\S+)", message.body).group(1),
        "token": re.search(r"token: (\S+)", message.body).group(1),
    }


def test_a_reset_code_sets_a_new_password_once_and_revokes_old_tokens(api, patient):
    old = services.tokens_issue(user=patient)
    assert api.post(RESET, {"email": patient.email}).status_code == 202
    assert account_emails_send()["sent"] == 1
    code = _code(mail.outbox[0])
    confirm = {**code, "new_password": "reset-passphrase-2026"}
    assert (
        api.post("/api/v1/auth/password/reset/confirm/", confirm, format="json").status_code == 204
    )
    assert_problem(api.post("/api/v1/auth/password/reset/confirm/", confirm, format="json"), 400)
    patient.refresh_from_db()
    assert patient.check_password("reset-passphrase-2026")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {old['access']}")
    assert_problem(api.get("/api/v1/me/"), 401)


def test_reset_for_an_unknown_email_answers_the_same_and_sends_nothing(api, patient):
    known = api.post(RESET, {"email": patient.email})
    unknown = api.post(RESET, {"email": "ghost@example.test"})
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    account_emails_send()
    assert [m.to for m in mail.outbox] == [[patient.email]]


def test_the_request_never_waits_for_the_mail_server_known_address_or_not(
    api, patient, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.accounts.mail_backends.RecordingBackend"
    mail_backends.calls.clear()
    queries = {}
    for address in (patient.email, "ghost@example.test"):
        with (
            CaptureQueriesContext(connection) as captured,
            django_capture_on_commit_callbacks(execute=True),
        ):
            assert api.post(RESET, {"email": address}).status_code == 202
        queries[address] = [q["sql"].split(" ")[0] for q in captured.captured_queries]
    # Nothing mailed while answering, and the same statements for either address.
    assert mail_backends.calls == []
    assert queries[patient.email] == queries["ghost@example.test"]

    assert account_emails_send() == {"sent": 1, "dropped": 1, "failed": 0}
    assert [m.to for m in mail.outbox] == [[patient.email]]
    assert AccountEmail.objects.count() == 0


def test_asking_again_before_the_email_went_out_sends_one_email(api, patient):
    for _ in range(5):
        api.post(RESET, {"email": patient.email.upper()})
    account_emails_send()
    assert len(mail.outbox) == 1


def test_a_failed_send_is_retried_later_and_then_given_up(api, patient, settings):
    settings.EMAIL_BACKEND = "tests.accounts.mail_backends.FailingBackend"
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        api.post(RESET, {"email": patient.email})
        assert account_emails_send()["failed"] == 1
        assert account_emails_send() == {"sent": 0, "dropped": 0, "failed": 0}
        clock.shift(timedelta(seconds=30))
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        assert account_emails_send()["sent"] == 1
    assert [m.to for m in mail.outbox] == [[patient.email]]


def test_a_request_nobody_sent_within_the_code_lifetime_is_dropped(api, patient, settings):
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        api.post(RESET, {"email": patient.email})
        clock.shift(timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 1))
        assert account_emails_send()["dropped"] == 1
    assert mail.outbox == []


@pytest.mark.parametrize(
    "body",
    [
        {"uid": "garbage", "token": "garbage", "new_password": "reset-passphrase-2026"},
        {"uid": "", "token": "", "new_password": "reset-passphrase-2026"},
        {"uid": "AAAA", "token": "x-y", "new_password": "reset-passphrase-2026"},
    ],
)
def test_bad_reset_codes_are_refused(api, patient, body):
    assert_problem(api.post("/api/v1/auth/password/reset/confirm/", body, format="json"), 400)
    patient.refresh_from_db()
    assert patient.check_password(PASSWORD)


def test_a_refused_address_never_reaches_the_log(api, patient, settings, caplog):
    settings.EMAIL_BACKEND = "tests.accounts.mail_backends.RefusingBackend"
    caplog.set_level(logging.DEBUG)
    api.post(RESET, {"email": patient.email})
    assert account_emails_send()["failed"] == 1
    assert "SMTPRecipientsRefused" in caplog.text
    assert patient.email not in caplog.text
