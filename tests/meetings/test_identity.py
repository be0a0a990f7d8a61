"""Which meeting is which: a duplicate slug is told apart by place and time, never feed order."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.meetings.importer import Report, apply, normalize
from backend.meetings.models import Meeting, SavedMeeting
from backend.meetings.services import meeting_save
from tests.factories import PatientFactory
from tests.meetings.helpers import make_feed, record

pytestmark = pytest.mark.django_db

# Two meetings a feed lists under one slug: same group, two places and times.
CHURCH = {
    "slug": "same",
    "name": "Serenity",
    "day": 2,
    "time": "19:00",
    "formatted_address": "10 Church St, Springfield, PA 19000, USA",
    "latitude": 40.01,
    "longitude": -75.01,
}
LIBRARY = {
    "slug": "same",
    "name": "Serenity",
    "day": 4,
    "time": "12:00",
    "formatted_address": "55 Library Ave, Springfield, PA 19000, USA",
    "latitude": 40.02,
    "longitude": -75.02,
}


def _import(feed, *records) -> Report:
    report = Report()
    fields = normalize(
        [record(**r) for r in records],
        fmt=feed.format,
        fellowship=feed.fellowship,
        default_tz=feed.time_zone,
        report=report,
    )
    assert not report.rejected, report.rejected
    apply(feed, fields, report)
    return report


def _counts(report: Report) -> tuple[int, int, int, int]:
    return report.created, report.updated, report.unchanged, report.retired


def _saved_addresses(patient) -> set[str]:
    saved = SavedMeeting.objects.filter(patient=patient).select_related("meeting")
    return {s.meeting.formatted_address for s in saved if s.meeting.retired_at is None}


def _save(patient, address: str) -> None:
    meeting_save(patient=patient, meeting=Meeting.objects.get(formatted_address=address))


def test_swapping_two_records_with_one_slug_keeps_each_saved_meeting_at_its_address():
    feed, patient = make_feed("swap"), PatientFactory()
    _import(feed, CHURCH, LIBRARY)
    _save(patient, CHURCH["formatted_address"])
    church = Meeting.objects.get(formatted_address=CHURCH["formatted_address"])

    report = _import(feed, LIBRARY, CHURCH)

    assert _counts(report) == (0, 0, 2, 0)
    assert _saved_addresses(patient) == {CHURCH["formatted_address"]}
    church.refresh_from_db()
    assert (church.day, church.formatted_address) == (2, CHURCH["formatted_address"])


def test_keys_of_a_shared_slug_come_from_the_meetings_not_their_order():
    def keys(*records):
        fields = normalize(
            [record(**r) for r in records],
            fmt="meeting_guide",
            fellowship="AA",
            default_tz="America/New_York",
            report=Report(),
        )
        return {f["formatted_address"]: f["slug"] for f in fields}

    forward, backward = keys(CHURCH, LIBRARY), keys(LIBRARY, CHURCH)
    assert forward == backward
    assert len(set(forward.values())) == 2
    assert all(key.startswith("same~") for key in forward.values())


def test_re_importing_an_unchanged_feed_writes_nothing():
    feed = make_feed("steady")
    weekly = {**CHURCH, "slug": "weekly", "day": [1, 3, 5]}
    records = [CHURCH, LIBRARY, weekly, {**LIBRARY, "slug": "alone", "name": "Alone"}]
    first = _import(feed, *records)
    assert first.created == 6
    with CaptureQueriesContext(connection) as queries:
        again = _import(feed, *reversed(records))
    assert _counts(again) == (0, 0, 6, 0)
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []


def test_meetings_at_one_place_and_time_are_told_apart_by_name_and_one_listed_twice_is_kept_once():
    men = {**CHURCH, "name": "Men's Step Study"}
    women = {**CHURCH, "name": "Women's Step Study"}
    report = Report()
    fields = normalize(
        [record(**r) for r in (men, women, men)],
        fmt="meeting_guide",
        fellowship="AA",
        default_tz="America/New_York",
        report=report,
    )
    assert sorted(f["name"] for f in fields) == ["Men's Step Study", "Women's Step Study"]
    assert len({f["slug"] for f in fields}) == 2
    assert report.warnings["the same meeting listed twice, kept once"] == 1


def test_rows_numbered_by_feed_order_are_found_by_their_place_and_time():
    # Rows as the importer used to key them: "same" for the first, "same~2" for the second.
    feed, patient = make_feed("numbered"), PatientFactory()
    _import(feed, CHURCH, {**LIBRARY, "slug": "same~2"})
    _save(patient, CHURCH["formatted_address"])
    _save(patient, LIBRARY["formatted_address"])
    rows = set(Meeting.objects.filter(feed=feed).values_list("pk", flat=True))

    report = _import(feed, LIBRARY, CHURCH)

    assert (report.created, report.retired) == (0, 0)
    assert set(Meeting.objects.filter(feed=feed).values_list("pk", flat=True)) == rows
    assert _saved_addresses(patient) == {CHURCH["formatted_address"], LIBRARY["formatted_address"]}
    assert _counts(_import(feed, CHURCH, LIBRARY)) == (0, 0, 2, 0)


def test_a_slug_that_becomes_shared_and_then_unique_again_keeps_its_meetings():
    feed, patient = make_feed("sharing"), PatientFactory()
    _import(feed, CHURCH)
    _save(patient, CHURCH["formatted_address"])

    shared = _import(feed, LIBRARY, CHURCH)
    assert (shared.created, shared.retired) == (1, 0)
    assert _saved_addresses(patient) == {CHURCH["formatted_address"]}
    _save(patient, LIBRARY["formatted_address"])

    alone = _import(feed, LIBRARY)
    assert (alone.created, alone.retired) == (0, 1)
    assert _saved_addresses(patient) == {LIBRARY["formatted_address"]}
    assert Meeting.objects.get(feed=feed, retired_at=None).slug == "same"


def test_an_old_key_taken_by_another_meeting_moves_the_row_that_held_it_aside():
    feed, patient = make_feed("taken"), PatientFactory()
    _import(feed, CHURCH, {**LIBRARY, "slug": "same~2"})
    _save(patient, LIBRARY["formatted_address"])

    report = _import(feed, LIBRARY)  # "same" now names the library meeting alone

    assert (report.created, report.retired) == (0, 1)
    library = Meeting.objects.get(feed=feed, retired_at=None)
    assert (library.slug, library.formatted_address) == ("same", LIBRARY["formatted_address"])
    assert _saved_addresses(patient) == {LIBRARY["formatted_address"]}
    church = Meeting.objects.get(feed=feed, retired_at__isnull=False)
    assert church.formatted_address == CHURCH["formatted_address"]
    assert church.slug.startswith("same~")


def test_a_meeting_under_a_shared_slug_that_moves_keeps_its_row():
    feed, patient = make_feed("moving"), PatientFactory()
    _import(feed, CHURCH, LIBRARY)
    _save(patient, CHURCH["formatted_address"])
    church = Meeting.objects.get(formatted_address=CHURCH["formatted_address"])

    report = _import(feed, LIBRARY, {**CHURCH, "time": "20:00"})

    assert (report.created, report.updated, report.retired) == (0, 1, 0)
    church.refresh_from_db()
    assert church.start_time.hour == 20
    assert _saved_addresses(patient) == {CHURCH["formatted_address"]}


def test_a_record_that_drops_to_one_day_keeps_the_row_of_that_day():
    feed, patient = make_feed("days"), PatientFactory()
    _import(feed, {**CHURCH, "slug": "weekly", "day": [1, 3]})
    meeting_save(patient=patient, meeting=Meeting.objects.get(feed=feed, day=1))

    report = _import(feed, {**CHURCH, "slug": "weekly", "day": 1})

    assert (report.created, report.retired) == (0, 1)
    assert Meeting.objects.get(feed=feed, retired_at=None).slug == "weekly"
    assert SavedMeeting.objects.get(patient=patient).meeting.retired_at is None


def test_a_meeting_that_leaves_a_shared_slug_does_not_hand_its_saves_to_a_new_one():
    feed, patient = make_feed("replaced"), PatientFactory()
    _import(feed, CHURCH, LIBRARY)
    _save(patient, LIBRARY["formatted_address"])
    library = Meeting.objects.get(formatted_address=LIBRARY["formatted_address"])
    park = {
        **LIBRARY,
        "day": 6,
        "time": "08:00",
        "formatted_address": "1 Park Rd, Springfield, PA 19000, USA",
        "latitude": 40.05,
        "longitude": -75.05,
    }

    report = _import(feed, CHURCH, park)  # the library meeting is gone, a park one is new

    assert (report.created, report.retired) == (1, 1)
    saved = SavedMeeting.objects.get(patient=patient).meeting
    assert saved.pk == library.pk
    assert saved.formatted_address == LIBRARY["formatted_address"]
    assert saved.retired_at is not None
    assert Meeting.objects.get(feed=feed, day=6).pk != library.pk


def test_two_meetings_at_one_place_and_time_both_renamed_are_not_paired_by_their_order():
    names = [("Men's Stag", "Women's Step Study"), ("Men 1", "Women 1"), ("Men 2", "Women 2")]
    for men, women in names:
        feed = make_feed(f"renamed {men}")
        _import(feed, {**CHURCH, "name": men}, {**CHURCH, "name": women})
        patient = PatientFactory()
        meeting_save(patient=patient, meeting=Meeting.objects.get(feed=feed, name=women))

        report = _import(
            feed, {**CHURCH, "name": f"{men} Group"}, {**CHURCH, "name": f"{women} Group"}
        )

        # Nothing of its own tells which renamed meeting is which: new rows, not a guess.
        assert _counts(report) == (2, 0, 0, 2)
        saved = SavedMeeting.objects.get(patient=patient).meeting
        assert (saved.name, saved.retired_at is not None) == (women, True)


def test_rows_alike_in_place_time_and_name_are_told_apart_by_their_content():
    # Rows as the importer used to key them, one group meeting twice at once in two rooms.
    feed, patient = make_feed("rooms"), PatientFactory()
    upstairs = {**CHURCH, "location_notes": "Upstairs"}
    downstairs = {**CHURCH, "location_notes": "Downstairs", "types": ["C"]}
    _import(feed, downstairs, {**upstairs, "slug": "same~2"})
    upstairs_row = Meeting.objects.get(feed=feed, slug="same~2")
    meeting_save(patient=patient, meeting=upstairs_row)

    report = _import(feed, upstairs, downstairs)

    assert (report.created, report.retired) == (0, 0)
    assert SavedMeeting.objects.get(patient=patient).meeting.pk == upstairs_row.pk
    upstairs_row.refresh_from_db()
    assert upstairs_row.location_notes == "Upstairs"
