"""The journal's records as the access gate knows them (backend.consent.policy)."""

from django.db.models import Q

from backend.care.selectors import on_care_team
from backend.consent.policy import Kind, Reach
from backend.consent.scopes import REVEALS_JOURNAL_TEXT, Scope
from backend.journal.models import CareTeamAlert, CheckIn, FeedItem, JournalEntry, SobrietyCounter

LIVE = Q(deleted_at__isnull=True)

ENTRY = Kind(
    name="entry",
    model=JournalEntry,
    reach=(Reach(Scope.JOURNAL_ALL), Reach(Scope.JOURNAL_SHARED, {"shared": True})),
    live=LIVE,
    log_id="client_id",
)

# Every live entry, for figures computed over them all (counts, means, flags), never to
# show one by one: insights, and journal.all, which shows them all anyway.
ENTRY_FIGURES = Kind(
    name="entry_figures",
    model=JournalEntry,
    reach=(Reach(Scope.INSIGHTS), Reach(Scope.JOURNAL_ALL)),
    live=LIVE,
    log_id="client_id",
)

CHECKIN = Kind(
    name="checkin",
    model=CheckIn,
    reach=(Reach(Scope.CHECKINS),),
    live=LIVE,
    # The note is the patient's own words: only with a scope that shows their words.
    fields={"note": REVEALS_JOURNAL_TEXT},
    log_id="client_id",
)

COUNTER = Kind(name="counter", model=SobrietyCounter, reach=(Reach(Scope.COUNTERS),))

# A crisis alert reaches the holders of crisis alerts and, for one raised by a questionnaire's
# answer, the therapist who asked for it while on the care team.
ALERT = Kind(
    name="alert",
    model=CareTeamAlert,
    reach=(Reach(Scope.CRISIS_ALERTS),),
    assigned_by="asked_by",
    team=on_care_team,
)

# The stream of what a patient logged, each item reached by the scope of its record.
FEED_ITEM = Kind(
    name="feed_item",
    model=FeedItem,
    reach=(
        Reach(Scope.JOURNAL_ALL, {"kind": FeedItem.Kind.ENTRY}),
        Reach(Scope.JOURNAL_SHARED, {"kind": FeedItem.Kind.ENTRY, "shared": True}),
        Reach(Scope.CHECKINS, {"kind": FeedItem.Kind.CHECKIN}),
        Reach(Scope.CRISIS_ALERTS, {"kind": FeedItem.Kind.ALERT}),
    ),
    # The item's copies of its record's state (the journal keeps them in step): a deleted
    # entry or check-in leaves every feed, and an unshared entry the journal.shared one.
    live=Q(withdrawn=False),
    fields={"checkin__note": REVEALS_JOURNAL_TEXT},  # as a check-in's own note
)

FEED_SCOPES = tuple(dict.fromkeys(reach.scope for reach in FEED_ITEM.reach))
