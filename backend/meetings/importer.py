"""Read a meeting feed (Meeting Guide or BMLT JSON), normalise its records, upsert them.

Real feeds are messy: coordinates as strings, 12-hour times, times with seconds,
day names and day arrays, duplicate slugs, ``ONL`` without a link, O and C
together, empty strings, meetings without a day or time. Each record is
normalised or rejected with a reason; the feed as a whole is applied in one
transaction, so a feed that fails to parse changes nothing.
"""

import codecs
import hashlib
import json
import math
import re
import sys
import time as time_module
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from backend.core.time import is_time_zone
from backend.meetings import places
from backend.meetings import types as meeting_types
from backend.meetings.cells import cell_of
from backend.meetings.models import Meeting, MeetingFeed
from backend.meetings.selectors import forget_zones
from backend.meetings.weekminutes import utc_minute

DEFAULT_DURATION = 60
# An end time this far after the start is a data error (an AM/PM mix-up), not a meeting.
MAX_PLAUSIBLE_MINUTES = 4 * 60
DAY_NAMES = {
    name: number
    for number, names in enumerate(
        [
            ("sunday", "sun", "su"),
            ("monday", "mon", "mo"),
            ("tuesday", "tue", "tues", "tu"),
            ("wednesday", "wed", "we"),
            ("thursday", "thu", "thur", "thurs", "th"),
            ("friday", "fri", "fr"),
            ("saturday", "sat", "sa"),
        ]
    )
    for name in names
}
TIME_RE = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*([ap])?\.?\s*(m\.?)?\s*$", re.I)
PHONE_RE = re.compile(r"\d.*\d.*\d.*\d.*\d.*\d.*\d")  # at least seven digits


class FeedImportError(Exception):
    """The feed as a whole cannot be read; nothing was changed."""


@dataclass
class Report:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)
    warnings: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "retired": self.retired,
            "rejected": self.rejected,
            "warnings": dict(sorted(self.warnings.items())),
        }


class RecordRejectedError(Exception):
    pass


# A meeting's model fields as the importer builds them: those a record gives, those the
# whole feed decides (approximate, attendance_option), the derived ones (_finish) and
# utc_minute (apply).
FIELD_NAMES = (
    "name", "start_time", "end_time", "duration_minutes", "time_zone", "types", "notes",
    "location_name", "location_notes", "formatted_address", "latitude", "longitude", "regions",
    "conference_url", "conference_url_notes", "conference_phone", "conference_phone_notes",
    "group_name", "group_notes", "website", "source_updated_at", "approximate",
    "attendance_option", "day", "slug", "start_minute", "fellowship", "types_key",
    "regions_key", "search_text", "content_hash", "utc_minute",
)  # fmt: skip


class Fields(Mapping[str, Any]):
    """One meeting's fields, read and set like a dict's items; only those set are its keys.

    A feed's worth of meetings is held at once, and a dict of some thirty items is
    four times the size of these slots (about 1.1 kB a meeting saved).
    """

    __slots__ = FIELD_NAMES

    def __init__(self, **values: Any):
        for name, value in values.items():
            setattr(self, name, value)

    def __getitem__(self, name: str) -> Any:
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None

    def __setitem__(self, name: str, value: Any) -> None:
        setattr(self, name, value)

    def __iter__(self) -> Iterator[str]:
        return (name for name in FIELD_NAMES if hasattr(self, name))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"Fields({dict(self)!r})"

    def copy(self) -> "Fields":
        return Fields(**self)


@dataclass
class Parsed:
    """One record read: its model fields but the two that depend on the whole feed."""

    slug: str
    days: list[int | None]
    fields: Fields  # all but "approximate" and "attendance_option"
    online: bool
    approximate: bool | None = None  # the record's own word, None when it says nothing
    area_only: bool | None = None  # known from the format (BMLT: no street), else judged
    areas: set[str] = field(default_factory=set)  # the record's own town, state, regions
    venue: str | None = None  # BMLT states it


# --- reading -----------------------------------------------------------------------------


CHUNK_BYTES = 64 * 1024
# One record of a feed is a few hundred bytes; one this large is not a meeting.
MAX_RECORD_BYTES = 1024 * 1024
NUMBER_CHARACTERS = frozenset("0123456789+-.eE")


def _too_large(cap: int) -> FeedImportError:
    return FeedImportError(f"The feed is larger than {cap} bytes.")


def open_source(source: str, *, allow_http: bool = False) -> Iterator[bytes]:
    """The bytes of a local file or an https URL, chunk by chunk, within the size cap.

    Checks that can be made before reading (the file, the scheme, the answer's status
    and type) are made when this is called; the cap is enforced as the chunks arrive.
    """
    cap = settings.MEETING_FEED_MAX_BYTES
    if "://" not in source:
        path = Path(source)
        if not path.is_file():
            raise FeedImportError(f"No such file: {source}")
        if path.stat().st_size > cap:
            raise _too_large(cap)
        return _file_chunks(path, cap)
    scheme = urlsplit(source).scheme
    if scheme != "https" and not (allow_http and scheme == "http"):
        raise FeedImportError("Feeds are read over https only.")
    try:
        response = requests.get(
            source,
            stream=True,
            timeout=(settings.MEETING_FEED_CONNECT_TIMEOUT, settings.MEETING_FEED_READ_TIMEOUT),
            headers={"Accept": "application/json"},
            allow_redirects=True,
        )
    except requests.Timeout as exc:
        raise FeedImportError("The feed did not answer in time.") from exc
    except requests.RequestException as exc:
        raise FeedImportError(f"The feed could not be fetched ({type(exc).__name__}).") from exc
    try:
        if response.status_code != 200:
            raise FeedImportError(f"The feed answered HTTP {response.status_code}.")
        final = urlsplit(response.url).scheme
        if final != scheme and not (allow_http and final == "http"):
            raise FeedImportError("The feed redirected away from https.")
        kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind not in {"application/json", "text/json", "text/plain"} and not kind.endswith(
            "+json"
        ):
            raise FeedImportError(f"The feed is {kind or 'of no content type'}, not JSON.")
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise _too_large(cap)
    except FeedImportError:
        response.close()
        raise
    return _response_chunks(response, cap)


def _file_chunks(path: Path, cap: int) -> Iterator[bytes]:
    read = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            read += len(chunk)
            if read > cap:  # the file grew after it was measured
                raise _too_large(cap)
            yield chunk


def _response_chunks(response, cap: int) -> Iterator[bytes]:
    read = 0
    deadline = time_module.monotonic() + settings.MEETING_FEED_READ_TIMEOUT
    try:
        with response:
            for chunk in response.iter_content(chunk_size=CHUNK_BYTES):
                read += len(chunk)
                if read > cap:
                    raise _too_large(cap)
                if time_module.monotonic() > deadline:
                    raise FeedImportError("The feed did not answer in time.")
                yield chunk
    except requests.Timeout as exc:
        raise FeedImportError("The feed did not answer in time.") from exc
    except requests.RequestException as exc:
        raise FeedImportError(f"The feed could not be fetched ({type(exc).__name__}).") from exc


def read_source(source: str, *, allow_http: bool = False) -> bytes:
    """The whole of a source at once, within the size cap (small feeds, tests)."""
    return b"".join(open_source(source, allow_http=allow_http))


class _Text:
    """Decoded text from byte chunks, read on demand into a buffer that forgets what was used."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = iter(chunks)
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.buffer, self.at, self.ended = "", 0, False

    def more(self) -> bool:
        """Read another chunk; False at the end of the input."""
        if self.ended:
            return False
        self.buffer = self.buffer[self.at :]
        self.at = 0
        try:
            chunk = next(self._chunks, None)
            if chunk is None:
                self.ended = True
                self.buffer += self._decoder.decode(b"", final=True)
            else:
                self.buffer += self._decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise FeedImportError(f"The feed is not valid JSON: {exc}") from exc
        return True

    def next_char(self) -> str:
        """The next character that is not white space, not consumed; "" at the end."""
        while True:
            while self.at < len(self.buffer) and self.buffer[self.at] in " \t\r\n":
                self.at += 1
            if self.at < len(self.buffer):
                return self.buffer[self.at]
            if not self.more():
                return ""


def _decode_one(text: _Text, decoder: json.JSONDecoder) -> Any:
    """The JSON value at the reading point, reading more until it is whole."""
    while True:
        try:
            value, end = decoder.raw_decode(text.buffer, text.at)
        except json.JSONDecodeError as exc:
            if len(text.buffer) - text.at > MAX_RECORD_BYTES:
                raise FeedImportError("A record of the feed is larger than 1 MB.") from exc
            if not text.more():
                raise FeedImportError(f"The feed is not valid JSON: {exc}") from exc
            continue
        except RecursionError as exc:
            raise FeedImportError("The feed is nested too deeply to be a meeting list.") from exc
        # A number may go on in the next chunk ("1" of "1.5", "-0." of "-0.25"): a value must
        # end before the buffer does, and a number before what cannot continue it.
        unsure = end == len(text.buffer) or (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and text.buffer[end] in NUMBER_CHARACTERS
        )
        if unsure and len(text.buffer) - text.at <= MAX_RECORD_BYTES and text.more():
            continue
        text.at = end
        return value


def iter_records(chunks: Iterable[bytes], fmt: str) -> Iterator[Any]:
    """The elements of the feed's JSON array, one at a time: the feed is never held whole.

    A BMLT answer wrapped in an object ({"meetings": [...]}) is read whole, within the cap.
    """
    text, decoder = _Text(chunks), json.JSONDecoder()
    first = text.next_char()
    if first == "{" and fmt == MeetingFeed.Format.BMLT:
        whole = _decode_one(text, decoder)
        if text.next_char():
            raise FeedImportError("The feed is not valid JSON: extra data after the object.")
        data = whole.get("meetings", whole)
        if not isinstance(data, list):
            raise FeedImportError("The feed is not a JSON array of meetings.")
        yield from data
        return
    if first != "[":
        if first in '{"0123456789-tfn' and first:
            _decode_one(text, decoder)  # valid JSON of another shape, or a syntax error
            raise FeedImportError("The feed is not a JSON array of meetings.")
        raise FeedImportError("The feed is not valid JSON: it does not start with a value.")
    text.at += 1
    if text.next_char() == "]":
        text.at += 1
    else:
        while True:
            if not text.next_char():
                raise FeedImportError("The feed is not valid JSON: it ends inside the array.")
            yield _decode_one(text, decoder)
            separator = text.next_char()
            text.at += 1
            if separator == "]":
                break
            if separator != ",":
                raise FeedImportError(
                    "The feed is not valid JSON: expected ',' or ']' between meetings."
                )
    if text.next_char():
        raise FeedImportError("The feed is not valid JSON: extra data after the array.")


def parse_records(raw: bytes, fmt: str) -> list[dict]:
    """Every record of a feed held in memory (see iter_records)."""
    return list(iter_records([raw], fmt))


# --- values ------------------------------------------------------------------------------


def _text(value: Any, limit: int | None = None) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    text = str(value).strip()
    return text[:limit] if limit else text


def parse_time(value: Any) -> time | None:
    """'19:30', '7:30 PM', '19:30:00', '12:00 am' -> a time; '' or None -> None."""
    text = _text(value)
    if not text:
        return None
    lowered = text.lower()
    if lowered == "noon":
        return time(12, 0)
    if lowered == "midnight":
        return time(0, 0)
    match = TIME_RE.match(text)
    if not match:
        raise RecordRejectedError(f"time {text!r} is not a time of day")
    hour, minute, second = int(match[1]), int(match[2] or 0), int(match[3] or 0)
    if second > 59:
        raise RecordRejectedError(f"time {text!r} is not a time of day")
    meridiem = (match[4] or "").lower()
    if meridiem:
        if not 1 <= hour <= 12:
            raise RecordRejectedError(f"time {text!r} is not a time of day")
        hour = hour % 12 + (12 if meridiem == "p" else 0)
    elif match[2] is None:
        raise RecordRejectedError(f"time {text!r} is not a time of day")
    if hour == 24 and minute == 0:
        hour = 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise RecordRejectedError(f"time {text!r} is not a time of day")
    return _clock_time(hour, minute)


@lru_cache(maxsize=24 * 60)
def _clock_time(hour: int, minute: int) -> time:
    """One object per minute of the day, shared by a feed's meetings (they are immutable)."""
    return time(hour, minute)


def _small_number(text: str) -> int | None:
    # str.isdigit() is true for "²" and other digits int() refuses: ASCII only.
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 4 else None


def parse_days(value: Any) -> list[int | None]:
    """0-6 (0 = Sunday), a day name, or an array of them; nothing -> [None] (by appointment)."""
    if value is None or value in ("", []):
        return [None]
    values = value if isinstance(value, list) else [value]
    days: list[int | None] = []
    for item in values:
        if isinstance(item, bool):
            raise RecordRejectedError(f"day {item!r} is not a day")
        if isinstance(item, int) and 0 <= item <= 6:
            day = item
        elif isinstance(item, str) and _small_number(item) is not None and int(item) <= 6:
            day = int(item)
        elif isinstance(item, str) and item.strip().lower().rstrip(".") in DAY_NAMES:
            day = DAY_NAMES[item.strip().lower().rstrip(".")]
        else:
            raise RecordRejectedError(f"day {item!r} is not a day")
        if day not in days:
            days.append(day)
    return days


def _coordinate(value: Any, low: float, high: float, what: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise RecordRejectedError(f"{what} {value!r} is not a number") from exc
    if math.isnan(number) or not low <= number <= high:
        raise RecordRejectedError(f"{what} {value!r} is out of range")
    return number


def _zone(value: Any, default: str, report: Report) -> str:
    name = _text(value)
    if not name:
        return default
    if not is_time_zone(name):
        report.warnings["unknown time zone, feed default used"] += 1
        return default
    return sys.intern(name)  # one string per zone, not one per meeting


def _url(value: Any, report: Report, what: str) -> str:
    text = _text(value)
    if not text:
        return ""
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.netloc or len(text) > 1000:
        report.warnings[f"{what} is not a web address, dropped"] += 1
        return ""
    return text


_SPEC_UPDATED = re.compile(r"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)")


def _updated(value: Any) -> datetime | None:
    text = _text(value)
    spec = _SPEC_UPDATED.fullmatch(text)
    if spec:  # the spec's own form, most of every feed: without strptime's cost
        return _spec_moment(spec.groups())
    for fmt in ("%Y-%m-%d %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


@lru_cache(maxsize=4096)
def _spec_moment(parts: tuple[str, ...]) -> datetime | None:
    """A feed's "updated" moments repeat (a whole feed edited at once): one object each."""
    try:
        return datetime(*(int(part) for part in parts), tzinfo=UTC)
    except ValueError:
        return None


# The spec writes "yes" / "no"; feeds also write booleans and their spellings.
STATED_APPROXIMATE = {"yes": True, "y": True, "true": True, "1": True}
STATED_APPROXIMATE |= {"no": False, "n": False, "false": False, "0": False}


def _stated_approximate(value: Any, report: Report) -> bool | None:
    """What the record says about its own location; None when it says nothing."""
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if not text:
        return None
    if text not in STATED_APPROXIMATE:
        report.warnings["approximate value not understood, judged from the address"] += 1
        return None
    return STATED_APPROXIMATE[text]


def attendance_option(
    *, types: list[str], online: bool, usable_address: bool, venue: str | None = None
) -> str:
    """In person, online, hybrid or inactive, as the 12 Step Meeting List plugin derives it."""
    closed_for_now = meeting_types.TEMPORARILY_CLOSED in types
    if venue is not None:  # BMLT states it
        if closed_for_now and venue == Meeting.Attendance.IN_PERSON:
            return Meeting.Attendance.INACTIVE
        return Meeting.Attendance.ONLINE if closed_for_now and online else venue
    if closed_for_now:
        return Meeting.Attendance.ONLINE if online else Meeting.Attendance.INACTIVE
    if online and usable_address:
        return Meeting.Attendance.HYBRID
    if online:
        return Meeting.Attendance.ONLINE
    return Meeting.Attendance.IN_PERSON


@lru_cache(maxsize=64)
def _codes_by_lower_case(fellowship: str) -> dict[str, str]:
    """The fellowship's type codes by their lower case (the first, where two differ in case)."""
    codes: dict[str, str] = {}
    for code in meeting_types.types_for(fellowship):
        codes.setdefault(code.lower(), code)
    return codes


def _types(raw: Any, *, fellowship: str, online: bool, report: Report) -> list[str]:
    known = _codes_by_lower_case(fellowship)
    codes: list[str] = []
    for item in raw if isinstance(raw, list) else [raw] if raw else []:
        code = _text(item)
        if not code:
            continue
        match = known.get(code.lower())
        if match is None:
            report.warnings[f"unknown type code {code[:20]!r} dropped"] += 1
        elif match not in codes:
            codes.append(match)
    if meeting_types.ONLINE in codes and not online:
        codes.remove(meeting_types.ONLINE)
        report.warnings["ONL without a conference link or phone, dropped"] += 1
    if meeting_types.OPEN in codes and meeting_types.CLOSED in codes:
        codes.remove(meeting_types.OPEN)
        report.warnings["O and C together, kept C"] += 1
    return codes


def _duration(start: time | None, end: time | None, report: Report) -> int:
    if start is None or end is None:
        return DEFAULT_DURATION
    minutes = (end.hour * 60 + end.minute - start.hour * 60 - start.minute) % (24 * 60)
    if minutes == 0 or minutes > MAX_PLAUSIBLE_MINUTES:
        report.warnings["implausible end time, 60 minutes used"] += 1
        return DEFAULT_DURATION
    return minutes


def _finish(fields: Fields, *, fellowship: str) -> Fields:
    """Derived columns: start minute, filter keys, search text, content hash."""
    day, start = fields["day"], fields["start_time"]
    fields["start_minute"] = None if day is None else day * 1440 + start.hour * 60 + start.minute
    fields["fellowship"] = fellowship
    fields["types_key"] = "," + "".join(f"{code}," for code in fields["types"])
    fields["regions_key"] = "|" + "".join(f"{r.lower()}|" for r in fields["regions"])
    fields["search_text"] = " ".join(
        part.lower()
        for part in (
            fields["name"],
            fields["location_name"],
            fields["location_notes"],
            fields["notes"],
            fields["group_name"],
            fields["formatted_address"],
            *fields["regions"],
        )
        if part
    )
    fields["content_hash"] = _content_hash(fields)
    return fields


def _content_hash(fields: Mapping[str, Any]) -> str:
    canonical = json.dumps(
        {k: v for k, v in fields.items() if k != "content_hash"}, sort_keys=True, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _expand(slug: str, days: list[int | None], base: Fields, fellowship: str) -> list[Fields]:
    # A record meeting on several days becomes one meeting per day, each with its own slug.
    out = []
    for day in days:
        # The record's own dict when it meets on one day: a feed's worth of copies is memory.
        fields = base if len(days) == 1 else base.copy()
        fields["day"] = day
        if day is None:
            fields["start_time"] = fields["end_time"] = None
            fields["duration_minutes"] = DEFAULT_DURATION
        fields["slug"] = slug if len(days) == 1 else f"{slug}-{day}"
        out.append(_finish(fields, fellowship=fellowship))
    return out


# --- the two formats -----------------------------------------------------------------------


def _meeting_guide_record(
    record: dict, *, fellowship: str, default_tz: str, report: Report
) -> Parsed:
    name = _text(record.get("name"), 255)
    slug = _text(record.get("slug"), 200)
    if not name:
        raise RecordRejectedError("no name")
    if not slug:
        raise RecordRejectedError("no slug")
    days = parse_days(record.get("day"))
    start = parse_time(record.get("time"))
    end = parse_time(record.get("end_time"))
    if start is None:
        days = [None]  # by appointment
    latitude = _coordinate(record.get("latitude"), -90, 90, "latitude")
    longitude = _coordinate(record.get("longitude"), -180, 180, "longitude")
    if (latitude is None) != (longitude is None):
        latitude = longitude = None
        report.warnings["only one coordinate, both dropped"] += 1
    address = (
        _text(record.get("formatted_address"), 500)
        or ", ".join(
            part
            for part in (
                _text(record.get(key))
                for key in ("address", "city", "state", "postal_code", "country")
            )
            if part
        )[:500]
    )
    conference_url = _url(record.get("conference_url"), report, "conference_url")
    phone = _text(record.get("conference_phone"), 100)
    if phone and not PHONE_RE.search(phone):
        report.warnings["conference_phone is not a phone number, dropped"] += 1
        phone = ""
    online = bool(conference_url or phone)
    codes = _types(record.get("types"), fellowship=fellowship, online=online, report=report)
    regions = record.get("regions")
    if isinstance(regions, list):
        regions = [sys.intern(_text(r, 100)) for r in regions if _text(r)]
    else:
        regions = [
            _text(record.get(key), 100)
            for key in ("region", "sub_region")
            if _text(record.get(key))
        ]
    base = Fields(
        name=name,
        start_time=start,
        end_time=end,
        duration_minutes=_duration(start, end, report),
        time_zone=_zone(record.get("timezone"), default_tz, report),
        types=codes,
        notes=_text(record.get("notes")),
        location_name=_text(record.get("location"), 255),
        location_notes=_text(record.get("location_notes")),
        formatted_address=address,
        latitude=latitude,
        longitude=longitude,
        regions=regions,
        conference_url=conference_url,
        conference_url_notes=_text(record.get("conference_url_notes")),
        conference_phone=phone,
        conference_phone_notes=_text(record.get("conference_phone_notes")),
        group_name=_text(record.get("group"), 255),
        group_notes=_text(record.get("group_notes")),
        website=_url(record.get("website") or record.get("url"), report, "website")[:500],
        source_updated_at=_updated(record.get("updated")),
    )
    own = (record.get(key) for key in ("city", "state", "postal_code", "country", "region"))
    areas = {places.fold(_text(name)) for name in (*own, record.get("sub_region"), *regions)}
    return Parsed(
        slug,
        days,
        base,
        online,
        approximate=_stated_approximate(record.get("approximate"), report),
        areas=areas - {""},
    )


def _duration_from_bmlt(value: Any) -> int:
    text = _text(value)
    if not text:
        return DEFAULT_DURATION
    parts = text.split(":")
    try:
        hours, minutes = int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError as exc:
        raise RecordRejectedError(f"duration {text!r} is not hours and minutes") from exc
    total = hours * 60 + minutes
    return total if 0 < total <= 24 * 60 else DEFAULT_DURATION


BMLT_VENUES = {
    "1": Meeting.Attendance.IN_PERSON,
    "2": Meeting.Attendance.ONLINE,
    "3": Meeting.Attendance.HYBRID,
}


def _bmlt_days(weekday: str) -> list[int | None]:
    """BMLT's 1 (Sunday) to 7 as our 0-6; none given: by appointment."""
    if not weekday:
        return [None]
    number = _small_number(weekday)
    if number is None or not 1 <= number <= 7:
        raise RecordRejectedError(f"weekday_tinyint {weekday!r} is not 1-7")
    return [number - 1]


def _bmlt_type_codes(formats: str) -> list[str]:
    """BMLT's comma-separated format keys as our type codes, each once, unknown ones left out."""
    codes: list[str] = []
    for key in (f.strip() for f in formats.split(",") if f.strip()):
        code = meeting_types.BMLT_FORMATS.get(key.upper())
        if code and code not in codes:
            codes.append(code)
    return codes


def _bmlt_record(record: dict, *, fellowship: str, default_tz: str, report: Report) -> Parsed:
    name = _text(record.get("meeting_name"), 255)
    slug = _text(record.get("id_bigint"), 200)
    if not name:
        raise RecordRejectedError("no meeting_name")
    if not slug:
        raise RecordRejectedError("no id_bigint")
    days = _bmlt_days(_text(record.get("weekday_tinyint")))
    start = parse_time(record.get("start_time"))
    if start is None:
        days = [None]
    duration = _duration_from_bmlt(record.get("duration_time"))
    end = None
    if start is not None:
        minutes = (start.hour * 60 + start.minute + duration) % (24 * 60)
        end = time(minutes // 60, minutes % 60)
    latitude = _coordinate(record.get("latitude"), -90, 90, "latitude")
    longitude = _coordinate(record.get("longitude"), -180, 180, "longitude")
    if latitude == 0 and longitude == 0:
        latitude = longitude = None  # BMLT's "no coordinates"
    street = _text(record.get("location_street"))
    address = ", ".join(
        part
        for part in (
            street,
            _text(record.get("location_municipality")),
            _text(record.get("location_province")),
            _text(record.get("location_postal_code_1")),
            _text(record.get("location_nation")),
        )
        if part
    )[:500]
    conference_url = _url(record.get("virtual_meeting_link"), report, "virtual_meeting_link")
    phone = _text(record.get("phone_meeting_number"), 100)
    if phone and not PHONE_RE.search(phone):
        phone = ""
    online = bool(conference_url or phone)
    codes = _types(
        _bmlt_type_codes(_text(record.get("formats"))),
        fellowship=fellowship,
        online=online,
        report=report,
    )
    venue = BMLT_VENUES.get(_text(record.get("venue_type")))
    if venue in {Meeting.Attendance.ONLINE, Meeting.Attendance.HYBRID} and not online:
        report.warnings["virtual venue without a link or phone, in person used"] += 1
        venue = Meeting.Attendance.IN_PERSON
    if venue in {Meeting.Attendance.ONLINE, Meeting.Attendance.HYBRID} and (
        meeting_types.ONLINE not in codes
    ):
        codes.append(meeting_types.ONLINE)
    regions = [
        _text(record.get(key), 100)
        for key in ("location_province", "location_sub_province", "location_municipality")
        if _text(record.get(key))
    ]
    base = Fields(
        name=name,
        start_time=start,
        end_time=end,
        duration_minutes=duration,
        time_zone=_zone(record.get("time_zone"), default_tz, report),
        types=codes,
        notes=_text(record.get("comments")),
        location_name=_text(record.get("location_text"), 255),
        location_notes=_text(record.get("location_info")),
        formatted_address=address,
        latitude=latitude,
        longitude=longitude,
        regions=regions,
        conference_url=conference_url,
        conference_url_notes=_text(record.get("virtual_meeting_additional_info")),
        conference_phone=phone,
        conference_phone_notes="",
        group_name="",
        group_notes="",
        website="",
        source_updated_at=None,
    )
    return Parsed(
        slug, days, base, online, area_only=not street, venue=venue or Meeting.Attendance.IN_PERSON
    )


# --- the whole feed ------------------------------------------------------------------------


Progress = Callable[[str], None]
PROGRESS_EVERY = 10_000


def normalize(
    records: Iterable,
    *,
    fmt: str,
    fellowship: str,
    default_tz: str,
    report: Report,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Model fields for every valid meeting, each with its own key; rejections in the report.

    ``records`` may be a stream (iter_records): each is read, normalised and let go.
    """
    parse = _bmlt_record if fmt == MeetingFeed.Format.BMLT else _meeting_guide_record
    parsed: list[Parsed] = []
    index = -1
    for index, record in enumerate(records):
        if progress and index and index % PROGRESS_EVERY == 0:
            progress(f"read {index:,} records")
        if not isinstance(record, dict):
            report.rejected.append({"record": str(index), "reason": "not an object"})
            continue
        try:
            parsed.append(
                parse(record, fellowship=fellowship, default_tz=default_tz, report=report)
            )
        except RecordRejectedError as exc:
            label = _text(record.get("slug") or record.get("id_bigint") or record.get("name"))
            report.rejected.append({"record": label[:80] or str(index), "reason": str(exc)})
    if progress:
        progress(f"read {index + 1:,} records")
    _judge_locations(parsed)
    meetings: list[dict[str, Any]] = []
    for position, one in enumerate(parsed):
        meetings += _expand(one.slug, one.days, one.fields, fellowship)
        parsed[position] = None  # type: ignore[call-overload]  # let it go as we go
    return _own_keys(meetings, report)


def _judge_locations(parsed: list[Parsed]) -> None:
    """Approximate or not, and so the attendance option, from the record and the whole feed.

    The record's own ``approximate`` wins. Otherwise a location is approximate when its
    address names only areas, or when its point is shared by meetings at several
    different addresses (see places). A missing house number or missing coordinates
    say nothing either way.
    """
    known = places.area_names(one.fields["formatted_address"] for one in parsed)
    centroids = places.centroids(
        (
            one.fields["latitude"],
            one.fields["longitude"],
            places.place_key(one.fields["formatted_address"], one.fields["location_name"]),
        )
        for one in parsed
        if one.fields["latitude"] is not None
    )
    for one in parsed:
        fields = one.fields
        approximate = one.approximate
        if approximate is None:
            area_only = one.area_only
            if area_only is None:
                area_only = places.is_area_only(fields["formatted_address"], known | one.areas)
            approximate = area_only or (fields["latitude"], fields["longitude"]) in centroids
        fields["approximate"] = approximate
        fields["attendance_option"] = attendance_option(
            types=fields["types"],
            online=one.online,
            usable_address=bool(fields["formatted_address"]) and not approximate,
            venue=one.venue,
        )


# --- which meeting is which ---------------------------------------------------------------


def _point(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def place_and_time(values: Mapping[str, Any]) -> str:
    """A short hash of where and when a meeting is (model fields, or a row's values)."""
    start = values["start_time"]
    parts = [
        values["day"],
        start.strftime("%H:%M") if start else None,
        places.fold(values["formatted_address"]),
        places.fold(values["location_name"]),
        _point(values["latitude"]),
        _point(values["longitude"]),
    ]
    return _short_hash(parts)


def _short_hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value).encode()).hexdigest()[:10]


# Meetings sharing a slug are told apart by where and when they are, then by name,
# then by everything else: by their content, never by their order in the feed.
_TELLERS: tuple[Callable[[dict[str, Any]], str], ...] = (
    place_and_time,
    lambda fields: _short_hash(places.fold(fields["name"])),
    lambda fields: fields["content_hash"][:10],
)


def _own_keys(meetings: list[dict[str, Any]], report: Report) -> list[dict[str, Any]]:
    """Give every meeting that shares its slug a key of its own (``slug~hash``).

    Reordering the feed gives every meeting the same key again. Records equal in
    everything are one meeting listed twice and are kept once. A key made here that
    happens to be another record's slug is told apart again.
    """
    while True:
        sharing: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
        for fields in meetings:
            sharing[fields["slug"]].append(fields)
        groups = [(slug, group) for slug, group in sharing.items() if len(group) > 1]
        if not groups:
            return meetings
        dropped: set[int] = set()
        for slug, group in groups:
            report.warnings["duplicate slug, told apart by place and time"] += len(group)
            kept = _told_apart(slug, group, 0, report)
            dropped |= {id(fields) for fields in group} - {id(fields) for fields in kept}
            for fields in kept:
                fields["content_hash"] = _content_hash(fields)
        meetings = [fields for fields in meetings if id(fields) not in dropped]


def _told_apart(key: str, group: list[dict], teller: int, report: Report) -> list[dict]:
    if len(group) == 1:
        group[0]["slug"] = key
        return group
    if teller == len(_TELLERS):
        report.warnings["the same meeting listed twice, kept once"] += len(group) - 1
        group[0]["slug"] = key
        return group[:1]
    by_part: defaultdict[str, list[dict]] = defaultdict(list)
    for fields in group:
        by_part[_TELLERS[teller](fields)].append(fields)
    kept = []
    for part, same in sorted(by_part.items()):
        kept += _told_apart(f"{key}~{part}", same, teller + 1, report)
    return kept


def _feed_slug(key: str) -> str:
    return key.split("~", 1)[0]


def _record_slug(key: str) -> str:
    # "weekly-3" is day 3 of the record "weekly" (see _expand): a record that
    # now meets on one day only is keyed "weekly".
    return re.sub(r"-[0-6]$", "", _feed_slug(key))


_IDENTITY = ("day", "start_time", "formatted_address", "location_name", "latitude", "longitude")


def _row_values(row: Meeting) -> dict[str, Any]:
    return {name: getattr(row, name) for name in (*_IDENTITY, "name", "content_hash")}


# How a meeting of the feed finds the row it continues, the surest first.
_MATCHES: tuple[Callable[[str, Mapping[str, Any]], tuple], ...] = (
    lambda key, values: (key, values["content_hash"]),  # unchanged: most of every import
    lambda key, values: (key, place_and_time(values)),
    lambda key, values: (_feed_slug(key), place_and_time(values), values["name"]),
    lambda key, values: (_feed_slug(key), place_and_time(values)),
    lambda key, values: (_record_slug(key), place_and_time(values)),
    lambda key, values: (key,),  # the same key, moved or re-timed
)


def _match(
    meetings: list[Fields],
    rows: list["StoredRow"],
    paired: dict[int, "StoredRow"] | None = None,
) -> dict[int, "StoredRow"]:
    """The row each meeting (by index) continues: by key and content, not feed order.

    ``paired`` are those already paired (_pair_unchanged) and ``rows`` the rows left.

    Rows keyed under another scheme (the old "slug~2" numbering, a slug that was
    unique before) are found by their place and time, so saved meetings and
    attendance follow the meeting. Several rows and meetings sharing a match are
    told apart by what belongs to each (see _pair); those still alike are not
    paired, as a saved meeting must never move to another meeting. What is left
    over under one feed slug, one meeting and one row, is that meeting changed
    when it still has its day and time or its address.
    """
    order = sorted(range(len(meetings)), key=lambda index: meetings[index]["slug"])
    free = list(rows)
    paired = dict(paired or {})
    for match in _MATCHES:
        if not free:  # a new feed, or every row paired: nothing more to look for
            break
        candidates: defaultdict[tuple, list[Meeting]] = defaultdict(list)
        for row in free:
            candidates[match(row.slug, _row_values(row))].append(row)
        seeking: defaultdict[tuple, list[int]] = defaultdict(list)
        for index in order:
            if index not in paired:
                seeking[match(meetings[index]["slug"], meetings[index])].append(index)
        for key, indexes in seeking.items():
            paired.update(_pair(meetings, indexes, candidates.get(key, [])))
        taken = {row.pk for row in paired.values()}
        free = [row for row in free if row.pk not in taken]
    left_rows: defaultdict[str, list[Meeting]] = defaultdict(list)
    for row in free:
        left_rows[_feed_slug(row.slug)].append(row)
    left: defaultdict[str, list[int]] = defaultdict(list)
    for index in order:
        if index not in paired:
            left[_feed_slug(meetings[index]["slug"])].append(index)
    for slug, indexes in left.items():
        candidates = left_rows.get(slug, [])
        one_each = len(indexes) == 1 and len(candidates) == 1
        if one_each and _same_in_part(meetings[indexes[0]], candidates[0]):
            paired[indexes[0]] = candidates[0]
    return paired


def _same_name(fields: Mapping[str, Any], row: Meeting) -> bool:
    return places.fold(fields["name"]) == places.fold(row.name)


def _same_content(fields: Mapping[str, Any], row: Meeting) -> bool:
    # The row's content hash covers its key: compare the meeting as if under that key.
    return _content_hash({**fields, "slug": row.slug}) == row.content_hash


def _row_is_active(fields: Mapping[str, Any], row: Meeting) -> bool:
    return row.retired_at is None


# What tells apart several rows and meetings that share a match, the surest first.
_TIE_BREAKERS: tuple[Callable[[Mapping[str, Any], Meeting], bool], ...] = (
    _same_name,
    _same_content,
    _row_is_active,
)


def _pair(
    meetings: list[dict[str, Any]], indexes: list[int], rows: list[Meeting]
) -> dict[int, Meeting]:
    """Pair meetings and rows that share a match: one with one, else by what is their own.

    A meeting and a row pair when the tie-breaker fits them to each other alone, or
    when they are the only two left. Those still alike stay unpaired (the row is
    retired, the meeting created): never paired by their order.
    """
    indexes, rows = list(indexes), list(rows)
    paired: dict[int, Meeting] = {}
    for breaker in (None, *_TIE_BREAKERS):
        if breaker is not None:
            for index in list(indexes):
                fits = [row for row in rows if breaker(meetings[index], row)]
                if len(fits) != 1:
                    continue
                if sum(breaker(meetings[other], fits[0]) for other in indexes) == 1:
                    paired[index] = fits[0]
                    indexes.remove(index)
                    rows.remove(fits[0])
        if len(indexes) == 1 and len(rows) == 1:
            paired[indexes.pop()] = rows.pop()
        if not indexes or not rows:
            break
    return paired


def _same_in_part(fields: Mapping[str, Any], row: Meeting) -> bool:
    """Whether a left-over meeting and row still agree in their day and time, or address."""
    if fields["start_time"] is not None and (fields["day"], fields["start_time"]) == (
        row.day,
        row.start_time,
    ):
        return True
    address = places.fold(fields["formatted_address"])
    return bool(address) and address == places.fold(row.formatted_address)


# Retiring more than this share of a feed's active meetings in one import needs force=True.
MAX_RETIRED_SHARE = 0.5


# What every import reads of the feed's rows (the unchanged meetings are paired by these
# alone), and what matching reads besides of the rows they leave (see _match, _pair): never
# whole rows.
_ROW_FIELDS = ("slug", "content_hash", "retired_at", "utc_minute")
_MATCH_FIELDS = (*_ROW_FIELDS, "name", *_IDENTITY)


class StoredRow:
    """A stored meeting as matching sees it: a few of its columns (a model instance is 5x larger).

    Made from ``_ROW_FIELDS``; the rest of ``_MATCH_FIELDS`` are set by _identify.
    """

    __slots__ = ("pk", *_MATCH_FIELDS)

    def __init__(self, *values):
        for name, value in zip(("pk", *_ROW_FIELDS), values, strict=True):
            setattr(self, name, value)


def _pair_unchanged(meetings: list[Fields], rows: list[StoredRow]) -> dict[int, StoredRow]:
    """Meetings (by index) paired with the row of the same key and content: most of every
    import, and the first of _MATCHES (keys are unique on both sides, so pairs are one to one)."""
    by_key = {row.slug: row for row in rows}
    paired = {}
    for index, fields in enumerate(meetings):
        row = by_key.get(fields["slug"])
        if row is not None and row.content_hash == fields["content_hash"]:
            paired[index] = row
    return paired


def _identify(feed: MeetingFeed, rows: list[StoredRow]) -> list[StoredRow]:
    """Read the rest of ``_MATCH_FIELDS`` for ``rows`` (those no unchanged meeting claimed)."""
    if not rows:
        return rows
    by_pk = {row.pk: row for row in rows}
    rest = _MATCH_FIELDS[len(_ROW_FIELDS) :]
    for pk, *values in (
        Meeting.objects.filter(feed=feed).values_list("pk", *rest).iterator(chunk_size=5000)
    ):
        row = by_pk.get(pk)
        if row is not None:
            for name, value in zip(rest, values, strict=True):
                setattr(row, name, value)
    return rows


WRITE_BATCH = 1000


@transaction.atomic
def apply(
    feed: MeetingFeed,
    meetings: list[dict[str, Any]],
    report: Report,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> None:
    """Upsert the feed's meetings onto the rows they continue, retire those that left.

    A feed with no valid meeting, or one that would retire most of the directory,
    is refused (an upstream outage must not empty patients' saved meetings). A feed
    that did not change writes nothing: the feed's row lock keeps imports one at a
    time, so its meetings' rows are read without locking (a lock is a write too).
    """
    now = timezone.now()
    MeetingFeed.objects.select_for_update().filter(pk=feed.pk).first()  # one import at a time
    rows = [
        StoredRow(*values)
        for values in Meeting.objects.filter(feed=feed)
        .values_list("pk", *_ROW_FIELDS)
        .iterator(chunk_size=5000)
    ]
    if progress:
        progress(f"matching {len(meetings):,} meetings with {len(rows):,} rows")
    paired = _pair_unchanged(meetings, rows)
    if len(paired) < len(meetings) and len(paired) < len(rows):
        claimed = {row.pk for row in paired.values()}
        left = _identify(feed, [row for row in rows if row.pk not in claimed])
        paired = _match(meetings, left, paired)
    continued = {row.pk for row in paired.values()}
    active = [row for row in rows if row.retired_at is None]
    leaving = sum(row.pk not in continued for row in active)
    if not force:
        _refuse_emptying(meetings=len(meetings), active=len(active), leaving=leaving)
    _free_keys(meetings, rows, paired, report)
    to_create: list[Fields] = []
    to_update: list[tuple[Any, Fields]] = []  # (the row's pk, the meeting's new fields)
    to_refresh: list[Meeting] = []
    for index, fields in enumerate(meetings):
        current = paired.get(index)
        fields["utc_minute"] = utc_minute(fields["start_minute"], fields["time_zone"], now)
        if current is None:
            to_create.append(fields)
            continue
        if current.content_hash == fields["content_hash"] and current.retired_at is None:
            report.unchanged += 1
            if current.utc_minute != fields["utc_minute"]:  # its zone's rules changed since
                to_refresh.append(Meeting(pk=current.pk, utc_minute=fields["utc_minute"]))
            continue
        to_update.append((current.pk, fields))
    gone = [row.pk for row in active if row.pk not in continued]
    report.created, report.updated, report.retired = len(to_create), len(to_update), len(gone)
    if progress:
        progress(
            f"writing {len(to_create):,} new, {len(to_update):,} changed, {len(gone):,} retired"
        )
    writer = _copy_changes if connection.vendor == "postgresql" else _save_changes
    writer(feed, to_create, to_update, now=now, progress=progress)
    Meeting.objects.bulk_update(to_refresh, ["utc_minute"], batch_size=500)
    for first in range(0, len(gone), WRITE_BATCH):
        Meeting.objects.filter(pk__in=gone[first : first + WRITE_BATCH]).update(
            retired_at=now, updated_at=now
        )
    if to_create or to_update or gone:
        forget_zones()


# Columns an import writes besides the meeting's own fields (a changed meeting keeps its
# id, feed and created_at).
_ROW_COLUMNS = ("id", "feed", "cell", "retired_at", "created_at", "updated_at")
_UPDATED = tuple(
    name for name in (*FIELD_NAMES, *_ROW_COLUMNS) if name not in {"id", "feed", "created_at"}
)


def _save_changes(
    feed: MeetingFeed,
    to_create: list[Fields],
    to_update: list[tuple[Any, Fields]],
    *,
    now: datetime,
    progress: Progress | None,
) -> None:
    """New meetings and changed ones through the ORM, in batches (databases without COPY)."""
    for first in range(0, len(to_create), WRITE_BATCH):
        batch = [_row(feed, fields) for fields in to_create[first : first + WRITE_BATCH]]
        Meeting.objects.bulk_create(batch)
        if progress:
            progress(f"created {first + len(batch):,} of {len(to_create):,}")
    for first in range(0, len(to_update), WRITE_BATCH):
        changed = [
            _row(feed, fields, pk=pk, retired_at=None, updated_at=now)
            for pk, fields in to_update[first : first + WRITE_BATCH]
        ]
        Meeting.objects.bulk_update(changed, _UPDATED, batch_size=500)


# A COPY this many rows long reports its progress.
COPY_PROGRESS_EVERY = 10_000


def _copy_changes(
    feed: MeetingFeed,
    to_create: list[Fields],
    to_update: list[tuple[Any, Fields]],
    *,
    now: datetime,
    progress: Progress | None,
) -> None:
    """New meetings and changed ones with PostgreSQL's COPY: the same rows _save_changes
    writes, ten times faster than INSERTs of a thousand rows each.

    New meetings go straight into the table (their keys are free: _free_keys); changed
    ones into a temporary table, merged with one UPDATE ... FROM.
    """
    fields = {field.name: field for field in Meeting._meta.concrete_fields}
    names = (*FIELD_NAMES, *_ROW_COLUMNS)
    columns = ", ".join(connection.ops.quote_name(fields[name].column) for name in names)
    json_columns = [
        position
        for position, name in enumerate(names)
        if isinstance(fields[name], models.JSONField)
    ]

    def line(pk, values: Fields) -> list:
        cell = cell_of(values["latitude"], values["longitude"])
        row = [*(values[name] for name in FIELD_NAMES), pk, feed.pk, cell, None, now, now]
        for position in json_columns:
            row[position] = json.dumps(row[position])
        return row

    table = connection.ops.quote_name(Meeting._meta.db_table)
    # COPY goes through psycopg's own cursor: its errors are made Django's here, as
    # execute() makes them (import_feed reports a DatabaseError as a refused feed).
    with connection.wrap_database_errors, connection.cursor() as cursor:
        if to_create:
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for number, values in enumerate(to_create, start=1):
                    copy.write_row(line(uuid.uuid4(), values))
                    if progress and (number % COPY_PROGRESS_EVERY == 0 or number == len(to_create)):
                        progress(f"created {number:,} of {len(to_create):,}")
        if not to_update:
            return
        stage = connection.ops.quote_name("meeting_import_stage")
        cursor.execute(f"CREATE TEMPORARY TABLE {stage} (LIKE {table})")
        with cursor.cursor.copy(f"COPY {stage} ({columns}) FROM STDIN") as copy:
            for pk, values in to_update:
                copy.write_row(line(pk, values))
        assignments = ", ".join(
            f"{column} = staged.{column}"
            for column in (connection.ops.quote_name(fields[name].column) for name in _UPDATED)
        )
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM {stage} AS staged "  # noqa: S608 (names only)
            f"WHERE {table}.id = staged.id"
        )
        cursor.execute(f"DROP TABLE {stage}")


def _refuse_emptying(*, meetings: int, active: int, leaving: int) -> None:
    """An upstream outage must not empty patients' saved meetings: refuse a feed with no
    valid meeting, or one that would retire most of the directory."""
    if not meetings and active:
        raise FeedImportError("The feed holds no valid meeting; nothing was retired.")
    if active >= 20 and leaving > MAX_RETIRED_SHARE * active:
        raise FeedImportError(
            f"The feed would retire {leaving} of {active} meetings; import it with "
            "--force if that is right."
        )


def _row(feed: MeetingFeed, fields: dict[str, Any], **more) -> Meeting:
    """A model instance to write, built only when its batch is written."""
    return Meeting(
        feed=feed, cell=cell_of(fields["latitude"], fields["longitude"]), **fields, **more
    )


def _free_keys(
    meetings: list[dict[str, Any]], rows: list[Meeting], paired: dict[int, Meeting], report: Report
) -> None:
    """Clear the way for rows that change key (rare: a slug that became or stopped being shared).

    Each such row, and each left-over row holding a key now given to another, moves
    to a temporary key first, as one statement cannot swap unique keys on PostgreSQL;
    a left-over row then keeps its old key with its id appended.
    """
    moving = [row for index, row in paired.items() if row.slug != meetings[index]["slug"]]
    if not moving:
        return
    report.warnings["meeting kept under a new key, its slug newly shared or not"] += len(moving)
    continued = {row.pk for row in paired.values()}
    keys = {fields["slug"] for fields in meetings}
    yielding = [row for row in rows if row.pk not in continued and row.slug in keys]
    final = {row.pk: f"{row.slug[:220]}~{row.pk.hex}" for row in yielding}
    for row in moving + yielding:
        row.slug = f"~{row.pk.hex}"
    Meeting.objects.bulk_update(
        [Meeting(pk=row.pk, slug=row.slug) for row in moving + yielding], ["slug"], batch_size=500
    )
    for row in yielding:
        row.slug = final[row.pk]
    Meeting.objects.bulk_update(
        [Meeting(pk=row.pk, slug=row.slug) for row in yielding], ["slug"], batch_size=500
    )


def import_feed(
    feed: MeetingFeed,
    *,
    source: str | None = None,
    allow_http: bool = False,
    force: bool = False,
    progress: Progress | None = None,
) -> Report:
    """Read (streamed), normalise and apply one feed; record the outcome on the feed row."""
    report = Report()
    try:
        if not is_time_zone(feed.time_zone):
            raise FeedImportError(f"The feed's time zone {feed.time_zone!r} is not known.")
        chunks = open_source(source or feed.url, allow_http=allow_http)
        meetings = normalize(
            iter_records(chunks, feed.format),
            fmt=feed.format,
            fellowship=feed.fellowship,
            default_tz=feed.time_zone,
            report=report,
            progress=progress,
        )
        try:
            apply(feed, meetings, report, force=force, progress=progress)
        except DatabaseError as exc:
            raise FeedImportError(f"The feed could not be stored ({type(exc).__name__}).") from exc
    except FeedImportError as exc:
        MeetingFeed.objects.filter(pk=feed.pk).update(
            last_status="failed", last_report={"error": str(exc)}
        )
        raise
    MeetingFeed.objects.filter(pk=feed.pk).update(
        last_imported_at=timezone.now(), last_status="ok", last_report=report.as_dict()
    )
    return report
