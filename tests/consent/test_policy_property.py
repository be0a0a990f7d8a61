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
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError

from backend.accounts.models import User
from backend.care import services as care_services
from backend.care.models import CareLink
from backend.consent import policy
from backend.consent import services as consent_services
from backend.consent.scopes import Scope
from backend.coping import services as coping_services
from backend.coping.models import Checklist, RelapsePlan, Skill
from backend.core.errors import Conflict
from backend.journal import services as journal_services
from backend.journal.access import ALERT, CHECKIN, COUNTER, ENTRY, ENTRY_FIGURES
from backend.journal.effectiveness import FIGURE_SCOPES
from backend.journal.models import CareTeamAlert, FeedItem, JournalEntry, Outcome, Substance
from backend.journal.models import CheckIn as CheckInRecord
from backend.journal.services import EntryOp
from backend.meetings import services as meeting_services
from backend.meetings.models import Attendance
from backend.nudges import delivery as nudge_delivery
from backend.nudges.models import Nudge
from backend.program import services as program_services
from backend.program.models import Program, Session
from backend.sharing.summaries import summaries_for
from tests.factories import (
    AttendanceFactory,
    CareLinkFactory,
    ChecklistFactory,
    EntryFactory,
    FamilyFactory,
    FamilyLinkFactory,
    PatientFactory,
    PlanFactory,
    SkillFactory,
    TherapistFactory,
    grant_for,
    program_make,
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
        if Scope.MEASURES in scopes:
            # These histories answer no questionnaire (tests/measures covers them): an empty
            # section, and no flag raised.
            result["measures"] = []
            result["flags"]["measure_flags"] = False
        if Scope.PROGRAM in scopes:
            # Nobody here is in a program: the flag is shown, and down.
            result["flags"]["missed_two_sessions_in_a_row"] = False
        return result


# --- histories ----------------------------------------------------------------------------

patient_index = st.integers(0, 2)
record_index = st.integers(0, 40)
# Scopes that open feed items and summary sections come first: they are drawn more often.
SCOPES = [
    Scope.JOURNAL_ALL, Scope.CRISIS_ALERTS, Scope.JOURNAL_SHARED, Scope.CHECKINS, Scope.COUNTERS,
    Scope.INSIGHTS, *(s for s in Scope if s not in FIGURE_SCOPES and s not in (
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
    program: Program | None = None

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
    if "measures" in summary:
        shape["measures"] = list(summary["measures"])
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

        assert set(policy.readable(user, ENTRY).values_list("pk", flat=True)) == allowed["entry"], (
            context
        )
        assert (
            set(policy.readable(user, ENTRY_FIGURES).values_list("pk", flat=True))
            == allowed["aggregate"]
        ), context
        assert (
            set(policy.readable(user, CHECKIN).values_list("pk", flat=True)) == allowed["checkin"]
        ), context
        assert (
            set(policy.readable(user, COUNTER).values_list("pk", flat=True)) == allowed["counter"]
        ), context
        assert _alert_keys(policy.readable(user, ALERT)) == allowed["alert"], context

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
        assert set(policy.readable(patient, ENTRY).values_list("pk", flat=True)) == own["entry"]
        assert set(policy.readable(patient, CHECKIN).values_list("pk", flat=True)) == own["checkin"]
        assert set(policy.readable(patient, COUNTER).values_list("pk", flat=True)) == own["counter"]
        assert _alert_keys(policy.readable(patient, ALERT)) == own["alert"]


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the same examples on every run and machine
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


# --- coping, homework, meeting attendance and the inbox -------------------------------------
#
# A second history over the records the journal feeds do not carry. The reference model
# restates the rules again: a custom skill, a checklist (and its days), the relapse plan
# (its versions and suggestions) under the coping scope while not archived; homework under
# the homework scope, or to the therapist who assigned it while they are on the care team;
# meeting attendance, in summaries, under the meetings scope; a crisis alert reaches a
# recipient's inbox only when their crisis_alerts consent held as it was raised and still
# holds. Everything is read back through the HTTP API, never through the policy module.

SKILLS_URL = "/api/v1/coping/skills/?page_size=100"
SUMMARY_URLS = {
    User.Role.THERAPIST: "/api/v1/care/patients/{}/summary/",
    User.Role.FAMILY: "/api/v1/family/patients/{}/summary/",
}
ATTENDANCE_WEEKS = 4


@dataclass
class Record:
    """A record of one patient: a skill, checklist, plan, homework or attendance."""

    id: uuid.UUID
    patient: int
    archived: bool = False
    at: datetime | None = None  # when a meeting was attended
    assigned_by: str = ""  # who assigned a homework
    days: set[date] = field(default_factory=set)  # a checklist's ticked days
    versions: int = 1  # a plan's version count
    suggestions: set[uuid.UUID] = field(default_factory=set)  # a plan's suggestions


@dataclass
class RecordsWorld(World):
    skills: list[Record] = field(default_factory=list)
    checklists: list[Record] = field(default_factory=list)
    plans: dict[int, Record] = field(default_factory=dict)
    homework: list[Record] = field(default_factory=list)
    attendance: list[Record] = field(default_factory=list)
    enrolments: dict[int, Record] = field(default_factory=dict)
    # patient -> session index -> the attendance mark's id (a mark again replaces it)
    marks: dict[tuple[int, int], uuid.UUID] = field(default_factory=dict)
    # (entry id, reason) -> who held crisis_alerts for its patient when the alert was raised
    alerted: dict[tuple, set[str]] = field(default_factory=dict)
    counter: int = 0

    def holds(self, recipient: str, patient: int, scope: str, now: datetime) -> bool:
        return scope in self.scopes(recipient, patient, now)

    def sees(self, viewer: str | int, patient: int, scope: str, now: datetime) -> bool:
        """A patient (an int) sees their own records; anyone else needs the scope in force."""
        if isinstance(viewer, int):
            return viewer == patient
        return self.holds(viewer, patient, scope, now)

    def visible_homework(self, viewer: str | int, now: datetime) -> set[uuid.UUID]:
        return {
            h.id
            for h in self.homework
            if self.sees(viewer, h.patient, Scope.HOMEWORK, now)
            or (viewer == "therapist" == h.assigned_by and h.patient in self.linked)
        }

    def sees_program(self, viewer: str | int, patient: int, now: datetime) -> bool:
        """The program's records: its patient; its staff (the therapist) without a grant;
        anyone else under the program scope."""
        return viewer == "therapist" or self.sees(viewer, patient, Scope.PROGRAM, now)

    def meetings(self, patient: int, now: datetime) -> dict:
        """The meetings section of a summary: this week and three before, the last attended."""
        zone = ZoneInfo(self.zones[patient])
        today = self.today(patient, now)
        monday = today - timedelta(days=today.weekday())
        mine = [a.at for a in self.attendance if a.patient == patient and not a.archived]
        weeks = []
        for back in range(ATTENDANCE_WEEKS):
            first = monday - timedelta(weeks=back)
            count = sum(
                first <= at.astimezone(zone).date() <= first + timedelta(days=6) for at in mine
            )
            weeks.append((first, count))
        return {"weeks": weeks, "last": max(mine, default=None)}


record_events = st.one_of(
    grants(["therapist", "family", "stranger"]),
    st.tuples(st.just("revoke"), record_index),
    st.tuples(st.just("unlink"), patient_index),
    st.tuples(st.just("relink"), patient_index),
    st.tuples(st.just("travel"), st.sampled_from([1, 5, 24, 3 * 24, 8 * 24])),
    st.tuples(st.just("skill"), patient_index),
    st.tuples(st.just("archive_skill"), record_index),
    st.tuples(st.just("checklist"), patient_index),
    st.tuples(st.just("archive_checklist"), record_index),
    st.tuples(st.just("tick"), record_index, st.integers(0, 2)),
    st.tuples(st.just("plan"), patient_index),
    st.tuples(st.just("suggest"), patient_index),
    st.tuples(st.just("assign"), patient_index),
    st.tuples(st.just("attend"), patient_index, st.integers(0, 30 * 24)),
    st.tuples(st.just("unattend"), record_index),
    st.tuples(st.just("enrol"), patient_index),
    st.tuples(
        st.just("mark"), patient_index, st.integers(0, 3), st.sampled_from(["present", "absent"])
    ),
    st.tuples(
        st.just("entry"),
        patient_index,
        st.just(False),
        st.sampled_from([3, 8, 10]),  # 8 and above raises an alert
        st.sampled_from([Outcome.RESISTED, Outcome.LAPSED, Outcome.USED]),
        st.integers(0, 48),
    ),
)
# Scopes of these records come first and are drawn more often.
RECORD_SCOPES = [
    Scope.COPING, Scope.HOMEWORK, Scope.MEETINGS, Scope.CRISIS_ALERTS, Scope.JOURNAL_SHARED,
    Scope.CHECKINS, Scope.PROGRAM,
]  # fmt: skip
record_grants = st.tuples(
    st.just("grant"),
    st.sampled_from(["therapist", "family"]),
    patient_index,
    st.frozensets(st.sampled_from(RECORD_SCOPES), min_size=1, max_size=4),
    st.sampled_from([0, 0, 0, 2, 30]),
    st.sampled_from([24 * 30, 72, 24, 6]),
)
# Records to see: a history starts with some, so that most examples have something to show.
record_makers = st.one_of(
    *(st.tuples(st.just(kind), patient_index)
      for kind in ("skill", "checklist", "plan", "assign", "enrol")),
    st.tuples(st.just("attend"), patient_index, st.integers(0, 30 * 24)),
    st.tuples(st.just("mark"), patient_index, st.integers(0, 3), st.just("absent")),
    st.tuples(st.just("entry"), patient_index, st.just(False), st.just(9), st.just(Outcome.LAPSED),
              st.integers(0, 48)),
)  # fmt: skip
record_histories = st.builds(
    lambda *parts: [event for part in parts for event in part],
    st.lists(record_grants, min_size=2, max_size=5),
    st.lists(record_makers, min_size=2, max_size=8),
    st.lists(record_events, min_size=3, max_size=30),
)


def _therapist_writes(client, url: str, body: dict, allowed: bool) -> str | None:
    """POST as the therapist: 201 and the new id when allowed, else 404 (nothing to see)."""
    response = client.post(url, body, format="json")
    assert response.status_code == (201 if allowed else 404), (url, response.content[:300])
    return response.json()["id"] if allowed else None


def _apply_record(event: tuple, world: RecordsWorld, people: People) -> None:
    kind, *args = event
    now = timezone.now()
    n = len(people.patients)
    world.counter += 1
    if kind in ("grant", "revoke", "unlink", "relink"):
        _apply(event, world, people)
    elif kind == "entry":
        p = args[0] % n
        holders = {
            r for r in ("therapist", "family") if world.holds(r, p, Scope.CRISIS_ALERTS, now)
        }
        _apply(event, world, people)
        entry = world.entries[-1]
        for pair in world.alerts():
            if pair[0] is entry:
                world.alerted[(entry.id, pair[1])] = holders
        nudge_delivery.deliver(now)  # the outbox, at once: consent is checked at delivery too
    elif kind == "skill":
        p = args[0] % n
        skill = SkillFactory(patient=people.patients[p])
        world.skills.append(Record(skill.pk, p))
    elif kind == "archive_skill" and world.skills:
        ref = world.skills[args[0] % len(world.skills)]
        if not ref.archived:
            coping_services.skill_archive(skill=Skill.objects.get(pk=ref.id))
            ref.archived = True
    elif kind == "checklist":
        p = args[0] % n
        checklist = ChecklistFactory(patient=people.patients[p])
        world.checklists.append(Record(checklist.pk, p))
    elif kind == "archive_checklist" and world.checklists:
        ref = world.checklists[args[0] % len(world.checklists)]
        if not ref.archived:
            coping_services.checklist_archive(checklist=Checklist.objects.get(pk=ref.id))
            ref.archived = True
    elif kind == "tick" and world.checklists:
        ref = world.checklists[args[0] % len(world.checklists)]
        if not ref.archived:
            checklist = Checklist.objects.get(pk=ref.id)
            day = world.today(ref.patient, now) - timedelta(days=args[1])
            coping_services.checklist_day_set(
                checklist=checklist, local_date=day, item_ids=[checklist.items.get().pk]
            )
            ref.days.add(day)
    elif kind == "plan":
        p = args[0] % n
        if p in world.plans:
            plan = RelapsePlan.objects.get(pk=world.plans[p].id)
            coping_services.plan_update(
                plan=plan,
                changes={"triggers": [f"Trigger {world.counter}"]},
                author=people.patients[p],
                expected_version=None,
            )
            world.plans[p].versions += 1
        else:
            plan = PlanFactory(patient=people.patients[p])
            world.plans[p] = Record(plan.pk, p)
    elif kind == "suggest":
        p = args[0] % n
        if p in world.plans:
            ref = world.plans[p]
            made = _therapist_writes(
                client_for(people.therapist),
                f"/api/v1/coping/plans/{ref.id}/suggestions/",
                {"section": "warning_signs", "proposed": [f"Sign {world.counter}"]},
                world.holds("therapist", p, Scope.COPING, now),
            )
            if made:
                ref.suggestions.add(uuid.UUID(made))
    elif kind == "assign":
        p = args[0] % n
        due = world.today(p, now) + timedelta(days=7)
        made = _therapist_writes(
            client_for(people.therapist),
            "/api/v1/homework/",
            {"patient": str(people.patients[p].pk), "template": "halt-log", "due_date": str(due)},
            p in world.linked,  # a therapist on the care team assigns; consent governs reading
        )
        if made:
            world.homework.append(Record(uuid.UUID(made), p, assigned_by="therapist"))
    elif kind == "attend":
        p, hours_ago = args
        p %= n
        at = now - timedelta(hours=hours_ago)
        clash = any(
            a.patient == p and not a.archived and abs(a.at - at) < timedelta(minutes=60)
            for a in world.attendance
        )
        if clash:
            with pytest.raises(Conflict):
                AttendanceFactory(patient=people.patients[p], attended_at=at)
        else:
            attendance = AttendanceFactory(patient=people.patients[p], attended_at=at)
            world.attendance.append(Record(attendance.client_id, p, at=at))
    elif kind == "unattend" and world.attendance:
        ref = world.attendance[args[0] % len(world.attendance)]
        if not ref.archived:
            meeting_services.attendance_delete(
                attendance=Attendance.objects.get(
                    patient=people.patients[ref.patient], client_id=ref.id
                )
            )
            ref.archived = True
    elif kind == "enrol":
        p = args[0] % n
        response = client_for(people.therapist).post(
            "/api/v1/program/enrolments/",
            {
                "patient": str(people.patients[p].pk),
                "program": str(people.program.pk),
                "starts_on": str(people.program.starts_on),
            },
            format="json",
        )
        if p not in world.linked:
            assert response.status_code == 404, response.content[:300]
        elif p in world.enrolments:
            assert response.status_code == 400, response.content[:300]  # one at a time
        else:
            assert response.status_code == 201, response.content[:300]
            world.enrolments[p] = Record(uuid.UUID(response.json()["id"]), p)
    elif kind == "mark":
        p, back, status = args
        p %= n
        past = list(
            Session.objects.filter(program=people.program, starts_at__lt=now).order_by("-starts_at")
        )
        session = past[back]
        if p in world.enrolments:
            row, _ = program_services.attendance_mark(
                session=session,
                patient_id=people.patients[p].pk,
                by=people.therapist,
                status=status,
            )
            world.marks[(p, back)] = row.pk
        else:
            with pytest.raises(ValidationError):
                program_services.attendance_mark(
                    session=session,
                    patient_id=people.patients[p].pk,
                    by=people.therapist,
                    status=status,
                )
    elif kind == "travel":
        pass  # the caller moves the clock


def _page(client, url: str, key=lambda row: row["id"]) -> set[str]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.content[:300])
    body = response.json()
    assert body["next"] is None, "a page holds them all"
    return {str(key(row)) for row in body["results"]}


def _strs(ids) -> set[str]:
    return {str(i) for i in ids}


def _check_records(world: RecordsWorld, people: People, library: set[str]) -> None:
    now = timezone.now()
    n = len(people.patients)
    viewers: list[tuple[str | int, User]] = [
        ("therapist", people.therapist),
        ("family", people.family),
        ("stranger", people.stranger),
        *enumerate(people.patients),
    ]
    for viewer, user in viewers:
        client = client_for(user)
        context = (viewer, now)

        def sees(record: Record, scope: str = Scope.COPING, viewer=viewer) -> bool:
            return not record.archived and world.sees(viewer, record.patient, scope, now)

        assert _page(client, SKILLS_URL) - library == _strs(
            s.id for s in world.skills if sees(s)
        ), context
        assert _page(client, "/api/v1/coping/checklists/?page_size=100") == _strs(
            c.id for c in world.checklists if sees(c)
        ), context
        for checklist in world.checklists:
            url = f"/api/v1/coping/checklists/{checklist.id}/days/?page_size=100"
            if sees(checklist):
                got = _page(client, url, key=lambda row: row["date"])
                assert got == _strs(checklist.days), context
            else:
                assert client.get(url).status_code == 404, context
        plans = [plan for plan in world.plans.values() if sees(plan)]
        assert _page(client, "/api/v1/coping/plans/") == _strs(p.id for p in plans), context
        for plan in world.plans.values():
            versions = f"/api/v1/coping/plans/{plan.id}/versions/?page_size=100"
            suggestions = f"/api/v1/coping/plans/{plan.id}/suggestions/?page_size=100"
            if plan in plans:
                got = _page(client, versions, key=lambda row: row["number"])
                assert got == _strs(range(1, plan.versions + 1)), context
                assert _page(client, suggestions) == _strs(plan.suggestions), context
            else:
                assert client.get(versions).status_code == 404, context
                assert client.get(suggestions).status_code == 404, context
        assert _page(client, "/api/v1/homework/?page_size=100") == _strs(
            world.visible_homework(viewer, now)
        ), context

        assert _page(client, "/api/v1/program/enrolments/?page_size=100") == _strs(
            e.id for e in world.enrolments.values() if world.sees_program(viewer, e.patient, now)
        ), context
        assert _page(client, "/api/v1/program/attendance/?page_size=100") == _strs(
            mark for (p, _), mark in world.marks.items() if world.sees_program(viewer, p, now)
        ), context
        if isinstance(viewer, int):
            assert _page(client, "/api/v1/meetings/attendance/?page_size=100") == _strs(
                a.id for a in world.attendance if a.patient == viewer and not a.archived
            ), context
            continue
        for p in range(n):
            _check_summary_meetings(client, world, user, people.patients[p].pk, p, viewer, now)
        got_alerts = set(
            Nudge.objects.filter(
                pk__in=_page(client, "/api/v1/nudges/inbox/?page_size=100")
            ).values_list("alert__entry_id", "alert__reason")
        )
        assert got_alerts == {
            key
            for key, holders in world.alerted.items()
            if viewer in holders
            and world.holds(viewer, next(e.patient for e in world.entries if e.id == key[0]),
                            Scope.CRISIS_ALERTS, now)
        }, context  # fmt: skip
        if viewer != "stranger":
            # How much each example shows (--hypothesis-show-statistics), so that a change
            # of strategy that leaves these lists empty does not go unnoticed.
            shown = {
                "coping": any(sees(r) for r in [*world.skills, *world.checklists]),
                "homework": bool(world.visible_homework(viewer, now)),
                "attendance": world.holds(viewer, 0, Scope.MEETINGS, now)
                and bool(world.attendance),
                "alerts": bool(got_alerts),
                "attendance marks": any(
                    world.sees_program(viewer, p, now) for (p, _) in world.marks
                ),
            }
            event(f"{viewer} sees " + (", ".join(k for k, v in shown.items() if v) or "nothing"))


def _check_summary_meetings(client, world, user, patient_id, p, viewer, now) -> None:
    """Attendance reaches a summary only under the meetings scope; no scope at all: 404."""
    response = client.get(SUMMARY_URLS[user.role].format(patient_id))
    if not world.scopes(viewer, p, now):
        assert response.status_code == 404, (viewer, p)
        return
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    if not world.holds(viewer, p, Scope.MEETINGS, now):
        assert "meetings" not in body, (viewer, p)
        return
    want = world.meetings(p, now)
    got = body["meetings"]
    assert [(date.fromisoformat(w["from"]), w["count"]) for w in got["weeks"]] == want["weeks"]
    assert got["this_week"] == want["weeks"][0][1]
    last = got["last_attended_at"]
    assert (last and datetime.fromisoformat(last)) == want["last"], (viewer, p)


@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start=st.sampled_from(STARTS),
    zones=st.lists(st.sampled_from(ZONES), min_size=2, max_size=2),
    unlinked=st.sampled_from([frozenset(), frozenset(), frozenset({1})]),
    history=record_histories,
)
@example(  # the assigner leaves the care team: their homework is no longer theirs to see
    start=STARTS[2],
    zones=["UTC", "Asia/Kathmandu"],
    unlinked=frozenset(),
    history=[("assign", 0), ("assign", 1), ("unlink", 0), ("relink", 1)],
)
@example(  # program attendance: its staff without a grant, family under the program scope
    start=STARTS[1],
    zones=["Pacific/Auckland", "UTC"],
    unlinked=frozenset({1}),
    history=[
        ("grant", "family", 0, frozenset({Scope.PROGRAM}), 0, 24),
        ("enrol", 0),
        ("enrol", 1),
        ("enrol", 0),
        ("mark", 0, 0, "absent"),
        ("mark", 0, 1, "present"),
        ("mark", 0, 0, "present"),
        ("mark", 1, 0, "absent"),
        ("travel", 24),
        ("unlink", 0),
    ],
)
@example(  # a crisis alert leaves the inbox when the consent that let it in ends
    start=STARTS[0],
    zones=["America/New_York", "UTC"],
    unlinked=frozenset(),
    history=[
        ("grant", "family", 0, frozenset({Scope.CRISIS_ALERTS}), 0, 24),
        ("entry", 0, False, 9, Outcome.LAPSED, 1),
        ("travel", 5),
        ("travel", 24),
    ],
)
def test_coping_homework_attendance_and_inbox_show_exactly_what_the_rules_allow(
    start, zones, unlinked, history
):
    with time_machine.travel(start, tick=False) as clock:
        patients = [PatientFactory(time_zone=zone) for zone in zones]
        people = People(patients, TherapistFactory(), FamilyFactory(), TherapistFactory())
        # A program the therapist runs, with a group session every day at 03:00 UTC since
        # a week before the history starts.
        people.program = program_make(
            therapists=[people.therapist],
            starts_on=start.date() - timedelta(days=7),
            time_zone="UTC",
        )
        for weekday in range(7):
            program_services.slot_add(
                program=people.program,
                data={
                    "kind": "group",
                    "title": "Group",
                    "weekday": weekday,
                    "start_time": time(3, 0),
                    "duration_minutes": 60,
                    "therapist": people.therapist,
                },
            )
        world = RecordsWorld(zones=list(zones), linked=set(range(len(zones))) - unlinked)
        for p, patient in enumerate(patients):
            FamilyLinkFactory(patient=patient, member=people.family)
            if p in world.linked:
                CareLinkFactory(patient=patient, therapist=people.therapist)
        library = _strs(Skill.objects.filter(patient__isnull=True).values_list("pk", flat=True))
        for event in history:
            if event[0] == "travel":
                _check_records(world, people, library)
                clock.shift(timedelta(hours=event[1]))
            else:
                _apply_record(event, world, people)
        _check_records(world, people, library)
