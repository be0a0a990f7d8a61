"""The meeting finder at national scale: 10,000, 100,000 and 1,000,000 meetings in one run.

Run by bench/run.sh (`bash bench/run.sh meetings_scale`) with the server running;
it seeds each size in turn into the bench database and times, over HTTP with wrk,
side by side in alternating rounds:

- radius:  10 km around downtown Philadelphia (a dense city), by next start;
- nowhere: the same endpoint and request where the box holds no meeting;
- nearest_rural: the 25 nearest from a point in rural Nevada whose nearest
  meeting is 80 km away (kept so at every size);
- nearest_city: the 25 nearest from downtown Philadelphia.

Then it imports a 100,000-meeting Meeting Guide feed (an aggregator's) through
`manage.py import_meetings` in a child process, timing it and reading the
child's peak memory, and imports it again unchanged.

The directories are synthetic and spread like real ones: dense cities (40 metros
weighted by size, meetings scattered a few to tens of km around their centres),
sparse rural counties (scattered over the inhabited parts of four continents),
centroids (a town's centre given as the address) and online-only meetings. Each
size adds rows to the one before (same spread), written straight into the table in
big batches (COPY on PostgreSQL), not through the importer: seeding a million
meetings takes a minute or two, not an hour.

Targets (PostgreSQL): radius p50 at the largest size within 1.25x of the smallest;
radius p50 within 2x of nowhere's at every size; nearest rural p50 under 40 ms at
1,000,000 and within 1.25x of the city point's; import under 60 s and 400 MB;
queries per request the same at every size. On SQLite the figures are printed for
comparison with a PostgreSQL run (at 100,000: within 2x).
"""

import argparse
import json
import math
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
django.setup()

from django.db import connection, transaction  # noqa: E402 (after django.setup)
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from backend.accounts.models import User  # noqa: E402
from backend.accounts.services import tokens_issue  # noqa: E402
from backend.meetings import selectors  # noqa: E402
from backend.meetings.cells import cell_of  # noqa: E402
from backend.meetings.models import Meeting, MeetingFeed  # noqa: E402
from backend.meetings.weekminutes import utc_minute  # noqa: E402
from bench.http_bench import BenchError, run_wrk, wait_until_healthy  # noqa: E402
from bench.seed_meetings import CITIES, TYPE_CHOICES  # noqa: E402
from bench.seeding import bench_user  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
SIZES = (10_000, 100_000, 1_000_000)
IMPORT_MEETINGS = 100_000
CITY = (39.9526, -75.1652)  # downtown Philadelphia
RURAL = (39.5, -116.5)  # central Nevada
RURAL_EMPTY_KM = 80.0  # no meeting nearer the rural point than this
PATHS = {
    "radius": f"/api/v1/meetings/?lat={CITY[0]}&lng={CITY[1]}&radius=10",
    "nowhere": "/api/v1/meetings/?lat=0&lng=-30&radius=10",
    "nearest_rural": f"/api/v1/meetings/?lat={RURAL[0]}&lng={RURAL[1]}&nearest=25",
    "nearest_city": f"/api/v1/meetings/?lat={CITY[0]}&lng={CITY[1]}&nearest=25",
}
# Rural counties: (south, north, west, east, IANA zone) boxes over inhabited land.
RURAL_AREAS = [
    (31.0, 48.5, -123.0, -114.0, "America/Los_Angeles"),
    (31.5, 48.5, -114.0, -101.0, "America/Denver"),
    (29.0, 48.5, -101.0, -87.0, "America/Chicago"),
    (30.0, 46.5, -87.0, -68.0, "America/New_York"),
    (43.0, 55.0, -2.0, 24.0, "Europe/Berlin"),
    (37.0, 43.5, -9.0, 3.0, "Europe/Madrid"),
    (-38.0, -27.0, 139.0, 153.0, "Australia/Sydney"),
    (-34.0, -22.0, -56.0, -44.0, "America/Sao_Paulo"),
]
# Shares of a directory: city meetings, rural, centroids, online only.
CITY_SHARE, RURAL_SHARE, CENTROID_SHARE = 0.72, 0.12, 0.06
HOURS = [6, 7, 7, 8, 10, 12, 12, 17, 18, 18, 19, 19, 19, 20, 20, 21, 22]
MINUTES = [0, 0, 0, 15, 30, 30, 45]
COLUMNS = (
    "id", "feed_id", "slug", "fellowship", "name", "day", "start_time", "end_time",
    "duration_minutes", "start_minute", "utc_minute", "time_zone", "types", "types_key", "notes",
    "location_name", "location_notes", "formatted_address", "latitude", "longitude", "cell",
    "approximate", "regions", "regions_key", "conference_url", "conference_url_notes",
    "conference_phone", "conference_phone_notes", "group_name", "group_notes", "website",
    "source_updated_at", "attendance_option", "search_text", "content_hash", "retired_at",
    "created_at", "updated_at",
)  # fmt: skip
EARTH_RADIUS_KM = 6371.0088


def _km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(h, 1.0)))


# --- seeding ----------------------------------------------------------------------------------


def _feeds() -> dict[str, MeetingFeed]:
    names = {f"scale-metro-{index:02d}": zone for index, (*_, zone) in enumerate(CITIES)}
    names |= {"scale-rural": "America/Denver", "scale-online": "America/New_York"}
    feeds = {}
    for name, zone in names.items():
        feeds[name], _ = MeetingFeed.objects.get_or_create(
            name=name, defaults={"fellowship": "AA", "time_zone": zone}
        )
    return feeds


def _rural_point(rng: random.Random) -> tuple[float, float, str]:
    weights = [(north - south) * (east - west) for south, north, west, east, _ in RURAL_AREAS]
    while True:
        south, north, west, east, zone = rng.choices(RURAL_AREAS, weights)[0]
        lat, lng = rng.uniform(south, north), rng.uniform(west, east)
        if _km(lat, lng, *RURAL) > RURAL_EMPTY_KM:
            return lat, lng, zone


def _rows(first: int, count: int, feeds: dict[str, MeetingFeed], now: datetime):
    """Meetings number ``first`` to ``first + count - 1``, as table rows (the model's columns)."""
    rng = random.Random(first * 7919 + count)
    weights = [city[2] for city in CITIES]
    for number in range(first, first + count):
        kind = rng.random()
        city = rng.choices(range(len(CITIES)), weights)[0]
        lat0, lng0, _, zone = CITIES[city]
        feed = feeds[f"scale-metro-{city:02d}"]
        approximate, attendance, url = False, Meeting.Attendance.IN_PERSON, ""
        address = f"{number % 9000 + 1} Example Street, Bench City"
        if kind < CITY_SHARE:
            spread = rng.choice([0.03, 0.08, 0.2])
            lat = max(-90.0, min(90.0, rng.gauss(lat0, spread)))
            lng = ((rng.gauss(lng0, spread) + 180) % 360) - 180
            if _km(lat, lng, *RURAL) <= RURAL_EMPTY_KM:
                lat, lng = lat0, lng0
        elif kind < CITY_SHARE + RURAL_SHARE:
            lat, lng, zone = _rural_point(rng)
            feed = feeds["scale-rural"]
            address = f"{number % 900 + 1} County Road, Bench County"
        elif kind < CITY_SHARE + RURAL_SHARE + CENTROID_SHARE:
            lat, lng, approximate, address = lat0, lng0, True, "Bench City"
        else:
            lat = lng = None
            feed, address = feeds["scale-online"], ""
            attendance, url = Meeting.Attendance.ONLINE, f"https://meet.example.test/{number}"
        if lat is not None:
            lat, lng = round(lat, 6), round(lng, 6)
        day, hour, minute = rng.randrange(7), rng.choice(HOURS), rng.choice(MINUTES)
        types = rng.sample(TYPE_CHOICES, rng.randint(1, 3))
        name = f"Scale Group {number}"
        region = zone.rsplit("/", 1)[-1].replace("_", " ")
        yield (
            uuid.UUID(int=rng.getrandbits(128), version=4),
            feed.pk,
            f"scale-{number}",
            "AA" if number % 5 else "NA",
            name,
            day,
            clock_time(hour, minute),
            clock_time((hour + 1) % 24, minute),
            60,
            day * 1440 + hour * 60 + minute,
            utc_minute(day * 1440 + hour * 60 + minute, zone, now),
            zone,
            json.dumps(types),
            "," + "".join(f"{code}," for code in types),
            "",
            f"Hall {number % 997}",
            "",
            address,
            lat,
            lng,
            cell_of(lat, lng),
            approximate,
            json.dumps([region]),
            f"|{region.lower()}|",
            url,
            "",
            "",
            "",
            "",
            "",
            "",
            None,
            attendance,
            f"{name.lower()} hall {number % 997} {address.lower()} {region.lower()}",
            f"{number:064x}",
            None,
            now,
            now,
        )


def _same(value):
    return value


def _insert(rows) -> None:
    table = Meeting._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    ops = connection.ops
    adapt = {
        uuid.UUID: lambda value: value.hex,
        datetime: ops.adapt_datetimefield_value,
        clock_time: ops.adapt_timefield_value,
    }
    rows = (tuple(adapt.get(type(value), _same)(value) for value in row) for row in rows)
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    sql = f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({placeholders})"  # noqa: S608
    batch: list = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append(row)
            if len(batch) == 20_000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


def grow_directory(size: int, feeds: dict[str, MeetingFeed]) -> float:
    """Add meetings to the scale feeds until they hold ``size``; seconds taken."""
    started = time.perf_counter()
    have = Meeting.objects.filter(feed__name__startswith="scale-").count()
    if have > size:
        Meeting.objects.filter(feed__name__startswith="scale-").delete()
        have = 0
    if have < size:
        with transaction.atomic():
            _insert(_rows(have, size - have, feeds, datetime.now(UTC)))
    with connection.cursor() as cursor:
        # What autovacuum does after a bulk load: statistics and the visibility map.
        cursor.execute(
            "VACUUM ANALYZE meetings_meeting"
            if connection.vendor == "postgresql"
            else "ANALYZE meetings_meeting"
        )
    selectors.forget_zones()
    return time.perf_counter() - started


def check_rural_point() -> float:
    """Kilometres from the rural point to its nearest meeting: the 80 km kept empty, a little
    more in the smallest directory, whose rural meetings are few."""
    nearest = min(
        _km(*RURAL, lat, lng)
        for lat, lng in Meeting.objects.filter(
            retired_at=None,
            approximate=False,
            latitude__range=(RURAL[0] - 3, RURAL[0] + 3),
            longitude__range=(RURAL[1] - 4, RURAL[1] + 4),
        ).values_list("latitude", "longitude")
    )
    if not RURAL_EMPTY_KM <= nearest < 2.5 * RURAL_EMPTY_KM:
        raise BenchError(f"the rural point's nearest meeting is {nearest:.0f} km away")
    return nearest


# --- measuring --------------------------------------------------------------------------------


def queries_and_check(client: Client) -> dict[str, int]:
    """Queries per request (zones cached, as in the steady state); checks each answer."""
    counts = {}
    for label, path in PATHS.items():
        client.get(path)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        if response.status_code != 200:
            raise BenchError(f"{path} answered {response.status_code}")
        results = response.json()["results"]
        counts[label] = len(captured.captured_queries)
        if label == "nowhere" and results:
            raise BenchError("the nowhere search found meetings")
        if label != "nowhere" and len(results) != 25:
            raise BenchError(f"{label} answered {len(results)} meetings, not a page of 25")
        if label == "nearest_rural" and results[0]["distance"] < RURAL_EMPTY_KM:
            raise BenchError("the rural point has a meeting nearer than 80 km")
        with CaptureQueriesContext(connection) as captured:
            client.get(path + "&page_size=100")
        if len(captured.captured_queries) != counts[label]:
            raise BenchError(f"{label}: a page of 100 runs more queries than a page of 25")
    return counts


def database_ms(client: Client, rounds: int = 11) -> dict[str, float]:
    """Median milliseconds the database spends on each request's meeting statements.

    PostgreSQL's own account (EXPLAIN ANALYZE without per-node timing: planning and
    execution), apart from Python, the wire and the load on the machine's other
    processes' share of it; SQLite runs in-process, so there it is the statements'
    wall-clock time. For the record: what the index work costs at each size.
    """
    statements = {}
    for label, path in PATHS.items():
        with CaptureQueriesContext(connection) as captured:
            client.get(path)
        statements[label] = [
            query["sql"]
            for query in captured.captured_queries
            if "meetings_meeting" in query["sql"]
        ]
    times: dict[str, list[float]] = {label: [] for label in PATHS}
    with connection.cursor() as cursor:
        for _ in range(rounds):
            for label, sqls in statements.items():
                total = 0.0
                for sql in sqls:
                    if connection.vendor == "postgresql":
                        cursor.execute(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}")
                        (plan,) = cursor.fetchone()[0]
                        total += plan["Planning Time"] + plan["Execution Time"]
                    else:
                        started = time.perf_counter()
                        cursor.execute(sql)
                        cursor.fetchall()
                        total += (time.perf_counter() - started) * 1000
                times[label].append(total)
    return {label: round(statistics.median(values), 3) for label, values in times.items()}


def in_process_ms(client: Client, rounds: int = 15) -> dict[str, float]:
    """Median milliseconds of each request through the whole app in this process (no HTTP)."""
    times: dict[str, list[float]] = {label: [] for label in PATHS}
    labels = list(PATHS)
    for number in range(rounds + 2):
        for label in labels if number % 2 == 0 else labels[::-1]:
            started = time.perf_counter()
            client.get(PATHS[label])
            if number >= 2:
                times[label].append((time.perf_counter() - started) * 1000)
    return {label: round(statistics.median(values), 2) for label, values in times.items()}


def _figures(runs: list[dict]) -> dict:
    """A label's rounds combined: p50 is the median of the rounds' p50s."""
    return {
        "p50_ms": round(statistics.median(run["latency_ms"]["p50"] for run in runs), 2),
        "p95_ms": round(statistics.median(run["latency_ms"]["p95"] for run in runs), 2),
        "requests_per_second": round(
            sum(run["requests"] for run in runs) / sum(run["seconds"] for run in runs), 1
        ),
        "rounds_p50_ms": [run["latency_ms"]["p50"] for run in runs],
    }


def http_rounds(args, servers: dict[str, tuple[str, str]]) -> dict[str, dict[str, dict]]:
    """wrk over every endpoint of every server (name -> base URL, token) in alternating
    rounds (a, b, c, c, b, a, ...), so that a comparison of two servers is side by side."""
    seconds = max(1, round(args.duration / args.rounds))
    targets = [(server, label) for server in servers for label in PATHS]
    for server, label in targets:
        base_url, token = servers[server]
        run_wrk(base_url + PATHS[label], token, args.warmup, 1, args.connections)
    runs: dict[tuple[str, str], list[dict]] = {target: [] for target in targets}
    for number in range(args.rounds):
        for server, label in targets if number % 2 == 0 else targets[::-1]:
            base_url, token = servers[server]
            result = run_wrk(base_url + PATHS[label], token, seconds, 1, args.connections)
            if sum(result["errors"].values()):
                raise BenchError(f"{server} {label}: wrk saw errors {result['errors']}")
            runs[(server, label)].append(result)
    return {
        server: {label: _figures(runs[(server, label)]) for label in PATHS} for server in servers
    }


def load_average() -> list[float]:
    """The machine's load over 1, 5 and 15 minutes: other work sharing its cores."""
    return [round(value, 2) for value in os.getloadavg()]


# --- the import -------------------------------------------------------------------------------


def _feed_file(path: Path, count: int) -> None:
    """A Meeting Guide feed of ``count`` meetings, written record by record."""
    rng = random.Random(100_000)
    weights = [city[2] for city in CITIES]
    with path.open("w") as handle:
        handle.write("[")
        for number in range(count):
            lat0, lng0, _, zone = CITIES[rng.choices(range(len(CITIES)), weights)[0]]
            hour, minute = rng.choice(HOURS), rng.choice(MINUTES)
            record = {
                "name": f"Aggregated Group {number}",
                "slug": f"agg-{number}",
                "day": rng.randrange(7),
                "time": f"{hour:02d}:{minute:02d}",
                "end_time": f"{(hour + 1) % 24:02d}:{minute:02d}",
                "timezone": zone,
                "types": rng.sample(TYPE_CHOICES, rng.randint(1, 3)),
                "location": f"Hall {number % 997}",
                "formatted_address": f"{number % 9000 + 1} Example Street, Bench City",
                "latitude": round(rng.gauss(lat0, 0.1), 6),
                "longitude": round(rng.gauss(lng0, 0.1), 6),
                "regions": [zone.rsplit("/", 1)[-1].replace("_", " "), f"District {number % 23}"],
                "notes": "Synthetic aggregator meeting.",
                "updated": "2026-11-01 10:00:00",
            }
            if number % 10 == 0:
                record["conference_url"] = f"https://meet.example.test/{number}"
            handle.write(("," if number else "") + json.dumps(record))
        handle.write("]")


# Runs a command and writes its peak resident memory (KB) to a file. The bench forks this
# small process, which forks the import: a child's peak counts what its parent held when it
# forked (Linux carries the high-water mark across exec), and the bench's own process may
# be larger than the import it measures.
PEAK_OF = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _import_once(path: Path, logs: Path) -> dict:
    peak = logs / "import.peak"
    command = [
        sys.executable,
        "-c",
        PEAK_OF,
        str(peak),
        sys.executable,
        str(REPO_DIR / "backend" / "manage.py"),
        "import_meetings",
        str(path),
        "--feed",
        "bench-aggregator",
        "--fellowship",
        "AA",
        "--timezone",
        "America/New_York",
    ]
    out, err = logs / "import.out", logs / "import.err"
    started = time.perf_counter()
    with out.open("w") as stdout, err.open("w") as stderr:
        returncode = subprocess.run(command, stdout=stdout, stderr=stderr, check=False).returncode
    seconds = time.perf_counter() - started
    if returncode != 0:
        raise BenchError(f"the import failed: {err.read_text()[-500:]}")
    return {
        "seconds": round(seconds, 2),
        "peak_mb": round(int(peak.read_text()) / 1024, 1),  # KB on Linux
        "report": out.read_text().splitlines()[0],
        "progress_lines": len(err.read_text().splitlines()),
    }


def measure_import() -> dict:
    """Import the 100,000-meeting feed into an empty feed, then again unchanged."""
    Meeting.objects.filter(feed__name="bench-aggregator").delete()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "aggregator.json"
        _feed_file(path, IMPORT_MEETINGS)
        size_mb = round(path.stat().st_size / 2**20, 1)
        first = _import_once(path, Path(folder))
        again = _import_once(path, Path(folder))
    if not re.search(rf"created {IMPORT_MEETINGS}\b", first["report"]):
        raise BenchError(f"the first import did not create every meeting: {first['report']}")
    if not re.search(rf"unchanged {IMPORT_MEETINGS}\b", again["report"]):
        raise BenchError(f"the re-import changed meetings: {again['report']}")
    return {"feed_mb": size_mb, "first": first, "unchanged_again": again}


# --- the run ----------------------------------------------------------------------------------


def verdicts(by_size: dict, imported: dict | None, vendor: str) -> list[tuple[str, bool | None]]:
    sizes = sorted(by_size)
    small, large = by_size[sizes[0]]["http"], by_size[sizes[-1]]["http"]
    lines: list[tuple[str, bool | None]] = []
    ratio = large["radius"]["p50_ms"] / small["radius"]["p50_ms"]
    lines.append(
        (f"radius p50 at {sizes[-1]:,} / at {sizes[0]:,} = {ratio:.2f} (<= 1.25)", ratio <= 1.25)
    )
    for size in sizes:
        http = by_size[size]["http"]
        ratio = http["radius"]["p50_ms"] / http["nowhere"]["p50_ms"]
        lines.append((f"{size:,}: radius / nowhere p50 = {ratio:.2f} (<= 2)", ratio <= 2))
    rural, city = large["nearest_rural"]["p50_ms"], large["nearest_city"]["p50_ms"]
    lines.append((f"{sizes[-1]:,}: nearest rural p50 = {rural:.1f} ms (< 40)", rural < 40))
    lines.append(
        (
            f"{sizes[-1]:,}: nearest rural / city p50 = {rural / city:.2f} (<= 1.25)",
            rural / city <= 1.25,
        )
    )
    counts = {json.dumps(by_size[size]["queries"], sort_keys=True) for size in sizes}
    lines.append(
        (f"queries per request the same at every size: {len(counts) == 1}", len(counts) == 1)
    )
    if imported:
        first = imported["first"]
        lines.append(
            (
                f"import of {IMPORT_MEETINGS:,}: {first['seconds']:.1f} s (< 60)",
                first["seconds"] < 60,
            )
        )
        peak = max(first["peak_mb"], imported["unchanged_again"]["peak_mb"])
        lines.append((f"import peak memory, first or again: {peak:.0f} MB (< 400)", peak < 400))
    if vendor != "postgresql":  # the targets are PostgreSQL's: SQLite is compared with --versus
        lines = [(text, None) for text, _ in lines]
    for size in sizes:
        versus = by_size[size].get("versus")
        if not versus:
            continue
        http, name = by_size[size]["http"], versus["name"]
        for label in ("radius", "nearest_rural", "nearest_city", "nowhere"):
            ratio = versus["http"][label]["p50_ms"] / http[label]["p50_ms"]
            text = f"{size:,}: {label} p50 on {name} / on {vendor} = {ratio:.2f}"
            # SQLite's radius and nearest within 2x of PostgreSQL's are targets; nowhere, and
            # any other pair of servers (e.g. two versions of the app), are for the record.
            target = label != "nowhere" and vendor == "postgresql" and name == "sqlite"
            passed = ratio <= 2 if target else None
            lines.append((text + ("" if passed is None else " (<= 2)"), passed))
    return lines  # fmt: skip


def seed_only(sizes: list[int]) -> int:
    """Seed the largest size into this process's database and print a token for it.

    For the database a --versus server reads (bench/run.sh meetings_engines): that server
    runs with its own settings, so its directory is seeded by a process with the same.
    """
    patient = bench_user(
        "bench-meetings@bench.invalid", User.Role.PATIENT, "Bench Patient", "America/New_York"
    )
    try:
        seconds = grow_directory(max(sizes), _feeds())
        rural_km = check_rural_point()
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 3
    print(
        f"seeded {max(sizes):,} meetings into {connection.vendor} in {seconds:.0f} s"
        f" (rural nearest {rural_km:.0f} km)",
        file=sys.stderr,
    )
    print(tokens_issue(user=patient)["access"])
    return 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url")
    parser.add_argument("--sizes", default=",".join(str(size) for size in SIZES))
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint per size")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    parser.add_argument(
        "--seed-only", action="store_true", help="seed the largest size, print a token, stop"
    )
    parser.add_argument(
        "--versus-url",
        help="a second server, seeded the same (--seed-only) on another database: its HTTP "
        "figures are measured side by side with --base-url's",
    )
    parser.add_argument("--versus-token", help="the bench user's token on --versus-url")
    parser.add_argument("--versus-name", default="sqlite")
    args = parser.parse_args()
    args.sizes = sorted(int(size) for size in args.sizes.split(","))
    if args.seed_only:
        return args
    if not args.base_url:
        parser.error("--base-url is needed (or --seed-only)")
    if args.versus_url and not args.versus_token:
        parser.error("--versus-url needs --versus-token")
    if args.versus_url and len(args.sizes) != 1:
        parser.error("--versus-url measures one size (its server's directory is seeded once)")
    args.base_url = args.base_url.rstrip("/")
    args.versus_url = args.versus_url and args.versus_url.rstrip("/")
    return args


def _print_http(http: dict, app: dict | None, database: dict, queries: dict, where: str) -> None:
    for label, figures in http.items():
        line = (
            f"     {label:<14} p50 {figures['p50_ms']:>7.2f} ms  p95 {figures['p95_ms']:>7.2f} ms"
            f"  {figures['requests_per_second']:>7.1f} req/s"
        )
        if app is None:
            print(f"{line}  (on {where})")
        else:
            print(
                f"{line}  in-process {app[label]:>7.2f} ms"
                f"  database {database[label]:>6.2f} ms  queries {queries[label]}"
            )


def measure_size(args, size: int, patient: User, feeds: dict) -> dict:
    """Seed one size and measure it: in this process, then over HTTP (beside --versus-url)."""
    seeded = grow_directory(size, feeds)
    rural_km = check_rural_point()
    # A token per size: access tokens live 15 minutes at most, a run is longer.
    token = tokens_issue(user=patient)["access"]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
    queries = queries_and_check(client)
    app = in_process_ms(client)
    database = database_ms(client)
    servers = {connection.vendor: (args.base_url, token)}
    if args.versus_url:
        servers[args.versus_name] = (args.versus_url, args.versus_token)
    measured = http_rounds(args, servers)
    figures = {
        "seed_seconds": round(seeded, 1),
        "rural_nearest_km": round(rural_km, 1),
        "queries": queries,
        "in_process_ms": app,
        "database_ms": database,
        "http": measured[connection.vendor],
        "load_average": load_average(),
    }
    print(f"   {size:>9,} meetings (seeded in {seeded:.0f} s; rural nearest {rural_km:.0f} km)")
    _print_http(figures["http"], app, database, queries, connection.vendor)
    if args.versus_url:
        figures["versus"] = {"name": args.versus_name, "http": measured[args.versus_name]}
        _print_http(measured[args.versus_name], None, {}, {}, args.versus_name)
    print(f"     load average {figures['load_average']}")
    return figures


def main() -> int:
    args = _arguments()
    if args.seed_only:
        return seed_only(args.sizes)
    sizes = args.sizes
    patient = bench_user(
        "bench-meetings@bench.invalid", User.Role.PATIENT, "Bench Patient", "America/New_York"
    )
    feeds = _feeds()
    report: dict = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": connection.vendor,
        "cpu_count": os.cpu_count(),
        "load_average_before": load_average(),
        "paths": PATHS,
        "sizes": {},
    }
    versus = f" beside {args.versus_name}" if args.versus_url else ""
    print(
        f"== meetings_scale ({connection.vendor}{versus}): {', '.join(f'{s:,}' for s in sizes)}"
        f"; load average {report['load_average_before']} on {os.cpu_count()} cores"
    )
    try:
        wait_until_healthy(args.base_url, None, timeout=30)
        if args.versus_url:
            wait_until_healthy(args.versus_url, None, timeout=30)
        for size in sizes:
            report["sizes"][size] = measure_size(args, size, patient, feeds)
        imported = None if args.skip_import else measure_import()
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 3
    if imported:
        report["import"] = imported
        first, again = imported["first"], imported["unchanged_again"]
        print(
            f"   import of {IMPORT_MEETINGS:,} meetings ({imported['feed_mb']} MB): "
            f"{first['seconds']:.1f} s, peak {first['peak_mb']:.0f} MB; unchanged again: "
            f"{again['seconds']:.1f} s, peak {again['peak_mb']:.0f} MB ({again['report']})"
        )
    lines = verdicts(report["sizes"], imported, connection.vendor)
    report["verdicts"] = [{"check": text, "passed": passed} for text, passed in lines]
    for text, passed in lines:
        mark = "for the record" if passed is None else ("PASS" if passed else "FAIL")
        print(f"   {mark}: {text}")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kind = f"{connection.vendor}-{args.versus_name}" if args.versus_url else connection.vendor
    path = args.results_dir / f"meetings-scale-{kind}-{stamp}.json"
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"Results: {path.relative_to(REPO_DIR)}")
    return 0 if all(passed is not False for _, passed in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
