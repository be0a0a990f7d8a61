"""Drive wrk against a running server, one named scenario at a time.

bench/run.sh starts the server and calls this; run that, not this. A scenario
names the endpoints it times and, optionally, a target: the requests/s of one
endpoint must be at least a given fraction of another's, or a latency percentile
of one endpoint must stay under a ceiling. To add a benchmark, add a Scenario to
SCENARIOS (and any baseline view to bench/urls.py).

The endpoints of a scenario are timed in alternating rounds (a, b, b, a, a, b, ...)
so that a load change on the machine hits them alike; requests/s is over all
rounds, p50, p95 and p99 are the medians of the rounds' values.

Exit status: 0 every target met, 1 a target missed, 2 bad arguments, 3 the run
itself failed (server, wrk or the response check).
"""

import argparse
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
WRK_SCRIPT = BENCH_DIR / "wrk_report.lua"


@dataclass(frozen=True)
class Endpoint:
    label: str
    path: str
    body: str = ""  # BENCH_BODY for wrk_report.lua: "" (GET), "entry", "batch:N" or "answer"
    items: int = 1  # records each request carries, for items/s
    token_env: str = "BENCH_TOKEN"  # the environment variable holding whose token to send
    # A console page: the environment variable holding the session's Cookie header.
    cookie_env: str = ""
    # Concurrent connections for this endpoint alone (before the scenario's and the run's):
    # a latency figure beside a throughput one, e.g., is one request in flight per worker.
    connections: int | None = None

    @property
    def method(self) -> str:
        return "POST" if self.body else "GET"


@dataclass(frozen=True)
class Target:
    """items/s of `numerator` >= minimum x items/s of `denominator` (items/s = requests/s
    for endpoints that carry one record per request)."""

    numerator: str
    denominator: str
    minimum: float


@dataclass(frozen=True)
class Bound:
    """For the record: the most a Target's ratio could be in this run.

    ``floor`` is an endpoint that does everything the target's numerator does except
    the work the ratio is about; requests/s of ``floor`` over those of the target's
    denominator bound the target's ratio from above (the numerator cannot be faster
    than its own fixed costs).
    """

    floor: str


@dataclass(frozen=True)
class LatencyCeiling:
    """The `percentile` latency of `endpoint` (median over the rounds) <= maximum_ms."""

    endpoint: str
    percentile: str
    maximum_ms: float


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    endpoints: tuple[Endpoint, ...]
    same_json: bool = False  # every endpoint must answer 200 with the same JSON
    target: Target | None = None
    bound: Bound | None = None
    ceiling: LatencyCeiling | None = None
    # Checks the first endpoint's JSON before timing; returns what is wrong, or None.
    check: Callable[[dict], str | None] | None = None
    # Concurrent connections, when the default would queue work past a round's end
    # (slow requests) and so bleed one endpoint's load into the other's timing.
    connections: int | None = None
    # An environment variable holding a JSON object of queries per request, measured
    # by the seed script; recorded with the figures.
    queries_env: str | None = None
    # An environment variable holding the seed script's timings of the endpoints' main
    # statement alone, before the load: {measure: {endpoint label: median ms}}; printed
    # and recorded, for the record (they decide nothing).
    statements_env: str | None = None


def _insights_path() -> str:
    """The widest range the API allows, ending today: every seeded entry is in it.

    The seed places its entries between 360 days and one day ago (bench/seed.py).
    """
    today = datetime.now(UTC).date()
    return f"/api/v1/journal/insights/?from={today - timedelta(days=365)}&to={today}"


def _check_insights(body: dict) -> str | None:
    entries = body.get("totals", {}).get("entries")
    if entries != 10_000 or body.get("range", {}).get("days") != 366:
        return f"expected 10000 entries over 366 days, got {entries} over {body.get('range')}"
    return None


def _check_caseload(body: dict) -> str | None:
    results = body.get("results", [])
    flagged = {flag for item in results for flag, raised in item.get("flags", {}).items() if raised}
    if len(results) != 100 or len(flagged) != 3 or "redisclosure_notice" not in body:
        return f"expected 100 summaries raising all 3 flags, got {len(results)} raising {flagged}"
    return None


def _console_patient_path() -> str:
    # Set by bench/run.sh from bench/seed_caseload.py's output.
    return f"/console/patients/{os.environ.get('BENCH_CASELOAD_PATIENT', '')}/?days=90"


def _caseload_summary_path() -> str:
    # Set by bench/run.sh from bench/seed_caseload.py's output.
    return f"/api/v1/care/patients/{os.environ.get('BENCH_CASELOAD_PATIENT', '')}/summary/"


def _meetings_path(base: str) -> str:
    # Set by bench/run.sh from bench/seed_meetings.py's output.
    return f"{base}?{os.environ.get('BENCH_MEETINGS_SEARCH', '')}"


def _check_meetings(body: dict) -> str | None:
    results = body.get("results", [])
    if len(results) != 25 or not body.get("next"):
        return f"expected a full page of 25 meetings and a next page, got {len(results)}"
    if any(item.get("distance") is None or item["distance"] > 10 for item in results):
        return "a result without a distance, or farther than the radius"
    return None


def _measures_export_path() -> str:
    # Set by bench/run.sh from bench/seed_measures.py's output.
    return f"/api/v1/fhir/Patient/{os.environ.get('BENCH_MEASURES_EXPORT_PATIENT', '')}/$everything"


def _check_measures_export(body: dict) -> str | None:
    """The export patient's Bundle: 12 weeks of BAM and PACS, 6 answers of PHQ-9 and GAD-7."""
    kinds: dict[str, int] = {}
    for entry in body.get("entry", []):
        kind = entry.get("resource", {}).get("resourceType")
        kinds[kind] = kinds.get(kind, 0) + 1
    if body.get("resourceType") != "Bundle" or kinds.get("QuestionnaireResponse") != 36:
        return f"expected a Bundle with 36 QuestionnaireResponses, got {kinds}"
    return None


def _check_feed(body: dict) -> str | None:
    results = body.get("results", [])
    kinds = {item.get("kind") for item in results}
    if len(results) != 100 or kinds != {"entry", "checkin", "alert"} or not body.get("next"):
        return f"expected 100 entries, check-ins and alerts, got {len(results)}: {kinds}"
    if "redisclosure_notice" not in body:
        return "the redisclosure notice is missing"
    return None


SCENARIOS = {
    scenario.name: scenario
    for scenario in [
        Scenario(
            name="me",
            description=(
                "Authenticated GET /api/v1/me/ against a bare Django view "
                "returning the same JSON from the same row"
            ),
            endpoints=(Endpoint("me", "/api/v1/me/"), Endpoint("bare", "/bench/bare-me/")),
            same_json=True,
            target=Target("me", "bare", 0.5),
        ),
        Scenario(
            name="journal_create",
            description=(
                "POST /api/v1/journal/entries/ (one new entry, encrypted text) against a bare "
                "Django view doing the same insert"
            ),
            endpoints=(
                Endpoint("create", "/api/v1/journal/entries/", body="entry"),
                Endpoint("bare", "/bench/bare-entry/", body="entry"),
            ),
            target=Target("create", "bare", 0.6),
        ),
        Scenario(
            name="journal_batch",
            description=("Entries per second uploaded as 500-entry batches against single POSTs"),
            endpoints=(
                Endpoint("batch", "/api/v1/journal/entries/batch/", body="batch:500", items=500),
                Endpoint("single", "/api/v1/journal/entries/", body="entry"),
            ),
            target=Target("batch", "single", 10.0),
            # One connection per worker: the server's capacity, with no backlog of
            # 500-entry batches left running into the next round.
            connections=2,
        ),
        Scenario(
            name="insights",
            description=(
                "GET /api/v1/journal/insights/ over 366 days for a patient with 10,000 entries "
                "(per-day, heatmap, triggers, HALT, outcomes, coping, counters)"
            ),
            endpoints=(Endpoint("insights", _insights_path(), token_env="BENCH_INSIGHTS_TOKEN"),),
            ceiling=LatencyCeiling("insights", "p95", 200.0),
            check=_check_insights,
            # One request in flight per worker: the figures are each request's own
            # time, not time spent queued behind others.
            connections=2,
        ),
        Scenario(
            name="caseload",
            description=(
                "A therapist with 100 patients x 1,000 entries each (every scope granted): "
                "GET /api/v1/care/caseload/summaries/?page_size=100 (all 100 summaries with "
                "flags), the default page of 25, and one patient's GET .../patients/{id}/summary/ "
                "(with 30 days of insights)"
            ),
            endpoints=(
                Endpoint(
                    "caseload",
                    "/api/v1/care/caseload/summaries/?page_size=100",
                    token_env="BENCH_CASELOAD_TOKEN",
                ),
                Endpoint(
                    "page25",
                    "/api/v1/care/caseload/summaries/",
                    token_env="BENCH_CASELOAD_TOKEN",
                ),
                Endpoint("summary", _caseload_summary_path(), token_env="BENCH_CASELOAD_TOKEN"),
            ),
            check=_check_caseload,
            connections=2,
            queries_env="BENCH_CASELOAD_QUERIES",
        ),
        Scenario(
            name="console-caseload",
            description=(
                "The console's caseload page for the same therapist (100 patients x 1,000 "
                "entries): every patient's summary, flags, sparkline, unread and overdue "
                "counts, ordered by attention; a session signed in with a second factor"
            ),
            endpoints=(
                Endpoint(
                    "console_caseload",
                    "/console/caseload/",
                    token_env="BENCH_CASELOAD_TOKEN",
                    cookie_env="BENCH_CONSOLE_COOKIE",
                ),
            ),
            ceiling=LatencyCeiling("console_caseload", "p50", 150.0),
            connections=2,
            queries_env="BENCH_CASELOAD_QUERIES",
        ),
        Scenario(
            name="console-patient",
            description=(
                "The console's page of one of those patients with 90 days of charts "
                "(craving per day with lapses, heatmap, triggers, check-ins, counters, "
                "skills, homework, plan)"
            ),
            endpoints=(
                Endpoint(
                    "console_patient",
                    _console_patient_path(),
                    token_env="BENCH_CASELOAD_TOKEN",
                    cookie_env="BENCH_CONSOLE_COOKIE",
                ),
            ),
            ceiling=LatencyCeiling("console_patient", "p50", 150.0),
            connections=2,
            queries_env="BENCH_CASELOAD_QUERIES",
        ),
        Scenario(
            name="feed",
            description=(
                "A therapist's share feed over 100 patients x 1,000 entries (journal.all or "
                "journal.shared with 30% shared, check-ins, crisis alerts): the first page of "
                "GET /api/v1/care/feed/ at page_size 100 and at the default 25"
            ),
            endpoints=(
                Endpoint(
                    "page100", "/api/v1/care/feed/?page_size=100", token_env="BENCH_FEED_TOKEN"
                ),
                Endpoint("page25", "/api/v1/care/feed/", token_env="BENCH_FEED_TOKEN"),
            ),
            # Issue 4: the feed page (the default 25 items) answers in under 50 ms, median.
            ceiling=LatencyCeiling("page25", "p50", 50.0),
            check=_check_feed,
            connections=2,
            queries_env="BENCH_FEED_QUERIES",
        ),
        Scenario(
            name="meetings",
            description=(
                "100,000 synthetic meetings around 40 cities: GET /api/v1/meetings/ within 10 km "
                "of downtown Philadelphia (indexed bounding box, then the great-circle distance, "
                "ordered by next start) against the same search measuring every row"
            ),
            endpoints=(
                Endpoint(
                    "radius", _meetings_path("/api/v1/meetings/"), token_env="BENCH_MEETINGS_TOKEN"
                ),
                Endpoint(
                    "fullscan",
                    _meetings_path("/bench/meetings-full-scan/"),
                    token_env="BENCH_MEETINGS_TOKEN",
                ),
                # The same endpoint and request, near a point with no meeting in its box:
                # the token, the parameters, the zones and the ranking query all run, but
                # the box holds nothing to rank, read or render.
                Endpoint(
                    "nowhere",
                    "/api/v1/meetings/?lat=0&lng=-30&radius=10",
                    token_env="BENCH_MEETINGS_TOKEN",
                ),
            ),
            # Issue 6: at least 10x a full scan, and a median under 30 ms (below).
            target=Target("radius", "fullscan", 10.0),
            bound=Bound("nowhere"),
            ceiling=LatencyCeiling("radius", "p50", 30.0),
            check=_check_meetings,
            connections=2,
            queries_env="BENCH_MEETINGS_QUERIES",
            statements_env="BENCH_MEETINGS_STATEMENTS",
        ),
        Scenario(
            name="measures",
            description=(
                "POST /api/v1/measures/responses/ (a complete BAM, 24 answers, scored and "
                "stored, each to a window of its own) against a bare Django view inserting "
                "the same row; and GET /api/v1/fhir/Patient/{id}/$everything, the FHIR Bundle "
                "of a patient with 12 weeks of measures (BAM and PACS weekly, PHQ-9 and GAD-7 "
                "every two weeks: 36 answers) and 40 IOP sessions, read by the patient and by their therapist"
            ),
            endpoints=(
                # First: the response check reads it. One request in flight per worker for
                # the exports, as for every latency figure.
                Endpoint(
                    "export",
                    _measures_export_path(),
                    token_env="BENCH_MEASURES_EXPORT_TOKEN",
                    connections=2,
                ),
                Endpoint(
                    "create",
                    "/api/v1/measures/responses/",
                    body="answer",
                    token_env="BENCH_MEASURES_TOKEN",
                ),
                Endpoint(
                    "bare",
                    "/bench/bare-measure-response/",
                    body="answer",
                    token_env="BENCH_MEASURES_TOKEN",
                ),
                # The therapist who scheduled them: the gate's reads and the disclosure log.
                Endpoint(
                    "therapist",
                    _measures_export_path(),
                    token_env="BENCH_MEASURES_THERAPIST_TOKEN",
                    connections=2,
                ),
            ),
            # Issue 18: scoring and storing an answer within 60% of a bare insert, and the
            # Bundle under 200 ms p50 (the therapist's, the slower of the two).
            target=Target("create", "bare", 0.6),
            ceiling=LatencyCeiling("therapist", "p50", 200.0),
            check=_check_measures_export,
            queries_env="BENCH_MEASURES_QUERIES",
        ),
    ]
}


class BenchError(Exception):
    """The run could not be done (as opposed to a target being missed)."""


def http_get(url: str, token: str, timeout: float = 5.0) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (http on loopback)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_until_healthy(base_url: str, server_pid: int | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server_pid is not None:
            try:
                os.kill(server_pid, 0)
            except ProcessLookupError:
                raise BenchError("the server exited before it answered /healthz") from None
        try:
            if http_get(f"{base_url}/healthz", "", timeout=1.0)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise BenchError(f"{base_url}/healthz did not answer 200 within {timeout:.0f} s")


def token_for(endpoint: Endpoint) -> str:
    token = os.environ.get(endpoint.token_env, "")
    if not token:
        raise BenchError(f"{endpoint.token_env} (an access token) is not set")
    return token


def cookie_for(endpoint: Endpoint) -> str:
    if not endpoint.cookie_env:
        return ""
    cookie = os.environ.get(endpoint.cookie_env, "")
    if not cookie:
        raise BenchError(f"{endpoint.cookie_env} (a console session cookie) is not set")
    return cookie


def check_response(scenario: Scenario, base_url: str) -> None:
    endpoint = scenario.endpoints[0]
    status, body = http_get(base_url + endpoint.path, token_for(endpoint), timeout=30)
    if status != 200:
        raise BenchError(f"{endpoint.path} answered {status}, not 200: {body[:300]!r}")
    problem = scenario.check(json.loads(body))
    if problem:
        raise BenchError(f"{endpoint.path}: {problem}")


def check_same_json(scenario: Scenario, base_url: str) -> dict:
    bodies = {}
    for endpoint in scenario.endpoints:
        status, body = http_get(base_url + endpoint.path, token_for(endpoint))
        if status != 200:
            raise BenchError(f"{endpoint.path} answered {status}, not 200: {body[:300]!r}")
        bodies[endpoint.label] = body
    parsed = {label: json.loads(body) for label, body in bodies.items()}
    first_label, first = next(iter(parsed.items()))
    for label, value in parsed.items():
        if value != first:
            raise BenchError(
                f"{label} and {first_label} answer different JSON:\n  {value}\n  {first}"
            )
    return {"json_equal": True, "bytes_equal": len(set(bodies.values())) == 1, "body": first}


# Each wrk run of this process takes the next number (BENCH_RUN): the "answer" bodies of
# one run answer a schedule of their own (bench/wrk_report.lua).
_RUN_NUMBERS = itertools.count()


def run_wrk(
    url: str,
    token: str,
    seconds: int,
    threads: int,
    connections: int,
    body: str = "",
    cookie: str = "",
) -> dict:
    command = [
        "wrk",
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        "--timeout=5s",
        "--latency",
        f"--script={WRK_SCRIPT}",
        url,
    ]
    completed = subprocess.run(
        command,
        env={
            **os.environ,
            "BENCH_TOKEN": token,
            "BENCH_COOKIE": cookie,
            "BENCH_BODY": body,
            "BENCH_RUN": str(next(_RUN_NUMBERS)),
            "BENCH_WRK_THREADS": str(threads),
        },
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=False,
    )
    if completed.returncode != 0:
        raise BenchError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
    return parse_wrk(completed.stdout)


def parse_wrk(output: str) -> dict:
    """The WRK_SUMMARY line printed by wrk_report.lua, in friendlier units."""
    for line in output.splitlines():
        if line.startswith("WRK_SUMMARY "):
            raw = json.loads(line.removeprefix("WRK_SUMMARY "))
            break
    else:
        raise BenchError(f"no WRK_SUMMARY line in wrk's output:\n{output}")
    latency = {key: round(value / 1000, 3) for key, value in raw["latency_us"].items()}
    seconds = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "seconds": round(seconds, 3),
        "requests_per_second": round(raw["requests"] / seconds, 1),
        "latency_ms": latency,
        "errors": raw["errors"],
        "bytes": raw["bytes"],
    }


def combine(endpoint: Endpoint, runs: list[dict]) -> dict:
    """One endpoint's wrk rounds as one figure: requests/s over all rounds, medians of the
    rounds' percentiles, the errors summed (bench/compare.py reuses it per side)."""
    requests = sum(run["requests"] for run in runs)
    elapsed = sum(run["seconds"] for run in runs)
    errors = {key: sum(run["errors"][key] for run in runs) for key in runs[0]["errors"]}
    return {
        "path": endpoint.path,
        "requests": requests,
        "seconds": round(elapsed, 3),
        "requests_per_second": round(requests / elapsed, 1),
        "items_per_second": round(requests * endpoint.items / elapsed, 1),
        "latency_ms": {
            key: round(statistics.median(run["latency_ms"][key] for run in runs), 3)
            for key in ("p50", "p90", "p95", "p99")
        },
        "latency_ms_max": max(run["latency_ms"]["max"] for run in runs),
        "errors": errors,
        "valid": sum(errors.values()) == 0,
        "rounds": [
            {
                "requests_per_second": run["requests_per_second"],
                "items_per_second": run["requests_per_second"] * endpoint.items,
                **run["latency_ms"],
            }
            for run in runs
        ],
    }


def connections_for(scenario: Scenario, endpoint: Endpoint, args: argparse.Namespace) -> int:
    return endpoint.connections or scenario.connections or args.connections


def measure(scenario: Scenario, args: argparse.Namespace) -> dict[str, dict]:
    """Alternating wrk rounds over the scenario's endpoints, combined per endpoint."""
    seconds = max(1, round(args.duration / args.rounds))
    rounds: dict[str, list[dict]] = {endpoint.label: [] for endpoint in scenario.endpoints}
    for number in range(args.rounds):
        order = scenario.endpoints if number % 2 == 0 else scenario.endpoints[::-1]
        for endpoint in order:
            url = args.base_url + endpoint.path
            connections = connections_for(scenario, endpoint, args)
            threads = min(args.threads, connections)
            rounds[endpoint.label].append(
                run_wrk(
                    url,
                    token_for(endpoint),
                    seconds,
                    threads,
                    connections,
                    endpoint.body,
                    cookie_for(endpoint),
                )
            )
    return {
        endpoint.label: combine(endpoint, rounds[endpoint.label]) for endpoint in scenario.endpoints
    }


def run_scenario(scenario: Scenario, args: argparse.Namespace) -> dict:  # noqa: PLR0915 (one scenario's run, read top to bottom)
    print(f"== {scenario.name}: {scenario.description}")
    result: dict = {"description": scenario.description}
    if scenario.check:
        check_response(scenario, args.base_url)
        print("   response check: ok")
    if scenario.same_json:
        check = check_same_json(scenario, args.base_url)
        result["response_check"] = check
        print(
            "   same JSON from every endpoint: yes"
            + ("" if check["bytes_equal"] else " (bytes differ, parsed JSON equal)")
        )

    for endpoint in scenario.endpoints:  # warm every worker up first
        connections = connections_for(scenario, endpoint, args)
        run_wrk(
            args.base_url + endpoint.path,
            token_for(endpoint),
            args.warmup,
            min(args.threads, connections),
            connections,
            endpoint.body,
            cookie_for(endpoint),
        )

    result["endpoints"] = measure(scenario, args)
    if scenario.queries_env:
        measured = json.loads(os.environ.get(scenario.queries_env) or "{}")
        # One seed measures several scenarios' endpoints: keep this scenario's.
        queries = {k: v for k, v in measured.items() if k in result["endpoints"]}
        for label, count in queries.items():
            result["endpoints"][label]["queries"] = count
        print(f"   queries per request: {queries}")
    for label, figures in result["endpoints"].items():
        latency = figures["latency_ms"]
        items = (
            f" ({figures['items_per_second']:.0f} entries/s)"
            if figures["items_per_second"] != figures["requests_per_second"]
            else ""
        )
        print(
            f"   {label:<6} {figures['path']:<32} {figures['requests_per_second']:>9.1f} req/s{items}"
            f"   p50 {latency['p50']:>7.2f} ms   p95 {latency['p95']:>7.2f} ms"
            f"   p99 {latency['p99']:>7.2f} ms"
            + ("" if figures["valid"] else f"   ERRORS {figures['errors']}")
        )

    if scenario.statements_env:
        result["statements"] = json.loads(os.environ.get(scenario.statements_env) or "{}")
        print("   the search statement alone, before the load (medians, for the record):")
        for way, times in result["statements"].items():
            labels = list(times)
            line = ", ".join(f"{label} {times[label]:.2f} ms" for label in labels)
            ratio = times[labels[-1]] / times[labels[0]] if len(labels) == 2 else None
            print(f"     {way}: {line}" + (f" ({ratio:.1f}x)" if ratio else ""))

    passed = all(figures["valid"] for figures in result["endpoints"].values())
    if scenario.target:
        target = scenario.target
        numerator = result["endpoints"][target.numerator]
        denominator = result["endpoints"][target.denominator]
        ratio = numerator["items_per_second"] / denominator["items_per_second"]
        per_round = [
            top["items_per_second"] / bottom["items_per_second"]
            for top, bottom in zip(numerator["rounds"], denominator["rounds"], strict=True)
        ]
        passed = passed and ratio >= target.minimum
        result["target"] = {
            "ratio": f"{target.numerator}/{target.denominator}",
            "value": round(ratio, 3),
            "minimum": target.minimum,
            "per_round": [round(value, 3) for value in per_round],
        }
        print(
            f"   ratio {target.numerator}/{target.denominator} = {ratio:.1%}"
            f" (target: at least {target.minimum:.0%};"
            f" rounds {min(per_round):.0%} to {max(per_round):.0%})"
        )
        if scenario.bound:
            floor = result["endpoints"][scenario.bound.floor]
            most = floor["items_per_second"] / denominator["items_per_second"]
            result["target"]["bound"] = {
                "ratio": f"{scenario.bound.floor}/{target.denominator}",
                "value": round(most, 3),
            }
            print(
                f"   for the record: {scenario.bound.floor}/{target.denominator} = {most:.1%},"
                f" the most {target.numerator}/{target.denominator} could be in this run"
            )
    if scenario.ceiling:
        ceiling = scenario.ceiling
        figures = result["endpoints"][ceiling.endpoint]
        value = figures["latency_ms"][ceiling.percentile]
        per_round = [run[ceiling.percentile] for run in figures["rounds"]]
        passed = passed and value <= ceiling.maximum_ms
        result["ceiling"] = {
            "latency": f"{ceiling.endpoint} {ceiling.percentile}",
            "value_ms": value,
            "maximum_ms": ceiling.maximum_ms,
            "per_round_ms": per_round,
        }
        print(
            f"   {ceiling.percentile} {ceiling.endpoint} = {value:.1f} ms"
            f" (target: at most {ceiling.maximum_ms:.0f} ms;"
            f" rounds {min(per_round):.1f} to {max(per_round):.1f} ms)"
        )
    result["passed"] = passed
    print(f"   {'PASS' if passed else 'FAIL'}: {scenario.name}")
    return result


def server_facts(args: argparse.Namespace) -> dict:
    """What a report says of the servers a run loaded."""
    return {
        "workers": args.workers,
        "database": args.database,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }


def load_facts(args: argparse.Namespace) -> dict:
    """What a report says of the load a run sent."""
    return {
        "tool": "wrk",
        "threads": args.threads,
        "connections": args.connections,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "warmup_s": args.warmup,
    }


def git_revision() -> dict:
    def git(*arguments: str) -> str:
        completed = subprocess.run(
            ["git", *arguments], cwd=REPO_DIR, capture_output=True, text=True, check=False
        )
        return completed.stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", help=f"default: all of {', '.join(SCENARIOS)}")
    parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8123")
    parser.add_argument("--server-pid", type=int, help="stop waiting if this process exits")
    parser.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per endpoint")
    parser.add_argument("--rounds", type=int, default=5, help="alternating runs per endpoint")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per endpoint")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, help="server workers, for the record")
    parser.add_argument("--database", help="database engine, for the record")
    args = parser.parse_args()
    args.base_url = args.base_url.rstrip("/")

    unknown = [name for name in args.scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    if not os.environ.get("BENCH_TOKEN", ""):
        parser.error("BENCH_TOKEN (an access token) is not set")

    started = datetime.now(UTC)
    report = {
        "started_at": started.isoformat(timespec="seconds"),
        "git": git_revision(),
        "server": {"base_url": args.base_url, **server_facts(args)},
        "load": load_facts(args),
        "scenarios": {},
    }
    try:
        wait_until_healthy(args.base_url, args.server_pid, timeout=30)
        for name in args.scenarios or list(SCENARIOS):
            report["scenarios"][name] = run_scenario(SCENARIOS[name], args)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 3
    report["passed"] = all(result["passed"] for result in report["scenarios"].values())

    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"http-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"Results: {path.relative_to(REPO_DIR) if path.is_relative_to(REPO_DIR) else path}")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
