"""Feeds read as a stream: one record at a time, within the cap, with progress; no-op re-imports."""

import json
from datetime import UTC, datetime, time
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.meetings import importer
from backend.meetings.importer import FeedImportError, Report, apply, iter_records, normalize
from backend.meetings.models import Meeting, MeetingFeed
from tests.meetings.helpers import make_feed, record

pytestmark = pytest.mark.django_db


def _chunks(text: str, size: int) -> list[bytes]:
    raw = text.encode()
    return [raw[start : start + size] for start in range(0, len(raw), size)]


@pytest.mark.parametrize("size", [1, 2, 7, 64 * 1024])
def test_records_are_read_whole_wherever_the_chunks_are_cut(size):
    values = [
        {"name": "Café ☕", "slug": "a", "latitude": "40.5", "nested": {"k": [1, 2.5, None]}},
        12345,
        -0.00125,
        1.5e-7,
        -0.25,
        'text with "quotes" and ] and ,',
        [],
        {},
        True,
    ]
    text = "\ufeff \n [ " + " ,\n ".join(json.dumps(v) for v in values) + " ] \n"
    assert list(iter_records(_chunks(text, size), "meeting_guide")) == values


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"meetings": []}', "not a JSON array"),
        ('"a string"', "not a JSON array"),
        ("", "not valid JSON"),
        ("[1, 2", "not valid JSON"),
        ("[1 2]", "expected ','"),
        ("[1,]", "not valid JSON"),
        ("[1] [2]", "extra data"),
        ("[{]", "not valid JSON"),
        ("<html>", "not valid JSON"),
    ],
)
def test_a_feed_that_is_not_one_json_array_fails_clearly(text, message):
    with pytest.raises(FeedImportError, match=message):
        list(iter_records(_chunks(text, 3), "meeting_guide"))


def test_a_bmlt_answer_wrapped_in_an_object_is_read():
    text = json.dumps({"meetings": [{"id_bigint": "1"}, {"id_bigint": "2"}]})
    assert len(list(iter_records(_chunks(text, 5), "bmlt"))) == 2


def test_a_record_larger_than_a_megabyte_is_refused_without_reading_on():
    text = '[{"notes": "' + "x" * (1024 * 1024 + 10)
    with pytest.raises(FeedImportError, match="larger than 1 MB"):
        list(iter_records(_chunks(text, 64 * 1024), "meeting_guide"))


def _import(path, *extra) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(
        "import_meetings",
        str(path),
        "--feed",
        "stream",
        "--fellowship",
        "AA",
        "--timezone",
        "America/Chicago",
        *extra,
        stdout=out,
        stderr=err,
    )
    return out.getvalue(), err.getvalue()


def test_the_import_shows_its_progress_and_then_its_report(tmp_path):
    path = tmp_path / "feed.json"
    records = [record(slug=f"p{n}") for n in range(25)] + [{"slug": "nameless"}]
    path.write_text(json.dumps(records))
    report, progress = _import(path)
    assert "stream: created 25, updated 0, unchanged 0, retired 0, rejected 1" in report
    assert "rejected nameless: no name" in report
    for step in ("read 26 records", "matching 25 meetings with 0 rows", "writing 25 new"):
        assert step in progress


def test_re_importing_an_unchanged_feed_writes_no_meeting_row(tmp_path):
    path = tmp_path / "feed.json"
    path.write_text(json.dumps([record(slug=f"u{n}", day=[1, 3]) for n in range(40)]))
    _import(path)
    before = list(Meeting.objects.order_by("pk").values())
    with CaptureQueriesContext(connection) as captured:
        report, _ = _import(path)
    assert "created 0, updated 0, unchanged 80, retired 0" in report
    meeting_writes = [
        query["sql"]
        for query in captured.captured_queries
        if '"meetings_meeting"' in query["sql"]
        and (
            query["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
            or "FOR UPDATE" in query["sql"]
        )
    ]
    assert meeting_writes == []
    assert list(Meeting.objects.order_by("pk").values()) == before
    assert MeetingFeed.objects.get(name="stream").last_report["unchanged"] == 80


def test_a_feed_that_fails_half_way_changes_nothing(tmp_path):
    path = tmp_path / "feed.json"
    path.write_text(json.dumps([record(slug=f"h{n}") for n in range(5)]))
    _import(path)
    broken = json.dumps([record(slug=f"h{n}", name="Renamed") for n in range(5)])
    path.write_text(broken[:-40])
    with pytest.raises(CommandError, match=r"not valid JSON.*Nothing was changed"):
        _import(path)
    assert set(Meeting.objects.values_list("name", flat=True)) != {"Renamed"}
    assert Meeting.objects.filter(retired_at=None).count() == 5


def _stored(feed: MeetingFeed) -> list[dict]:
    """A feed's rows as values, without what two imports cannot share (ids, moments)."""
    rows = Meeting.objects.filter(feed=feed).order_by("slug").values()
    unshared = {"id", "feed_id", "created_at", "updated_at", "retired_at"}
    return [
        {**{k: v for k, v in row.items() if k not in unshared}, "retired": bool(row["retired_at"])}
        for row in rows
    ]


def _apply(feed: MeetingFeed, records: list[dict]) -> Report:
    report = Report()
    meetings = normalize(
        records, fmt=feed.format, fellowship="AA", default_tz=feed.time_zone, report=report
    )
    apply(feed, meetings, report)
    return report


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
@time_machine.travel(datetime(2026, 11, 2, 12, tzinfo=UTC), tick=False)
def test_copy_stores_the_same_rows_as_the_orm_on_first_import_and_after_changes(monkeypatch):
    first = [
        record(slug="plain", types=["O", "W"], regions=["Bucks", "District 4"]),
        record(slug="weekly", day=[1, 3], time="7:30 PM", end_time="9:00 pm"),
        record(slug="appointment", day="", time=""),
        record(
            slug="online",
            types=["ONL", "C"],
            conference_url="https://zoom.us/j/1",
            latitude=None,
            longitude=None,
            formatted_address="",
            updated="2026-11-01 10:00:00",
        ),
        record(slug="leaving", notes="Uses the side door; ✓ accessible"),
    ]
    changed = [
        {**first[0], "name": "Plain, renamed", "types": ["C"]},
        {**first[1], "time": "06:45", "end_time": "07:45", "regions": ["Montgomery"]},
        first[2],
        {**first[3], "conference_phone": "+1 555 010 0000"},
        record(slug="arriving", latitude=39.5, longitude=-116.5),
    ]
    by_copy, by_orm = make_feed(name="by-copy"), make_feed(name="by-orm")
    reports = {}
    for step, records in (("first", first), ("changed", changed)):
        reports[step, "copy"] = _apply(by_copy, records)
        with monkeypatch.context() as patch:
            patch.setattr(importer, "_copy_changes", importer._save_changes)
            reports[step, "orm"] = _apply(by_orm, records)
        assert _stored(by_copy) == _stored(by_orm)
        if step == "first":
            ids = dict(Meeting.objects.filter(feed=by_copy).values_list("slug", "id"))
    assert [reports["changed", way].as_dict() for way in ("copy", "orm")] == [
        {"created": 1, "updated": 4, "unchanged": 1, "retired": 1, "rejected": [], "warnings": {}},
    ] * 2
    after = dict(Meeting.objects.filter(feed=by_copy).values_list("slug", "id"))
    assert {slug: after[slug] for slug in ids} == ids  # changed meetings keep their rows
    renamed = Meeting.objects.get(feed=by_copy, slug="plain")
    assert (renamed.name, renamed.types, renamed.types_key) == ("Plain, renamed", ["C"], ",C,")
    assert Meeting.objects.get(feed=by_copy, slug="weekly-1").start_time == time(6, 45)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_a_row_the_database_refuses_during_copy_is_a_refused_feed_that_changes_nothing(
    tmp_path, monkeypatch
):
    path = tmp_path / "feed.json"
    path.write_text(json.dumps([record(slug=f"c{n}") for n in range(3)]))
    _import(path)
    path.write_text(json.dumps([record(slug=f"c{n}") for n in range(4)]))
    monkeypatch.setattr(importer, "cell_of", lambda latitude, longitude: 2**70)  # not a bigint
    with pytest.raises(CommandError, match=r"could not be stored \(DataError\).*Nothing was"):
        _import(path)
    assert sorted(Meeting.objects.values_list("slug", flat=True)) == ["c0", "c1", "c2"]
