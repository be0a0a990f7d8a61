"""Time two versions of the app side by side (A/B) in one run, on one seeded database.

bench/compare.sh makes the virtualenvs and the secrets and calls this; run that, not
this. Both checkouts serve the same database (seeded once with B's seed scripts) from
their own gunicorn, same workers, same environment, different ports. The scenarios,
the response checks and the wrk helpers are bench/http_bench.py's. Both servers load
the bench harness (bench/settings.py, urls.py, views.py: the baselines) from this
checkout, around their own app code (backend/): the ruler is the same on both sides,
so a baseline's B/A shows the run's noise.

For each scenario, an endpoint's A and B runs sit next to each other in time and take
turns going first (A B, B A, A B, ...), so a load change on the machine hits both
sides alike. Per side: the medians over the rounds of requests/s, p50 and p90; then
B/A of each median, and each side's target ratio (e.g. create/bare) computed as
http_bench computes it.

Exit status: 0 done, 1 B's requests/s below A's by more than the tolerance on some
endpoint the scenario times (baselines under /bench/ excluded), 2 bad arguments or
set-up failed, 3 the run failed (a server, wrk, or a side's response check).
"""

from __future__ import annotations

import argparse
import http.client
import importlib
import json
import os
import socket
import statistics
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.http_bench import Scenario

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
SIDES = ("A", "B")


class SetupError(Exception):
    """The comparison could not be set up (exit 2), as opposed to the run failing (3)."""


@dataclass(frozen=True)
class Seed:
    """A seed script of bench/run.sh's, and the variables its stdout lines fill, in order.

    ``scenarios``: the scenarios that need it; empty, every run (the bench patient's token).
    """

    scenarios: tuple[str, ...]
    argv: tuple[str, ...]
    names: tuple[str, ...]


# The same scripts and output lines as bench/run.sh; a script printing a different number
# of lines stops the set-up, so a change to one is not misread here.
SEEDS = (
    Seed((), ("bench/seed.py",), ("BENCH_TOKEN",)),
    Seed(("insights",), ("bench/seed.py", "insights"), ("BENCH_INSIGHTS_TOKEN",)),
    Seed(
        ("caseload", "console-caseload", "console-patient"),
        ("bench/seed_caseload.py",),
        (
            "BENCH_CASELOAD_TOKEN",
            "BENCH_CASELOAD_PATIENT",
            "BENCH_CASELOAD_QUERIES",
            "BENCH_CONSOLE_COOKIE",
        ),
    ),
    Seed(("feed",), ("bench/seed_feed.py",), ("BENCH_FEED_TOKEN", "BENCH_FEED_QUERIES")),
    Seed(
        ("meetings",),
        ("bench/seed_meetings.py",),
        (
            "BENCH_MEETINGS_TOKEN",
            "BENCH_MEETINGS_QUERIES",
            "BENCH_MEETINGS_SEARCH",
            "BENCH_MEETINGS_STATEMENTS",
        ),
    ),
    Seed(
        ("measures",),
        ("bench/seed_measures.py",),
        (
            "BENCH_MEASURES_TOKEN",
            "BENCH_MEASURE_SCHEDULES",
            "BENCH_MEASURES_EXPORT_PATIENT",
            "BENCH_MEASURES_EXPORT_TOKEN",
            "BENCH_MEASURES_THERAPIST_TOKEN",
            "BENCH_MEASURES_QUERIES",
        ),
    ),
)


def schedule(labels: list[str], rounds: int) -> list[tuple[int, str, str]]:
    """(round, endpoint label, side) in the order they run.

    The endpoints alternate their order each round, as in http_bench; each endpoint's
    A and B runs are adjacent, and the pair's order alternates from one pair to the next,
    so every endpoint gets A first in half its rounds (for an even number of rounds).
    """
    order: list[tuple[int, str, str]] = []
    pair = 0
    for number in range(rounds):
        for label in labels if number % 2 == 0 else labels[::-1]:
            sides = SIDES if pair % 2 == 0 else SIDES[::-1]
            order.extend((number, label, side) for side in sides)
            pair += 1
    return order


def ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 3) if denominator else None


def side_figures(combined: dict) -> dict:
    """The medians over the rounds this comparison reports, from http_bench.combine()."""
    rounds = combined["rounds"]
    return {
        "requests_per_second": round(
            statistics.median(run["requests_per_second"] for run in rounds), 1
        ),
        "p50_ms": round(statistics.median(run["p50"] for run in rounds), 3),
        "p90_ms": round(statistics.median(run["p90"] for run in rounds), 3),
    }


def b_over_a(a: dict, b: dict, a_rounds: list[dict], b_rounds: list[dict]) -> dict:
    """B/A of each median, and of requests/s round by round (the pairs ran side by side)."""
    return {
        "requests_per_second": ratio(b["requests_per_second"], a["requests_per_second"]),
        "p50_ms": ratio(b["p50_ms"], a["p50_ms"]),
        "p90_ms": ratio(b["p90_ms"], a["p90_ms"]),
        "requests_per_second_per_round": [
            ratio(right["requests_per_second"], left["requests_per_second"])
            for left, right in zip(a_rounds, b_rounds, strict=True)
        ],
    }


def slower_endpoints(endpoints: dict[str, dict], tolerance: float) -> list[str]:
    """Labels of the scenario's own endpoints where B's requests/s fell below A's x (1 - tol).

    The baselines (served by bench/urls.py under /bench/) time no code of the app.
    """
    return [
        label
        for label, figures in endpoints.items()
        if not figures["path"].startswith("/bench/")
        and figures["b_over_a"]["requests_per_second"] is not None
        and figures["b_over_a"]["requests_per_second"] < 1 - tolerance
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def checkout_env(directory: Path, harness: Path | None = None) -> dict[str, str]:
    """The shared environment, with this checkout's code first on the path.

    ``harness``: a directory holding only a ``bench`` package, put before the checkout
    so both servers run the same bench settings, URLs and baseline views (the ruler)
    around their own app code (what is compared).
    """
    path = [str(harness)] if harness else []
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([*path, str(directory)]),
        "PATH": f"{directory / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    if directory in STATIC_ROOTS:
        env["STATIC_ROOT"] = str(STATIC_ROOTS[directory])
    return env


# Each checkout's collected static files (its console's pages name them by their hashes).
STATIC_ROOTS: dict[Path, Path] = {}


def collect_static(directory: Path, root: Path) -> None:
    """The checkout's own assets (fetched as its scripts do) collected into ``root``."""
    STATIC_ROOTS[directory] = root
    if (directory / "scripts" / "fetch_assets.py").exists():
        run_in(directory, "scripts/fetch_assets.py", what="fetching the console's assets")
    run_in(
        directory,
        "backend/manage.py",
        "collectstatic",
        "--noinput",
        "--verbosity",
        "0",
        what="collectstatic",
    )


def check_pages(hb, scenario: Scenario, servers: dict[str, Server]) -> None:
    """Each console page answers 200 on both sides: a lapsed session would time a redirect."""
    for endpoint in scenario.endpoints:
        if endpoint.cookie_env:
            for side, server in servers.items():
                status = page_status(server.base_url + endpoint.path, hb.cookie_for(endpoint))
                if status != 200:
                    raise hb.BenchError(f"side {side}: {endpoint.path} answered {status}")


def page_status(url: str, cookie: str) -> int:
    """A console page's status with the session cookie, redirects not followed."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.request("GET", f"{parts.path}?{parts.query}", headers={"Cookie": cookie})
        return connection.getresponse().status
    finally:
        connection.close()


def harness_dir(workdir: Path) -> Path:
    """A directory whose only entry is this checkout's bench/ package."""
    harness = workdir / "harness"
    harness.mkdir(exist_ok=True)
    link = harness / "bench"
    if not link.exists():
        link.symlink_to(BENCH_DIR, target_is_directory=True)
    return harness


def run_in(directory: Path, *argv: str, what: str) -> str:
    """Run this checkout's venv Python with argv in the checkout; its stdout (stderr shown)."""
    completed = subprocess.run(
        [str(directory / ".venv" / "bin" / "python"), *argv],
        cwd=directory,
        env=checkout_env(directory),
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SetupError(f"{what} failed in {directory} (exit {completed.returncode}); see above")
    return completed.stdout


def prepare(args: argparse.Namespace, scenarios: list[str]) -> dict[str, str]:
    """Both sides' static files, then the database (prepare_database)."""
    for side, directory in zip(SIDES, (args.a_dir, args.b_dir), strict=True):
        collect_static(directory, args.workdir / f"static-{side}")
    return prepare_database(args.b_dir, scenarios)


def prepare_database(b_dir: Path, scenarios: list[str]) -> dict[str, str]:
    """Migrate and seed with B's code; the variables the seeds print (tokens and the like)."""
    run_in(b_dir, "backend/manage.py", "migrate", "--noinput", "--verbosity", "0", what="migrate")
    run_in(b_dir, "backend/manage.py", "createcachetable", what="createcachetable")
    seeded: dict[str, str] = {}
    for seed in SEEDS:
        if seed.scenarios and not set(seed.scenarios) & set(scenarios):
            continue
        lines = run_in(b_dir, *seed.argv, what=" ".join(seed.argv)).splitlines()
        if len(lines) != len(seed.names):
            raise SetupError(
                f"{' '.join(seed.argv)} printed {len(lines)} lines, expected {len(seed.names)}"
                f" ({', '.join(seed.names)}); has bench/run.sh's protocol changed?"
            )
        seeded.update(zip(seed.names, lines, strict=True))
    return seeded


@dataclass
class Server:
    side: str
    directory: Path
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_server(side: str, directory: Path, workers: int, workdir: Path) -> Server:
    port = free_port()
    log = workdir / f"server-{side}.log"
    # No access log: the benchmark measures the application, not log writing. The app's
    # own log (stderr) goes to the same file, shown when the run fails.
    with log.open("ab") as output:
        process = subprocess.Popen(
            [
                str(directory / ".venv" / "bin" / "gunicorn"),
                "backend.config.wsgi:application",
                f"--bind=127.0.0.1:{port}",
                f"--workers={workers}",
                "--no-control-socket",
                "--error-logfile=-",
            ],
            cwd=directory,
            env=checkout_env(directory, harness_dir(workdir)),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return Server(side, directory, port, process, log)


def stop_servers(servers: dict[str, Server]) -> None:
    for server in servers.values():
        if server.process.poll() is None:
            server.process.terminate()
    for server in servers.values():
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def check_side(hb, scenario: Scenario, side: str, base_url: str) -> dict | None:
    """http_bench's checks of the scenario's responses, on one side; a failure names it."""
    try:
        if scenario.check:
            hb.check_response(scenario, base_url)
        if scenario.same_json:
            return hb.check_same_json(scenario, base_url)
    except hb.BenchError as exc:
        raise hb.BenchError(f"side {side}: {exc}") from None
    return None


def compare_scenario(hb, scenario: Scenario, servers: dict[str, Server], args) -> dict:  # noqa: C901 (one scenario's run, read top to bottom)
    print(f"== {scenario.name}: {scenario.description}")
    result: dict = {"description": scenario.description, "checks": {}}
    for side, server in servers.items():
        check = check_side(hb, scenario, side, server.base_url)
        result["checks"][side] = "ok" if check is None else {"json_equal": check["json_equal"]}
    if scenario.check or scenario.same_json:
        print("   response checks: ok on A and B")
    check_pages(hb, scenario, servers)

    seconds = max(1, round(args.duration / args.rounds))
    by_label = {endpoint.label: endpoint for endpoint in scenario.endpoints}

    def run(label: str, side: str, duration: int) -> dict:
        endpoint = by_label[label]
        connections = hb.connections_for(scenario, endpoint, args)
        threads = min(args.threads, connections)
        figures = hb.run_wrk(
            servers[side].base_url + endpoint.path,
            hb.token_for(endpoint),
            duration,
            threads,
            connections,
            endpoint.body,
            hb.cookie_for(endpoint),
        )
        if sum(figures["errors"].values()):
            # A side that answers errors fast must not pass for a fast side.
            raise hb.BenchError(
                f"side {side}, {label} ({endpoint.path}): wrk counted errors {figures['errors']}"
            )
        return figures

    for label in by_label:  # warm every worker of both sides up first
        for side in SIDES:
            run(label, side, args.warmup)

    runs: dict[str, dict[str, list[dict]]] = {
        label: {side: [] for side in SIDES} for label in by_label
    }
    order = schedule(list(by_label), args.rounds)
    for _number, label, side in order:
        runs[label][side].append(run(label, side, seconds))
    result["order"] = [f"{label}:{side}" for _number, label, side in order]

    endpoints: dict[str, dict] = {}
    combined: dict[str, dict[str, dict]] = {side: {} for side in SIDES}
    for label, endpoint in by_label.items():
        entry: dict = {"path": endpoint.path}
        for side in SIDES:
            combined[side][label] = hb.combine(endpoint, runs[label][side])
            entry[side] = {
                **side_figures(combined[side][label]),
                "http_bench": combined[side][label],
            }
        entry["b_over_a"] = b_over_a(
            entry["A"], entry["B"], combined["A"][label]["rounds"], combined["B"][label]["rounds"]
        )
        endpoints[label] = entry
    result["endpoints"] = endpoints

    if scenario.target:
        target = scenario.target
        result["target"] = {"ratio": f"{target.numerator}/{target.denominator}"}
        for side in SIDES:
            result["target"][side] = ratio(
                combined[side][target.numerator]["items_per_second"],
                combined[side][target.denominator]["items_per_second"],
            )
    if scenario.queries_env:
        result["queries_measured_on_B"] = json.loads(os.environ.get(scenario.queries_env) or "{}")

    result["slower"] = slower_endpoints(endpoints, args.tolerance)
    print_scenario(result)
    return result


def print_scenario(result: dict) -> None:
    header = (
        f"   {'endpoint':<10} {'req/s A':>9} {'req/s B':>9} {'B/A':>6}"
        f"   {'p50 A':>7} {'p50 B':>7} {'B/A':>6}   {'p90 A':>7} {'p90 B':>7} {'B/A':>6}"
    )
    print(header)

    def fmt(value: float | None) -> str:
        return "   n/a" if value is None else f"{value:>6.3f}"

    for label, figures in result["endpoints"].items():
        a, b, rel = figures["A"], figures["B"], figures["b_over_a"]
        print(
            f"   {label:<10} {a['requests_per_second']:>9.1f} {b['requests_per_second']:>9.1f}"
            f" {fmt(rel['requests_per_second'])}"
            f"   {a['p50_ms']:>7.2f} {b['p50_ms']:>7.2f} {fmt(rel['p50_ms'])}"
            f"   {a['p90_ms']:>7.2f} {b['p90_ms']:>7.2f} {fmt(rel['p90_ms'])}"
        )
    if "target" in result:
        target = result["target"]
        shown = [
            f"{side} {target[side]:.1%}" if target[side] is not None else f"{side} n/a"
            for side in SIDES
        ]
        print(f"   {target['ratio']} (as bench/run.sh reports it): {', '.join(shown)}")
    rounds = {
        label: figures["b_over_a"]["requests_per_second_per_round"]
        for label, figures in result["endpoints"].items()
    }
    print(
        "   req/s B/A round by round: "
        + "; ".join(
            f"{label} {', '.join(f'{v:.2f}' for v in values)}" for label, values in rounds.items()
        )
    )
    if result["slower"]:
        print(f"   SLOWER: B below A beyond the tolerance on {', '.join(result['slower'])}")


def git_revision(directory: Path) -> dict:
    def git(*arguments: str) -> str:
        completed = subprocess.run(
            ["git", *arguments], cwd=directory, capture_output=True, text=True, check=False
        )
        return completed.stdout.strip()

    return {
        "directory": str(directory),
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain")),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a_dir", type=Path)
    parser.add_argument("b_dir", type=Path)
    parser.add_argument("scenarios", nargs="*", help="default: every scenario of http_bench")
    parser.add_argument("--workdir", type=Path, required=True, help="for the servers' logs")
    parser.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per endpoint")
    parser.add_argument("--rounds", type=int, default=4, help="runs per endpoint and side")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per endpoint")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per side")
    parser.add_argument("--tolerance", type=float, default=0.05, help="B slower than A by more")
    parser.add_argument("--database", help="database engine, for the record")
    args = parser.parse_args(argv)
    args.a_dir, args.b_dir = args.a_dir.resolve(), args.b_dir.resolve()
    return args


def main() -> int:
    args = parse_args()
    servers: dict[str, Server] = {}
    started = datetime.now(UTC)
    try:
        if args.rounds < 1 or args.duration < 1:
            raise SetupError("--rounds and --duration must be at least 1")
        # Imported late, then reloaded once the seeds have set the paths it reads at import.
        from bench import http_bench as hb  # noqa: PLC0415

        unknown = [name for name in args.scenarios if name not in hb.SCENARIOS]
        if unknown:
            known = ", ".join(hb.SCENARIOS)
            raise SetupError(f"unknown scenario(s) {', '.join(unknown)}; known: {known}")
        names = args.scenarios or list(hb.SCENARIOS)
        os.environ.update(prepare(args, names))
        # Some endpoints' paths are read from the seeds' output when http_bench is imported.
        hb = importlib.reload(hb)
        for side, directory in zip(SIDES, (args.a_dir, args.b_dir), strict=True):
            servers[side] = start_server(side, directory, args.workers, args.workdir)
        for side, server in servers.items():
            try:
                hb.wait_until_healthy(server.base_url, server.process.pid, timeout=60)
            except hb.BenchError as exc:
                raise SetupError(
                    f"side {side} ({server.directory}): {exc}\n{server.log_tail()}"
                ) from None
    except SetupError as exc:
        stop_servers(servers)
        print(f"compare: {exc}", file=sys.stderr)
        return 2

    report: dict = {
        "started_at": started.isoformat(timespec="seconds"),
        "A": git_revision(args.a_dir),
        "B": git_revision(args.b_dir),
        "seeded_with": "B",
        "server": hb.server_facts(args),
        "load": hb.load_facts(args),
        "tolerance": args.tolerance,
        "scenarios": {},
    }
    print(
        f"A: {args.a_dir} ({report['A']['commit'][:12]}{', dirty' if report['A']['dirty'] else ''})"
    )
    print(
        f"B: {args.b_dir} ({report['B']['commit'][:12]}{', dirty' if report['B']['dirty'] else ''})"
    )
    try:
        for name in names:
            report["scenarios"][name] = compare_scenario(hb, hb.SCENARIOS[name], servers, args)
    except hb.BenchError as exc:
        print(f"compare: {exc}", file=sys.stderr)
        for side, server in servers.items():
            tail = server.log_tail()
            if tail:
                print(f"--- gunicorn log, side {side}\n{tail}", file=sys.stderr)
        return 3
    finally:
        stop_servers(servers)

    slower = {
        name: result["slower"] for name, result in report["scenarios"].items() if result["slower"]
    }
    report["slower"] = slower
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"compare-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"Results: {path.relative_to(REPO_DIR) if path.is_relative_to(REPO_DIR) else path}")
    if slower:
        named = "; ".join(f"{name} ({', '.join(labels)})" for name, labels in slower.items())
        print(f"B is slower than A by more than {args.tolerance:.0%} in: {named}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
