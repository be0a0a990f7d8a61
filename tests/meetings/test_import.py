"""import_meetings: real feeds, real-world quirks, upserts and retirements, failures that change nothing."""

import contextlib
import json
import threading
import time as clock
from datetime import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from backend.meetings import importer
from backend.meetings.importer import Report, normalize
from backend.meetings.models import Meeting, MeetingFeed
from tests.meetings.helpers import make_feed, record, shared_feed

pytestmark = pytest.mark.django_db


def _import(source, feed="test", fellowship="AA", tz="America/New_York", *extra) -> str:
    out = StringIO()
    call_command(
        "import_meetings",
        str(source),
        "--feed",
        feed,
        "--fellowship",
        fellowship,
        "--timezone",
        tz,
        *extra,
        stdout=out,
        stderr=out,
    )
    return out.getvalue()


def _normalize(*records, fellowship="AA", fmt="meeting_guide") -> tuple[list[dict], Report]:
    report = Report()
    fields = normalize(
        list(records), fmt=fmt, fellowship=fellowship, default_tz="America/New_York", report=report
    )
    return fields, report


# --- the three real feeds (read in place) ----------------------------------------------------


def test_the_south_east_pennsylvania_aa_feed_imports_every_meeting():
    path = shared_feed("aasepia.json")
    output = _import(path, "aasepia")
    assert "created 2038, updated 0, unchanged 0, retired 0, rejected 0" in output
    meetings = Meeting.objects.filter(feed__name="aasepia")
    assert meetings.count() == 2038
    assert not meetings.filter(time_zone="").exists()
    assert set(meetings.values_list("time_zone", flat=True)) == {"America/New_York"}
    assert meetings.filter(types_key__contains=",ONL,").count() == 586
    # String coordinates became numbers; no O and C together; the ASBI typo is dropped.
    assert not meetings.filter(latitude__isnull=True).exists()
    assert not meetings.filter(types_key__contains=",O,").filter(types_key__contains=",C,")
    assert not meetings.filter(types_key__contains=",ASBI,").exists()
    assert "unknown type code 'ASBI' dropped (26)" in output
    # Meetings ending after midnight keep their real length.
    late = meetings.filter(start_time=time(23, 0), end_time=time(0, 0))
    assert late.exists()
    assert set(late.values_list("duration_minutes", flat=True)) == {60}
    # People's payment handles never reach the database.
    raw = json.loads(path.read_text())
    handles = {r["venmo"] for r in raw if r.get("venmo")}
    assert handles
    assert not any(
        handle.lower() in text
        for text in meetings.values_list("search_text", flat=True)
        for handle in list(handles)[:20]
    )

    again = _import(path, "aasepia")
    assert "created 0, updated 0, unchanged 2038, retired 0, rejected 0" in again


def test_the_al_anon_feed_derives_the_same_attendance_options_as_its_plugin():
    path = shared_feed("al-anon.json")
    output = _import(path, "al-anon", "Al-Anon")
    assert "created 360, updated 0, unchanged 0, retired 0, rejected 0" in output
    theirs = {str(r["slug"]): r["attendance_option"] for r in json.loads(path.read_text())}
    ours = dict(
        Meeting.objects.filter(feed__name="al-anon").values_list("slug", "attendance_option")
    )
    agree = sum(theirs[slug] == option for slug, option in ours.items())
    # The three that differ carry ONL with no usable link or phone ("Zoom" as a phone).
    assert agree == 357
    assert Meeting.objects.filter(feed__name="al-anon", approximate=True).count() >= 24
    # Al-Anon's own codes are kept with their names; authors and edit links are not.
    assert Meeting.objects.filter(feed__name="al-anon", types_key__contains=",AC,").exists()
    assert not any(
        "daveb" in text for text in Meeting.objects.values_list("search_text", flat=True)
    )


def test_the_edmonton_feed_with_day_arrays_12_hour_times_and_no_coordinates():
    path = shared_feed("edmonton.json")
    output = _import(path, "edmonton", "AA", "America/Edmonton")
    assert "created 315, updated 0, unchanged 0, retired 0, rejected 0" in output
    meetings = Meeting.objects.filter(feed__name="edmonton")
    assert set(meetings.values_list("time_zone", flat=True)) == {"America/Edmonton"}
    assert not meetings.filter(latitude__isnull=False).exists()
    chapter = meetings.get(slug="6")
    assert (chapter.day, chapter.start_time) == (6, time(11, 0))
    assert chapter.formatted_address.startswith("8318 104 St")
    assert chapter.source_updated_at.isoformat() == "2022-08-25T11:17:07+00:00"
    assert meetings.filter(start_time=time(20, 0)).count() >= 85


# --- quirks, one at a time --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("19:30", time(19, 30)),
        ("7:30 PM", time(19, 30)),
        ("7:30pm", time(19, 30)),
        ("12:00 AM", time(0, 0)),
        ("12:15 PM", time(12, 15)),
        ("19:30:00", time(19, 30)),
        ("noon", time(12, 0)),
        ("24:00", time(0, 0)),
    ],
)
def test_times_in_the_wild(raw, expected):
    [fields], _ = _normalize(record(time=raw, end_time=""))
    assert fields["start_time"] == expected


@pytest.mark.parametrize(
    ("raw", "days"),
    [
        (0, [0]),
        ("3", [3]),
        ("Monday", [1]),
        ("sat", [6]),
        ([1, 3, 5], [1, 3, 5]),
        (["Sunday", "Tuesday"], [0, 2]),
    ],
)
def test_days_as_numbers_names_and_arrays(raw, days):
    fields, _ = _normalize(record(day=raw, slug="weekly"))
    assert [f["day"] for f in fields] == days
    if len(days) > 1:
        assert [f["slug"] for f in fields] == [f"weekly-{d}" for d in days]


def test_duplicate_slugs_are_told_apart_not_lost():
    fields, report = _normalize(record(slug="same", day=1), record(slug="same", day=2))
    assert [f["day"] for f in fields] == [1, 2]
    assert len({f["slug"] for f in fields}) == 2
    assert all(f["slug"].startswith("same~") for f in fields)
    assert report.warnings["duplicate slug, told apart by place and time"] == 2


def test_onl_needs_a_real_link_or_phone():
    [without], _report = _normalize(
        record(types=["O", "ONL"], conference_url="", conference_phone="")
    )
    assert without["types"] == ["O"]
    assert without["attendance_option"] == "in_person"
    [bogus], _ = _normalize(record(types=["ONL"], conference_url="zoom", conference_phone="Zoom"))
    assert bogus["types"] == []
    [real], _ = _normalize(record(types=["ONL"], conference_url="https://zoom.us/j/1"))
    assert real["types"] == ["ONL"]
    assert real["attendance_option"] == "hybrid"  # a street address and a link


def test_open_and_closed_together_means_closed():
    [fields], _report = _normalize(record(types=["O", "C", "W"]))
    assert fields["types"] == ["C", "W"]


def test_empty_strings_are_absent_values():
    [fields], _ = _normalize(
        record(latitude="", longitude="", notes="", end_time="", conference_url="", regions=[])
    )
    assert fields["latitude"] is None
    assert fields["duration_minutes"] == 60
    assert fields["notes"] == ""


def test_a_meeting_with_no_day_or_time_is_kept_by_appointment():
    fields, _ = _normalize(record(day="", time=""), record(day=None, time="19:00"))
    assert [(f["day"], f["start_time"], f["start_minute"]) for f in fields] == [
        (None, None, None),
        (None, None, None),
    ]


def test_centroids_and_online_only_meetings():
    [centroid], _ = _normalize(
        record(formatted_address="Philadelphia, PA, USA", conference_url="https://zoom.us/j/2")
    )
    assert centroid["approximate"] is True
    assert centroid["attendance_option"] == "online"
    [closed], _ = _normalize(record(types=["TC"]))
    assert closed["attendance_option"] == "inactive"


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"name": ""}, "no name"),
        ({"slug": ""}, "no slug"),
        ({"latitude": 91}, "latitude 91 is out of range"),
        ({"longitude": "-181"}, "out of range"),
        ({"latitude": "north"}, "is not a number"),
        ({"time": "25:99"}, "is not a time of day"),
        ({"day": 9}, "is not a day"),
    ],
)
def test_invalid_records_are_rejected_with_a_reason_and_the_rest_imported(bad, reason):
    fields, report = _normalize(record(slug="good"), record(**{"slug": "bad", **bad}))
    assert [f["slug"] for f in fields] == ["good"]
    assert len(report.rejected) == 1
    assert reason in report.rejected[0]["reason"]


def test_fields_that_identify_people_are_dropped():
    [fields], _ = _normalize(
        record(
            author="jdoe",
            edit_url="https://example.test/wp-admin/post.php?post=1",
            contact_1_name="Jane D.",
            contact_1_email="jane@example.test",
            venmo="@jane-doe",
        )
    )
    dumped = json.dumps(dict(fields), default=str)
    for secret in ("jdoe", "wp-admin", "Jane D.", "jane@example.test", "@jane-doe"):
        assert secret not in dumped


def test_a_bmlt_feed_maps_weekdays_formats_and_venues():
    records = [
        {
            "id_bigint": "101",
            "meeting_name": "Just for Today",
            "weekday_tinyint": "1",
            "start_time": "19:30:00",
            "duration_time": "01:30:00",
            "formats": "O,BEG,WC,Xyz",
            "venue_type": "1",
            "location_text": "Church",
            "location_street": "1 Elm St",
            "location_municipality": "Springfield",
            "location_province": "PA",
            "latitude": "40.1",
            "longitude": "-75.2",
            "time_zone": "",
            "contact_name_1": "Pat Q.",
        },
        {
            "id_bigint": "102",
            "meeting_name": "Online Recovery",
            "weekday_tinyint": "7",
            "start_time": "21:00:00",
            "duration_time": "01:00:00",
            "formats": "C,VM",
            "venue_type": "2",
            "virtual_meeting_link": "https://meet.example.test/na",
            "latitude": "0",
            "longitude": "0",
        },
        {"id_bigint": "103", "meeting_name": "Broken", "weekday_tinyint": "8"},
    ]
    fields, report = _normalize(*records, fellowship="NA", fmt="bmlt")
    first, second = fields
    assert (first["day"], first["start_time"], first["duration_minutes"]) == (0, time(19, 30), 90)
    assert first["end_time"] == time(21, 0)
    assert first["types"] == ["O", "BE", "X"]
    assert first["attendance_option"] == "in_person"
    assert "Pat Q." not in json.dumps(first, default=str)
    assert second["day"] == 6
    assert second["attendance_option"] == "online"
    assert second["latitude"] is None
    # A street is a place; no street (an online meeting's town) is approximate.
    assert (first["approximate"], second["approximate"]) == (False, True)
    assert "ONL" in second["types"]
    assert report.rejected == [{"record": "103", "reason": "weekday_tinyint '8' is not 1-7"}]


def test_the_command_imports_bmlt_json(tmp_path):
    path = tmp_path / "na.json"
    path.write_text(
        json.dumps(
            [
                {
                    "id_bigint": "7",
                    "meeting_name": "Clean Time",
                    "weekday_tinyint": "2",
                    "start_time": "18:00:00",
                    "duration_time": "01:00:00",
                    "formats": "O",
                    "venue_type": "1",
                    "location_street": "2 Oak St",
                    "latitude": "40.0",
                    "longitude": "-75.0",
                }
            ]
        )
    )
    output = _import(path, "na-test", "NA", "America/Chicago", "--format", "bmlt")
    assert "created 1" in output
    meeting = Meeting.objects.get(feed__name="na-test")
    assert (meeting.day, meeting.fellowship, meeting.time_zone) == (1, "NA", "America/Chicago")


# --- upserts, retirements, one transaction -----------------------------------------------------


def test_upsert_by_slug_retires_what_left_and_brings_back_what_returns(tmp_path):
    path = tmp_path / "feed.json"
    a, b, c = record(slug="a"), record(slug="b"), record(slug="c")
    path.write_text(json.dumps([a, b, c]))
    assert "created 3, updated 0, unchanged 0, retired 0" in _import(path)
    b["time"] = "20:00"
    path.write_text(json.dumps([a, b]))
    assert "created 0, updated 1, unchanged 1, retired 1" in _import(path)
    assert Meeting.objects.get(slug="b").start_time == time(20, 0)
    assert Meeting.objects.get(slug="c").retired_at is not None
    path.write_text(json.dumps([a, b, c]))
    assert "created 0, updated 1, unchanged 2, retired 0" in _import(path)
    assert Meeting.objects.get(slug="c").retired_at is None


@pytest.mark.parametrize(
    "content",
    [b"<html>not json</html>", b'{"meetings": "nope"}', b"\xff\xfe\x00", b""],
)
def test_a_feed_that_does_not_parse_changes_nothing(tmp_path, content):
    path = tmp_path / "feed.json"
    path.write_text(json.dumps([record(slug="kept")]))
    _import(path)
    path.write_bytes(content)
    with pytest.raises(CommandError, match="Nothing was changed"):
        _import(path)
    assert Meeting.objects.get(slug="kept").retired_at is None
    feed = MeetingFeed.objects.get(name="test")
    assert feed.last_status == "failed"


def test_a_database_error_midway_rolls_the_whole_feed_back(tmp_path, monkeypatch):

    path = tmp_path / "feed.json"
    path.write_text(json.dumps([record(slug="a"), record(slug="b")]))
    _import(path)
    path.write_text(json.dumps([record(slug="a", time="06:00"), record(slug="c")]))

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    # After every write (COPY or the ORM's): the changed, new and retired rows roll back.
    monkeypatch.setattr(importer, "forget_zones", broken)
    with pytest.raises(RuntimeError):
        _import(path)
    assert set(Meeting.objects.filter(retired_at=None).values_list("slug", flat=True)) == {"a", "b"}
    assert Meeting.objects.get(slug="a").start_time == time(19, 0)


def test_command_arguments_are_checked():
    with pytest.raises(CommandError, match="Unknown time zone"):
        _import("x.json", "t", "AA", "Mars/Base")
    with pytest.raises(CommandError, match="needs --fellowship and --timezone"):
        call_command("import_meetings", "x.json", "--feed", "brand-new", stdout=StringIO())
    with pytest.raises(CommandError, match="No such file"):
        _import("/nonexistent/feed.json")
    with pytest.raises(CommandError, match="https only"):
        _import("http://127.0.0.1:9/feed.json")


# --- over the network (a server on loopback) --------------------------------------------------


class _Feed(BaseHTTPRequestHandler):
    body = b"[]"
    content_type = "application/json"
    delay = 0.0
    declare_length = True  # False: the body runs to the end of the connection

    def do_GET(self):
        clock.sleep(self.delay)
        self.send_response(200)
        self.send_header("Content-Type", self.content_type)
        if self.declare_length:
            self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def feed_server():
    handler = type("Handler", (_Feed,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_port}/feed.json"
    server.shutdown()
    server.server_close()


def test_an_http_feed_imports(feed_server):
    handler, url = feed_server
    handler.body = json.dumps([record(slug="net")]).encode()
    assert "created 1" in _import(url, "test", "AA", "America/New_York", "--allow-http")


@override_settings(MEETING_FEED_READ_TIMEOUT=1)
def test_a_feed_that_does_not_answer_in_time_changes_nothing(feed_server):
    handler, url = feed_server
    handler.delay = 2.5
    with pytest.raises(CommandError, match=r"did not answer in time\. Nothing was changed"):
        _import(url, "test", "AA", "America/New_York", "--allow-http")
    assert not Meeting.objects.exists()
    assert "did not answer in time" in MeetingFeed.objects.get(name="test").last_report["error"]


@override_settings(MEETING_FEED_MAX_BYTES=1000)
def test_a_feed_over_the_size_cap_is_refused(feed_server):
    handler, url = feed_server
    handler.body = json.dumps([record() for _ in range(50)]).encode()
    with pytest.raises(CommandError):
        _import(url, "test", "AA", "America/New_York", "--allow-http")
    assert "larger than 1000 bytes" in MeetingFeed.objects.get(name="test").last_report["error"]
    assert not Meeting.objects.exists()


@override_settings(MEETING_FEED_MAX_BYTES=100_000)
def test_a_feed_that_grows_past_the_cap_while_streaming_is_refused_and_changes_nothing(
    feed_server, tmp_path
):
    path = tmp_path / "feed.json"
    path.write_text(json.dumps([record(slug="kept")]))
    _import(path)
    handler, url = feed_server
    handler.declare_length = False
    handler.body = json.dumps([record(slug=f"s{n}") for n in range(1000)]).encode()
    with pytest.raises(CommandError, match=r"larger than 100000 bytes\. Nothing was changed"):
        _import(url, "test", "AA", "America/New_York", "--allow-http")
    assert list(Meeting.objects.values_list("slug", "retired_at")) == [("kept", None)]


def test_a_feed_that_is_not_json_by_its_content_type_is_refused(feed_server):
    handler, url = feed_server
    handler.content_type = "text/html"
    with pytest.raises(CommandError):
        _import(url, "test", "AA", "America/New_York", "--allow-http")
    assert "text/html, not JSON" in MeetingFeed.objects.get(name="test").last_report["error"]


def test_registered_feeds_are_re_imported_from_their_urls(feed_server):
    handler, url = feed_server
    handler.body = json.dumps([record(slug="r1"), record(slug="r2")]).encode()
    make_feed("registered")
    MeetingFeed.objects.filter(name="registered").update(url=url)
    out = StringIO()
    call_command("import_meetings", "--registered", "--allow-http", stdout=out)
    assert "registered: created 2" in out.getvalue()
    assert MeetingFeed.objects.get(name="registered").last_status == "ok"


def test_a_feed_with_an_unknown_time_zone_is_refused_before_reading(tmp_path):
    path = tmp_path / "feed.json"
    path.write_text(json.dumps([record()]))
    feed = make_feed("typo")
    MeetingFeed.objects.filter(pk=feed.pk).update(time_zone="America/NewYork")
    with pytest.raises(CommandError, match="time zone 'America/NewYork' is not known"):
        call_command("import_meetings", str(path), "--feed", "typo", stdout=StringIO())
    assert not Meeting.objects.exists()


def test_an_empty_feed_or_a_mass_retirement_needs_force(tmp_path):
    path = tmp_path / "feed.json"
    path.write_text(json.dumps([record(slug=f"m{n}") for n in range(30)]))
    _import(path)
    path.write_text("[]")
    with pytest.raises(CommandError, match="no valid meeting"):
        _import(path)
    path.write_text(json.dumps([record(slug=f"m{n}") for n in range(10)]))
    with pytest.raises(CommandError, match="would retire 20 of 30"):
        _import(path)
    assert Meeting.objects.filter(retired_at=None).count() == 30
    assert "retired 20" in _import(path, "test", "AA", "America/New_York", "--force")


@pytest.mark.parametrize("day", ["²", "٣", "12345"])
def test_digits_that_are_not_ascii_are_rejected_not_crashed(day):
    fields, report = _normalize(record(slug="ok"), record(slug="odd", day=day))
    assert [f["slug"] for f in fields] == ["ok"]
    assert "is not a day" in report.rejected[0]["reason"]


def test_a_json_bomb_is_a_clear_failure(tmp_path):
    path = tmp_path / "feed.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CommandError, match=r"nested too deeply|not valid JSON"):
        _import(path)
