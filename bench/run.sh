#!/usr/bin/env bash
# HTTP benchmarks: the real app under gunicorn on 127.0.0.1, loaded by wrk.
#
#   bash bench/run.sh [SCENARIO...]    (default: every scenario in bench/http_bench.py)
#
# Uses a throwaway SQLite database in a temporary directory, or the PostgreSQL
# database named by DATABASE_URL when it is set (a verified bench user is added
# there). Secrets are generated for this run only. Results are printed and written
# to bench/results/ (ignored by git). Exit status: 0 every target met, 1 a target
# missed, 2 bad arguments or set-up failed, 3 the run failed (gunicorn's log is shown).
#
# Knobs: BENCH_DURATION (seconds of load per endpoint, 10), BENCH_ROUNDS (the
# endpoints alternate in that many runs each, 5), BENCH_WARMUP (2), BENCH_THREADS
# (wrk threads, 2), BENCH_CONNECTIONS (16), BENCH_WORKERS (gunicorn workers, 2);
# meetings_scale: BENCH_MEETING_SIZES (10000,100000,1000000), BENCH_SKIP_IMPORT;
# meetings_engines (SQLite beside PostgreSQL): BENCH_ENGINES_SIZE (100000).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_common.sh
. bench/_env.sh

ensure_wrk() {
  command -v wrk >/dev/null 2>&1 && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing wrk with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -qq wrk >/dev/null 2>&1 ||
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq wrk >/dev/null; }
  command -v wrk >/dev/null 2>&1 || { echo "Could not install wrk." >&2; return 1; }
}

workdir="$(mktemp -d)"
server_pid="" sqlite_pid=""
cleanup() {
  for pid in "$server_pid" "$sqlite_pid"; do
    if [ -n "$pid" ]; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ensure_wrk
ensure_venv "" >"$workdir/install.log" 2>&1 || { cat "$workdir/install.log" >&2; exit 2; }

# The app's settings, for this run only (bench/_env.sh).
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
bench_env python "$workdir"

seed_failed() { echo "bench: seeding ($1) failed; see above" >&2; exit 2; }

python backend/manage.py migrate --noinput --verbosity 0
python backend/manage.py createcachetable
# The console's pages name their static files through the manifest.
python scripts/fetch_assets.py >/dev/null
python backend/manage.py collectstatic --noinput --verbosity 0
token="$(python bench/seed.py)" || seed_failed "the bench user"
# The insights scenario reads a second patient's 10,000 entries; seeded only when it runs.
insights_token=""
seed_insights=$([ "$#" -eq 0 ] && echo yes || echo no)
for name in "$@"; do [ "$name" != insights ] || seed_insights=yes; done
if [ "$seed_insights" = yes ]; then
  insights_token="$(python bench/seed.py insights)" || seed_failed insights
fi
# The caseload scenario: a therapist with 100 patients x 1,000 entries; seeded only when it runs.
# The console scenarios read the same caseload through the therapist's pages.
caseload_token="" caseload_patient="" caseload_queries="" console_cookie=""
seed_caseload=$([ "$#" -eq 0 ] && echo yes || echo no)
for name in "$@"; do case "$name" in caseload | console-*) seed_caseload=yes ;; esac; done
if [ "$seed_caseload" = yes ]; then
  caseload_seed="$(python bench/seed_caseload.py)" || seed_failed caseload
  { read -r caseload_token; read -r caseload_patient; read -r caseload_queries; read -r console_cookie; } <<<"$caseload_seed"
fi
# The feed scenario: a therapist's share feed over 100 patients x 1,000 entries; seeded only when it runs.
feed_token="" feed_queries=""
seed_feed=$([ "$#" -eq 0 ] && echo yes || echo no)
for name in "$@"; do [ "$name" != feed ] || seed_feed=yes; done
if [ "$seed_feed" = yes ]; then
  feed_seed="$(python bench/seed_feed.py)" || seed_failed feed
  { read -r feed_token; read -r feed_queries; } <<<"$feed_seed"
fi
# The meetings scenario: 100,000 synthetic meetings, and the timed import of a 2,000-meeting feed.
meetings_token="" meetings_queries="" meetings_search="" meetings_statements=""
seed_meetings=$([ "$#" -eq 0 ] && echo yes || echo no)
for name in "$@"; do [ "$name" != meetings ] || seed_meetings=yes; done
if [ "$seed_meetings" = yes ]; then
  meetings_seed="$(python bench/seed_meetings.py)" || seed_failed meetings
  { read -r meetings_token; read -r meetings_queries; read -r meetings_search; read -r meetings_statements; } \
    <<<"$meetings_seed"
fi

# The measures scenario: BAM answers to score and store, and a patient's 12-week FHIR export.
measures_token="" measure_schedules="" measures_export_patient="" measures_export_token=""
measures_therapist_token="" measures_queries=""
seed_measures=$([ "$#" -eq 0 ] && echo yes || echo no)
for name in "$@"; do [ "$name" != measures ] || seed_measures=yes; done
if [ "$seed_measures" = yes ]; then
  measures_seed="$(python bench/seed_measures.py)" || seed_failed measures
  { read -r measures_token; read -r measure_schedules; read -r measures_export_patient;
    read -r measures_export_token; read -r measures_therapist_token; read -r measures_queries; } \
    <<<"$measures_seed"
fi

# The meetings_scale scenario seeds its own directories, size by size (bench/meetings_scale.py);
# only when named, as the million-meeting seed takes minutes. meetings_engines is the same
# bench at one size (BENCH_ENGINES_SIZE, 100,000) on PostgreSQL, with a second server on a
# SQLite file seeded alike, timed side by side (SQLite's p50 / PostgreSQL's).
scale=no engines=no
rest=()
for name in "$@"; do
  case "$name" in
    meetings_scale) scale=yes ;;
    meetings_engines) engines=yes ;;
    *) rest+=("$name") ;;
  esac
done
if [ "$engines" = yes ] && [ "$database" != postgresql ]; then
  echo "bench: meetings_engines compares SQLite with PostgreSQL: set DATABASE_URL" >&2
  exit 2
fi

# The national-scale directory is what the near-me window is for (MEETING_SEARCH_SOON_WINDOW).
if [ "$scale" = yes ] || [ "$engines" = yes ]; then
  export MEETING_SEARCH_SOON_WINDOW="${MEETING_SEARCH_SOON_WINDOW:-true}"
fi
free_port() { python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port="$(free_port)"
workers="${BENCH_WORKERS:-2}"
# No access log: the benchmark measures the application, not log writing.
gunicorn backend.config.wsgi:application \
  --bind "127.0.0.1:$port" \
  --workers "$workers" \
  --no-control-socket \
  --error-logfile "$workdir/gunicorn.log" &
server_pid=$!

status=0
if [ "$engines" = yes ]; then
  engines_size="${BENCH_ENGINES_SIZE:-100000}"
  # The SQLite side: its own file, migrated and seeded by processes with its settings.
  sqlite_env=(env -u DATABASE_URL SQLITE_PATH="$workdir/engines.sqlite3")
  "${sqlite_env[@]}" python backend/manage.py migrate --noinput --verbosity 0
  "${sqlite_env[@]}" python backend/manage.py createcachetable
  sqlite_token="$("${sqlite_env[@]}" python bench/meetings_scale.py --seed-only --sizes "$engines_size")" ||
    seed_failed "the SQLite directory"
  sqlite_port="$(free_port)"
  "${sqlite_env[@]}" gunicorn backend.config.wsgi:application \
    --bind "127.0.0.1:$sqlite_port" \
    --workers "$workers" \
    --no-control-socket \
    --error-logfile "$workdir/gunicorn-sqlite.log" &
  sqlite_pid=$!
  python bench/meetings_scale.py \
    --base-url "http://127.0.0.1:$port" \
    --versus-url "http://127.0.0.1:$sqlite_port" \
    --versus-token "$sqlite_token" \
    --versus-name sqlite \
    --sizes "$engines_size" \
    --duration "${BENCH_DURATION:-10}" \
    --rounds "${BENCH_ROUNDS:-5}" \
    --warmup "${BENCH_WARMUP:-2}" \
    --skip-import || status=$?
  kill "$sqlite_pid" 2>/dev/null || true
  wait "$sqlite_pid" 2>/dev/null || true
  sqlite_pid=""
  if [ "$status" -eq 3 ] && [ -s "$workdir/gunicorn-sqlite.log" ]; then
    echo "--- gunicorn (SQLite) log" >&2
    cat "$workdir/gunicorn-sqlite.log" >&2
  fi
  [ "$scale" = yes ] || [ "${#rest[@]}" -gt 0 ] || exit "$status"
fi
if [ "$scale" = yes ]; then
  python bench/meetings_scale.py \
    --base-url "http://127.0.0.1:$port" \
    --duration "${BENCH_DURATION:-10}" \
    --rounds "${BENCH_ROUNDS:-5}" \
    --warmup "${BENCH_WARMUP:-2}" \
    ${BENCH_MEETING_SIZES:+--sizes "$BENCH_MEETING_SIZES"} \
    ${BENCH_SKIP_IMPORT:+--skip-import} || status=$?
  [ "${#rest[@]}" -gt 0 ] || exit "$status"
fi
BENCH_TOKEN="$token" BENCH_INSIGHTS_TOKEN="$insights_token" \
  BENCH_CASELOAD_TOKEN="$caseload_token" BENCH_CASELOAD_PATIENT="$caseload_patient" \
  BENCH_CASELOAD_QUERIES="$caseload_queries" BENCH_CONSOLE_COOKIE="$console_cookie" \
  BENCH_FEED_TOKEN="$feed_token" BENCH_FEED_QUERIES="$feed_queries" \
  BENCH_MEETINGS_TOKEN="$meetings_token" BENCH_MEETINGS_QUERIES="$meetings_queries" \
  BENCH_MEETINGS_SEARCH="$meetings_search" BENCH_MEETINGS_STATEMENTS="$meetings_statements" \
  BENCH_MEASURES_TOKEN="$measures_token" BENCH_MEASURE_SCHEDULES="$measure_schedules" \
  BENCH_MEASURES_EXPORT_PATIENT="$measures_export_patient" \
  BENCH_MEASURES_EXPORT_TOKEN="$measures_export_token" \
  BENCH_MEASURES_THERAPIST_TOKEN="$measures_therapist_token" \
  BENCH_MEASURES_QUERIES="$measures_queries" \
  python bench/http_bench.py \
  --base-url "http://127.0.0.1:$port" \
  --server-pid "$server_pid" \
  --duration "${BENCH_DURATION:-10}" \
  --rounds "${BENCH_ROUNDS:-5}" \
  --warmup "${BENCH_WARMUP:-2}" \
  --threads "${BENCH_THREADS:-2}" \
  --connections "${BENCH_CONNECTIONS:-16}" \
  --workers "$workers" \
  --database "$database" \
  "${rest[@]}" || status=$?
if [ "$status" -eq 3 ] && [ -s "$workdir/gunicorn.log" ]; then
  echo "--- gunicorn log" >&2
  cat "$workdir/gunicorn.log" >&2
fi
exit "$status"
