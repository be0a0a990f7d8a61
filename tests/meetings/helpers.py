"""Meetings for tests, built through the importer's own normalisation."""

import os
import zlib
from pathlib import Path

import pytest

from backend.meetings.importer import Report, apply, normalize
from backend.meetings.models import Meeting, MeetingFeed

# Beside the checkout; MEETING_GUIDE_FEEDS names the folder for a checkout elsewhere.
SHARED = Path(
    os.environ.get("MEETING_GUIDE_FEEDS")
    or Path(__file__).resolve().parents[2].parent / "shared" / "meeting-guide"
)


def shared_feed(name: str) -> Path:
    """A real public feed from ../shared/meeting-guide/, read in place (skip where absent)."""
    path = SHARED / name
    if not path.is_file():
        pytest.skip(
            f"{path} is not here (real feeds live outside the repo; "
            "MEETING_GUIDE_FEEDS names their folder)"
        )
    return path


def make_feed(name="test-feed", fellowship="AA", time_zone="America/New_York") -> MeetingFeed:
    feed, _ = MeetingFeed.objects.get_or_create(
        name=name, defaults={"fellowship": fellowship, "time_zone": time_zone}
    )
    return feed


_counter = iter(range(1, 10**9))


def record(**fields) -> dict:
    """A Meeting Guide record with sensible defaults.

    Each at its own door: by default a point of its own a few metres from (40, -75);
    records given one point share one street address (a building, not a centroid).
    """
    number = next(_counter)
    base = {
        "name": f"Meeting {number}",
        "slug": f"meeting-{number}",
        "day": 1,
        "time": "19:00",
        "end_time": "20:00",
        "types": ["O"],
        "location": "Hall",
        "formatted_address": f"{number} Main Street, Springfield, PA 19000, USA",
        "latitude": round(40.0 + (number % 1000) * 1e-6, 6),
        "longitude": -75.0,
    }
    if "formatted_address" not in fields and {"latitude", "longitude"} & set(fields):
        house = zlib.crc32(f"{fields.get('latitude')},{fields.get('longitude')}".encode())
        base["formatted_address"] = f"{house % 9000 + 1} Main Street, Springfield, PA 19000, USA"
    base.update(fields)
    return base


def make_meetings(*records: dict, feed: MeetingFeed | None = None) -> list[Meeting]:
    """Import ``records`` as one feed (a new one unless given: importing retires the rest)."""
    feed = feed or make_feed(name=f"feed-{next(_counter)}")
    report = Report()
    fields = normalize(
        list(records),
        fmt=feed.format,
        fellowship=feed.fellowship,
        default_tz=feed.time_zone,
        report=report,
    )
    assert not report.rejected, report.rejected
    apply(feed, fields, Report())
    slugs = [f["slug"] for f in fields]
    by_slug = {m.slug: m for m in Meeting.objects.filter(feed=feed, slug__in=slugs)}
    return [by_slug[slug] for slug in slugs]
