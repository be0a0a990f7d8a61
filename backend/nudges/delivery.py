"""Delivery: claim due outbox rows, send them, record the outcome, retry with backoff.

Claiming takes rows with SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL (so
concurrent senders never take the same row) and with a conditional UPDATE on
SQLite (one writer at a time; a row whose state changed under us is not ours).
A claim is a lease: a sender that dies leaves its rows to be claimed again after
CLAIM_LEASE. A nudge whose moment passed by more than its tolerance while no
scheduler ran is skipped, never sent late. Every sent nudge is in the recipient's
in-app inbox; Web Push goes to their subscriptions as well.
"""

import json
import logging
import time as clock
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from pywebpush import WebPushException, webpush

from backend.consent import policy
from backend.journal.access import ALERT
from backend.nudges.models import Delivery, Nudge, PushSubscription
from backend.nudges.services import endpoint_is_public

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(seconds=30)
BATCH = 500


def _deliverable(now: datetime) -> Q:
    waiting = Q(state__in=[Nudge.State.PENDING, Nudge.State.FAILED], next_attempt_at__lte=now)
    abandoned = Q(state=Nudge.State.SENDING, claimed_until__lt=now)
    return waiting | abandoned


def claim(now: datetime | None = None, *, limit: int = BATCH) -> list[Nudge]:
    """Take up to ``limit`` due rows for this sender (a lease of CLAIM_LEASE)."""
    now = now or timezone.now()
    lease = now + timedelta(seconds=settings.NUDGE_CLAIM_LEASE_SECONDS)
    token = uuid.uuid4()
    if connection.vendor == "postgresql":
        with transaction.atomic():
            ids = list(
                Nudge.objects.select_for_update(skip_locked=True)
                .filter(_deliverable(now))
                .order_by("next_attempt_at")
                .values_list("pk", flat=True)[:limit]
            )
            Nudge.objects.filter(pk__in=ids).update(
                state=Nudge.State.SENDING,
                claimed_until=lease,
                claim=token,
                attempts=F("attempts") + 1,
            )
    else:
        # SQLite has one writer at a time: one conditional UPDATE claims atomically.
        candidates = list(
            Nudge.objects.filter(_deliverable(now))
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        Nudge.objects.filter(pk__in=candidates).filter(_deliverable(now)).update(
            state=Nudge.State.SENDING,
            claimed_until=lease,
            claim=token,
            attempts=F("attempts") + 1,
        )
        ids = list(Nudge.objects.filter(claim=token).values_list("pk", flat=True))
    return list(
        Nudge.objects.filter(pk__in=ids)
        .select_related("recipient", "alert")
        .order_by("next_attempt_at")
    )


@dataclass
class Outcome:
    ok: bool
    error: str = ""


def send_web_push(nudge: Nudge) -> Outcome:
    """Push the neutral title to every subscription of the recipient (none: nothing to do)."""
    subscriptions = list(PushSubscription.objects.filter(user_id=nudge.recipient_id))
    if not subscriptions or not settings.VAPID_PRIVATE_KEY:
        return Outcome(True)
    failures = []
    payload = json.dumps({"id": str(nudge.pk), "title": nudge.title, "urgent": nudge.urgent})
    for subscription in subscriptions:
        if not settings.WEB_PUSH_ALLOW_LOOPBACK and not endpoint_is_public(subscription.endpoint):
            failures.append("the endpoint no longer points at a public address")
            continue
        try:
            webpush(
                subscription_info={
                    "endpoint": subscription.endpoint,
                    "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
                },
                data=payload,
                vapid_private_key=settings.VAPID_PRIVATE_KEY,
                vapid_claims={"sub": settings.VAPID_SUBJECT},
                ttl=int(nudge.tolerance.total_seconds()),
                timeout=settings.WEB_PUSH_TIMEOUT,
                headers={"Urgency": "high" if nudge.urgent else "normal"},
            )
            Delivery.objects.create(nudge=nudge, channel="web_push", ok=True)
        except WebPushException as exc:
            status = getattr(exc.response, "status_code", None)
            if status in (404, 410):
                subscription.delete()  # the browser unsubscribed: not a failure of ours
                continue
            failures.append(f"push service answered {status or 'nothing'}")
        except Exception as exc:
            failures.append(type(exc).__name__)
    if failures and len(failures) == len(subscriptions):
        return Outcome(False, "; ".join(failures)[:300])
    return Outcome(True)


@transaction.atomic
def _finish(nudge: Nudge, outcome: Outcome, now: datetime) -> None:
    # Only the round that holds the claim records the outcome: a sender whose lease
    # ran out (and whose rows another sender took) changes nothing.
    mine = Nudge.objects.filter(pk=nudge.pk, state=Nudge.State.SENDING, claim=nudge.claim)
    if outcome.ok:
        if mine.update(state=Nudge.State.SENT, sent_at=now, claimed_until=None, last_error=""):
            Delivery.objects.create(nudge=nudge, channel="inbox", ok=True)
        return
    Delivery.objects.create(nudge=nudge, channel="web_push", ok=False, detail=outcome.error)
    if nudge.attempts >= MAX_ATTEMPTS:
        mine.update(state=Nudge.State.DEAD, claimed_until=None, last_error=outcome.error)
        return
    retry_at = now + BACKOFF_BASE * (2 ** (nudge.attempts - 1))
    if retry_at > nudge.due_at + nudge.tolerance and not nudge.urgent:
        mine.update(state=Nudge.State.DEAD, claimed_until=None, last_error=outcome.error)
        return
    mine.update(
        state=Nudge.State.FAILED,
        next_attempt_at=retry_at,
        claimed_until=None,
        last_error=outcome.error,
    )


def _skip(nudges: list[Nudge], reason: str = "") -> None:
    if nudges:
        Nudge.objects.filter(pk__in=[n.pk for n in nudges], claim=nudges[0].claim).update(
            state=Nudge.State.SKIPPED, claimed_until=None, last_error=reason
        )


@transaction.atomic
def _inbox_only(nudges: list[Nudge], now: datetime) -> int:
    """Nudges with no browser to push to: in the inbox now, in three statements."""
    if not nudges:
        return 0
    ids = [n.pk for n in nudges]
    mine = Nudge.objects.filter(pk__in=ids, claim=nudges[0].claim, state=Nudge.State.SENDING)
    mine.update(state=Nudge.State.SENT, sent_at=now, claimed_until=None, last_error="")
    sent = list(
        Nudge.objects.filter(pk__in=ids, claim=nudges[0].claim, state=Nudge.State.SENT).values_list(
            "pk", flat=True
        )
    )
    Delivery.objects.bulk_create(Delivery(nudge_id=pk, channel="inbox", ok=True) for pk in sent)
    return len(sent)


def _consented_alerts(nudges: list[Nudge], now: datetime) -> set[tuple]:
    """(recipient, alert) pairs whose crisis alert still reaches the recipient now."""
    alerts = {n.alert_id: n.alert for n in nudges if n.alert_id}
    if not alerts:
        return set()
    recipients = policy.alert_recipients(alerts.values(), kind=ALERT, now=now)
    return {
        (recipient_id, alert_id) for alert_id, ids in recipients.items() for recipient_id in ids
    }


def deliver(now: datetime | None = None, *, sender=send_web_push) -> dict[str, int]:
    """One round: claim a batch, skip what is stale or no longer wanted, send the rest.

    Nudges for people with no push subscription go to the inbox in a few statements
    for the whole batch; the others are pushed one by one. Returns counts by outcome.
    """
    counts = {"sent": 0, "failed": 0, "skipped": 0, "claimed": 0}
    now = now or timezone.now()
    batch = claim(now)
    counts["claimed"] = len(batch)
    consented = _consented_alerts(batch, now)
    unwanted, stale, live = [], [], []
    for nudge in batch:
        if not nudge.recipient.is_active or (
            nudge.alert_id and (nudge.recipient_id, nudge.alert_id) not in consented
        ):
            unwanted.append(nudge)
        elif not nudge.urgent and now - nudge.due_at > nudge.tolerance:
            stale.append(nudge)
        else:
            live.append(nudge)
    _skip(unwanted, "no longer wanted")
    _skip(stale)
    counts["skipped"] = len(unwanted) + len(stale)
    pushing: set = set()
    if sender is not send_web_push:
        pushing = {n.recipient_id for n in live}  # a test's sender decides for every nudge
    elif settings.VAPID_PRIVATE_KEY and live:
        pushing = set(
            PushSubscription.objects.filter(user_id__in={n.recipient_id for n in live}).values_list(
                "user_id", flat=True
            )
        )
    counts["sent"] += _inbox_only([n for n in live if n.recipient_id not in pushing], now)
    for nudge in (n for n in live if n.recipient_id in pushing):
        outcome = sender(nudge)
        _finish(nudge, outcome, timezone.now())
        counts["sent" if outcome.ok else "failed"] += 1
    return counts


def deliver_all(*, budget_seconds: float = 8.0, sender=send_web_push) -> dict[str, int]:
    """Rounds until nothing due is left or the time budget is spent (the scheduler's job)."""
    totals = {"sent": 0, "failed": 0, "skipped": 0, "claimed": 0}
    started = clock.monotonic()
    while True:
        counts = deliver(sender=sender)
        for key, value in counts.items():
            totals[key] += value
        if counts["claimed"] < BATCH or clock.monotonic() - started > budget_seconds:
            return totals
