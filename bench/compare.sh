#!/usr/bin/env bash
# Side-by-side (A/B) HTTP benchmarks: two checkouts of this repository served from one
# seeded database and timed in turns in one run (bench/compare.py).
#
#   bash bench/compare.sh A_DIR B_DIR [SCENARIO...]   (default: every scenario)
#
# Run it from the newer checkout (normally B): its bench/http_bench.py names the
# scenarios, its seeding protocol is bench/run.sh's, and its bench harness (settings,
# URLs, baseline views) wraps both sides' app code, so the baselines are the same
# ruler on both. Each checkout serves with its own .venv (made if missing). The database is seeded once with B's seed scripts: a
# throwaway SQLite file both servers share, or the PostgreSQL database named by
# DATABASE_URL. Secrets are generated for this run only, the same for both sides.
# Results are printed and written to bench/results/ (ignored by git). Exit status:
# 0 done, 1 B slower than A beyond the tolerance (the scenario is named), 2 bad
# arguments or set-up failed, 3 the run failed (a server, wrk or a response check).
#
# Knobs: as bench/run.sh (BENCH_DURATION seconds of load per endpoint and side, split
# over BENCH_ROUNDS runs, 4; BENCH_WARMUP, BENCH_THREADS, BENCH_CONNECTIONS,
# BENCH_WORKERS gunicorn workers per side), and BENCH_TOLERANCE (0.05: B's requests/s
# more than 5% below A's on an endpoint of the app exits 1).
set -euo pipefail

usage() { echo "usage: bash bench/compare.sh A_DIR B_DIR [SCENARIO...]" >&2; exit 2; }
[ "$#" -ge 2 ] || usage
a_dir="$1" b_dir="$2"
shift 2
for dir in "$a_dir" "$b_dir"; do
  [ -f "$dir/backend/manage.py" ] && [ -f "$dir/scripts/_common.sh" ] ||
    { echo "compare: $dir is not a checkout of this repository" >&2; exit 2; }
done
# Absolute before leaving the caller's directory.
a_dir="$(cd "$a_dir" && pwd)" b_dir="$(cd "$b_dir" && pwd)"
cd "$(dirname "$0")/.."
runner="$PWD"
. bench/_env.sh

if ! command -v wrk >/dev/null 2>&1; then
  echo "compare: wrk is missing (bash bench/run.sh installs it, or apt-get install wrk)" >&2
  exit 2
fi

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT
trap 'exit 130' INT TERM

for side in A B; do
  dir="$a_dir"
  [ "$side" = A ] || dir="$b_dir"
  # Each checkout's own venv, as its own scripts make it.
  (cd "$dir" && . scripts/_common.sh && ensure_venv "") >"$workdir/install-$side.log" 2>&1 ||
    { cat "$workdir/install-$side.log" >&2; echo "compare: the venv of $dir failed" >&2; exit 2; }
done
python="$b_dir/.venv/bin/python"

# The app's settings for both sides, for this run only (bench/_env.sh): one SQLite file
# serves both servers unless DATABASE_URL names a database (each checkout would otherwise
# default to its own var/).
bench_env "$python" "$workdir"

# compare.py needs only the standard library and this checkout's bench/ package.
PYTHONPATH="$runner" "$python" "$runner/bench/compare.py" "$a_dir" "$b_dir" "$@" \
  --workdir "$workdir" \
  --duration "${BENCH_DURATION:-10}" \
  --rounds "${BENCH_ROUNDS:-4}" \
  --warmup "${BENCH_WARMUP:-2}" \
  --threads "${BENCH_THREADS:-2}" \
  --connections "${BENCH_CONNECTIONS:-16}" \
  --workers "${BENCH_WORKERS:-2}" \
  --tolerance "${BENCH_TOLERANCE:-0.05}" \
  --database "$database"
