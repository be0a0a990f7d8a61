"""Writes of nudge rules, preferences, push subscriptions, inbox state and urgent alerts."""

import ipaddress
import socket
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from backend.accounts.models import User
from backend.consent import policy
from backend.core.errors import Conflict
from backend.journal.access import ALERT
from backend.meetings.models import Meeting, SavedMeeting
from backend.meetings.services import meeting_save
from backend.nudges.models import Nudge, NudgePreferences, NudgeRule, PushSubscription
from backend.nudges.wording import DEFAULT_TITLES, URGENT_TITLE, revealing_words
from backend.program.models import AftercarePlan

URGENT_TOLERANCE = timedelta(hours=12)


def check_message(message: str) -> str:
    words = revealing_words(message)
    if words:
        raise ValidationError(
            {
                "message": [
                    "Lock screens are seen by others: leave out words that say what this is "
                    f"about ({', '.join(words)})."
                ]
            }
        )
    return message


def _session_rule_errors(data: dict[str, Any]) -> dict[str, list[str]]:
    errors = {}
    if data.get("times"):
        errors["times"] = ["A session reminder follows your timetable."]
    if not 5 <= data.get("lead_minutes", 0) <= 24 * 60:
        errors["lead_minutes"] = ["How long before the session: 5 minutes to a day."]
    return errors


def _check_rule(data: dict[str, Any], *, kind: str) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    times = data.get("times", [])
    if kind == NudgeRule.Kind.MEETING:
        if data.get("meeting") is None:
            errors["meeting"] = ["Choose one of your saved meetings."]
        if times:
            errors["times"] = ["A meeting reminder follows the meeting's own time."]
    elif kind == NudgeRule.Kind.SESSION:
        errors.update(_session_rule_errors(data))
    elif kind == NudgeRule.Kind.HOMEWORK:
        if times:
            errors["times"] = ["A homework reminder follows the due dates."]
        if data.get("lead_minutes", 0) < 30:
            errors["lead_minutes"] = ["How long before the end of the due date: at least 30."]
    elif not times:
        errors["times"] = ["Give at least one local time, HH:MM."]
    if kind == NudgeRule.Kind.CHECKIN and len(times) > 1:
        errors["times"] = ["A daily check-in reminder has one time."]
    if kind == NudgeRule.Kind.MEASURE and len(times) > 1:
        errors["times"] = ["A questionnaire reminder has one time, on the day it is due."]
    if errors:
        raise ValidationError(errors)
    data["message"] = check_message(data.get("message") or DEFAULT_TITLES[kind])
    return data


@transaction.atomic
def rule_create(
    *, patient: User, data: dict[str, Any], suggested_by: User | None = None
) -> NudgeRule:
    """A patient's rule (active), or a therapist's suggestion (waiting for the patient)."""
    data = _check_rule(dict(data), kind=data["kind"])
    if (
        data.get("meeting") is not None
        and not SavedMeeting.objects.filter(patient=patient, meeting=data["meeting"]).exists()
    ):
        raise ValidationError({"meeting": ["Choose one of your saved meetings."]})
    return NudgeRule.objects.create(
        patient=patient,
        status=NudgeRule.Status.SUGGESTED if suggested_by else NudgeRule.Status.ACTIVE,
        suggested_by=suggested_by,
        **data,
    )


# When a questionnaire's window opens, on the patient's clock, unless they choose another time.
MEASURE_REMINDER_TIME = "18:00"


@transaction.atomic
def measure_reminder_ensure(patient: User) -> NudgeRule | None:
    """A questionnaire was scheduled: the patient gets a reminder rule when a window opens,
    unless they already have one (kept as they set it, paused or not)."""
    if NudgeRule.objects.filter(patient=patient, kind=NudgeRule.Kind.MEASURE).exists():
        return None
    return rule_create(
        patient=patient, data={"kind": NudgeRule.Kind.MEASURE, "times": [MEASURE_REMINDER_TIME]}
    )


def _unplan(rule: NudgeRule) -> None:
    # What was planned from the old settings and not sent yet goes; planning starts afresh.
    rule.nudges.filter(state__in=[Nudge.State.PENDING, Nudge.State.FAILED]).delete()
    NudgeRule.objects.filter(pk=rule.pk).update(next_due_at=None)


@transaction.atomic
def rule_update(*, rule: NudgeRule, data: dict[str, Any]) -> NudgeRule:
    rule = NudgeRule.objects.select_for_update().get(pk=rule.pk)
    if rule.status in (NudgeRule.Status.SUGGESTED, NudgeRule.Status.DECLINED):
        raise Conflict("Accept this suggestion first, then change it.")
    merged = {
        "times": rule.times,
        "weekdays": rule.weekdays,
        "meeting": rule.meeting,
        "message": rule.message,
        "lead_minutes": rule.lead_minutes,
        **data,
    }
    _check_rule(merged, kind=rule.kind)
    for name, value in data.items():
        setattr(rule, name, value)
    rule.message = merged["message"]
    rule.save()
    _unplan(rule)
    return rule


@transaction.atomic
def rule_delete(*, rule: NudgeRule) -> None:
    _unplan(rule)
    rule.delete()


@transaction.atomic
def suggestion_answer(*, rule: NudgeRule, accept: bool) -> NudgeRule:
    rule = NudgeRule.objects.select_for_update().get(pk=rule.pk)
    if rule.status != NudgeRule.Status.SUGGESTED:
        raise Conflict("Only a suggestion waiting for your answer can be accepted or declined.")
    rule.status = NudgeRule.Status.ACTIVE if accept else NudgeRule.Status.DECLINED
    rule.next_due_at = None
    rule.save(update_fields=["status", "next_due_at", "updated_at"])
    return rule


@transaction.atomic
def preferences_update(*, patient: User, daily_cap: int) -> NudgePreferences:
    preferences, _ = NudgePreferences.objects.update_or_create(
        patient=patient, defaults={"daily_cap": daily_cap}
    )
    return preferences


def endpoint_is_public(endpoint: str) -> bool:
    """The host is on the public internet: never a private, loopback or link-local address
    (the scheduler would otherwise POST wherever a user points it)."""
    host = urlsplit(endpoint).hostname or ""
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return True  # unknown name: nothing to reach; sending will simply fail
        # A TCP lookup gives IPv4 or IPv6 addresses, whose first item is a string.
        addresses = {ipaddress.ip_address(cast(str, info[4][0]).split("%")[0]) for info in infos}
    return all(address.is_global for address in addresses)


def _check_endpoint(endpoint: str) -> None:
    parts = urlsplit(endpoint)
    if settings.WEB_PUSH_ALLOW_LOOPBACK and parts.scheme in ("http", "https"):
        return  # tests and local development only
    if parts.scheme != "https" or not parts.hostname:
        raise ValidationError({"endpoint": ["A push endpoint is an https address."]})
    if not endpoint_is_public(endpoint):
        raise ValidationError({"endpoint": ["A push endpoint is a push service's address."]})


def _check_keys(p256dh: bytes, auth: bytes) -> None:
    errors = {}
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), p256dh)
    except ValueError:
        errors["p256dh"] = ["Not a P-256 public key (65 bytes, base64url)."]
    if len(auth) != 16:
        errors["auth"] = ["The auth secret is 16 bytes, base64url."]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def push_subscribe(*, user: User, endpoint: str, p256dh: bytes, auth: bytes, raw: dict) -> Any:
    _check_endpoint(endpoint)
    _check_keys(p256dh, auth)
    existing = PushSubscription.objects.select_for_update().filter(endpoint=endpoint).first()
    if existing is not None and existing.user_id != user.pk:
        raise Conflict("This push subscription belongs to another account.")
    if existing is not None:  # the browser renewed its keys
        existing.p256dh, existing.auth = raw["p256dh"], raw["auth"]
        existing.save(update_fields=["p256dh", "auth"])
        return existing
    try:
        with transaction.atomic():
            return PushSubscription.objects.create(
                user=user, endpoint=endpoint, p256dh=raw["p256dh"], auth=raw["auth"]
            )
    except IntegrityError as exc:
        raise Conflict("This push subscription is already registered.") from exc


@transaction.atomic
def inbox_mark(*, nudge: Nudge, opened: bool) -> Nudge:
    now = timezone.now()
    if opened and nudge.opened_at is None:
        nudge.opened_at = now
        nudge.save(update_fields=["opened_at"])
    if not opened and nudge.dismissed_at is None:
        nudge.dismissed_at = now
        nudge.save(update_fields=["dismissed_at"])
    return nudge


def nudges_stop_for(user: User) -> None:
    """A closed account: nothing more is sent, to no browser."""
    Nudge.objects.filter(
        recipient=user, state__in=[Nudge.State.PENDING, Nudge.State.FAILED]
    ).update(state=Nudge.State.SKIPPED, last_error="account closed")
    PushSubscription.objects.filter(user=user).delete()


def crisis_alerts_enqueue(alerts: Iterable) -> int:
    """Urgent outbox rows for everyone whose consent covers crisis alerts (same transaction).

    The title says nothing of why: it may show on a locked phone.
    """
    alerts = list(alerts)
    if not alerts:
        return 0
    now = timezone.now()
    rows = []
    recipients = policy.alert_recipients(alerts, kind=ALERT, now=now)
    for alert in alerts:
        for recipient_id in sorted(recipients[alert.pk], key=str):
            rows.append(
                Nudge(
                    recipient_id=recipient_id,
                    alert=alert,
                    slot=now,
                    due_at=now,
                    next_attempt_at=now,
                    title=URGENT_TITLE,
                    urgent=True,
                    tolerance=URGENT_TOLERANCE,
                )
            )
    Nudge.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


SESSION_LEAD_MINUTES = 60


@transaction.atomic
def session_reminders_start(*, patient: User) -> NudgeRule:
    """On enrolment: "before my next session" is on by default (an hour ahead, in the
    patient's zone and quiet hours). A rule the patient already has is switched back on,
    with their own words and lead kept."""
    rule = (
        NudgeRule.objects.select_for_update()
        .filter(patient=patient, kind=NudgeRule.Kind.SESSION)
        .exclude(status=NudgeRule.Status.DECLINED)
        .order_by("created_at")
        .first()
    )
    if rule is None:
        return rule_create(
            patient=patient,
            data={"kind": NudgeRule.Kind.SESSION, "lead_minutes": SESSION_LEAD_MINUTES},
        )
    if rule.status != NudgeRule.Status.ACTIVE:
        rule.status = NudgeRule.Status.ACTIVE
        rule.save(update_fields=["status", "updated_at"])
        _unplan(rule)
    return rule


@transaction.atomic
def session_reminders_stop(*, patient: User) -> int:
    """The enrolment ended: session reminders pause (kept for a next program); what was
    planned and not sent goes. Returns the rules paused."""
    rules = list(
        NudgeRule.objects.select_for_update().filter(
            patient=patient, kind=NudgeRule.Kind.SESSION, status=NudgeRule.Status.ACTIVE
        )
    )
    for rule in rules:
        rule.status = NudgeRule.Status.PAUSED
        rule.save(update_fields=["status", "updated_at"])
        _unplan(rule)
    return len(rules)


AFTERCARE_MEETING_LEAD_MINUTES = 60
# The enrolment ended into aftercare (not a discharge or a withdrawal).
INTO_AFTERCARE = ("stepped_down", "completed")


@transaction.atomic
def aftercare_reminders_start(*, patient: User, plan: AftercarePlan) -> list[NudgeRule]:
    """Step-down or completion with an accepted aftercare plan: reminders follow the plan.

    A reminder before each support-group meeting committed to (saved to the patient's
    meetings if need be; meetings gone from the finder are left out) and the weekly
    check-in, each once: a rule the patient already has for it is kept as it is.
    """
    made = []
    meeting_ids = [row.get("meeting") for row in plan.meetings]
    meetings = Meeting.objects.filter(
        pk__in=meeting_ids, retired_at__isnull=True, day__isnull=False
    )
    for meeting in meetings:
        meeting_save(patient=patient, meeting=meeting)
        if not NudgeRule.objects.filter(
            patient=patient, kind=NudgeRule.Kind.MEETING, meeting=meeting
        ).exists():
            made.append(
                rule_create(
                    patient=patient,
                    data={
                        "kind": NudgeRule.Kind.MEETING,
                        "meeting": meeting,
                        "lead_minutes": AFTERCARE_MEETING_LEAD_MINUTES,
                    },
                )
            )
    if plan.weekly_checkin_time is not None and plan.weekly_checkin_weekday is not None:
        at = plan.weekly_checkin_time.strftime("%H:%M")
        weekly = [plan.weekly_checkin_weekday]
        if not NudgeRule.objects.filter(
            patient=patient, kind=NudgeRule.Kind.CHECKIN, times=[at], weekdays=weekly
        ).exists():
            made.append(
                rule_create(
                    patient=patient,
                    data={"kind": NudgeRule.Kind.CHECKIN, "times": [at], "weekdays": weekly},
                )
            )
    return made
