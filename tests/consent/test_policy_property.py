"""Random consent histories: the feeds, the policy and the summaries equal a plain-Python model.

Each example makes fresh people (2-3 patients in various time zones, a therapist
linked to some of them, a family member linked to all, a therapist linked to
none) and plays a random history through the services on a frozen clock:
grants (random scopes, some starting later, random lifetimes), revocations,
care links ended and restored, entries created shared or not, later shared,
unshared or deleted, crisis-level entries, check-ins, counters, and time passing.
Then every page of GET /api/v1/care/feed/ and /api/v1/family/feed/, the policy's
querysets and summaries_for must show exactly what ``World`` below allows.

``World`` restates the rules of ../shared/DESIGN.md and issue 4 in plain Python
and never asks the code under test what is visible: a grant is in force when it
is not revoked and starts_at <= now < expires_at; an entry is visible under
journal.all, or under journal.shared when marked shared; a deleted entry never;
check-ins under checkins, counters under counters, crisis alerts under
crisis_alerts; summary sections and flags only with their scope.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError

from backend.accounts.models import User
from backend.care import services as care_services
from backend.care.models import CareLink
from backend.consent import policy
from backend.consent import services as consent_services
from backend.consent.models import FeedItem
from backend.consent.scopes import Scope
from backend.consent.summaries import summaries_for
from backend.core.errors import Conflict
from backend.journal import services as journal_services
from backend.journal.models import CareTeamAlert, JournalEntry, Outcome, Substance
from backend.journal.models import CheckIn as CheckInRecord
from backend.journal.services import EntryOp
from tests.factories import (
    CareLinkFactory,
    EntryFactory,
    FamilyFactory,
    FamilyLinkFactory,
    PatientFactory,
    TherapistFactory,
    grant_for,
)
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

FEEDS = {User.Role.THERAPIST: "/api/v1/care/feed/", User.Role.FAMILY: "/api/v1/family/feed/"}
ZONES = ("America/New_York", "Pacific/Auckland", "Asia/Kathmandu", "UTC")
# Near daylight-saving changes (US 8 March, New Zealand 5 April 2026) and an ordinary day.
STARTS = (
    datetime(2026, 3, 7, 15, 30, tzinfo=UTC),
    datetime(2026, 4, 4, 11, 0, tzinfo=UTC),
    datetime(2026, 9, 16, 23, 45, tzinfo=UTC),
)
LAPSES = (Outcome.LAPSED, Outcome.USED)

# --- the reference model ------------------------------------------------------------------


@dataclass
class Grant:
    obj: object
    patient: int
    recipient: str  # "therapist", "family" or "stranger"
    scopes: frozenset[str]
    starts_at: datetime
    expires_at: datetime
    revoked: bool = False

    def in_force(self, now: datetime) -> bool:
        return not self.revoked and self.starts_at <= now < self.expires_at

    def open(self, now: datetime) -> bool:
        """Still the one open grant of its scopes: a new grant of them is refused."""
        return not self.revoked and now < self.expires_at


@dataclass
class Entry:
    id: uuid.UUID
    patient: int
    occurred_at: datetime
    intensity: int
    outcome: str
    shared: bool
    deleted: bool = False


@dataclass
class CheckIn:
    id: uuid.UUID
    patient: int
    local_date: date
    deleted: bool = False


@dataclass
class World:
    """What the rules allow, from the history alone."""

    zones: list[str]
    linked: set[int]  # patients the therapist is on the care team of
    grants: list[Grant] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    checkins: list[CheckIn] = field(default_factory=list)
    counters: dict[tuple[int, str], uuid.UUID] = field(default_factory=dict)

    def today(self, patient: int, now: datetime) -> date:
        return now.astimezone(ZoneInfo(self.zones[patient])).date()

    def connected(self, patient: int, recipient: str) -> bool:
        return recipient == "family" or (recipient == "therapist" and patient in self.linked)

    def scopes(self, recipient: str, patient: int, now: datetime) -> set[str]:
        return {
            scope
            for g in self.grants
            if g.recipient == recipient and g.patient == patient and g.in_force(now)
            for scope in g.scopes
        }

    def alerts(self) -> list[tuple[Entry, str]]:
        """One alert per entry and reason, raised when the entry was written (never undone)."""
        pairs = []
        for e in self.entries:
            if e.intensity >= django_settings.CRISIS_INTENSITY_THRESHOLD:
                pairs.append((e, CareTeamAlert.Reason.HIGH_INTENSITY))
            if e.outcome == Outcome.LAPSED:
                pairs.append((e, CareTeamAlert.Reason.LAPSE))
            elif e.outcome == Outcome.USED:
                pairs.append((e, CareTeamAlert.Reason.USE))
        return pairs

    def visible(self, recipient: str, n_patients: int, now: datetime) -> dict[str, set]:
        """Record keys the recipient may see: entries, aggregate entries, check-ins, ..."""
        held = {p: self.scopes(recipient, p, now) for p in range(n_patients)}
        return {
            "entry": {
                e.id
                for e in self.entries
                if not e.deleted
                and (
                    Scope.JOURNAL_ALL in held[e.patient]
                    or (Scope.JOURNAL_SHARED in held[e.patient] and e.shared)
                )
            },
            "aggregate": {
                e.id
                for e in self.entries
                if not e.deleted and held[e.patient] & {Scope.INSIGHTS, Scope.JOURNAL_ALL}
            },
            "checkin": {
                c.id for c in self.checkins if not c.deleted and Scope.CHECKINS in held[c.patient]
            },
            "counter": {pk for (p, _), pk in self.counters.items() if Scope.COUNTERS in held[p]},
            "alert": {
                (e.id, reason)
                for e, reason in self.alerts()
                if Scope.CRISIS_ALERTS in held[e.patient]
            },
        }

    def own(self, patient: int) -> dict[str, set]:
        return {
            "entry": {e.id for e in self.entries if e.patient == patient and not e.deleted},
            "checkin": {c.id for c in self.checkins if c.patient == patient and not c.deleted},
            "counter": {pk for (p, _), pk in self.counters.items() if p == patient},
            "alert": {(e.id, r) for e, r in self.alerts() if e.patient == patient},
        }

    def summary(self, recipient: str, patient: int, now: datetime) -> dict | None:
        """Sections and flags the recipient's scopes allow, and their values."""
        scopes = self.scopes(recipient, patient, now)
        if not scopes:
            return None
        today = self.today(patient, now)
        result: dict = {"scopes": sorted(scopes), "flags": {}}
        if Scope.CHECKINS in scopes:
            days = {c.local_date for c in self.checkins if c.patient == patient and not c.deleted}
            last = max(days, default=None)
            run = 0
            while last is not None and last - timedelta(days=run) in days:
                run += 1
            result["checkins"] = {
                "current_streak": run if last is not None and (today - last).days <= 1 else 0,
                "last_check_in": last,
                "checked_in_today": last == today,
            }
            result["flags"]["no_checkin_3_days"] = last is None or (today - last).days >= 3
        if Scope.COUNTERS in scopes:
            result["counters"] = {pk for (p, _), pk in self.counters.items() if p == patient}
        if scopes & {Scope.INSIGHTS, Scope.JOURNAL_ALL}:
            zone = ZoneInfo(self.zones[patient])
            dated = [
                (e.occurred_at.astimezone(zone).date(), e)
                for e in self.entries
                if e.patient == patient and not e.deleted
            ]

            def week(last_day: date) -> list[int]:
                return [
                    e.intensity for d, e in dated if last_day - timedelta(days=6) <= d <= last_day
                ]

            recent, previous = week(today), week(today - timedelta(days=7))
            result["craving_trend"] = True
            result["flags"]["rising_craving_trend"] = (
                len(recent) >= 3
                and len(previous) >= 3
                and Fraction(sum(recent), len(recent)) - Fraction(sum(previous), len(previous)) >= 1
            )
            result["flags"]["lapse_last_7_days"] = any(
                e.outcome in LAPSES and today - timedelta(days=6) <= d <= today for d, e in dated
            )
        return result


# --- histories ----------------------------------------------------------------------------

patient_index = st.integers(0, 2)
record_index = st.integers(0, 40)
# Scopes that open feed items and summary sections come first: they are drawn more often.
SCOPES = [
    Scope.JOURNAL_ALL, Scope.CRISIS_ALERTS, Scope.JOURNAL_SHARED, Scope.CHECKINS, Scope.COUNTERS,
    Scope.INSIGHTS, *(s for s in Scope if s not in policy.AGGREGATE_SCOPES and s not in (
        Scope.CRISIS_ALERTS, Scope.JOURNAL_SHARED, Scope.CHECKINS, Scope.COUNTERS)),
]  # fmt: skip
scope_sets = st.frozensets(st.sampled_from(SCOPES), min_size=1, max_size=4)


def grants(recipients: list[str]):
    return st.tuples(
        st.just("grant"),
        st.sampled_from(recipients),
        patient_index,
        scope_sets,
        st.sampled_from([0, 0, 0, 2, 30]),  # hours until it starts
        st.sampled_from([24 * 30, 72, 24, 6, 1]),  # hours it lasts
    )


entries = st.tuples(
    st.just("entry"),
    patient_index,
    st.sampled_from([True, False]),  # shared
    st.integers(0, 10),  # intensity; 8 and above raises an alert
    st.sampled_from([Outcome.RESISTED] * 3 + [Outcome.LAPSED, Outcome.USED, Outcome.ONGOING]),
    st.integers(0, 15 * 24),  # hours ago
)
checkins = st.tuples(st.just("checkin"), patient_index, st.integers(0, 4))  # days back
events = st.one_of(
    grants(["therapist", "family", "stranger"]),
    st.tuples(st.just("revoke"), record_index),
    entries,
    st.tuples(st.just("share"), record_index, st.booleans()),
    st.tuples(st.just("delete"), record_index),
    checkins,
    st.tuples(st.just("delete_checkin"), record_index),
    st.tuples(st.just("counter"), patient_index, st.sampled_from(["alcohol", "opioids"])),
    st.tuples(st.just("unlink"), patient_index),
    st.tuples(st.just("relink"), patient_index),
    st.tuples(st.just("travel"), st.sampled_from([1, 5, 24, 3 * 24, 8 * 24])),
)
# A history starts with some grants and entries, so that most examples have something to show.
histories = st.builds(
    lambda *parts: [event for part in parts for event in part],
    st.lists(grants(["therapist", "family"]), min_size=2, max_size=5),
    st.lists(st.one_of(entries, entries, checkins), min_size=1, max_size=8),
    st.lists(events, min_size=3, max_size=30),
)


@dataclass
class People:
    patients: list[User]
    therapist: User
    family: User
    stranger: User

    def recipient(self, name: str) -> User:
        return getattr(self, name)


def _apply(event: tuple, world: World, people: People) -> None:
    """Play one event through the services, and on the model."""
    kind, *args = event
    now = timezone.now()
    n = len(people.patients)
    if kind == "grant":
        recipient, p, scopes, wait, hours = args
        p %= n
        starts_at = now + timedelta(hours=wait)
        expires_at = starts_at + timedelta(hours=hours)
        kwargs = {"expires_at": expires_at, "starts_at": starts_at if wait else None}
        patient, user = people.patients[p], people.recipient(recipient)
        if not world.connected(p, recipient):
            with pytest.raises(ValidationError):
                grant_for(patient, user, sorted(scopes), **kwargs)
        elif any(
            g.patient == p and g.recipient == recipient and g.open(now) and g.scopes & scopes
            for g in world.grants
        ):
            with pytest.raises(Conflict):
                grant_for(patient, user, sorted(scopes), **kwargs)
        else:
            obj = grant_for(patient, user, sorted(scopes), **kwargs)
            world.grants.append(Grant(obj, p, recipient, scopes, starts_at, expires_at))
    elif kind == "revoke" and world.grants:
        grant = world.grants[args[0] % len(world.grants)]
        consent_services.grant_revoke(grant=grant.obj, by=people.patients[grant.patient])
        grant.revoked = True
    elif kind == "entry":
        p, shared, intensity, outcome, hours_ago = args
        p %= n
        occurred = (now - timedelta(hours=hours_ago)).astimezone(ZoneInfo(world.zones[p % n]))
        entry = EntryFactory(
            patient=people.patients[p],
            occurred_at=occurred.isoformat(),
            intensity=intensity,
            outcome=outcome,
            shared=shared,
        )
        world.entries.append(Entry(entry.pk, p, occurred, intensity, outcome, shared))
    elif kind == "share" and world.entries:
        ref = world.entries[args[0] % len(world.entries)]
        entry = JournalEntry.objects.get(pk=ref.id)
        [result] = journal_services.entries_apply(
            patient=people.patients[ref.patient],
            ops=[
                EntryOp("upsert", entry.client_id, entry.version, {"shared": args[1]}, partial=True)
            ],
        )
        if ref.deleted:
            assert result.status == "conflict"
        else:
            assert result.status in ("updated", "unchanged")
            ref.shared = args[1]
    elif kind == "delete" and world.entries:
        ref = world.entries[args[0] % len(world.entries)]
        phone_id = JournalEntry.objects.values_list("client_id", flat=True).get(pk=ref.id)
        journal_services.entries_apply(
            patient=people.patients[ref.patient], ops=[EntryOp("delete", phone_id)]
        )
        ref.deleted = True
    elif kind == "checkin":
        p, back = args
        p %= n
        day = world.today(p, now) - timedelta(days=back)
        data = {"local_date": day, "mood": 0, "peak_craving": 3, "used_today": False}
        data["medication"] = "yes"
        taken = any(
            c.patient == p and c.local_date == day and not c.deleted for c in world.checkins
        )
        if taken:
            with pytest.raises(Conflict):
                journal_services.checkin_create(
                    patient=people.patients[p], checkin_id=uuid.uuid4(), data=data
                )
        else:
            checkin, created = journal_services.checkin_create(
                patient=people.patients[p], checkin_id=uuid.uuid4(), data=data
            )
            assert created
            world.checkins.append(CheckIn(checkin.pk, p, day))
    elif kind == "delete_checkin" and world.checkins:
        ref = world.checkins[args[0] % len(world.checkins)]
        if not ref.deleted:
            checkin = CheckInRecord.objects.get(pk=ref.id)
            journal_services.checkin_delete(checkin=checkin, expected_version=None)
            ref.deleted = True
    elif kind == "counter":
        p, substance = args
        p %= n
        if (p, substance) in world.counters:
            with pytest.raises(Conflict):
                journal_services.counter_create(
                    patient=people.patients[p], substance=substance, start_date=world.today(p, now)
                )
        else:
            counter = journal_services.counter_create(
                patient=people.patients[p],
                substance=Substance(substance),
                start_date=world.today(p, now) - timedelta(days=3),
            )
            world.counters[(p, substance)] = counter.pk
    elif kind == "unlink":
        p = args[0] % n
        if p in world.linked:
            link = CareLink.objects.get(
                patient=people.patients[p], therapist=people.therapist, ended_at__isnull=True
            )
            care_services.link_end(link=link, by=people.patients[p])
            world.linked.discard(p)
            # Consent to a care team member lasts only while they are on the team.
            for g in world.grants:
                if g.patient == p and g.recipient == "therapist":
                    g.revoked = True
    elif kind == "relink":
        p = args[0] % n
        if p not in world.linked:
            care_services.link_create(
                patient=people.patients[p], therapist=people.therapist, source="admin"
            )
            world.linked.add(p)


# --- what the code shows ------------------------------------------------------------------


def _feed(user: User, page_size: int) -> list[dict]:
    """Every item of every page of the user's feed, in order."""
    client = client_for(user)
    url = f"{FEEDS[user.role]}?page_size={page_size}"
    items: list[dict] = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        items.extend(body["results"])
        url = body["next"]
        assert len(items) < 1000, "the feed does not end"
    return items


def _record_keys() -> tuple[dict[uuid.UUID, tuple], dict[uuid.UUID, uuid.UUID]]:
    """Feed item id -> (kind, record key, patient id), alerts keyed by (entry id, reason);
    and each entry's and check-in's phone id, the id the API shows, by server key."""
    rows = FeedItem.objects.select_related("alert").values_list(
        "pk", "kind", "patient_id", "entry_id", "checkin_id", "alert__entry_id", "alert__reason",
        "entry__client_id", "checkin__client_id",
    )  # fmt: skip
    keys, phone_ids = {}, {}
    for pk, kind, patient_id, entry_id, checkin_id, alert_entry, reason, *phone in rows:
        record = {"entry": entry_id, "checkin": checkin_id, "alert": (alert_entry, reason)}[kind]
        keys[pk] = (kind, record, patient_id)
        phone_ids[record] = phone[0] or phone[1]
    return keys, phone_ids


def _alert_keys(queryset) -> set[tuple]:
    return set(queryset.values_list("entry_id", "reason"))


def _summary_shape(summary: dict) -> dict:
    shape: dict = {"scopes": list(summary["scopes"]), "flags": dict(summary["flags"])}
    if "checkins" in summary:
        shape["checkins"] = dict(summary["checkins"])
    if "counters" in summary:
        shape["counters"] = {c["id"] for c in summary["counters"]}
    if "craving_trend" in summary:
        shape["craving_trend"] = True
    return shape


def _check(world: World, people: People, page_size: int) -> None:
    now = timezone.now()
    n = len(people.patients)
    patient_ids = [p.pk for p in people.patients]
    items, phone_ids = _record_keys()
    mine = {pk: key for pk, key in items.items() if key[2] in patient_ids}
    # Every record the services wrote has exactly one feed item, and nothing else does.
    expected_records = (
        {("entry", e.id) for e in world.entries}
        | {("checkin", c.id) for c in world.checkins}
        | {("alert", (e.id, r)) for e, r in world.alerts()}
    )
    assert {(kind, record) for kind, record, _ in mine.values()} == expected_records
    item_of = {(kind, record): pk for pk, (kind, record, _) in mine.items()}

    for name in ("therapist", "family", "stranger"):
        user = people.recipient(name)
        allowed = world.visible(name, n, now)
        context = (name, now)

        assert (
            set(policy.entries_visible_to(user).values_list("pk", flat=True)) == allowed["entry"]
        ), context
        assert (
            set(policy.entries_for_aggregates_visible_to(user).values_list("pk", flat=True))
            == allowed["aggregate"]
        ), context
        assert (
            set(policy.checkins_visible_to(user).values_list("pk", flat=True)) == allowed["checkin"]
        ), context
        assert (
            set(policy.counters_visible_to(user).values_list("pk", flat=True)) == allowed["counter"]
        ), context
        assert _alert_keys(policy.alerts_visible_to(user)) == allowed["alert"], context

        feed = _feed(user, page_size)
        event(f"{name} feed " + ("0" if not feed else "1-5" if len(feed) <= 5 else "6+"))
        ids = [uuid.UUID(item["id"]) for item in feed]
        assert len(ids) == len(set(ids)), ("an item on two pages", context)
        expected = {item_of[("entry", pk)] for pk in allowed["entry"]}
        expected |= {item_of[("checkin", pk)] for pk in allowed["checkin"]}
        expected |= {item_of[("alert", key)] for key in allowed["alert"]}
        assert set(ids) == expected, context
        for item in feed:
            kind, record, patient_id = items[uuid.UUID(item["id"])]
            assert (item["kind"], item["patient"]["id"]) == (kind, str(patient_id))
            assert item["urgent"] is (kind == "alert")
            if kind != "alert":
                assert item[kind]["id"] == str(phone_ids[record])
        times = [datetime.fromisoformat(item["at"]) for item in feed]
        assert times == sorted(times, reverse=True), "newest first"

        summaries = summaries_for(user, people.patients, now=now)
        got = {pk: _summary_shape(s) for pk, s in summaries.items()}
        want = {
            people.patients[p].pk: s
            for p in range(n)
            if (s := world.summary(name, p, now)) is not None
        }
        assert got == want, context

    for p, patient in enumerate(people.patients):
        own = world.own(p)
        assert set(policy.entries_visible_to(patient).values_list("pk", flat=True)) == own["entry"]
        assert (
            set(policy.checkins_visible_to(patient).values_list("pk", flat=True)) == own["checkin"]
        )
        assert (
            set(policy.counters_visible_to(patient).values_list("pk", flat=True)) == own["counter"]
        )
        assert _alert_keys(policy.alerts_visible_to(patient)) == own["alert"]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start=st.sampled_from(STARTS),
    zones=st.lists(st.sampled_from(ZONES), min_size=3, max_size=3),
    n_patients=st.integers(2, 3),
    unlinked=st.sampled_from([frozenset(), frozenset(), frozenset({1})]),
    history=histories,
    page_size=st.sampled_from([2, 7, 100]),
)
def test_feeds_policy_and_summaries_show_exactly_what_the_rules_allow(
    start, zones, n_patients, unlinked, history, page_size
):
    with time_machine.travel(start, tick=False) as clock:
        patients = [PatientFactory(time_zone=zone) for zone in zones[:n_patients]]
        people = People(patients, TherapistFactory(), FamilyFactory(), TherapistFactory())
        world = World(zones=zones[:n_patients], linked=set(range(n_patients)) - unlinked)
        for p, patient in enumerate(patients):
            FamilyLinkFactory(patient=patient, member=people.family)
            if p in world.linked:
                CareLinkFactory(patient=patient, therapist=people.therapist)
        for event in history:
            if event[0] == "travel":
                # What was in force just before time passes is checked too.
                _check(world, people, page_size)
                clock.shift(timedelta(hours=event[1]))
            else:
                _apply(event, world, people)
        _check(world, people, page_size)
