"""Seed (or reuse) 100,000 synthetic meetings for the `meetings` benchmark, and time an import.

Run by bench/run.sh as `python bench/seed_meetings.py` with DJANGO_SETTINGS_MODULE=bench.settings.
Meetings are spread like real cities: around the centres of 40 large cities, more
where more people live, scattered over a few tens of kilometres; some are
centroids (approximate: the town is their address) and some online only, as in real
feeds. Each city is one feed, imported through the importer's own normalisation and
upsert, as regional directories are.

It also imports a 2,000-meeting feed into an empty feed and times it (issue 6:
under 5 s): ../shared/meeting-guide/aasepia.json where present, else 2,000
synthetic records.

Prints four lines on stdout: a patient's access token, a JSON object with the
queries each timed request runs, the query string of the radius search, and a
JSON object of median milliseconds of each request's search alone (radius and
fullscan, three ways: see _statement_times), printed for the record beside the
HTTP figures, which carry issue 6's targets.
The import's time goes to stderr.
"""

import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
django.setup()

from django.db import connection  # noqa: E402 (after django.setup)
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from backend.accounts.models import User  # noqa: E402
from backend.accounts.services import tokens_issue  # noqa: E402
from backend.meetings import search, selectors  # noqa: E402
from backend.meetings.importer import Report, apply, import_feed, normalize  # noqa: E402
from backend.meetings.models import Meeting, MeetingFeed  # noqa: E402
from bench.seeding import bench_user  # noqa: E402

MEETINGS = 100_000
IMPORT_TARGET_SECONDS = 5.0
REAL_FEED = Path(__file__).resolve().parents[2] / "shared" / "meeting-guide" / "aasepia.json"
# (latitude, longitude, relative size, IANA zone) of city centres.
CITIES = [
    (40.7128, -74.0060, 10, "America/New_York"),
    (34.0522, -118.2437, 8, "America/Los_Angeles"),
    (41.8781, -87.6298, 6, "America/Chicago"),
    (29.7604, -95.3698, 5, "America/Chicago"),
    (33.4484, -112.0740, 4, "America/Phoenix"),
    (39.9526, -75.1652, 5, "America/New_York"),
    (29.4241, -98.4936, 3, "America/Chicago"),
    (32.7157, -117.1611, 3, "America/Los_Angeles"),
    (32.7767, -96.7970, 4, "America/Chicago"),
    (37.7749, -122.4194, 4, "America/Los_Angeles"),
    (47.6062, -122.3321, 3, "America/Los_Angeles"),
    (39.7392, -104.9903, 3, "America/Denver"),
    (42.3601, -71.0589, 4, "America/New_York"),
    (25.7617, -80.1918, 4, "America/New_York"),
    (33.7490, -84.3880, 4, "America/New_York"),
    (44.9778, -93.2650, 3, "America/Chicago"),
    (45.5152, -122.6784, 2, "America/Los_Angeles"),
    (36.1699, -115.1398, 2, "America/Los_Angeles"),
    (38.9072, -77.0369, 4, "America/New_York"),
    (43.6532, -79.3832, 5, "America/Toronto"),
    (49.2827, -123.1207, 2, "America/Vancouver"),
    (53.5461, -113.4938, 1, "America/Edmonton"),
    (19.4326, -99.1332, 6, "America/Mexico_City"),
    (51.5074, -0.1278, 7, "Europe/London"),
    (53.4808, -2.2426, 2, "Europe/London"),
    (53.3498, -6.2603, 2, "Europe/Dublin"),
    (48.8566, 2.3522, 4, "Europe/Paris"),
    (52.5200, 13.4050, 3, "Europe/Berlin"),
    (40.4168, -3.7038, 3, "Europe/Madrid"),
    (41.9028, 12.4964, 2, "Europe/Rome"),
    (52.3676, 4.9041, 2, "Europe/Amsterdam"),
    (59.3293, 18.0686, 1, "Europe/Stockholm"),
    (-33.8688, 151.2093, 4, "Australia/Sydney"),
    (-37.8136, 144.9631, 3, "Australia/Melbourne"),
    (-36.8485, 174.7633, 2, "Pacific/Auckland"),
    (35.6762, 139.6503, 3, "Asia/Tokyo"),
    (-23.5505, -46.6333, 4, "America/Sao_Paulo"),
    (-34.6037, -58.3816, 3, "America/Argentina/Buenos_Aires"),
    (-26.2041, 28.0473, 2, "Africa/Johannesburg"),
    (21.3069, -157.8583, 1, "Pacific/Honolulu"),
]
TYPE_CHOICES = ["O", "C", "D", "SP", "B", "ST", "W", "M", "X", "BE", "Y", "LGBTQ", "MED"]
# The radius search: downtown Philadelphia, 10 km.
SEARCH = "lat=39.9526&lng=-75.1652&radius=10"


def _records(count: int, rng: random.Random) -> dict[tuple[int, str], list[dict]]:
    """Synthetic Meeting Guide records, one feed per city (real directories are regional)."""
    weights = [city[2] for city in CITIES]
    by_city: dict[tuple[int, str], list[dict]] = {}
    for number in range(count):
        index = rng.choices(range(len(CITIES)), weights)[0]
        lat0, lng0, _, zone = CITIES[index]
        hour = rng.choice([6, 7, 7, 8, 10, 12, 12, 17, 18, 18, 19, 19, 19, 20, 20, 21, 22])
        minute = rng.choice([0, 0, 0, 15, 30, 30, 45])
        kind = rng.random()
        record = {
            "name": f"Bench Group {number}",
            "slug": f"bench-{number}",
            "day": rng.randrange(7),
            "time": f"{hour:02d}:{minute:02d}",
            "end_time": f"{(hour + 1) % 24:02d}:{minute:02d}",
            "types": rng.sample(TYPE_CHOICES, rng.randint(1, 3)),
            "location": f"Hall {number % 997}",
            "regions": [zone.split("/")[-1].replace("_", " "), f"District {number % 23}"],
            "notes": "Synthetic benchmark meeting.",
        }
        if kind < 0.10:  # online only, placed at the city's centre
            record.update(
                latitude=lat0,
                longitude=lng0,
                formatted_address="Bench City",
                conference_url=f"https://meet.example.test/{number}",
            )
        elif kind < 0.18:  # a centroid
            record.update(latitude=lat0, longitude=lng0, formatted_address="Bench City")
        else:
            spread = rng.choice([0.03, 0.08, 0.2])
            record.update(
                latitude=round(max(-90.0, min(90.0, rng.gauss(lat0, spread))), 6),
                longitude=round(((rng.gauss(lng0, spread) + 180) % 360) - 180, 6),
                formatted_address=f"{number % 9000 + 1} Example Street, Bench City",
            )
        by_city.setdefault((index, zone), []).append(record)
    return by_city


def _seed_directory() -> None:
    have = Meeting.objects.filter(feed__name__startswith="bench-metro-", retired_at=None).count()
    if have >= MEETINGS:
        return
    rng = random.Random(6)
    for (index, zone), records in sorted(_records(MEETINGS, rng).items()):
        feed, _ = MeetingFeed.objects.get_or_create(
            name=f"bench-metro-{index:02d}", defaults={"fellowship": "AA", "time_zone": zone}
        )
        report = Report()
        fields = normalize(
            records, fmt=feed.format, fellowship="AA", default_tz=zone, report=report
        )
        apply(feed, fields, report)


def _time_import() -> tuple[int, float]:
    """Import a 2,000-meeting feed into an empty feed; (meetings, seconds)."""
    feed, _ = MeetingFeed.objects.get_or_create(
        name="bench-import", defaults={"fellowship": "AA", "time_zone": "America/New_York"}
    )
    Meeting.objects.filter(feed=feed).delete()
    if REAL_FEED.is_file():
        source = str(REAL_FEED)
    else:
        records = [r for rs in _records(2_000, random.Random(7)).values() for r in rs]
        handle = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)  # noqa: SIM115
        json.dump(records, handle)
        handle.close()
        source = handle.name
    started = time.perf_counter()
    report = import_feed(feed, source=source)
    return report.created, time.perf_counter() - started


def _patient() -> User:
    return bench_user(
        "bench-meetings@bench.invalid", User.Role.PATIENT, "Bench Patient", "America/New_York"
    )


def _search_statements(captured: CaptureQueriesContext) -> list[str]:
    """The SQL of the search itself among a request's queries (not auth, not cache).

    Two or three statements: for a search by next start the probe that picks the time
    window, then the ranking, which picks the page's keys, and the page's rows.
    """
    statements = [q["sql"] for q in captured.captured_queries if '"meetings_meeting"' in q["sql"]]
    if not 2 <= len(statements) <= 3:
        raise SystemExit(f"expected two or three search statements, got {len(statements)}")
    return statements


def _requests(token: str) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Queries per timed request, and the search statements each runs.

    Also checks that the full scan finds exactly what the box finds, and that a
    page of 100 runs as many queries as a page of 25.
    """
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
    at = f"&at={timezone.now().replace(microsecond=0).isoformat().replace('+00:00', 'Z')}"
    boxed = client.get(f"/api/v1/meetings/?{SEARCH}{at}&page_size=100").json()
    scanned = client.get(f"/bench/meetings-full-scan/?{SEARCH}{at}&page_size=100").json()
    if boxed["results"] != scanned["results"] or len(boxed["results"]) != 100:
        raise SystemExit("the bounding-box search and the full scan disagree")
    counts, statements = {}, {}
    for label, path in (
        ("radius", f"/api/v1/meetings/?{SEARCH}{at}"),
        ("fullscan", f"/bench/meetings-full-scan/?{SEARCH}{at}"),
    ):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
        counts[label] = len(captured.captured_queries)
        statements[label] = _search_statements(captured)
    with CaptureQueriesContext(connection) as captured:
        client.get(f"/api/v1/meetings/?{SEARCH}&page_size=100")
    if len(captured.captured_queries) != counts["radius"]:
        raise SystemExit("a page of 100 runs more queries than a page of 25")
    return counts, statements


def _database_ms(cursor, statements: list[str]) -> float:
    """Milliseconds the database itself spends planning and running ``statements``.

    On PostgreSQL, its own account (EXPLAIN ANALYZE without per-node timing),
    apart from the wire protocol and the reading of the rows. SQLite runs
    in-process, so there it is the wall-clock time of running and reading it.
    """
    if connection.vendor == "postgresql":
        total = 0.0
        for statement in statements:
            cursor.execute(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {statement}")
            (plan,) = cursor.fetchone()[0]
            total += plan["Planning Time"] + plan["Execution Time"]
        return total
    return _round_trip_ms(cursor, statements)


def _round_trip_ms(cursor, statements: list[str]) -> float:
    """Wall-clock milliseconds to send ``statements`` and read their rows, as the app does."""
    started = time.perf_counter()
    for statement in statements:
        cursor.execute(statement)
        cursor.fetchall()
    return (time.perf_counter() - started) * 1000


def _in_app_ms(label: str, viewer: User) -> float:
    """Wall-clock milliseconds of the view's own call: zones, build, compile, run, rows."""
    lat, lng, radius = (float(part.split("=")[1]) for part in SEARCH.split("&"))
    criteria = search.Criteria(where=search.Where(lat, lng, radius))
    started = time.perf_counter()
    results = search.search(
        criteria,
        at=timezone.now(),
        zones=selectors.zones(),
        viewer=viewer,
        use_box=label == "radius",
    )
    page = results[0:26]
    elapsed = (time.perf_counter() - started) * 1000
    if len(page) != 26:
        raise SystemExit(f"the {label} search found {len(page)} meetings, not a page of 26")
    return elapsed


def _statement_times(statements: dict[str, list[str]], rounds: int = 40) -> dict[str, dict]:
    """Median milliseconds of each request's search alone, three ways, for the record.

    The database's own time over the exact statements each request ran (the
    ranking, which the index changes, and the page's rows by key), their round
    trips from the app, and the view's whole call through the ORM. Radius and full
    scan alternate (a, b, b, a, ...) so that a load change on the machine hits both
    alike; measured before the HTTP load, on one connection, where the full scan's
    parallel workers have the machine.
    """
    times: dict[str, dict[str, list[float]]] = {}
    labels = list(statements)
    viewer = _patient()
    with connection.cursor() as cursor:
        measures = {
            "database time": lambda label: _database_ms(cursor, statements[label]),
            "round trip from the app": lambda label: _round_trip_ms(cursor, statements[label]),
            "through the ORM in the app": lambda label: _in_app_ms(label, viewer),
        }
        for number in range(rounds + 2):  # two warm-up rounds
            for label in labels if number % 2 == 0 else labels[::-1]:
                for measure, timed in measures.items():
                    elapsed = timed(label)
                    if number >= 2:
                        times.setdefault(measure, {}).setdefault(label, []).append(elapsed)
    return {
        measure: {label: round(statistics.median(values), 3) for label, values in by_label.items()}
        for measure, by_label in times.items()
    }


def main() -> None:
    _seed_directory()
    created, seconds = _time_import()
    verdict = "PASS" if seconds < IMPORT_TARGET_SECONDS else "FAIL"
    print(
        f"== meetings import: {created} meetings into an empty feed in {seconds:.2f} s "
        f"(target: under {IMPORT_TARGET_SECONDS:.0f} s): {verdict}",
        file=sys.stderr,
    )
    if connection.vendor == "postgresql":
        # As autovacuum leaves a directory between imports (the visibility map, statistics).
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE meetings_meeting")
    token = tokens_issue(user=_patient())["access"]
    counts, statements = _requests(token)
    print(token)
    print(json.dumps(counts))
    print(SEARCH)
    print(json.dumps(_statement_times(statements)))


if __name__ == "__main__":
    main()
